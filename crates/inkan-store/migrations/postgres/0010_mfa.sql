-- 多要素認証. A staff user's TOTP secret, sealed under the master key like webhook secrets
-- (NULL: no authenticator enrolled), and the newest 30-second step a code was accepted for,
-- so that each code is accepted once, on every node. An organization may require MFA.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE organizations ADD COLUMN mfa_required BOOLEAN NOT NULL DEFAULT FALSE;

-- Recovery codes: only their SHA-256 is kept; a code is used once.
CREATE TABLE recovery_codes (
    user_id TEXT   NOT NULL REFERENCES users (id),
    hash    BYTEA  NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, hash)
);
