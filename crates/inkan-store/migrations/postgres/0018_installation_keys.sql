-- A fingerprint of each key the nodes of an installation must share (the link key, the audit
-- chain key, the master key): the first node to start records them, and a node started with
-- other keys (created on its own instead of copied) refuses to start, naming the key.
CREATE TABLE installation_keys (
    name        TEXT   NOT NULL PRIMARY KEY,
    fingerprint TEXT   NOT NULL,
    recorded_at BIGINT NOT NULL
);
