-- Each batch keeps the JSON the API serves for it (doc, api.BatchJSON), so
-- that a page is its docs joined; and batch_counts keeps the number of
-- batches of each bucket and status, so that total_count is read, not
-- counted. Triggers on batches keep batch_counts in step within the
-- transaction of every write (insert, COPY, update, delete, truncate), so a
-- statement reading both sees them agree.

-- +goose Up
-- PostgreSQL databases start at this version of the server, so batches is
-- empty here: a doc cannot be made in SQL, and adding the NOT NULL column
-- to rows would fail rather than leave them without one.
ALTER TABLE batches ADD COLUMN doc text NOT NULL;

CREATE TABLE batch_counts (
    bucket_id text COLLATE "C" NOT NULL REFERENCES buckets (id),
    status    text COLLATE "C" NOT NULL,
    n         bigint           NOT NULL,
    PRIMARY KEY (bucket_id, status)
);


-- Statement-level triggers see all the rows a statement changed (transition
-- tables), so a batch of 1000 inserts updates each count once. The deltas
-- are applied in (bucket_id, status) order, so that concurrent writers lock
-- count rows in one order and do not deadlock. There is no CHECK (n >= 0):
-- PostgreSQL checks it on the row an upsert proposes before it sees the
-- conflict, and a negative delta is proposed for an existing row.

-- +goose StatementBegin
CREATE FUNCTION batch_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_counts AS c (bucket_id, status, n)
    SELECT bucket_id, status, count(*) FROM new_rows
    GROUP BY bucket_id, status ORDER BY bucket_id, status
    ON CONFLICT (bucket_id, status) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batch_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_counts AS c (bucket_id, status, n)
    SELECT bucket_id, status, -count(*) FROM old_rows
    GROUP BY bucket_id, status ORDER BY bucket_id, status
    ON CONFLICT (bucket_id, status) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- An UPDATE trigger with transition tables cannot name columns (UPDATE OF
-- status, bucket_id), so it runs for every UPDATE statement and applies only
-- the deltas that are not zero: an update of other columns changes nothing.
-- +goose StatementBegin
CREATE FUNCTION batch_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_counts AS c (bucket_id, status, n)
    SELECT bucket_id, status, sum(d) FROM (
        SELECT bucket_id, status, 1 AS d FROM new_rows
        UNION ALL
        SELECT bucket_id, status, -1 AS d FROM old_rows
    ) AS deltas
    GROUP BY bucket_id, status HAVING sum(d) <> 0 ORDER BY bucket_id, status
    ON CONFLICT (bucket_id, status) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batch_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM batch_counts;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER batch_counts_insert AFTER INSERT ON batches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_counts_after_insert();
CREATE TRIGGER batch_counts_delete AFTER DELETE ON batches
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_counts_after_delete();
CREATE TRIGGER batch_counts_update AFTER UPDATE ON batches
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_counts_after_update();
CREATE TRIGGER batch_counts_truncate AFTER TRUNCATE ON batches
    FOR EACH STATEMENT EXECUTE FUNCTION batch_counts_after_truncate();

-- +goose Down
DROP TABLE batch_counts;
DROP FUNCTION batch_counts_after_insert, batch_counts_after_delete, batch_counts_after_update, batch_counts_after_truncate CASCADE;
ALTER TABLE batches DROP COLUMN doc;
