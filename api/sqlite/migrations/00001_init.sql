-- The initial schema. Every timestamp is an INTEGER of nanoseconds since the
-- Unix epoch, UTC; JSON columns hold the JSON text of the API's fields.

-- +goose Up
CREATE TABLE organizations (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE namespaces (
    id              TEXT    NOT NULL PRIMARY KEY,
    organization_id TEXT    NOT NULL REFERENCES organizations (id),
    name            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (organization_id, name)
) STRICT;

CREATE TABLE buckets (
    id           TEXT    NOT NULL PRIMARY KEY,
    namespace_id TEXT    NOT NULL REFERENCES namespaces (id),
    name         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (namespace_id, name)
) STRICT;

-- Only the SHA-256 hash of a key is kept, nothing of the key itself.
CREATE TABLE api_keys (
    key_hash        BLOB    NOT NULL PRIMARY KEY CHECK (length(key_hash) = 32),
    organization_id TEXT    NOT NULL REFERENCES organizations (id),
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
) STRICT;

CREATE INDEX api_keys_organization ON api_keys (organization_id);

CREATE TABLE batches (
    id             TEXT    NOT NULL PRIMARY KEY,
    bucket_id      TEXT    NOT NULL REFERENCES buckets (id),
    status         TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    object_ids     TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(object_ids) = 'array'),
    collection_ids TEXT             CHECK (collection_ids IS NULL OR json_type(collection_ids) = 'array'),
    error          TEXT,
    error_summary  TEXT             CHECK (error_summary IS NULL OR json_type(error_summary) = 'object'),
    task_id        TEXT,
    metadata       TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(metadata) = 'object'),
    current_tier   INTEGER,
    total_tiers    INTEGER NOT NULL DEFAULT 1 CHECK (total_tiers >= 1),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

-- List Batches: one bucket, newest first, optionally one status.
CREATE INDEX batches_bucket_created ON batches (bucket_id, created_at DESC, id DESC);
CREATE INDEX batches_bucket_status_created ON batches (bucket_id, status, created_at DESC, id DESC);

-- +goose Down
DROP TABLE batches;
DROP TABLE api_keys;
DROP TABLE buckets;
DROP TABLE namespaces;
DROP TABLE organizations;
