-- Every batch's doc is what the API serves for it, so the database refuses
-- the writes that would leave a doc missing or stale: an INSERT without a
-- doc (the column's default is '', which would make pages invalid JSON; an
-- older batchesd importing into an upgraded database writes no doc), an
-- UPDATE that empties it, and an UPDATE that changes a column the doc
-- renders (every column but doc: id is batch_id, bucket_id is bucket_id)
-- and leaves the doc as it was. batchesd's own writes render the doc with
-- every write; in SQL, change a batch's status with `batchesd batch
-- set-status`, or set doc to the batch's new JSON in the same UPDATE.

-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER batches_doc_insert BEFORE INSERT ON batches
WHEN NEW.doc IS NULL OR NEW.doc = ''
BEGIN
    SELECT RAISE(ABORT, 'batches.doc is empty: a batch must be stored with its doc, the JSON the API serves for it; write batches with this version of batchesd (import, or the store''s methods), which renders it');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_doc_update_empty BEFORE UPDATE OF doc ON batches
WHEN NEW.doc IS NULL OR NEW.doc = ''
BEGIN
    SELECT RAISE(ABORT, 'batches.doc is empty: a batch must be stored with its doc, the JSON the API serves for it; write batches with this version of batchesd (import, or the store''s methods), which renders it');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER batches_doc_update_stale BEFORE UPDATE ON batches
WHEN NEW.doc IS OLD.doc AND (
    NEW.id IS NOT OLD.id OR NEW.bucket_id IS NOT OLD.bucket_id OR NEW.status IS NOT OLD.status
    OR NEW.type IS NOT OLD.type OR NEW.object_ids IS NOT OLD.object_ids
    OR NEW.collection_ids IS NOT OLD.collection_ids OR NEW.error IS NOT OLD.error
    OR NEW.error_summary IS NOT OLD.error_summary OR NEW.task_id IS NOT OLD.task_id
    OR NEW.metadata IS NOT OLD.metadata OR NEW.current_tier IS NOT OLD.current_tier
    OR NEW.total_tiers IS NOT OLD.total_tiers OR NEW.created_at IS NOT OLD.created_at
    OR NEW.updated_at IS NOT OLD.updated_at)
BEGIN
    SELECT RAISE(ABORT, 'batches.doc must change with the batch: it is the JSON the API serves, so an UPDATE that changes other columns of a batch must set doc to its new JSON too; to change a status, use `batchesd batch set-status`');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER batches_doc_update_stale;
DROP TRIGGER batches_doc_update_empty;
DROP TRIGGER batches_doc_insert;
