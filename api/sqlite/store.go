package sqlite

import (
	"bytes"
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
)

// The statements of OrganizationForKey and ResolveBucket.
const (
	organizationForKeyQuery = `
		SELECT k.key_hash, o.id, o.name
		FROM api_keys k JOIN organizations o ON o.id = k.organization_id
		WHERE k.key_hash = ? AND k.revoked_at IS NULL`
	// An id is looked up first, then a name; each is one lookup in a
	// unique index, with no sort. No row: no namespace; a NULL bucket: no
	// bucket. The bucket's sizes are its rows of batch_counts (at most
	// 13, in its primary key), read once for both aggregates.
	resolveBucketQuery = `
		WITH ns (id, name) AS (
			SELECT id, name FROM namespaces WHERE id = coalesce(
				(SELECT id FROM namespaces WHERE id = ?2 AND organization_id = ?1),
				(SELECT id FROM namespaces WHERE organization_id = ?1 AND name = ?2))
		)
		SELECT ns.id, ns.name, b.id, b.name, coalesce(sum(c.bytes), 0), coalesce(max(c.max_bytes), 0)
		FROM ns LEFT JOIN buckets AS b ON b.id = coalesce(
			(SELECT id FROM buckets WHERE id = ?3 AND namespace_id = ns.id),
			(SELECT id FROM buckets WHERE namespace_id = ns.id AND name = ?3))
		LEFT JOIN batch_counts AS c ON c.bucket_id = b.id
		GROUP BY ns.id, ns.name, b.id, b.name`
)

// OrganizationForKey is [domain.Store.OrganizationForKey]: one prepared
// statement, a lookup in the primary key.
func (db *DB) OrganizationForKey(ctx context.Context, keyHash [32]byte) (domain.Organization, error) {
	var (
		stored []byte
		org    domain.Organization
	)
	err := db.stmts.organizationForKey.QueryRowContext(ctx, keyHash[:]).Scan(&stored, &org.ID, &org.Name)
	if errors.Is(err, sql.ErrNoRows) || err == nil && subtle.ConstantTimeCompare(stored, keyHash[:]) != 1 {
		// The index lookup is not constant-time; the comparison makes
		// sure, in constant time, that what it found is the very hash.
		return domain.Organization{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Organization{}, fmt.Errorf("sqlite: organization for key: %w", err)
	}
	return org, nil
}

// ResolveBucket is [domain.Store.ResolveBucket]: one prepared statement.
func (db *DB) ResolveBucket(ctx context.Context, organizationID, namespace, bucket string) (domain.Namespace, domain.Bucket, error) {
	var (
		ns                 = domain.Namespace{OrganizationID: organizationID}
		bucketID, bucketNm sql.Null[string]
		sizes              domain.BucketSizes
	)
	err := db.stmts.resolveBucket.QueryRowContext(ctx, organizationID, namespace, bucket).
		Scan(&ns.ID, &ns.Name, &bucketID, &bucketNm, &sizes.DocBytes, &sizes.MaxDocBytes)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Namespace{}, domain.Bucket{}, domain.ErrNamespaceNotFound
	}
	if err != nil {
		return domain.Namespace{}, domain.Bucket{}, fmt.Errorf("sqlite: resolve bucket: %w", err)
	}
	if !bucketID.Valid {
		return ns, domain.Bucket{}, domain.ErrBucketNotFound
	}
	return ns, domain.Bucket{ID: bucketID.V, NamespaceID: ns.ID, Name: bucketNm.V, Sizes: sizes}, nil
}

// listQuery is the statement of ListBatches; %[1]s is "" or, with a status
// filter, " AND status = ?4". One statement reads the count and the page,
// hence from one snapshot: total_count from batch_counts (at most 13 rows a
// bucket, kept by triggers), and the page as the docs of its batches joined
// by commas. The page's rows are found by their rowids in the index on
// (bucket_id[, status], created_at DESC, id DESC), which covers the filter,
// the order and the offset, so the rows an offset skips are index entries
// only and the table is read for the docs of the page alone; an offset at or
// past the count reads no index at all.
//
// The order of the docs is the ORDER BY of the subquery that group_concat
// reads: SQLite keeps the ORDER BY of a FROM-clause subquery whose outer
// query is an aggregate other than count, min or max (select.c, the
// OmitOrderBy conditions), and, the index giving that order, sorts nothing.
// TestListQueryPlan checks the plan.
//
// collectionListQuery is the statement with a collection filter (?4) and
// %[1]s "" or, with a status filter too, " AND status = ?5": the same
// shape over batch_collections, whose primary key (or index with the
// status) covers the filter, the order and the offset, the batches read by
// id for their docs alone, and the count from batch_collection_counts (kept
// by triggers, like batch_counts).
const listQuery = `
SELECT t.n, CASE WHEN ?3 < t.n THEN (
    SELECT group_concat(doc, ',') FROM (
        SELECT b.doc FROM (
            SELECT rowid AS r, created_at AS c, id AS i FROM batches
            WHERE bucket_id = ?1%[1]s
            ORDER BY created_at DESC, id DESC
            LIMIT ?2 OFFSET ?3
        ) AS p JOIN batches AS b ON b.rowid = p.r
        ORDER BY p.c DESC, p.i DESC
    )
) END
FROM (SELECT ifnull(sum(n), 0) AS n FROM batch_counts WHERE bucket_id = ?1%[1]s) AS t`

