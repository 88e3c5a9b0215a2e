-- Every batch's doc is what the API serves for it, so the database refuses
-- the writes that would leave a doc missing or stale, as on SQLite: an
-- INSERT with an empty doc (NULL is refused by NOT NULL already), an
-- UPDATE that empties it, and an UPDATE that changes a column the doc
-- renders (every column but doc: id is batch_id, bucket_id is bucket_id)
-- and leaves the doc as it was. batchesd's own writes render the doc with
-- every write; in SQL, change a batch's status with `batchesd batch
-- set-status`, or set doc to the batch's new JSON in the same UPDATE.
--
-- The triggers' WHEN conditions are evaluated without calling the
-- functions, so a write that passes costs no PL/pgSQL call. json has no
-- equality operator: those columns compare as their text, as SQLite does.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION batches_doc_refuse_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'batches.doc is empty: a batch must be stored with its doc, the JSON the API serves for it; write batches with this version of batchesd (import, or the store''s methods), which renders it'
        USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION batches_doc_refuse_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'batches.doc must change with the batch: it is the JSON the API serves, so an UPDATE that changes other columns of a batch must set doc to its new JSON too; to change a status, use `batchesd batch set-status`'
        USING ERRCODE = 'check_violation';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER batches_doc_insert BEFORE INSERT ON batches
    FOR EACH ROW WHEN (NEW.doc = '') EXECUTE FUNCTION batches_doc_refuse_empty();

CREATE TRIGGER batches_doc_update_empty BEFORE UPDATE OF doc ON batches
    FOR EACH ROW WHEN (NEW.doc = '') EXECUTE FUNCTION batches_doc_refuse_empty();

CREATE TRIGGER batches_doc_update_stale BEFORE UPDATE ON batches
    FOR EACH ROW WHEN (
        NEW.doc = OLD.doc AND (
            NEW.id IS DISTINCT FROM OLD.id OR NEW.bucket_id IS DISTINCT FROM OLD.bucket_id
            OR NEW.status IS DISTINCT FROM OLD.status OR NEW.type IS DISTINCT FROM OLD.type
            OR NEW.object_ids::text IS DISTINCT FROM OLD.object_ids::text
            OR NEW.collection_ids::text IS DISTINCT FROM OLD.collection_ids::text
            OR NEW.error IS DISTINCT FROM OLD.error
            OR NEW.error_summary::text IS DISTINCT FROM OLD.error_summary::text
            OR NEW.task_id IS DISTINCT FROM OLD.task_id
            OR NEW.metadata::text IS DISTINCT FROM OLD.metadata::text
            OR NEW.current_tier IS DISTINCT FROM OLD.current_tier
            OR NEW.total_tiers IS DISTINCT FROM OLD.total_tiers
            OR NEW.created_at IS DISTINCT FROM OLD.created_at
            OR NEW.updated_at IS DISTINCT FROM OLD.updated_at))
    EXECUTE FUNCTION batches_doc_refuse_stale();

-- +goose Down
DROP TRIGGER batches_doc_update_stale ON batches;
DROP TRIGGER batches_doc_update_empty ON batches;
DROP TRIGGER batches_doc_insert ON batches;
DROP FUNCTION batches_doc_refuse_stale, batches_doc_refuse_empty;
