-- Inkan's initial schema for SQLite. Forward-only: never edit this file once released; add
-- migrations/sqlite/0002_….sql (and its PostgreSQL twin) instead. See migrations/README.md.
--
-- IDs are UUID strings, times are Unix seconds (UTC), JSON is stored as text. STRICT tables make
-- SQLite refuse values of the wrong type instead of storing them silently.

CREATE TABLE organizations (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE departments (
    id           TEXT NOT NULL PRIMARY KEY,
    organization TEXT NOT NULL REFERENCES organizations (id),
    name         TEXT NOT NULL
) STRICT;
CREATE INDEX departments_organization ON departments (organization);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    organization  TEXT    NOT NULL REFERENCES organizations (id),
    department    TEXT    REFERENCES departments (id),
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT,
    created_at    INTEGER NOT NULL
) STRICT;
-- The login name: unique across the installation, whatever the case.
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_organization ON users (organization);

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    name         TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;

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
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX counterparties_organization ON counterparties (organization, trade_name);

-- The domain envelope is stored whole in `data`; the other columns exist for queries.
CREATE TABLE envelopes (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    status       TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    deadline     INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    created_by   TEXT,
    sender_name  TEXT    NOT NULL,
    sender_email TEXT    NOT NULL,
    counterparty TEXT,
    sealed_at    INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    data         TEXT    NOT NULL,
    -- Lets documents, attachments and tokens name their envelope and organization together.
    UNIQUE (id, organization)
) STRICT;
CREATE INDEX envelopes_list ON envelopes (organization, created_at DESC);
CREATE INDEX envelopes_status ON envelopes (organization, status, created_at DESC);
CREATE INDEX envelopes_deadline ON envelopes (status, deadline);

CREATE TABLE documents (
    id              TEXT    NOT NULL PRIMARY KEY,
    envelope        TEXT    NOT NULL,
    organization    TEXT    NOT NULL,
    position        INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    pages           INTEGER NOT NULL,
    original_blob   TEXT    NOT NULL,
    current_blob    TEXT    NOT NULL,
    revision        INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,
    fields          TEXT    NOT NULL,
    signed_by       TEXT    NOT NULL,
    -- 電帳法 search items: 取引年月日 (YYYY-MM-DD, so text order is date order), 取引金額, 取引先.
    tx_date         TEXT,
    tx_amount       INTEGER,
    tx_counterparty TEXT,
    created_at      INTEGER NOT NULL,
    FOREIGN KEY (envelope, organization) REFERENCES envelopes (id, organization)
) STRICT;
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
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    FOREIGN KEY (envelope, organization) REFERENCES envelopes (id, organization)
) STRICT;
CREATE INDEX attachments_envelope ON attachments (envelope, created_at);

-- Link tokens, by the SHA-256 of the secret.
CREATE TABLE tokens (
    hash         BLOB    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('signer', 'completion')),
    organization TEXT    NOT NULL,
    envelope     TEXT    NOT NULL,
    recipient    TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    FOREIGN KEY (envelope, organization) REFERENCES envelopes (id, organization)
) STRICT;
CREATE INDEX tokens_envelope ON tokens (envelope);

CREATE TABLE jobs (
    id           TEXT    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    organization TEXT,
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    dedupe_key   TEXT,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_created ON jobs (created_at);
-- At most one queued job per dedupe key: INSERT … ON CONFLICT DO NOTHING skips the others.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE status = 'queued';

-- The hash-chained audit trail. `entry` is the NewAuditEntry JSON exactly as serde_json wrote
-- it; the hash is recomputed from it. `envelope` and `at` are copies for queries only.
CREATE TABLE audit_entries (
    organization TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    envelope     TEXT,
    at           INTEGER NOT NULL,
    entry        TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    PRIMARY KEY (organization, seq)
) STRICT;
CREATE INDEX audit_entries_envelope ON audit_entries (organization, envelope, seq);

-- Each organization's last sequence number and hash, kept apart from the entries so that
-- deleting the newest entries is detected.
CREATE TABLE audit_heads (
    organization TEXT    NOT NULL PRIMARY KEY,
    seq          INTEGER NOT NULL,
    hash         TEXT    NOT NULL
) STRICT;

CREATE TABLE webhooks (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    url          TEXT    NOT NULL,
    secret       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_organization ON webhooks (organization);
