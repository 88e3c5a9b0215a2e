-- The bytes of the batches' docs, kept with the counts: batch_counts gains,
-- for each bucket and status, bytes (the bytes of the docs of its batches,
-- octet_length, as the API writes them) and max_bytes (the most bytes one
-- of its docs has had: a high-water mark, never lowered, so an upper
-- bound). The statement triggers that keep n keep them too, in the
-- transaction of every write to batches (insert, COPY, update, delete,
-- truncate). The API reserves the answer memory of a page by them
-- (api/admission.go): a page of limit batches of a bucket is at most
-- min(limit × the largest, the bucket's bytes), not limit × 32 KiB.

-- +goose Up
ALTER TABLE batch_counts
    ADD COLUMN bytes     bigint NOT NULL DEFAULT 0,
    ADD COLUMN max_bytes bigint NOT NULL DEFAULT 0;

UPDATE batch_counts AS c SET bytes = s.bytes, max_bytes = s.max_bytes
FROM (SELECT bucket_id, status, sum(octet_length(doc)) AS bytes, max(octet_length(doc)) AS max_bytes
      FROM batches GROUP BY bucket_id, status) AS s
WHERE c.bucket_id = s.bucket_id AND c.status = s.status;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION batch_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_counts AS c (bucket_id, status, n, bytes, max_bytes)
    SELECT bucket_id, status, count(*), sum(octet_length(doc)), max(octet_length(doc)) FROM new_rows
    GROUP BY bucket_id, status ORDER BY bucket_id, status
    ON CONFLICT (bucket_id, status) DO UPDATE
    SET n = c.n + excluded.n, bytes = c.bytes + excluded.bytes, max_bytes = greatest(c.max_bytes, excluded.max_bytes);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION batch_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_counts AS c (bucket_id, status, n, bytes)
    SELECT bucket_id, status, -count(*), -sum(octet_length(doc)) FROM old_rows
    GROUP BY bucket_id, status ORDER BY bucket_id, status
    ON CONFLICT (bucket_id, status) DO UPDATE SET n = c.n + excluded.n, bytes = c.bytes + excluded.bytes;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Every UPDATE statement (the trigger cannot name columns): the deltas of
-- each bucket and status, applied only where they change something (a
-- write of a batch changes its doc, so its bytes; an update of nothing
-- changes no row).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION batch_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_counts AS c (bucket_id, status, n, bytes, max_bytes)
    SELECT bucket_id, status, sum(d), sum(b), max(m) FROM (
        SELECT bucket_id, status, 1 AS d, octet_length(doc)::bigint AS b, octet_length(doc)::bigint AS m FROM new_rows
        UNION ALL
        SELECT bucket_id, status, -1, -octet_length(doc)::bigint, 0 FROM old_rows
    ) AS deltas
    GROUP BY bucket_id, status ORDER BY bucket_id, status
    ON CONFLICT (bucket_id, status) DO UPDATE
    SET n = c.n + excluded.n, bytes = c.bytes + excluded.bytes, max_bytes = greatest(c.max_bytes, excluded.max_bytes)
    WHERE excluded.n <> 0 OR excluded.bytes <> 0 OR excluded.max_bytes > c.max_bytes;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION batch_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION batch_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_counts AS c (bucket_id, status, n)
    SELECT bucket_id, status, -count(*) FROM old_rows
    GROUP BY bucket_id, status ORDER BY bucket_id, status
    ON CONFLICT (bucket_id, status) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION batch_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
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

ALTER TABLE batch_counts DROP COLUMN max_bytes, DROP COLUMN bytes;
