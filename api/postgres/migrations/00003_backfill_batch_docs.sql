-- Version 3 is, on SQLite, the Go migration that writes the doc of every
-- batch stored before version 2 added the column (backfillBatchDocs in
-- api/sqlite/migrations.go). A PostgreSQL database has no such batch: the
-- server's PostgreSQL storage began with docs, and version 2 adds doc as
-- NOT NULL without a default, which fails on a table that holds rows; every
-- batch gets its doc from the write that stores it. So there is nothing to
-- do here: this version only keeps both backends' versions, and their
-- names, the same.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