const collectionListQuery = `
SELECT t.n, CASE WHEN ?3 < t.n THEN (
    SELECT group_concat(doc, ',') FROM (
        SELECT b.doc FROM (
            SELECT batch_id AS i, created_at AS c FROM batch_collections
            WHERE bucket_id = ?1 AND collection_id = ?4%[1]s
            ORDER BY created_at DESC, batch_id DESC
            LIMIT ?2 OFFSET ?3
        ) AS p JOIN batches AS b ON b.id = p.i
        ORDER BY p.c DESC, p.i DESC
    )
) END
FROM (SELECT ifnull(sum(n), 0) AS n FROM batch_collection_counts WHERE bucket_id = ?1 AND collection_id = ?4%[1]s) AS t`

// ListBatches is [domain.Store.ListBatches]: one prepared statement reads
// the page and the count, so they agree even while batches are written.
// The count is read from per-status counters, not counted; skipping an
// offset costs a walk over that many index entries.
func (db *DB) ListBatches(ctx context.Context, p domain.ListParams, dst []byte) (results []byte, totalCount int64, err error) {
	if err := domain.CheckPage(p); err != nil {
		return nil, 0, fmt.Errorf("sqlite: list batches: %w", err)
	}
	// The page is scanned into a string, which the driver allocates
	// anyway: a sql.RawBytes would copy it once more.
	var (
		row  *sql.Row
		page sql.Null[string]
	)
	switch {
	case p.CollectionID != nil && p.Status != nil:
		row = db.stmts.listCollectionStatus.QueryRowContext(ctx, p.BucketID, p.Limit, p.Offset, *p.CollectionID, string(*p.Status))
	case p.CollectionID != nil:
		row = db.stmts.listCollection.QueryRowContext(ctx, p.BucketID, p.Limit, p.Offset, *p.CollectionID)
	case p.Status != nil:
		row = db.stmts.listStatus.QueryRowContext(ctx, p.BucketID, p.Limit, p.Offset, string(*p.Status))
	default:
		row = db.stmts.list.QueryRowContext(ctx, p.BucketID, p.Limit, p.Offset)
	}
	if err := row.Scan(&totalCount, &page); err != nil {
		return nil, 0, fmt.Errorf("sqlite: list batches: %w", err)
	}
	dst = append(dst, '[')
	dst = append(dst, page.V...)
	dst = append(dst, ']')
	return dst, totalCount, nil
}

// batchColumns are the columns scanBatch reads, in its order.
const batchColumns = `id, bucket_id, status, type, object_ids, collection_ids, error,
	error_summary, task_id, metadata, current_tier, total_tiers, created_at, updated_at`

// scanBatch reads one row of batchColumns into the batch the columns hold:
// ObjectIDs non-nil, Metadata non-nil with json.Number numbers (so that they
// encode back as stored), the nullable fields nil when NULL (and non-nil
// when not), timestamps in UTC.
func scanBatch(rows interface{ Scan(...any) error }) (domain.Batch, error) {
	var (
		b                                domain.Batch
		status, typ, objectIDs, metadata string
		collectionIDs, errorSummary      sql.Null[string]
		errText, taskID                  sql.Null[string]
		currentTier                      sql.Null[int64]
		totalTiers, createdAt, updatedAt int64
	)
	if err := rows.Scan(&b.BatchID, &b.BucketID, &status, &typ, &objectIDs, &collectionIDs, &errText,
		&errorSummary, &taskID, &metadata, &currentTier, &totalTiers, &createdAt, &updatedAt); err != nil {
		return domain.Batch{}, err
	}
	b.Status = domain.TaskStatus(status)
	b.Type = domain.BatchType(typ)
	b.TotalTiers = int(totalTiers)
	b.CreatedAt = time.Unix(0, createdAt).UTC()
	b.UpdatedAt = time.Unix(0, updatedAt).UTC()

	if err := json.Unmarshal([]byte(objectIDs), &b.ObjectIDs); err != nil {
		return domain.Batch{}, fmt.Errorf("batch %s: object_ids: %w", b.BatchID, err)
	}
	if b.ObjectIDs == nil {
		b.ObjectIDs = []string{}
	}
	md := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader([]byte(metadata)))
	dec.UseNumber()
	if err := dec.Decode(&md); err != nil {
		return domain.Batch{}, fmt.Errorf("batch %s: metadata: %w", b.BatchID, err)
	}
	if md == nil {
		md = map[string]any{}
	}
	b.Metadata = md
	if collectionIDs.Valid {
		ids := []string{}
		if err := json.Unmarshal([]byte(collectionIDs.V), &ids); err != nil {
			return domain.Batch{}, fmt.Errorf("batch %s: collection_ids: %w", b.BatchID, err)
		}
		if ids == nil {
			ids = []string{}
		}
		b.CollectionIDs = ids
	}
	if errorSummary.Valid {
		sum := map[string]int{}
		if err := json.Unmarshal([]byte(errorSummary.V), &sum); err != nil {
			return domain.Batch{}, fmt.Errorf("batch %s: error_summary: %w", b.BatchID, err)
		}
		if sum == nil {
			sum = map[string]int{}
		}
		b.ErrorSummary = sum
	}
	if errText.Valid {
		b.Error = &errText.V
	}
	if taskID.Valid {
		b.TaskID = &taskID.V
	}
	if currentTier.Valid {
		t := int(currentTier.V)
		b.CurrentTier = &t
	}
	return b, nil
}

