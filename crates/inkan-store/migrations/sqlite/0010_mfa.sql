-- 多要素認証. A staff user's TOTP secret, sealed under the master key like webhook secrets
-- (NULL: no authenticator enrolled), and the newest 30-second step a code was accepted for,
-- so that each code is accepted once, on every node. An organization may require MFA.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
ALTER TABLE organizations ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;

-- Recovery codes: only their SHA-256 is kept; a code is used once.
CREATE TABLE recovery_codes (
    user_id TEXT    NOT NULL REFERENCES users (id),
    hash    BLOB    NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, hash)
);
