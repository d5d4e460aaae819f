-- RFC 3161 timestamps over audit chain heads, apart from the entries: proof that a chain had
-- entry `seq` with `hash` at the token's time, which nobody can rewrite afterwards, not even
-- with the chain key. `token` is the TimeStampToken (DER) over the anchor's imprint.
CREATE TABLE audit_anchors (
    organization TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    hash         TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    token        BLOB    NOT NULL,
    PRIMARY KEY (organization, seq)
) STRICT;
