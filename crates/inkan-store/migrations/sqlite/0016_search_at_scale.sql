-- The 電帳法 search at a million documents.
--
-- Hits come in 取引年月日 order, read straight from an index that holds that order (dated
-- documents first, then the undated ones, as two queries), so the first thousand are found
-- without sorting every match.
DROP INDEX documents_tx_date;
CREATE INDEX documents_tx_order ON documents (organization, tx_date, created_at, id);

-- A 取引先 substring is matched against the organization's distinct names (thousands, not a
-- million rows), and the documents of the names that match are read by index. (The triggers
-- test for the name instead of INSERT OR IGNORE: inside a trigger, the conflict clause of the
-- statement that fired it, the documents' upsert, would apply instead.)
CREATE TABLE document_counterparties (
    organization TEXT NOT NULL,
    name         TEXT NOT NULL,
    PRIMARY KEY (organization, name)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO document_counterparties (organization, name)
    SELECT DISTINCT organization, tx_counterparty FROM documents
    WHERE tx_counterparty IS NOT NULL;
CREATE TRIGGER documents_counterparty_added AFTER INSERT ON documents
    WHEN NEW.tx_counterparty IS NOT NULL
BEGIN
    INSERT INTO document_counterparties (organization, name)
        SELECT NEW.organization, NEW.tx_counterparty
        WHERE NOT EXISTS (SELECT 1 FROM document_counterparties
                          WHERE organization = NEW.organization AND name = NEW.tx_counterparty);
END;
CREATE TRIGGER documents_counterparty_changed AFTER UPDATE OF tx_counterparty ON documents
    WHEN NEW.tx_counterparty IS NOT NULL
BEGIN
    INSERT INTO document_counterparties (organization, name)
        SELECT NEW.organization, NEW.tx_counterparty
        WHERE NOT EXISTS (SELECT 1 FROM document_counterparties
                          WHERE organization = NEW.organization AND name = NEW.tx_counterparty);
END;
CREATE INDEX documents_tx_counterparty ON documents (organization, tx_counterparty, tx_date);
