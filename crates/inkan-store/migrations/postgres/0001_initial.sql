-- Inkan's initial schema for PostgreSQL. Forward-only: never edit this file once released; add
-- migrations/postgres/0002_….sql (and its SQLite twin) instead. See migrations/README.md.
--
-- IDs are UUID strings (TEXT, as in SQLite, so both backends read rows the same way), times are
-- Unix seconds (UTC), every integer is BIGINT (the store reads them all as i64). JSON is stored
-- as TEXT, not JSONB: nothing queries inside it, and the audit chain's hashes are computed over
-- the exact bytes, which JSONB would not keep (it reorders keys).

CREATE TABLE organizations (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE departments (
    id           TEXT NOT NULL PRIMARY KEY,
    organization TEXT NOT NULL REFERENCES organizations (id),
    name         TEXT NOT NULL
);
CREATE INDEX departments_organization ON departments (organization);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    organization  TEXT    NOT NULL REFERENCES organizations (id),
    department    TEXT    REFERENCES departments (id),
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT,
    created_at    BIGINT  NOT NULL
);
-- The login name: unique across the installation, whatever the case.
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_organization ON users (organization);

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    name         TEXT    NOT NULL,
    hash         BYTEA    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE counterparties (
    id               TEXT    NOT NULL PRIMARY KEY,
    organization     TEXT    NOT NULL REFERENCES organizations (id),
    address          TEXT    NOT NULL,
    trade_name       TEXT    NOT NULL,
    representative   TEXT    NOT NULL,
    signatory_title  TEXT    NOT NULL,
    signatory_name   TEXT    NOT NULL,
    signatory_email  TEXT    NOT NULL,
    clerk_department TEXT    NOT NULL,
    clerk_title      TEXT    NOT NULL,
    clerk_name       TEXT    NOT NULL,
    clerk_phone      TEXT    NOT NULL,
    clerk_email      TEXT,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX counterparties_organization ON counterparties (organization, trade_name);

-- The domain envelope is stored whole in `data`; the other columns exist for queries.
CREATE TABLE envelopes (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    status       TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    deadline     BIGINT  NOT NULL,
    version      BIGINT  NOT NULL,
    created_by   TEXT,
    sender_name  TEXT    NOT NULL,
    sender_email TEXT    NOT NULL,
    counterparty TEXT,
    sealed_at    BIGINT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    data         TEXT    NOT NULL,
    -- Lets documents, attachments and tokens name their envelope and organization together.
    UNIQUE (id, organization)
);
CREATE INDEX envelopes_list ON envelopes (organization, created_at DESC);
CREATE INDEX envelopes_status ON envelopes (organization, status, created_at DESC);
CREATE INDEX envelopes_deadline ON envelopes (status, deadline);

CREATE TABLE documents (
    id              TEXT    NOT NULL PRIMARY KEY,
    envelope        TEXT    NOT NULL,
    organization    TEXT    NOT NULL,
    position        BIGINT  NOT NULL,
    name            TEXT    NOT NULL,
    pages           BIGINT  NOT NULL,
    original_blob   TEXT    NOT NULL,
    current_blob    TEXT    NOT NULL,
    revision        BIGINT  NOT NULL,
    size            BIGINT  NOT NULL,
    sha256          TEXT    NOT NULL,
    fields          TEXT    NOT NULL,
    signed_by       TEXT    NOT NULL,
    -- 電帳法 search items: 取引年月日 (YYYY-MM-DD, so text order is date order), 取引金額, 取引先.
    tx_date         TEXT,
    tx_amount       BIGINT,
    tx_counterparty TEXT,
    created_at      BIGINT  NOT NULL,
    FOREIGN KEY (envelope, organization) REFERENCES envelopes (id, organization)
);
CREATE INDEX documents_envelope ON documents (envelope, position);
CREATE INDEX documents_tx_date ON documents (organization, tx_date);
CREATE INDEX documents_tx_amount ON documents (organization, tx_amount);

CREATE TABLE attachments (
    id           TEXT    NOT NULL PRIMARY KEY,
    envelope     TEXT    NOT NULL,
    organization TEXT    NOT NULL,
    recipient    TEXT,
    field        TEXT,
    name         TEXT    NOT NULL,
    blob         TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    sha256       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    FOREIGN KEY (envelope, organization) REFERENCES envelopes (id, organization)
);
CREATE INDEX attachments_envelope ON attachments (envelope, created_at);

-- Link tokens, by the SHA-256 of the secret.
CREATE TABLE tokens (
    hash         BYTEA    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('signer', 'completion')),
    organization TEXT    NOT NULL,
    envelope     TEXT    NOT NULL,
    recipient    TEXT,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    FOREIGN KEY (envelope, organization) REFERENCES envelopes (id, organization)
);
CREATE INDEX tokens_envelope ON tokens (envelope);

CREATE TABLE jobs (
    id           TEXT    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    organization TEXT,
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at       BIGINT  NOT NULL,
    attempts     BIGINT  NOT NULL,
    max_attempts BIGINT  NOT NULL,
    dedupe_key   TEXT,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_created ON jobs (created_at);
-- At most one queued job per dedupe key: INSERT … ON CONFLICT DO NOTHING skips the others.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE status = 'queued';

-- The hash-chained audit trail. `entry` is the NewAuditEntry JSON exactly as serde_json wrote
-- it; the hash is recomputed from it. `envelope` and `at` are copies for queries only.
CREATE TABLE audit_entries (
    organization TEXT    NOT NULL,
    seq          BIGINT  NOT NULL,
    envelope     TEXT,
    at           BIGINT  NOT NULL,
    entry        TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    PRIMARY KEY (organization, seq)
);
CREATE INDEX audit_entries_envelope ON audit_entries (organization, envelope, seq);

-- Each organization's last sequence number and hash, kept apart from the entries so that
-- deleting the newest entries is detected.
CREATE TABLE audit_heads (
    organization TEXT    NOT NULL PRIMARY KEY,
    seq          BIGINT  NOT NULL,
    hash         TEXT    NOT NULL
);

CREATE TABLE webhooks (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    url          TEXT    NOT NULL,
    secret       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX webhooks_organization ON webhooks (organization);
