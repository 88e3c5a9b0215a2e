-- A version of each bucket's batches, so that a page the server has
-- answered can be answered again without reading it while the bucket is
-- unchanged (api's page cache), across processes: triggers change it in the
-- transaction of every write to batches, whatever writes (the servers, the
-- administration commands, your own SQL).
--
-- A bucket's version starts at a random number (below 2^62, so that adding
-- one never overflows) and grows by one with each statement that writes
-- its batches: a row deleted and made again (TRUNCATE deletes them all)
-- does not start where an earlier one did, so a version a server has seen
-- never comes back. Every bucket has a row from its creation on. Writers
-- of one bucket update its row, which they already do for batch_counts.

-- +goose Up
CREATE TABLE bucket_versions (
    bucket_id text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES buckets (id) ON DELETE CASCADE,
    version   bigint           NOT NULL
);

INSERT INTO bucket_versions (bucket_id, version)
SELECT id, (random() * 4611686018427387904)::bigint FROM buckets;

-- +goose StatementBegin
CREATE FUNCTION bucket_versions_bump(ids text[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO bucket_versions AS v (bucket_id, version)
    SELECT id, (random() * 4611686018427387904)::bigint FROM (SELECT DISTINCT unnest(ids) AS id) AS d ORDER BY id
    ON CONFLICT (bucket_id) DO UPDATE SET version = v.version + 1;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION buckets_version_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bucket_versions_bump(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batches_version_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bucket_versions_bump(ARRAY(SELECT bucket_id FROM new_rows));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batches_version_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bucket_versions_bump(ARRAY(SELECT bucket_id FROM old_rows));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batches_version_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bucket_versions_bump(ARRAY(SELECT bucket_id FROM old_rows UNION SELECT bucket_id FROM new_rows));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batches_version_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bucket_versions;
    INSERT INTO bucket_versions (bucket_id, version)
    SELECT id, (random() * 4611686018427387904)::bigint FROM buckets;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER buckets_version_insert AFTER INSERT ON buckets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION buckets_version_after_insert();
CREATE TRIGGER batches_version_insert AFTER INSERT ON batches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batches_version_after_insert();
CREATE TRIGGER batches_version_delete AFTER DELETE ON batches
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION batches_version_after_delete();
CREATE TRIGGER batches_version_update AFTER UPDATE ON batches
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batches_version_after_update();
CREATE TRIGGER batches_version_truncate AFTER TRUNCATE ON batches
    FOR EACH STATEMENT EXECUTE FUNCTION batches_version_after_truncate();

-- +goose Down
DROP TRIGGER batches_version_truncate ON batches;
DROP TRIGGER batches_version_update ON batches;
DROP TRIGGER batches_version_delete ON batches;
DROP TRIGGER batches_version_insert ON batches;
DROP TRIGGER buckets_version_insert ON buckets;
DROP FUNCTION batches_version_after_truncate, batches_version_after_update, batches_version_after_delete,
    batches_version_after_insert, buckets_version_after_insert, bucket_versions_bump;
DROP TABLE bucket_versions;
