-- 閲覧権限・フォルダ: groups of staff users, hierarchical folders granted to groups, every
-- envelope in at most one folder (none: the organization's top level), and one envelope shared
-- with one user. Who reads what is decided by one predicate in the store (`reach.rs`).
CREATE TABLE staff_groups (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    name         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (id, organization)
) STRICT;
CREATE UNIQUE INDEX staff_groups_name ON staff_groups (organization, name);

CREATE TABLE group_members (
    group_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    organization TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (group_id, organization) REFERENCES staff_groups (id, organization)
) STRICT;
CREATE INDEX group_members_user ON group_members (user_id);

-- `path` is the chain of folder IDs from the top, each followed by '/', ending with the
-- folder's own: a folder's descendants are the folders whose path starts with its path.
CREATE TABLE folders (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    parent       TEXT    REFERENCES folders (id),
    name         TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (id, organization)
) STRICT;
CREATE UNIQUE INDEX folders_name ON folders (organization, COALESCE(parent, ''), name);
CREATE INDEX folders_path ON folders (organization, path);

CREATE TABLE folder_grants (
    folder       TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    organization TEXT NOT NULL,
    PRIMARY KEY (folder, group_id),
    FOREIGN KEY (folder, organization) REFERENCES folders (id, organization),
    FOREIGN KEY (group_id, organization) REFERENCES staff_groups (id, organization)
) STRICT;
CREATE INDEX folder_grants_group ON folder_grants (group_id);

CREATE TABLE envelope_shares (
    envelope     TEXT    NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    organization TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (envelope, user_id),
    FOREIGN KEY (envelope, organization) REFERENCES envelopes (id, organization)
) STRICT;
CREATE INDEX envelope_shares_user ON envelope_shares (user_id);

ALTER TABLE envelopes ADD COLUMN folder TEXT REFERENCES folders (id);
CREATE INDEX envelopes_folder ON envelopes (organization, folder);
ALTER TABLE organizations ADD COLUMN folder_required INTEGER NOT NULL DEFAULT 0;
