-- Failed attempts counted per key (a lower-cased email, a client network) in a fixed window,
-- with the lock-out they lead to. They outlive the one-time codes, so asking for a new code does
-- not reset them.
CREATE TABLE attempt_limits (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until INTEGER,
    PRIMARY KEY (scope, key)
) STRICT;
