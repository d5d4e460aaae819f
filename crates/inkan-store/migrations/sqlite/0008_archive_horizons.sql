-- When the proof of a sealed document (and of the 電子契約締結証明書) runs out: the earliest
-- notAfter on its newest timestamp's TSA path, Unix seconds. The archive-renewal job adds a new
-- document timestamp before then and moves it on; NULL until the job has read the file (rows
-- sealed before this migration are read on the job's first pass).
ALTER TABLE documents ADD COLUMN archive_until INTEGER;
ALTER TABLE envelopes ADD COLUMN certificate_archive_until INTEGER;
