-- The 電帳法 search at a million documents.
--
-- Hits come in 取引年月日 order, read straight from an index that holds that order (dated
-- documents first, then the undated ones, as two queries), so the first thousand are found
-- without sorting every match.
DROP INDEX documents_tx_date;
CREATE INDEX documents_tx_order ON documents (organization, tx_date, created_at, id);

-- A 取引先 substring is matched against the organization's distinct names (thousands, not a
-- million rows), and the documents of the names that match are read by index.
CREATE TABLE document_counterparties (
    organization TEXT NOT NULL,
    name         TEXT NOT NULL,
    PRIMARY KEY (organization, name)
);
INSERT INTO document_counterparties (organization, name)
    SELECT DISTINCT organization, tx_counterparty FROM documents
    WHERE tx_counterparty IS NOT NULL
    ON CONFLICT DO NOTHING;
CREATE FUNCTION remember_document_counterparty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tx_counterparty IS NOT NULL THEN
        INSERT INTO document_counterparties (organization, name)
            VALUES (NEW.organization, NEW.tx_counterparty)
            ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER documents_counterparty AFTER INSERT OR UPDATE OF tx_counterparty ON documents
    FOR EACH ROW EXECUTE FUNCTION remember_document_counterparty();
CREATE INDEX documents_tx_counterparty ON documents (organization, tx_counterparty, tx_date);
