-- 種別: what kind of contract a document is (契約書, 請書, 注文書 …), as its importer or sender
-- files it — for contracts brought in from paper or another service, and any document after.
ALTER TABLE documents ADD COLUMN tx_kind TEXT;
