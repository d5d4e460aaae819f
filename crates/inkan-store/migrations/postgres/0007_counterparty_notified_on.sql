-- 届出日: the date on a counterparty's 電子契約用メールアドレス届出書 (`2026-12-03`), when recorded.
ALTER TABLE counterparties ADD COLUMN notified_on TEXT;
