-- Tasks, as on SQLite (api/sqlite/migrations/00007_tasks.sql): each kept as
-- the JSON GET /v1/tasks/{task_id} answers (doc), with the columns it is
-- found and listed by; an organization's, outliving its batch. The
-- versions after this one (8 to 15) are river's schema, the processing
-- queue's, as Go migrations (api/river).

-- +goose Up
CREATE TABLE tasks (
    task_id         text COLLATE "C" NOT NULL PRIMARY KEY,
    organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id),
    batch_id        text COLLATE "C" NOT NULL,
    task_type       text COLLATE "C" NOT NULL,
    status          text COLLATE "C" NOT NULL,
    created_at      bigint           NOT NULL,
    updated_at      bigint           NOT NULL,
    doc             text             NOT NULL CHECK (doc <> '')
);

CREATE INDEX tasks_organization_created ON tasks (organization_id, created_at DESC, task_id DESC);
CREATE INDEX tasks_organization_status_created ON tasks (organization_id, status, created_at DESC, task_id DESC);
CREATE INDEX tasks_organization_type_created ON tasks (organization_id, task_type, created_at DESC, task_id DESC);

-- +goose Down
DROP TABLE tasks;
