package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// writeTx is the domain.InTx of the administration methods: one READ
// COMMITTED transaction within the deadline of one call.
func (db *DB) writeTx(ctx context.Context, f func(ctx context.Context, tx domain.Tx) error) error {
	return db.inTx(ctx, func(ctx context.Context, t pgx.Tx) error { return f(ctx, tx{t, db.queue}) })
}

// tx is the domain.Tx of a write transaction, in PostgreSQL's SQL. Under
// READ COMMITTED another writer may commit between two statements; the
// unique constraints catch what it took meanwhile.
type tx struct {
	t pgx.Tx
	q *river.Queue[pgx.Tx] // where its jobs go
}

// tables are the tables of the kinds of domain.Tx.Exists.
var tables = map[string]string{"organization": "organizations", "namespace": "namespaces", "bucket": "buckets"}

func (x tx) HasOrganizations(ctx context.Context) (has bool, err error) {
	err = x.t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organizations)`).Scan(&has)
	return has, err
}

func (x tx) Exists(ctx context.Context, kind, id string) (ok bool, err error) {
	err = x.t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+tables[kind]+` WHERE id = $1)`, id).Scan(&ok)
	return ok, err
}

// insert runs sql, an INSERT … ON CONFLICT DO NOTHING, and reports
// whether it stored its row: false when a unique constraint (any) already
// held its values. A unique violation raised instead would abort the
// transaction, and a caller that went on from it (RegisterDemoKey, which
// commits when the key is there already) would find its COMMIT turned
// into a ROLLBACK.
func (x tx) insert(ctx context.Context, sql string, args ...any) (stored bool, err error) {
	tag, err := x.t.Exec(ctx, sql, args...)
	return tag.RowsAffected() == 1, err
}

func (x tx) InsertOrganization(ctx context.Context, org domain.Organization, now time.Time) error {
	_, err := x.t.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)`,
		org.ID, org.Name, now.UnixNano())
	return err
}

func (x tx) InsertNamespace(ctx context.Context, ns domain.Namespace, now time.Time) (taken bool, err error) {
	stored, err := x.insert(ctx, `INSERT INTO namespaces (id, organization_id, name, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, ns.ID, ns.OrganizationID, ns.Name, now.UnixNano())
	return !stored, err
}

func (x tx) BucketTaken(ctx context.Context, namespaceID, name, id string) (nameTaken, idTaken bool, err error) {
	err = x.t.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM buckets WHERE namespace_id = $1 AND name = $2),
		       EXISTS (SELECT 1 FROM buckets WHERE id = $3)`,
		namespaceID, name, id).Scan(&nameTaken, &idTaken)
	return nameTaken, idTaken, err
}

func (x tx) InsertBucket(ctx context.Context, b domain.Bucket, now time.Time) (nameTaken, idTaken bool, err error) {
	stored, err := x.insert(ctx, `INSERT INTO buckets (id, namespace_id, name, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, b.ID, b.NamespaceID, b.Name, now.UnixNano())
	if err != nil || stored {
		return false, false, err
	}
	// The id is the primary key, the name UNIQUE in its namespace: which
	// one another writer took (committed, or the INSERT would have waited
	// for it), this statement sees.
	nameTaken, idTaken, err = x.BucketTaken(ctx, b.NamespaceID, b.Name, b.ID)
	if err == nil && !nameTaken && !idTaken {
		idTaken = true // taken and gone again since: as good as taken
	}
	return nameTaken, idTaken, err
}

func (x tx) InsertAPIKey(ctx context.Context, keyHash [32]byte, prefix, organizationID string, now time.Time) (taken bool, err error) {
	stored, err := x.insert(ctx, `INSERT INTO api_keys (key_hash, prefix, organization_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, keyHash[:], prefix, organizationID, now.UnixNano())
	return !stored, err
}

// listQueries are the administration's lists, in PostgreSQL's
// placeholders.
var listQueries = domain.ListQueries("$1::text")

func (x tx) List(ctx context.Context, what, arg string, row func(scan func(...any) error) error) error {
	rows, err := x.t.Query(ctx, listQueries[what], arg)
	if err == nil {
		defer rows.Close()
		err = domain.EachRow(rows, row)
	}
	return err
}

func (x tx) RevokeAPIKey(ctx context.Context, hashPrefix []byte, now time.Time) (int, error) {
	tag, err := x.t.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2)
		WHERE substring(key_hash from 1 for length($1::bytea)) = $1::bytea`, hashPrefix, now.UnixNano())
	return int(tag.RowsAffected()), err
}

// copyChunk is the most batches one COPY statement writes: each statement
// stays well within statement_timeout however large an import is.
const copyChunk = 2000

// InsertBatches looks up the ids of rows already stored with one query,
// then writes the rows with COPY, copyChunk at a time.
func (x tx) InsertBatches(ctx context.Context, rows [][]any) (taken int, inBucket string, err error) {
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row[0].(string)
	}
	stored, err := x.t.Query(ctx, `SELECT id, bucket_id FROM batches WHERE id = ANY($1)`, ids)
	if err != nil {
		return -1, "", err
	}
	buckets := map[string]string{}
	var id, bucket string
	if _, err := pgx.ForEachRow(stored, []any{&id, &bucket}, func() error {
		buckets[id] = bucket
		return nil
	}); err != nil {
		return -1, "", err
	}
	for i, id := range ids {
		if other, ok := buckets[id]; ok {
			return i, other, nil
		}
	}
	for start := 0; start < len(rows); start += copyChunk {
		chunk := rows[start:min(start+copyChunk, len(rows))]
		_, err := x.t.CopyFrom(ctx, pgx.Identifier{"batches"}, domain.BatchColumns(), pgx.CopyFromRows(chunk))
		if isUniqueViolation(err) {
			// Stored by another writer since the query above.
			return -1, "", fmt.Errorf("a batch_id %w: another writer stored it meanwhile (%v)", domain.ErrAlreadyExists, err)
		}
		if err != nil {
			return -1, "", err
		}
	}
	return -1, "", nil
}

// BatchDoc locks the row FOR UPDATE.
func (x tx) BatchDoc(ctx context.Context, batchID string) (doc []byte, found bool, err error) {
	err = x.t.QueryRow(ctx, `SELECT doc FROM batches WHERE id = $1 FOR UPDATE`, batchID).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return doc, err == nil, err
}

func (x tx) SetBatchStatus(ctx context.Context, batchID string, status domain.TaskStatus, updatedAt time.Time, doc []byte) error {
	_, err := x.t.Exec(ctx, `UPDATE batches SET status = $2, updated_at = $3, doc = $4 WHERE id = $1`,
		batchID, string(status), updatedAt.UnixNano(), doc)
	return err
}

func (x tx) DeleteBatch(ctx context.Context, batchID string) (found bool, err error) {
	tag, err := x.t.Exec(ctx, `DELETE FROM batches WHERE id = $1`, batchID)
	return tag.RowsAffected() > 0, err
}

// seedLock is the key of the transaction-level advisory lock that orders
// concurrent SeedDemo calls, of any process: crc32 of "batches: seed demo".
const seedLock int64 = 0x7e4ecbb0

func (x tx) LockDemo(ctx context.Context) error {
	_, err := x.t.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, seedLock)
	return err
}
