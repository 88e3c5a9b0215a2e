package postgres

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/storage"
	"github.com/mixpeekgo/batches/generated/server"
)

// OrganizationForKey returns the organization owning the API key whose
// SHA-256 hash ([api.HashKey]) is keyHash. It returns [api.ErrNotFound]
// (as is) when no key has that hash or the key has been revoked, and other
// errors only for storage failures or a done ctx.
func (db *DB) OrganizationForKey(ctx context.Context, keyHash [32]byte) (api.Organization, error) {
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

// Namespace returns the namespace of the organization organizationID whose
// id is identifier or, when none has that id, whose name is identifier. It
// returns [api.ErrNotFound] (as is) when the organization has neither,
// whether or not another organization has one, and other errors only for
// storage failures or a done ctx.
func (db *DB) Namespace(ctx context.Context, organizationID, identifier string) (api.Namespace, error) {
	if !storage.IsText(identifier) {
		return api.Namespace{}, api.ErrNotFound // PostgreSQL would refuse it; no name or id is one
	}
	var ns api.Namespace
	err := db.pool.QueryRow(ctx, `
		SELECT id, organization_id, name FROM namespaces
		WHERE organization_id = $1 AND (id = $2 OR name = $2)
		ORDER BY id = $2 DESC
		LIMIT 1`,
		organizationID, identifier).Scan(&ns.ID, &ns.OrganizationID, &ns.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return api.Namespace{}, api.ErrNotFound
	}
	if err != nil {
		return api.Namespace{}, fmt.Errorf("postgres: namespace: %w", queryError(ctx, err))
	}
	return ns, nil
}

// Bucket returns the bucket of the namespace namespaceID whose id is
// identifier or, when none has that id, whose name is identifier. It returns
// [api.ErrNotFound] (as is) when the namespace has neither, whether or not
// another namespace has one, and other errors only for storage failures or a
// done ctx.
func (db *DB) Bucket(ctx context.Context, namespaceID, identifier string) (api.Bucket, error) {
	if !storage.IsText(identifier) {
		return api.Bucket{}, api.ErrNotFound // PostgreSQL would refuse it; no name or id is one
	}
	var b api.Bucket
	err := db.pool.QueryRow(ctx, `
		SELECT id, namespace_id, name FROM buckets
		WHERE namespace_id = $1 AND (id = $2 OR name = $2)
		ORDER BY id = $2 DESC
		LIMIT 1`,
		namespaceID, identifier).Scan(&b.ID, &b.NamespaceID, &b.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return api.Bucket{}, api.ErrNotFound
	}
	if err != nil {
		return api.Bucket{}, fmt.Errorf("postgres: bucket: %w", queryError(ctx, err))
	}
	return b, nil
}

// The page query: the page's ids through the covering index (bucket_id[,
// status], created_at DESC, id DESC) — the offset is skipped in the index,
// without reading a row — then the docs of those ids only, joined into the
// JSON array's elements; and the total from batch_counts. One statement
// reads one snapshot, so the page and the count agree while others write.
// An aggregate without GROUP BY always yields one row: an empty page is an
// empty string. The status and no-status forms are separate statements so
// that each has its own plan.
const (
	pageQuery = `
		SELECT (SELECT coalesce(sum(n), 0)::bigint FROM batch_counts WHERE bucket_id = $1),
		       coalesce(string_agg(b.doc, ',' ORDER BY p.created_at DESC, p.id DESC), '')
		FROM (SELECT id, created_at FROM batches WHERE bucket_id = $1
		      ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3) p
		JOIN batches b ON b.id = p.id`
	pageByStatusQuery = `
		SELECT (SELECT coalesce(sum(n), 0)::bigint FROM batch_counts WHERE bucket_id = $1 AND status = $4),
		       coalesce(string_agg(b.doc, ',' ORDER BY p.created_at DESC, p.id DESC), '')
		FROM (SELECT id, created_at FROM batches WHERE bucket_id = $1 AND status = $4
		      ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3) p
		JOIN batches b ON b.id = p.id`
)

// listBatchesJSON appends to dst the JSON array of one page of the batches
// of bucket p.BucketID with status *p.Status (every status when p.Status is
// nil), ordered by created_at descending then batch_id descending, skipping
// p.Offset of them and holding at most p.Limit: "[" doc "," doc "]", each
// doc the bytes [api.BatchJSON] made when the batch was written. It returns
// the extended slice and totalCount, the number of all batches matching
// p.Status whatever the offset and limit, both from one snapshot.
//
// An unknown bucket is not an error: its page is [] and its count 0. It
// returns an error wrapping [storage.ErrInvalid] when p.Offset is negative
// or p.Limit is less than 1, and other errors for storage failures, a done
// ctx or statement_timeout.
//
// This is the list method of the api.Store the integrator switches to
// (ListBatches(ctx, p, dst) ([]byte, int64, error)); [DB.ListBatches]
// adapts it to today's interface.
func (db *DB) listBatchesJSON(ctx context.Context, p api.ListParams, dst []byte) (results []byte, totalCount int64, err error) {
	if p.Offset < 0 {
		return dst, 0, fmt.Errorf("postgres: list batches: %w: negative offset %d", storage.ErrInvalid, p.Offset)
	}
	if p.Limit < 1 {
		return dst, 0, fmt.Errorf("postgres: list batches: %w: limit %d is less than 1", storage.ErrInvalid, p.Limit)
	}
	query, args := pageQuery, []any{p.BucketID, p.Limit, p.Offset}
	if p.Status != nil {
		query, args = pageByStatusQuery, append(args, string(*p.Status))
	}
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return dst, 0, fmt.Errorf("postgres: list batches: %w", queryError(ctx, err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return dst, 0, fmt.Errorf("postgres: list batches: %w", queryError(ctx, err))
		}
		return dst, 0, errors.New("postgres: list batches: no row")
	}
	// The docs are appended from the row's raw bytes (text), not copied
	// into a string first.
	if err := rows.Scan(&totalCount, nil); err != nil {
		return dst, 0, fmt.Errorf("postgres: list batches: %w", queryError(ctx, err))
	}
	docs := rows.RawValues()[1]
	dst = append(dst, '[')
	dst = append(dst, docs...)
	dst = append(dst, ']')
	rows.Close()
	if err := rows.Err(); err != nil {
		return dst, 0, fmt.Errorf("postgres: list batches: %w", queryError(ctx, err))
	}
	return dst, totalCount, nil
}

// ListBatches returns one page of the batches of bucket p.BucketID with
// status *p.Status (every status when p.Status is nil), ordered by
// created_at descending then batch_id descending, skipping p.Offset of them
// and returning at most p.Limit; and totalCount, the number of all batches
// matching p.Status whatever the offset and limit. The page and the count
// come from one statement, so they agree even while batches are written.
//
// The batches are decoded from their stored docs: ObjectIds is a non-nil
// slice and Metadata a non-nil map whose numbers are json.Number (so they
// encode back exactly as stored); CollectionIds, Error, ErrorSummary, TaskId
// and CurrentTier are nil when not set; CreatedAt and UpdatedAt are in UTC
// with nanoseconds. The page is never nil.
//
// An unknown bucket is not an error: it has no batches, so the page is empty
// and the count 0. It returns an error wrapping [storage.ErrInvalid] when
// p.Offset is negative or p.Limit is less than 1, and other errors for
// storage failures, a done ctx or statement_timeout.
//
// ADAPTER for today's api.Store: when api.Store's list method becomes
// ListBatches(ctx, p, dst []byte) ([]byte, int64, error), this method is
// replaced by listBatchesJSON, renamed, and the decoding goes.
func (db *DB) ListBatches(ctx context.Context, p api.ListParams) (page []server.Batch, totalCount int64, err error) {
	raw, totalCount, err := db.listBatchesJSON(ctx, p, nil)
	if err != nil {
		return nil, 0, err
	}
	page = []server.Batch{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // metadata numbers stay exact
	if err := dec.Decode(&page); err != nil {
		return nil, 0, fmt.Errorf("postgres: list batches: stored docs: %w", err)
	}
	return page, totalCount, nil
}
