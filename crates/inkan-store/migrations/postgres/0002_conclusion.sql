-- Issue 6: the certificate of conclusion (電子契約締結証明書), lookup by 締結証明書ID, and the
-- signer's own library and account. Forward-only; the SQLite twin is sqlite/0002_….

-- The 締結証明書ID lives in the envelope's data; a column makes it a unique, indexed key for
-- the public verification page.
ALTER TABLE envelopes ADD COLUMN conclusion_id TEXT;
UPDATE envelopes SET conclusion_id = (data::json) ->> 'conclusion_id';
CREATE UNIQUE INDEX envelopes_conclusion_id ON envelopes (conclusion_id);

-- The signed certificate of conclusion, once the envelope is sealed.
ALTER TABLE envelopes ADD COLUMN certificate_blob   TEXT;
ALTER TABLE envelopes ADD COLUMN certificate_sha256 TEXT;
ALTER TABLE envelopes ADD COLUMN certificate_size   BIGINT;

-- Who received each concluded envelope (signers and cc), by lower-cased email: a signer's
-- library lists these, across organizations, long after the completion link died.
CREATE TABLE concluded_recipients (
    email        TEXT    NOT NULL,
    envelope     TEXT    NOT NULL,
    organization TEXT    NOT NULL,
    recipient    TEXT    NOT NULL,
    concluded_at BIGINT  NOT NULL,
    PRIMARY KEY (email, envelope, recipient),
    FOREIGN KEY (envelope, organization) REFERENCES envelopes (id, organization)
);
INSERT INTO concluded_recipients (email, envelope, organization, recipient, concluded_at)
SELECT lower(r ->> 'email'), e.id, e.organization, r ->> 'id', e.sealed_at
FROM envelopes e, json_array_elements((e.data::json) -> 'recipients') r
WHERE e.sealed_at IS NOT NULL AND r ->> 'role' IN ('signer', 'cc');

-- A signer's free account: an email proven by a code sent to it (no password is kept).
CREATE TABLE signer_accounts (
    id         TEXT    NOT NULL PRIMARY KEY,
    email      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX signer_accounts_email ON signer_accounts (lower(email));

-- One pending one-time code per lower-cased email, stored as a keyed hash.
CREATE TABLE email_codes (
    email      TEXT    NOT NULL PRIMARY KEY,
    code_hash  BYTEA   NOT NULL,
    expires_at BIGINT  NOT NULL,
    attempts   BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL
);
