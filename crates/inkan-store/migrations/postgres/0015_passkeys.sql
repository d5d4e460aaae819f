-- パスキー (WebAuthn) as a staff user's second factor: each credential as webauthn-rs keeps it
-- (its public key and signature counter, as JSON), named by its owner.
CREATE TABLE passkeys (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    credential   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);
