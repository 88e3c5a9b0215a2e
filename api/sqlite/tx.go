package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// writeTx is the domain.InTx of the administration methods: one IMMEDIATE
// transaction of the write pool, so that writers queue on SQLite's lock and
// a transaction that reads before it writes reads what nobody else changes.
func (db *DB) writeTx(ctx context.Context, f func(ctx context.Context, tx domain.Tx) error) error {
	return inTx(ctx, db.write, func(t *sql.Tx) error { return f(ctx, tx{t, db.queue}) })
}

// tx is the domain.Tx of a write transaction, in SQLite's SQL, and the
// queue its jobs go to.
type tx struct {
	t *sql.Tx
	q *river.Queue[*sql.Tx]
}

// tables are the tables of the kinds of domain.Tx.Exists.
var tables = map[string]string{"organization": "organizations", "namespace": "namespaces", "bucket": "buckets"}

func (x tx) HasOrganizations(ctx context.Context) (has bool, err error) {
	err = x.t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM organizations)`).Scan(&has)
	return has, err
}

func (x tx) Exists(ctx context.Context, kind, id string) (ok bool, err error) {
	err = x.t.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+tables[kind]+` WHERE id = ?)`, id).Scan(&ok)
	return ok, err
}

func (x tx) InsertOrganization(ctx context.Context, org domain.Organization, now time.Time) error {
	_, err := x.t.ExecContext(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`,
		org.ID, org.Name, now.UnixNano())
	return err
}

func (x tx) InsertNamespace(ctx context.Context, ns domain.Namespace, now time.Time) (taken bool, err error) {
	_, err = x.t.ExecContext(ctx, `INSERT INTO namespaces (id, organization_id, name, created_at) VALUES (?, ?, ?, ?)`,
		ns.ID, ns.OrganizationID, ns.Name, now.UnixNano())
	return conflict(err)
}

func (x tx) BucketTaken(ctx context.Context, namespaceID, name, id string) (nameTaken, idTaken bool, err error) {
	err = x.t.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM buckets WHERE namespace_id = ? AND name = ?),
		       EXISTS (SELECT 1 FROM buckets WHERE id = ?)`,
		namespaceID, name, id).Scan(&nameTaken, &idTaken)
	return nameTaken, idTaken, err
}

func (x tx) InsertBucket(ctx context.Context, b domain.Bucket, now time.Time) (nameTaken, idTaken bool, err error) {
	_, err = x.t.ExecContext(ctx, `INSERT INTO buckets (id, namespace_id, name, created_at) VALUES (?, ?, ?, ?)`,
		b.ID, b.NamespaceID, b.Name, now.UnixNano())
	// The id is the primary key, the name UNIQUE in its namespace.
	if code := constraintCode(err); code == constraintPrimaryKey {
		return false, true, nil
	} else if code == constraintUnique {
		return true, false, nil
	}
	return false, false, err
}

func (x tx) InsertAPIKey(ctx context.Context, keyHash [32]byte, prefix, organizationID string, now time.Time) (taken bool, err error) {
	_, err = x.t.ExecContext(ctx, `INSERT INTO api_keys (key_hash, prefix, organization_id, created_at) VALUES (?, ?, ?, ?)`,
		keyHash[:], prefix, organizationID, now.UnixNano())
	return conflict(err)
}

// listQueries are the administration's lists, in SQLite's placeholders.
var listQueries = domain.ListQueries("?1")

func (x tx) List(ctx context.Context, what, arg string, row func(scan func(...any) error) error) error {
	rows, err := x.t.QueryContext(ctx, listQueries[what], arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	return domain.EachRow(rows, row)
}

// RevokeAPIKey revokes every key of the prefix (the transaction is rolled
// back when that is more than one).
func (x tx) RevokeAPIKey(ctx context.Context, hashPrefix []byte, now time.Time) (int, error) {
	res, err := x.t.ExecContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2)
		WHERE substr(key_hash, 1, length(?1)) = ?1`, hashPrefix, now.UnixNano())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// insertBatchQuery inserts one batch: the values of domain.BatchRow.
var insertBatchQuery = `INSERT INTO batches (` + strings.Join(domain.BatchColumns(), ", ") + `)
	VALUES (?` + strings.Repeat(", ?", len(domain.BatchColumns())-1) + `)`

// InsertBatches inserts the rows one by one with a prepared statement; the
// first whose id is taken stops it.
func (x tx) InsertBatches(ctx context.Context, rows [][]any) (taken int, inBucket string, err error) {
	insert, err := x.t.PrepareContext(ctx, insertBatchQuery)
	if err != nil {
		return -1, "", err
	}
	defer insert.Close()
	for i, row := range rows {
		_, err := insert.ExecContext(ctx, row...)
		if isUniqueViolation(err) { // batches has no unique column but its id
			err = x.t.QueryRowContext(ctx, `SELECT bucket_id FROM batches WHERE id = ?`, row[0]).Scan(&inBucket)
			return i, inBucket, err
		}
		if err != nil {
			return -1, "", err
		}
	}
	return -1, "", nil
}

// BatchDoc needs no lock: the transaction holds SQLite's write lock.
func (x tx) BatchDoc(ctx context.Context, batchID string) (doc []byte, found bool, err error) {
	err = x.t.QueryRowContext(ctx, `SELECT doc FROM batches WHERE id = ?`, batchID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return doc, err == nil, err
}

func (x tx) SetBatchStatus(ctx context.Context, batchID string, status domain.TaskStatus, updatedAt time.Time, doc []byte) error {
	_, err := x.t.ExecContext(ctx, `UPDATE batches SET status = ?, updated_at = ?, doc = ? WHERE id = ?`,
		string(status), updatedAt.UnixNano(), string(doc), batchID)
	return err
}

func (x tx) DeleteBatch(ctx context.Context, batchID string) (found bool, err error) {
	res, err := x.t.ExecContext(ctx, `DELETE FROM batches WHERE id = ?`, batchID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// LockDemo does nothing: the transaction holds SQLite's write lock, which
// orders it with every other writer, of any process.
func (x tx) LockDemo(context.Context) error { return nil }

// isUniqueViolation reports whether err is SQLite's refusal of a duplicate
// primary key or UNIQUE value.
func isUniqueViolation(err error) bool {
	c := constraintCode(err)
	return c == constraintPrimaryKey || c == constraintUnique
}

// conflict returns true and no error when err is a unique violation, and
// false and err otherwise.
func conflict(err error) (bool, error) {
	if isUniqueViolation(err) {
		return true, nil
	}
	return false, err
}
