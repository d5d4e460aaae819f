-- The roles of a contract office (admin, system_admin, document_manager, document_viewer,
-- sender). The one earlier non-admin role, `member`, prepared, sent and read everything: it
-- is what a document manager does.
--
-- SQLite cannot change a CHECK constraint, so the table is rebuilt, inside the migration's
-- transaction (where foreign keys cannot be switched off): the rows that refer to a user are
-- set aside, the new table takes the old one's name (the other tables' REFERENCES name
-- `users`, so they reach it), and the rows are put back.
CREATE TEMP TABLE saved_key_owners AS SELECT id, owner FROM api_keys WHERE owner IS NOT NULL;
UPDATE api_keys SET owner = NULL WHERE owner IS NOT NULL;
CREATE TEMP TABLE saved_recovery_codes AS SELECT user_id, hash, used_at FROM recovery_codes;
DELETE FROM recovery_codes;

CREATE TABLE users_rebuilt (
    id                 TEXT    NOT NULL PRIMARY KEY,
    organization       TEXT    NOT NULL REFERENCES organizations (id),
    department         TEXT    REFERENCES departments (id),
    name               TEXT    NOT NULL,
    email              TEXT    NOT NULL,
    role               TEXT    NOT NULL CHECK (role IN
        ('admin', 'system_admin', 'document_manager', 'document_viewer', 'sender')),
    password_hash      TEXT,
    created_at         INTEGER NOT NULL,
    session_generation INTEGER NOT NULL DEFAULT 0,
    disabled_at        INTEGER,
    totp_secret        TEXT,
    totp_last_step     INTEGER
) STRICT;
INSERT INTO users_rebuilt (id, organization, department, name, email, role, password_hash,
                           created_at, session_generation, disabled_at, totp_secret,
                           totp_last_step)
SELECT id, organization, department, name, email,
       CASE role WHEN 'member' THEN 'document_manager' ELSE role END,
       password_hash, created_at, session_generation, disabled_at, totp_secret, totp_last_step
FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_organization ON users (organization);

UPDATE api_keys SET owner = (SELECT s.owner FROM saved_key_owners s WHERE s.id = api_keys.id)
WHERE id IN (SELECT id FROM saved_key_owners);
INSERT INTO recovery_codes (user_id, hash, used_at)
SELECT user_id, hash, used_at FROM saved_recovery_codes;
DROP TABLE saved_key_owners;
DROP TABLE saved_recovery_codes;
