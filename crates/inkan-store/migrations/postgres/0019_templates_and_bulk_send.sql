-- テンプレート: a reusable envelope (documents, fields, roles, routing, 差込み項目), kept in
-- numbered versions that never change once written; an envelope made from one names the
-- version it used (inside its JSON). The body is the service's `TemplateBody` as JSON; its
-- PDFs are encrypted blobs named in it.
CREATE TABLE template_versions (
    template     TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    name         TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    created_by   TEXT,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (template, version)
);
CREATE INDEX template_versions_org ON template_versions (organization, template, version);

-- 一括送信: one batch per CSV, one row per envelope to make and send. A row's job is keyed by
-- batch and row, and the envelope it makes has an ID derived from them, so a worker killed
-- mid-batch leaves nothing sent twice.
CREATE TABLE bulk_batches (
    id           TEXT    NOT NULL PRIMARY KEY,
    organization TEXT    NOT NULL REFERENCES organizations (id),
    template     TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    file_name    TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    row_count    BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX bulk_batches_org ON bulk_batches (organization, created_at);

CREATE TABLE bulk_rows (
    batch        TEXT    NOT NULL REFERENCES bulk_batches (id),
    row_number   BIGINT  NOT NULL,
    organization TEXT    NOT NULL,
    input        TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    envelope     TEXT,
    error        TEXT,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (batch, row_number)
);