// getBatchQuery reads a batch's doc by its primary key, in its bucket.
const getBatchQuery = `SELECT doc FROM batches WHERE id = ?1 AND bucket_id = ?2`

// GetBatch is [domain.Store.GetBatch]: one prepared statement, a lookup in
// the primary key.
func (db *DB) GetBatch(ctx context.Context, bucketID, batchID string, dst []byte) ([]byte, error) {
	return readDoc(ctx, db.stmts.getBatch, "get batch", dst, batchID, bucketID)
}

// readDoc appends to dst the one column of the row stmt reads with args:
// domain.ErrNotFound when there is none.
func readDoc(ctx context.Context, stmt *sql.Stmt, op string, dst []byte, args ...any) ([]byte, error) {
	var doc sql.RawBytes
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		return nil, domain.ErrNotFound
	}
	if err := rows.Scan(&doc); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	dst = append(dst, doc...)
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return dst, nil
}

// bucketVersionQuery reads a bucket's version (migration 00018).
const bucketVersionQuery = `SELECT version FROM bucket_versions WHERE bucket_id = ?`

var _ domain.BucketVersioner = (*DB)(nil)

// BucketVersion is [domain.BucketVersioner.BucketVersion]: one prepared
// statement, a lookup in the primary key.
func (db *DB) BucketVersion(ctx context.Context, bucketID string) (int64, error) {
	var v int64
	err := db.stmts.bucketVersion.QueryRowContext(ctx, bucketID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, domain.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: bucket version: %w", err)
	}
	return v, nil
}

var _ domain.ChangeCounter = (*DB)(nil)

// DataVersion is [domain.ChangeCounter.DataVersion]: SQLite's PRAGMA
// data_version on a connection of its own, which never writes, so that
// the number changes with every commit of any other connection, this
// process's writes and river's included. The value is that connection's:
// when it fails, it is closed for good and DataVersion answers errors
// from then on (a new connection's numbers would mean nothing to the
// old ones).
func (db *DB) DataVersion(ctx context.Context) (int64, error) {
	w := &db.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stmt == nil {
		return 0, errNoWatch
	}
	var v int64
	if err := w.stmt.QueryRowContext(ctx).Scan(&v); err != nil {
		if ctx.Err() == nil {
			w.close()
		}
		return 0, fmt.Errorf("sqlite: data version: %w", err)
	}
	return v, nil
}

var errNoWatch = errors.New("sqlite: data version: no connection")

// watch is DataVersion's connection: a pool of its own, of one
// read-only connection, held.
type watch struct {
	mu   sync.Mutex
	pool *sql.DB
	conn *sql.Conn
	stmt *sql.Stmt
}

// open opens DataVersion's connection to the file at abs.
func (w *watch) open(ctx context.Context, abs string) error {
	pool, err := sql.Open(driver.Name, dsn(abs, append(slices.Clip(pragmas), "query_only(1)"), ""))
	if err != nil {
		return err
	}
	pool.SetMaxOpenConns(1)
	conn, err := pool.Conn(ctx)
	if err != nil {
		pool.Close()
		return err
	}
	stmt, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
	if err != nil {
		conn.Close()
		pool.Close()
		return err
	}
	w.pool, w.conn, w.stmt = pool, conn, stmt
	return nil
}

// close closes the connection, for good.
func (w *watch) close() {
	if w.stmt != nil {
		_ = w.stmt.Close()
		_ = w.conn.Close()
		_ = w.pool.Close()
		w.stmt, w.conn, w.pool = nil, nil, nil
	}
}
