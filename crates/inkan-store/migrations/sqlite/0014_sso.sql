-- シングルサインオン: one OpenID provider per organization (its client secret sealed under the
-- master key), the email domains whose users it logs in (each domain belongs to one
-- organization), and values that may be used once (an SSO login's state: a replayed callback
-- is refused on every node).
CREATE TABLE sso_providers (
    organization  TEXT    NOT NULL PRIMARY KEY REFERENCES organizations (id),
    issuer        TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    client_secret TEXT    NOT NULL,
    required      INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sso_domains (
    domain       TEXT NOT NULL PRIMARY KEY,
    organization TEXT NOT NULL REFERENCES sso_providers (organization)
) STRICT;
CREATE INDEX sso_domains_organization ON sso_domains (organization);

CREATE TABLE used_once (
    scope      TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (scope, value)
) STRICT;
CREATE INDEX used_once_expiry ON used_once (expires_at);
