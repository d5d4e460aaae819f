-- The 操作ログ filtered by who and what: `actor` and `action` copied out of the entry, like
-- `envelope` and `at`, for queries only (the chain is computed over `entry`, so `audit verify`
-- never trusts the copies).
ALTER TABLE audit_entries ADD COLUMN actor TEXT;
ALTER TABLE audit_entries ADD COLUMN action TEXT;
UPDATE audit_entries SET actor = entry::jsonb ->> 'actor', action = entry::jsonb ->> 'action';
CREATE INDEX audit_entries_at ON audit_entries (organization, at);
