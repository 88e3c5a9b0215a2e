-- A version of each bucket's batches, so that a page the server has
-- answered can be answered again without reading it while the bucket is
-- unchanged (api's page cache), across processes: triggers change it in the
-- transaction of every write to batches, whatever writes (the server,
-- another process, the administration commands, your own SQL).
--
-- A bucket's version starts at a random number (random() >> 2, so that
-- adding one never overflows) and grows by one with each row written: a
-- row deleted and made again does not start where an earlier one did, so a
-- version a server has seen never comes back. Every bucket has a row from
-- its creation on.

-- +goose Up
CREATE TABLE bucket_versions (
    bucket_id TEXT    NOT NULL PRIMARY KEY REFERENCES buckets (id) ON DELETE CASCADE,
    version   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO bucket_versions (bucket_id, version) SELECT id, random() >> 2 FROM buckets;

-- +goose StatementBegin
CREATE TRIGGER buckets_version_insert AFTER INSERT ON buckets
BEGIN
    INSERT INTO bucket_versions (bucket_id, version) VALUES (NEW.id, random() >> 2)
    ON CONFLICT (bucket_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_version_insert AFTER INSERT ON batches
BEGIN
    INSERT INTO bucket_versions (bucket_id, version) VALUES (NEW.bucket_id, random() >> 2)
    ON CONFLICT (bucket_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_version_delete AFTER DELETE ON batches
BEGIN
    INSERT INTO bucket_versions (bucket_id, version) VALUES (OLD.bucket_id, random() >> 2)
    ON CONFLICT (bucket_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- Any column: a page is the docs of its batches, and their order.
-- +goose StatementBegin
CREATE TRIGGER batches_version_update AFTER UPDATE ON batches
BEGIN
    INSERT INTO bucket_versions (bucket_id, version) VALUES (NEW.bucket_id, random() >> 2)
    ON CONFLICT (bucket_id) DO UPDATE SET version = version + 1;
    INSERT INTO bucket_versions (bucket_id, version) SELECT OLD.bucket_id, random() >> 2
    WHERE OLD.bucket_id IS NOT NEW.bucket_id
    ON CONFLICT (bucket_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER batches_version_update;
DROP TRIGGER batches_version_delete;
DROP TRIGGER batches_version_insert;
DROP TRIGGER buckets_version_insert;
DROP TABLE bucket_versions;
