-- List Batches filtered by collection without scanning or counting.
--
-- batch_collections holds one row for each collection id of each batch
-- (batches.collection_ids, duplicates once), with the columns the list
-- filters and sorts on: its primary key serves the filter by collection
-- and the order (created_at DESC, batch_id DESC), and
-- batch_collections_status the filter by collection and status, so that
-- a page's rows are index entries and the batches are read by id for
-- their docs alone. batch_collection_counts holds the number of batches of
-- each bucket, collection and status, so that total_count is read from at
-- most 13 rows. Triggers keep both in the transaction of every write to
-- batches, whatever the statement (the rows of batch_collections follow
-- the batch's id, bucket, status, collection_ids and created_at, and the
-- counts follow the rows of batch_collections). A count whose batches are
-- all gone keeps a row with n = 0.

-- +goose Up
CREATE TABLE batch_collections (
    bucket_id     TEXT    NOT NULL,
    collection_id TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    batch_id      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    PRIMARY KEY (bucket_id, collection_id, created_at DESC, batch_id DESC)
) STRICT, WITHOUT ROWID;

CREATE INDEX batch_collections_status
    ON batch_collections (bucket_id, collection_id, status, created_at DESC, batch_id DESC);

CREATE TABLE batch_collection_counts (
    bucket_id     TEXT    NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    collection_id TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    n             INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (bucket_id, collection_id, status)
) STRICT, WITHOUT ROWID;

INSERT INTO batch_collections (bucket_id, collection_id, created_at, batch_id, status)
SELECT DISTINCT b.bucket_id, c.value, b.created_at, b.id, b.status
FROM batches AS b, json_each(b.collection_ids) AS c
WHERE b.collection_ids IS NOT NULL AND c.type = 'text';

INSERT INTO batch_collection_counts (bucket_id, collection_id, status, n)
SELECT bucket_id, collection_id, status, count(*) FROM batch_collections
GROUP BY bucket_id, collection_id, status;

-- +goose StatementBegin
CREATE TRIGGER batch_collections_count_insert AFTER INSERT ON batch_collections
BEGIN
    INSERT INTO batch_collection_counts (bucket_id, collection_id, status, n)
    VALUES (NEW.bucket_id, NEW.collection_id, NEW.status, 1)
    ON CONFLICT (bucket_id, collection_id, status) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batch_collections_count_delete AFTER DELETE ON batch_collections
BEGIN
    UPDATE batch_collection_counts SET n = n - 1
    WHERE bucket_id = OLD.bucket_id AND collection_id = OLD.collection_id AND status = OLD.status;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_collections_insert AFTER INSERT ON batches
WHEN NEW.collection_ids IS NOT NULL
BEGIN
    INSERT INTO batch_collections (bucket_id, collection_id, created_at, batch_id, status)
    SELECT DISTINCT NEW.bucket_id, value, NEW.created_at, NEW.id, NEW.status
    FROM json_each(NEW.collection_ids) WHERE type = 'text';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_collections_delete AFTER DELETE ON batches
WHEN OLD.collection_ids IS NOT NULL
BEGIN
    DELETE FROM batch_collections
    WHERE bucket_id = OLD.bucket_id AND created_at = OLD.created_at AND batch_id = OLD.id
      AND collection_id IN (SELECT value FROM json_each(OLD.collection_ids) WHERE type = 'text');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_collections_update AFTER UPDATE OF id, bucket_id, status, collection_ids, created_at ON batches
WHEN OLD.id IS NOT NEW.id OR OLD.bucket_id IS NOT NEW.bucket_id OR OLD.status IS NOT NEW.status
    OR OLD.collection_ids IS NOT NEW.collection_ids OR OLD.created_at IS NOT NEW.created_at
BEGIN
    DELETE FROM batch_collections
    WHERE OLD.collection_ids IS NOT NULL
      AND bucket_id = OLD.bucket_id AND created_at = OLD.created_at AND batch_id = OLD.id
      AND collection_id IN (SELECT value FROM json_each(OLD.collection_ids) WHERE type = 'text');
    INSERT INTO batch_collections (bucket_id, collection_id, created_at, batch_id, status)
    SELECT DISTINCT NEW.bucket_id, value, NEW.created_at, NEW.id, NEW.status
    FROM json_each(NEW.collection_ids) WHERE NEW.collection_ids IS NOT NULL AND type = 'text';
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER batches_collections_update;
DROP TRIGGER batches_collections_delete;
DROP TRIGGER batches_collections_insert;
DROP TRIGGER batch_collections_count_delete;
DROP TRIGGER batch_collections_count_insert;
DROP TABLE batch_collection_counts;
DROP TABLE batch_collections;
