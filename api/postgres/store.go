package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/storage"
)

// OrganizationForKey returns the organization owning the API key whose
// SHA-256 hash ([api.HashKey]) is keyHash. It returns [api.ErrNotFound]
// (as is) when no key has that hash or the key has been revoked, and other
// errors only for storage failures or a done ctx.
func (db *DB) OrganizationForKey(ctx context.Context, keyHash [32]byte) (api.Organization, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var (
		stored []byte
		org    api.Organization
	)
	err := db.pool.QueryRow(ctx, `
		SELECT k.key_hash, o.id, o.name
		FROM api_keys k JOIN organizations o ON o.id = k.organization_id
		WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
		keyHash[:]).Scan(&stored, &org.ID, &org.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return api.Organization{}, api.ErrNotFound
	}
	if err != nil {
		return api.Organization{}, fmt.Errorf("postgres: organization for key: %w", queryError(ctx, err))
	}
	// The index lookup is not constant-time; this makes sure that what it
	// found is the very hash, in constant time.
	if subtle.ConstantTimeCompare(stored, keyHash[:]) != 1 {
		return api.Organization{}, api.ErrNotFound
	}
	return org, nil
}

// resolveBucketQuery is the statement of ResolveBucket, api/sqlite's: an id
// is looked up first, then a name, each one lookup in a unique index with
// no sort. No row: no namespace; a NULL bucket: no bucket. A NULL argument
// (a string that is not text) matches nothing.
const resolveBucketQuery = `
	WITH ns (id, name) AS (
		SELECT id, name FROM namespaces WHERE id = coalesce(
			(SELECT id FROM namespaces WHERE id = $2 AND organization_id = $1),
			(SELECT id FROM namespaces WHERE organization_id = $1 AND name = $2))
	)
	SELECT ns.id, ns.name, b.id, b.name FROM ns LEFT JOIN buckets AS b ON b.id = coalesce(
		(SELECT id FROM buckets WHERE id = $3 AND namespace_id = ns.id),
		(SELECT id FROM buckets WHERE namespace_id = ns.id AND name = $3))`

// ResolveBucket returns the namespace of the organization organizationID
// whose id is namespace or, when none has that id, whose name is namespace;
// and the bucket of that namespace whose id is bucket or, when none has
// that id, whose name is bucket; both with one statement. It returns
// [api.ErrNamespaceNotFound] (as is) when the organization has no such
// namespace, whether or not another organization has one,
// [api.ErrBucketNotFound] (as is, with the namespace) when the namespace
// has no such bucket, whether or not another namespace has one, and other
// errors only for storage failures, a done ctx or statement_timeout. A
// string that is not text ([storage.IsText]: PostgreSQL's text cannot hold
// it) names nothing.
func (db *DB) ResolveBucket(ctx context.Context, organizationID, namespace, bucket string) (api.Namespace, api.Bucket, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var (
		ns                 = api.Namespace{OrganizationID: organizationID}
		bucketID, bucketNm *string
	)
	err := db.pool.QueryRow(ctx, resolveBucketQuery, textOrNull(organizationID), textOrNull(namespace), textOrNull(bucket)).
		Scan(&ns.ID, &ns.Name, &bucketID, &bucketNm)
	if errors.Is(err, pgx.ErrNoRows) {
		return api.Namespace{}, api.Bucket{}, api.ErrNamespaceNotFound
	}
	if err != nil {
		return api.Namespace{}, api.Bucket{}, fmt.Errorf("postgres: resolve bucket: %w", queryError(ctx, err))
	}
	if bucketID == nil {
		return ns, api.Bucket{}, api.ErrBucketNotFound
	}
	return ns, api.Bucket{ID: *bucketID, NamespaceID: ns.ID, Name: *bucketNm}, nil
}

// textOrNull returns s as a query argument, or NULL, which equals nothing,
// when s is not text: PostgreSQL would refuse it, and no name or id is one.
func textOrNull(s string) any {
	if !storage.IsText(s) {
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

// The status and no-status forms of the page query are separate statements
// so that each has its own plan.
var (
	pageQuery         = fmt.Sprintf(pageQueryTemplate, "")
	pageByStatusQuery = fmt.Sprintf(pageQueryTemplate, " AND status = $4")
)

// ListBatches appends to dst the JSON array of one page of the batches
// of bucket p.BucketID with status *p.Status (every status when p.Status is
// nil), ordered by created_at descending then batch_id descending, skipping
// p.Offset of them and holding at most p.Limit: "[" doc "," doc "]", each
// doc the bytes [api.BatchJSON] made when the batch was written. It returns
// the extended slice and totalCount, the number of all batches matching
// p.Status whatever the offset and limit, both from one snapshot.
//
// The array is [] when the offset is at or past the end (any offset up to
// math.MaxInt64). An unknown bucket is not an error: its page is [] and its
// count 0 (callers resolve buckets with [DB.ResolveBucket] first). It
// returns an error wrapping [storage.ErrInvalid] when p.Offset is negative
// or p.Limit is less than 1, and other errors for storage failures, a done
// ctx or statement_timeout; results is nil with any error.
func (db *DB) ListBatches(ctx context.Context, p api.ListParams, dst []byte) (results []byte, totalCount int64, err error) {
	if p.Offset < 0 {
		return nil, 0, fmt.Errorf("postgres: list batches: %w: negative offset %d", storage.ErrInvalid, p.Offset)
	}
	if p.Limit < 1 {
		return nil, 0, fmt.Errorf("postgres: list batches: %w: limit %d is less than 1", storage.ErrInvalid, p.Limit)
	}
	query, args := pageQuery, []any{textOrNull(p.BucketID), p.Limit, p.Offset}
	if p.Status != nil {
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
