-- Tasks: the processing of batches (api_buckets_batches_process) and of
-- their tiers (engine_feature_extractor_run), each kept as the JSON GET
-- /v1/tasks/{task_id} answers for it (doc, domain.TaskJSON), with the
-- columns it is found and listed by. A task belongs to an organization,
-- whose API keys alone see it, and outlives its batch (batch_id is no
-- foreign key). The versions after this one (8 to 15) are river's schema,
-- the processing queue's, as Go migrations (api/river).

-- +goose Up
CREATE TABLE tasks (
    task_id         TEXT    NOT NULL PRIMARY KEY,
    organization_id TEXT    NOT NULL REFERENCES organizations (id),
    batch_id        TEXT    NOT NULL,
    task_type       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    doc             TEXT    NOT NULL CHECK (doc <> '')
) STRICT;

-- List Tasks: an organization's, newest first, optionally of one status
-- or one type.
CREATE INDEX tasks_organization_created ON tasks (organization_id, created_at DESC, task_id DESC);
CREATE INDEX tasks_organization_status_created ON tasks (organization_id, status, created_at DESC, task_id DESC);
CREATE INDEX tasks_organization_type_created ON tasks (organization_id, task_type, created_at DESC, task_id DESC);

-- +goose Down
DROP TABLE tasks;
