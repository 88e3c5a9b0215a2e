-- List Batches filtered by collection without scanning or counting, as on
-- SQLite (api/sqlite/migrations/00005_batch_collections.sql).
--
-- batch_collections holds one row for each collection id of each batch
-- (batches.collection_ids, its strings, duplicates once), with the columns
-- the list filters and sorts on: batch_collections_key serves the filter
-- by collection and the order, batch_collections_status the filter by
-- collection and status, so that a page's rows are index entries and the
-- batches are read by id for their docs alone. batch_collection_counts
-- holds the number of batches of each bucket, collection and status, so
-- that total_count is read from at most 13 rows. Statement-level triggers
-- keep both in the transaction of every write to batches (insert, COPY,
-- update, delete, truncate): the rows of batch_collections follow the
-- batch's id, bucket, status, collection_ids and created_at, and the counts
-- follow the rows of batch_collections, applied in key order so that
-- concurrent writers lock count rows in one order.

-- +goose Up
CREATE TABLE batch_collections (
    bucket_id     text COLLATE "C" NOT NULL,
    collection_id text COLLATE "C" NOT NULL,
    created_at    bigint           NOT NULL,
    batch_id      text COLLATE "C" NOT NULL,
    status        text COLLATE "C" NOT NULL
);

CREATE UNIQUE INDEX batch_collections_key
    ON batch_collections (bucket_id, collection_id, created_at DESC, batch_id DESC);
CREATE INDEX batch_collections_status
    ON batch_collections (bucket_id, collection_id, status, created_at DESC, batch_id DESC);

CREATE TABLE batch_collection_counts (
    bucket_id     text COLLATE "C" NOT NULL REFERENCES buckets (id),
    collection_id text COLLATE "C" NOT NULL,
    status        text COLLATE "C" NOT NULL,
    n             bigint           NOT NULL,
    PRIMARY KEY (bucket_id, collection_id, status)
);

INSERT INTO batch_collections (bucket_id, collection_id, created_at, batch_id, status)
SELECT DISTINCT b.bucket_id, e #>> '{}', b.created_at, b.id, b.status
FROM batches AS b, json_array_elements(b.collection_ids) AS e
WHERE json_typeof(e) = 'string';

INSERT INTO batch_collection_counts (bucket_id, collection_id, status, n)
SELECT bucket_id, collection_id, status, count(*) FROM batch_collections
GROUP BY bucket_id, collection_id, status;

-- +goose StatementBegin
CREATE FUNCTION batch_collection_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_collection_counts AS c (bucket_id, collection_id, status, n)
    SELECT bucket_id, collection_id, status, count(*) FROM new_rows
    GROUP BY bucket_id, collection_id, status ORDER BY bucket_id, collection_id, status
    ON CONFLICT (bucket_id, collection_id, status) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batch_collection_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_collection_counts AS c (bucket_id, collection_id, status, n)
    SELECT bucket_id, collection_id, status, -count(*) FROM old_rows
    GROUP BY bucket_id, collection_id, status ORDER BY bucket_id, collection_id, status
    ON CONFLICT (bucket_id, collection_id, status) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- The rows of batch_collections of the batches a statement inserted,
-- deleted or changed (in id, bucket, status, collection_ids or
-- created_at): an update of other columns (a doc) changes nothing.
-- +goose StatementBegin
CREATE FUNCTION batch_collections_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_collections (bucket_id, collection_id, created_at, batch_id, status)
    SELECT DISTINCT n.bucket_id, e #>> '{}', n.created_at, n.id, n.status
    FROM new_rows AS n, json_array_elements(n.collection_ids) AS e
    WHERE json_typeof(e) = 'string';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batch_collections_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM batch_collections AS bc
    USING old_rows AS o, json_array_elements(o.collection_ids) AS e
    WHERE json_typeof(e) = 'string' AND bc.bucket_id = o.bucket_id AND bc.collection_id = e #>> '{}'
      AND bc.created_at = o.created_at AND bc.batch_id = o.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batch_collections_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM batch_collections AS bc
    USING old_rows AS o, json_array_elements(o.collection_ids) AS e
    WHERE json_typeof(e) = 'string' AND bc.bucket_id = o.bucket_id AND bc.collection_id = e #>> '{}'
      AND bc.created_at = o.created_at AND bc.batch_id = o.id
      AND NOT EXISTS (SELECT 1 FROM new_rows AS n WHERE n.id = o.id AND n.bucket_id = o.bucket_id
          AND n.status = o.status AND n.created_at = o.created_at
          AND n.collection_ids::text IS NOT DISTINCT FROM o.collection_ids::text);
    INSERT INTO batch_collections (bucket_id, collection_id, created_at, batch_id, status)
    SELECT DISTINCT n.bucket_id, e #>> '{}', n.created_at, n.id, n.status
    FROM new_rows AS n, json_array_elements(n.collection_ids) AS e
    WHERE json_typeof(e) = 'string'
      AND NOT EXISTS (SELECT 1 FROM old_rows AS o WHERE o.id = n.id AND o.bucket_id = n.bucket_id
          AND o.status = n.status AND o.created_at = n.created_at
          AND o.collection_ids::text IS NOT DISTINCT FROM n.collection_ids::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batch_collections_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM batch_collections;
    DELETE FROM batch_collection_counts;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER batch_collection_counts_insert AFTER INSERT ON batch_collections
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_collection_counts_after_insert();
CREATE TRIGGER batch_collection_counts_delete AFTER DELETE ON batch_collections
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_collection_counts_after_delete();
CREATE TRIGGER batch_collections_insert AFTER INSERT ON batches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_collections_after_insert();
CREATE TRIGGER batch_collections_delete AFTER DELETE ON batches
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_collections_after_delete();
CREATE TRIGGER batch_collections_update AFTER UPDATE ON batches
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_collections_after_update();
CREATE TRIGGER batch_collections_truncate AFTER TRUNCATE ON batches
    FOR EACH STATEMENT EXECUTE FUNCTION batch_collections_after_truncate();

-- +goose Down
DROP TRIGGER batch_collections_truncate ON batches;
DROP TRIGGER batch_collections_update ON batches;
DROP TRIGGER batch_collections_delete ON batches;
DROP TRIGGER batch_collections_insert ON batches;
DROP TABLE batch_collection_counts;
DROP TABLE batch_collections;
DROP FUNCTION batch_collections_after_truncate, batch_collections_after_update, batch_collections_after_delete,
    batch_collections_after_insert, batch_collection_counts_after_delete, batch_collection_counts_after_insert;
