package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api/domain"
)

// OrganizationForKey is [domain.Store.OrganizationForKey]: a lookup in the
// primary key.
func (db *DB) OrganizationForKey(ctx context.Context, keyHash [32]byte) (domain.Organization, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var (
		stored []byte
		org    domain.Organization
	)
	err := db.pool.QueryRow(ctx, `
		SELECT k.key_hash, o.id, o.name
		FROM api_keys k JOIN organizations o ON o.id = k.organization_id
		WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
		keyHash[:]).Scan(&stored, &org.ID, &org.Name)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && subtle.ConstantTimeCompare(stored, keyHash[:]) != 1 {
		// The index lookup is not constant-time; the comparison makes
		// sure, in constant time, that what it found is the very hash.
		return domain.Organization{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Organization{}, fmt.Errorf("postgres: organization for key: %w", queryError(ctx, err))
	}
	return org, nil
}

// resolveBucketQuery is the statement of ResolveBucket, api/sqlite's: an id
// is looked up first, then a name, each one lookup in a unique index with
// no sort. No row: no namespace; a NULL bucket: no bucket. A NULL argument
// (a string that is not text) matches nothing. The bucket's sizes are its
// rows of batch_counts (at most 13, in its primary key), read once for
// both aggregates.
const resolveBucketQuery = `
	WITH ns (id, name) AS (
		SELECT id, name FROM namespaces WHERE id = coalesce(
			(SELECT id FROM namespaces WHERE id = $2 AND organization_id = $1),
			(SELECT id FROM namespaces WHERE organization_id = $1 AND name = $2))
	)
	SELECT ns.id, ns.name, b.id, b.name, coalesce(sum(c.bytes), 0)::bigint, coalesce(max(c.max_bytes), 0)::bigint
	FROM ns LEFT JOIN buckets AS b ON b.id = coalesce(
		(SELECT id FROM buckets WHERE id = $3 AND namespace_id = ns.id),
		(SELECT id FROM buckets WHERE namespace_id = ns.id AND name = $3))
	LEFT JOIN batch_counts AS c ON c.bucket_id = b.id
	GROUP BY ns.id, ns.name, b.id, b.name`

// ResolveBucket is [domain.Store.ResolveBucket]: one statement. A string
// that PostgreSQL's text cannot hold is passed as NULL ([textOrNull]).
func (db *DB) ResolveBucket(ctx context.Context, organizationID, namespace, bucket string) (domain.Namespace, domain.Bucket, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var (
		ns                 = domain.Namespace{OrganizationID: organizationID}
		bucketID, bucketNm *string
		sizes              domain.BucketSizes
	)
	err := db.pool.QueryRow(ctx, resolveBucketQuery, textOrNull(organizationID), textOrNull(namespace), textOrNull(bucket)).
		Scan(&ns.ID, &ns.Name, &bucketID, &bucketNm, &sizes.DocBytes, &sizes.MaxDocBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Namespace{}, domain.Bucket{}, domain.ErrNamespaceNotFound
	}
	if err != nil {
		return domain.Namespace{}, domain.Bucket{}, fmt.Errorf("postgres: resolve bucket: %w", queryError(ctx, err))
	}
	if bucketID == nil {
		return ns, domain.Bucket{}, domain.ErrBucketNotFound
	}
	return ns, domain.Bucket{ID: *bucketID, NamespaceID: ns.ID, Name: *bucketNm, Sizes: sizes}, nil
}

// textOrNull returns s as a query argument, or NULL, which equals nothing,
// when s is not text: PostgreSQL would refuse it, and no name or id is one.
func textOrNull(s string) any {
	if !domain.IsText(s) {
		return nil
	}
	return s
}

// pageQueryTemplate is the page query; %[1]s is "" or, with a status
// filter, " AND status = $4". It reads the page's ids through the covering
// index (bucket_id[, status], created_at DESC, id DESC) — the offset is
// skipped in the index, without reading a row — then the docs of those ids
// only, joined into the JSON array's elements; and the total from
// batch_counts. One statement reads one snapshot, so the page and the count
// agree while others write. An aggregate without GROUP BY always yields one
// row: an empty page is an empty string.
const pageQueryTemplate = `
		SELECT (SELECT coalesce(sum(n), 0)::bigint FROM batch_counts WHERE bucket_id = $1%[1]s),
		       coalesce(string_agg(b.doc, ',' ORDER BY p.created_at DESC, p.id DESC), '')
		FROM (SELECT id, created_at FROM batches WHERE bucket_id = $1%[1]s
		      ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3) p
		JOIN batches b ON b.id = p.id`

// collectionPageQueryTemplate is the page query with a collection filter
// ($4); %[1]s is "" or, with a status filter too, " AND status = $5". It
// has the shape of pageQueryTemplate over batch_collections, whose indexes
// (bucket_id, collection_id[, status], created_at DESC, batch_id DESC)
// cover the filter, the order and the offset, and reads the total from
// batch_collection_counts (kept by triggers, like batch_counts).
const collectionPageQueryTemplate = `
		SELECT (SELECT coalesce(sum(n), 0)::bigint FROM batch_collection_counts
		        WHERE bucket_id = $1 AND collection_id = $4%[1]s),
		       coalesce(string_agg(b.doc, ',' ORDER BY p.created_at DESC, p.batch_id DESC), '')
		FROM (SELECT batch_id, created_at FROM batch_collections WHERE bucket_id = $1 AND collection_id = $4%[1]s
		      ORDER BY created_at DESC, batch_id DESC LIMIT $2 OFFSET $3) p
		JOIN batches b ON b.id = p.batch_id`

// The forms of the page query, by filter, are separate statements so that
// each has its own plan.
var (
	pageQuery                   = fmt.Sprintf(pageQueryTemplate, "")
	pageByStatusQuery           = fmt.Sprintf(pageQueryTemplate, " AND status = $4")
	pageByCollectionQuery       = fmt.Sprintf(collectionPageQueryTemplate, "")
	pageByCollectionStatusQuery = fmt.Sprintf(collectionPageQueryTemplate, " AND status = $5")
)

// ListBatches is [domain.Store.ListBatches]: one statement reads the page
// and the count, from one snapshot; statement_timeout is one more error.
func (db *DB) ListBatches(ctx context.Context, p domain.ListParams, dst []byte) (results []byte, totalCount int64, err error) {
	if err := domain.CheckPage(p); err != nil {
		return nil, 0, fmt.Errorf("postgres: list batches: %w", err)
	}
	query, args := pageQuery, []any{textOrNull(p.BucketID), p.Limit, p.Offset}
	switch {
	case p.CollectionID != nil && p.Status != nil:
		query, args = pageByCollectionStatusQuery, append(args, textOrNull(*p.CollectionID), textOrNull(string(*p.Status)))
	case p.CollectionID != nil:
		query, args = pageByCollectionQuery, append(args, textOrNull(*p.CollectionID))
	case p.Status != nil:
		query, args = pageByStatusQuery, append(args, textOrNull(string(*p.Status)))
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list batches: %w", queryError(ctx, err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, 0, fmt.Errorf("postgres: list batches: %w", queryError(ctx, err))
		}
		return nil, 0, errors.New("postgres: list batches: no row")
	}
	// The docs are appended from the row's raw bytes (text), not copied
	// into a string first.
	if err := rows.Scan(&totalCount, nil); err != nil {
		return nil, 0, fmt.Errorf("postgres: list batches: %w", queryError(ctx, err))
	}
	docs := rows.RawValues()[1]
	dst = append(dst, '[')
	dst = append(dst, docs...)
	dst = append(dst, ']')
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("postgres: list batches: %w", queryError(ctx, err))
	}
	return dst, totalCount, nil
}

// GetBatch is [domain.Store.GetBatch]: a lookup in the primary key.
func (db *DB) GetBatch(ctx context.Context, bucketID, batchID string, dst []byte) ([]byte, error) {
	return db.readDoc(ctx, "get batch", dst, `SELECT doc FROM batches WHERE id = $1 AND bucket_id = $2`,
		textOrNull(batchID), textOrNull(bucketID))
}

// readDoc appends to dst the one column of the row query reads with args:
// domain.ErrNotFound when there is none.
func (db *DB) readDoc(ctx context.Context, op string, dst []byte, query string, args ...any) ([]byte, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, queryError(ctx, err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, queryError(ctx, err))
		}
		return nil, domain.ErrNotFound
	}
	dst = append(dst, rows.RawValues()[0]...)
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, queryError(ctx, err))
	}
	return dst, nil
}

var _ domain.BucketVersioner = (*DB)(nil)

// BucketVersion is [domain.BucketVersioner.BucketVersion]: a lookup in
// the primary key of bucket_versions (migration 00018).
func (db *DB) BucketVersion(ctx context.Context, bucketID string) (int64, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var v int64
	err := db.pool.QueryRow(ctx, `SELECT version FROM bucket_versions WHERE bucket_id = $1`, textOrNull(bucketID)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, domain.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: bucket version: %w", queryError(ctx, err))
	}
	return v, nil
}
