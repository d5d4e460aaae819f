-- What every node counts together.
--
-- Counters every node shares, moved a block at a time (the built-in TSA's serial numbers when
-- nodes on several hosts each have a copy of the PKI folder). The value is a decimal text: a
-- TSA serial outgrows a 64-bit integer after a restore (milliseconds × 2^24).
CREATE TABLE counters (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- Requests per client and minute on the pages guessing would target (the login, the signer
-- links), counted where every node sees them: a node's own limit only slows a client down on
-- that node. Old windows are deleted as new ones are counted.
CREATE TABLE request_windows (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    window_start BIGINT  NOT NULL,
    requests     BIGINT  NOT NULL,
    PRIMARY KEY (scope, key, window_start)
);
CREATE INDEX request_windows_age ON request_windows (window_start);

-- What the built-in PKI's CAs issued and revoked, for nodes on several hosts that each hold a
-- copy of the PKI folder: a signer certificate one node issues, or a revocation, is known to
-- every node's OCSP responder and CRLs. `ca` names a generation's CA (`g1/issuing-ca`), the
-- serial is hex, the revocation the PKI's own record as JSON (none: issued, not revoked).
CREATE TABLE pki_records (
    ca          TEXT    NOT NULL,
    serial      TEXT    NOT NULL,
    revocation  TEXT,
    recorded_at BIGINT  NOT NULL,
    PRIMARY KEY (ca, serial)
);
