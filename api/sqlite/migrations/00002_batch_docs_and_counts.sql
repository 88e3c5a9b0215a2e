-- List Batches without decoding rows or counting them.
--
-- batches.doc is each batch's canonical JSON, exactly as the API serves it
-- (api.BatchJSON), written by the store with every write of the batch; pages
-- are the docs of their rows joined. Existing rows get theirs from the Go
-- migration that follows (version 3), which renders them as the server
-- did.
--
-- batch_counts holds the number of batches of each bucket in each status,
-- kept by triggers in the transaction of every write to batches, whatever
-- the statement, so that total_count is read from at most 13 rows instead
-- of counted. A status whose batches are all gone keeps a row with n = 0.

-- +goose Up
ALTER TABLE batches ADD COLUMN doc TEXT NOT NULL DEFAULT '';

CREATE TABLE batch_counts (
    bucket_id TEXT    NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
    status    TEXT    NOT NULL,
    n         INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (bucket_id, status)
) STRICT, WITHOUT ROWID;

INSERT INTO batch_counts (bucket_id, status, n)
SELECT bucket_id, status, count(*) FROM batches GROUP BY bucket_id, status;

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

-- +goose Down
DROP TRIGGER batches_count_update;
DROP TRIGGER batches_count_delete;
DROP TRIGGER batches_count_insert;
DROP TABLE batch_counts;
ALTER TABLE batches DROP COLUMN doc;
