-- The initial schema, api/sqlite/migrations/00001_init.sql in PostgreSQL's
-- types. Every timestamp is a bigint of nanoseconds since the Unix epoch,
-- UTC, as in SQLite (timestamptz keeps only microseconds); JSON columns are
-- json, which keeps the text as given, as SQLite does. Ids and names compare
-- and sort by their bytes (COLLATE "C"), as in SQLite, whatever the
-- database's locale.

-- +goose Up
CREATE TABLE organizations (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    name       text COLLATE "C" NOT NULL,
    created_at bigint           NOT NULL
);

CREATE TABLE namespaces (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
    name            text COLLATE "C" NOT NULL,
    created_at      bigint           NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE buckets (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    namespace_id text COLLATE "C" NOT NULL REFERENCES namespaces (id),
    name         text COLLATE "C" NOT NULL,
    created_at   bigint           NOT NULL,
    UNIQUE (namespace_id, name)
);

-- Only the SHA-256 hash of a key is kept, nothing of the key itself.
CREATE TABLE api_keys (
    key_hash        bytea            NOT NULL PRIMARY KEY CHECK (octet_length(key_hash) = 32),
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
    created_at      bigint           NOT NULL,
    revoked_at      bigint
);

CREATE INDEX api_keys_organization ON api_keys (organization_id);

CREATE TABLE batches (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    bucket_id      text COLLATE "C" NOT NULL REFERENCES buckets (id),
    status         text COLLATE "C" NOT NULL,
    type           text COLLATE "C" NOT NULL,
    object_ids     json             NOT NULL DEFAULT '[]' CHECK (json_typeof(object_ids) = 'array'),
    collection_ids json                      CHECK (collection_ids IS NULL OR json_typeof(collection_ids) = 'array'),
    error          text,
    error_summary  json                      CHECK (error_summary IS NULL OR json_typeof(error_summary) = 'object'),
    task_id        text,
    metadata       json             NOT NULL DEFAULT '{}' CHECK (json_typeof(metadata) = 'object'),
    current_tier   bigint,
    total_tiers    bigint           NOT NULL DEFAULT 1 CHECK (total_tiers >= 1),
    created_at     bigint           NOT NULL,
    updated_at     bigint           NOT NULL
);

-- List Batches: one bucket, newest first, optionally one status.
CREATE INDEX batches_bucket_created ON batches (bucket_id, created_at DESC, id DESC);
CREATE INDEX batches_bucket_status_created ON batches (bucket_id, status, created_at DESC, id DESC);

-- +goose Down
DROP TABLE batches;
DROP TABLE api_keys;
DROP TABLE buckets;
DROP TABLE namespaces;
DROP TABLE organizations;
