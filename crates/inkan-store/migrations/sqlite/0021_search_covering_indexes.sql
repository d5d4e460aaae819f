-- The 電帳法 search reads its hits in two steps: first the IDs of the page's documents, in
-- 取引年月日 order, from one index alone; then those documents and their envelopes. Each index
-- the first step may start from (date order, one 取引先, an amount range) now holds every column
-- it filters and sorts on, so no table row is read for a document that is not a hit: a common
-- 取引先 substring (thousands of documents to order) or a wide amount range stays fast at a
-- million documents.
DROP INDEX documents_tx_order;
CREATE INDEX documents_tx_order
    ON documents (organization, tx_date, created_at, id, tx_amount, tx_counterparty);
DROP INDEX documents_tx_counterparty;
CREATE INDEX documents_tx_counterparty
    ON documents (organization, tx_counterparty, tx_date, created_at, id, tx_amount);
DROP INDEX documents_tx_amount;
CREATE INDEX documents_tx_amount
    ON documents (organization, tx_amount, tx_date, created_at, id, tx_counterparty);
