-- RFC 3161 timestamps over audit chain heads, apart from the entries: proof that a chain had
-- entry `seq` with `hash` at the token's time, which nobody can rewrite afterwards, not even
-- with the chain key. `token` is the TimeStampToken (DER) over the anchor's imprint.
CREATE TABLE audit_anchors (
    organization TEXT    NOT NULL,
    seq          BIGINT  NOT NULL,
    hash         TEXT    NOT NULL,
    at           BIGINT  NOT NULL,
    token        BYTEA   NOT NULL,
    PRIMARY KEY (organization, seq)
);
