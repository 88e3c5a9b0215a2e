-- The bytes of the batches' docs, kept with the counts: batch_counts gains,
-- for each bucket and status, bytes (the bytes of the docs of its batches,
-- length(CAST(doc AS BLOB)): the bytes of UTF-8, as the API writes them; SQLite before 3.43 has no octet_length) and max_bytes (the most bytes one
-- of its docs has had: a high-water mark, never lowered, so an upper
-- bound). The triggers that keep n keep them too, in the transaction of
-- every write to batches, whatever the statement (an insert, an update of
-- the bucket, the status or the doc, a delete). The API reserves the answer
-- memory of a page by them (api/admission.go): a page of limit batches of
-- a bucket is at most min(limit × the largest, the bucket's bytes), not
-- limit × 32 KiB.

-- +goose Up
ALTER TABLE batch_counts ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batch_counts ADD COLUMN max_bytes INTEGER NOT NULL DEFAULT 0;

UPDATE batch_counts SET (bytes, max_bytes) = (
    SELECT coalesce(sum(length(CAST(b.doc AS BLOB))), 0), coalesce(max(length(CAST(b.doc AS BLOB))), 0)
    FROM batches AS b WHERE b.bucket_id = batch_counts.bucket_id AND b.status = batch_counts.status);

DROP TRIGGER batches_count_insert;
DROP TRIGGER batches_count_delete;
DROP TRIGGER batches_count_update;

-- +goose StatementBegin
CREATE TRIGGER batches_count_insert AFTER INSERT ON batches
BEGIN
    INSERT INTO batch_counts (bucket_id, status, n, bytes, max_bytes)
    VALUES (NEW.bucket_id, NEW.status, 1, length(CAST(NEW.doc AS BLOB)), length(CAST(NEW.doc AS BLOB)))
    ON CONFLICT (bucket_id, status) DO UPDATE
    SET n = n + 1, bytes = bytes + excluded.bytes, max_bytes = max(max_bytes, excluded.max_bytes);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_count_delete AFTER DELETE ON batches
BEGIN
    UPDATE batch_counts SET n = n - 1, bytes = bytes - length(CAST(OLD.doc AS BLOB))
    WHERE bucket_id = OLD.bucket_id AND status = OLD.status;
END;
-- +goose StatementEnd

-- A doc changes with every write of a batch (batches_doc_update_stale
-- refuses an update of another column that leaves it), so this trigger
-- runs for them all; an update that changes nothing of the three changes
-- no count.
-- +goose StatementBegin
CREATE TRIGGER batches_count_update AFTER UPDATE OF bucket_id, status, doc ON batches
WHEN OLD.bucket_id IS NOT NEW.bucket_id OR OLD.status IS NOT NEW.status OR OLD.doc IS NOT NEW.doc
BEGIN
    UPDATE batch_counts SET n = n - 1, bytes = bytes - length(CAST(OLD.doc AS BLOB))
    WHERE bucket_id = OLD.bucket_id AND status = OLD.status;
    INSERT INTO batch_counts (bucket_id, status, n, bytes, max_bytes)
    VALUES (NEW.bucket_id, NEW.status, 1, length(CAST(NEW.doc AS BLOB)), length(CAST(NEW.doc AS BLOB)))
    ON CONFLICT (bucket_id, status) DO UPDATE
    SET n = n + 1, bytes = bytes + excluded.bytes, max_bytes = max(max_bytes, excluded.max_bytes);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER batches_count_update;
DROP TRIGGER batches_count_delete;
DROP TRIGGER batches_count_insert;

-- +goose StatementBegin
CREATE TRIGGER batches_count_insert AFTER INSERT ON batches
BEGIN
    INSERT INTO batch_counts (bucket_id, status, n) VALUES (NEW.bucket_id, NEW.status, 1)
    ON CONFLICT (bucket_id, status) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_count_delete AFTER DELETE ON batches
BEGIN
    UPDATE batch_counts SET n = n - 1 WHERE bucket_id = OLD.bucket_id AND status = OLD.status;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_count_update AFTER UPDATE OF bucket_id, status ON batches
WHEN OLD.bucket_id IS NOT NEW.bucket_id OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE batch_counts SET n = n - 1 WHERE bucket_id = OLD.bucket_id AND status = OLD.status;
    INSERT INTO batch_counts (bucket_id, status, n) VALUES (NEW.bucket_id, NEW.status, 1)
    ON CONFLICT (bucket_id, status) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

ALTER TABLE batch_counts DROP COLUMN max_bytes;
ALTER TABLE batch_counts DROP COLUMN bytes;
