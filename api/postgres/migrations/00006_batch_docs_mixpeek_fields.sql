-- The docs written before the contract's 2.0.0 gain Mixpeek's fields, as
-- on SQLite (version 6 there is a Go migration, addMixpeekFields, which
-- renders each doc with domain.BatchJSON): manifest_key, loaded_object_ids,
-- internal_metadata and dag_tiers null, tier_tasks [], each in its place
-- among the fields in the order of their names. Every other field is
-- copied as the doc has it, byte for byte (json's -> keeps the text of
-- the value), so the result is what BatchJSON renders for the batch.
-- Down leaves the docs as they are: an older server serves them as
-- stored, and its clients ignore fields they do not know.

-- +goose Up
UPDATE batches SET doc =
    '{' || '"batch_id":' || (doc::json -> 'batch_id')::text
    || ',"bucket_id":' || (doc::json -> 'bucket_id')::text
    || ',"collection_ids":' || (doc::json -> 'collection_ids')::text
    || ',"created_at":' || (doc::json -> 'created_at')::text
    || ',"current_tier":' || (doc::json -> 'current_tier')::text
    || ',"dag_tiers":null'
    || ',"error":' || (doc::json -> 'error')::text
    || ',"error_summary":' || (doc::json -> 'error_summary')::text
    || ',"internal_metadata":null,"loaded_object_ids":null,"manifest_key":null'
    || ',"metadata":' || (doc::json -> 'metadata')::text
    || ',"object_ids":' || (doc::json -> 'object_ids')::text
    || ',"status":' || (doc::json -> 'status')::text
    || ',"task_id":' || (doc::json -> 'task_id')::text
    || ',"tier_tasks":[]'
    || ',"total_tiers":' || (doc::json -> 'total_tiers')::text
    || ',"type":' || (doc::json -> 'type')::text
    || ',"updated_at":' || (doc::json -> 'updated_at')::text
    || '}'
WHERE (doc::json -> 'tier_tasks') IS NULL;

-- +goose Down
SELECT 1;
