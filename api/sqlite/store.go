package sqlite

import (
	"bytes"
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mixpeekgo/batches/api"
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
	err := db.read.QueryRowContext(ctx, `
		SELECT k.key_hash, o.id, o.name
		FROM api_keys k JOIN organizations o ON o.id = k.organization_id
		WHERE k.key_hash = ? AND k.revoked_at IS NULL`,
		keyHash[:]).Scan(&stored, &org.ID, &org.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Organization{}, api.ErrNotFound
	}
	if err != nil {
		return api.Organization{}, fmt.Errorf("sqlite: organization for key: %w", err)
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
	var ns api.Namespace
	err := db.read.QueryRowContext(ctx, `
		SELECT id, organization_id, name FROM namespaces
		WHERE organization_id = ?1 AND (id = ?2 OR name = ?2)
		ORDER BY id = ?2 DESC
		LIMIT 1`,
		organizationID, identifier).Scan(&ns.ID, &ns.OrganizationID, &ns.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Namespace{}, api.ErrNotFound
	}
	if err != nil {
		return api.Namespace{}, fmt.Errorf("sqlite: namespace: %w", err)
	}
	return ns, nil
}

// Bucket returns the bucket of the namespace namespaceID whose id is
// identifier or, when none has that id, whose name is identifier. It returns
// [api.ErrNotFound] (as is) when the namespace has neither, whether or not
// another namespace has one, and other errors only for storage failures or a
// done ctx.
func (db *DB) Bucket(ctx context.Context, namespaceID, identifier string) (api.Bucket, error) {
	var b api.Bucket
	err := db.read.QueryRowContext(ctx, `
		SELECT id, namespace_id, name FROM buckets
		WHERE namespace_id = ?1 AND (id = ?2 OR name = ?2)
		ORDER BY id = ?2 DESC
		LIMIT 1`,
		namespaceID, identifier).Scan(&b.ID, &b.NamespaceID, &b.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Bucket{}, api.ErrNotFound
	}
	if err != nil {
		return api.Bucket{}, fmt.Errorf("sqlite: bucket: %w", err)
	}
	return b, nil
}

// batchColumns are the columns scanBatch reads, in its order.
const batchColumns = `id, bucket_id, status, type, object_ids, collection_ids, error,
	error_summary, task_id, metadata, current_tier, total_tiers, created_at, updated_at`

// ListBatches returns one page of the batches of bucket p.BucketID with
// status *p.Status (every status when p.Status is nil), ordered by
// created_at descending then batch_id descending, skipping p.Offset of them
// and returning at most p.Limit; and totalCount, the number of all batches
// matching p.Status whatever the offset and limit. The page and the count
// come from one read transaction, so they agree even while batches are
// written.
//
// The page is never nil (empty when the offset is past the end, including
// any offset up to math.MaxInt64). In each batch ObjectIds is a non-nil
// slice and Metadata a non-nil map whose numbers are
// json.Number (so they encode back exactly as stored); CollectionIds,
// Error, ErrorSummary, TaskId and CurrentTier are nil when not set;
// CreatedAt and UpdatedAt are in UTC with nanoseconds.
//
// An unknown bucket is not an error: it has no batches, so the page is empty
// and the count 0 (callers resolve buckets with [DB.Bucket] first). It
// returns an error wrapping [ErrInvalid] when p.Offset is negative or
// p.Limit is less than 1, and other errors for storage failures or a done
// ctx.
func (db *DB) ListBatches(ctx context.Context, p api.ListParams) (page []server.Batch, totalCount int64, err error) {
	if p.Offset < 0 {
		return nil, 0, fmt.Errorf("sqlite: list batches: %w: negative offset %d", ErrInvalid, p.Offset)
	}
	if p.Limit < 1 {
		return nil, 0, fmt.Errorf("sqlite: list batches: %w: limit %d is less than 1", ErrInvalid, p.Limit)
	}
	where, args := "bucket_id = ?", []any{p.BucketID}
	if p.Status != nil {
		where += " AND status = ?"
		args = append(args, string(*p.Status))
	}

	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list batches: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to undo

	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM batches WHERE "+where, args...).Scan(&totalCount); err != nil {
		return nil, 0, fmt.Errorf("sqlite: list batches: count: %w", err)
	}
	page = []server.Batch{}
	if p.Offset >= totalCount {
		return page, totalCount, nil
	}
	rows, err := tx.QueryContext(ctx,
		"SELECT "+batchColumns+" FROM batches WHERE "+where+
			" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
		append(args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list batches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: list batches: %w", err)
		}
		page = append(page, b)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlite: list batches: %w", err)
	}
	return page, totalCount, nil
}

// scanBatch reads one row of batchColumns.
func scanBatch(rows *sql.Rows) (server.Batch, error) {
	var (
		b                                server.Batch
		status, typ, objectIDs, metadata string
		collectionIDs, errorSummary      sql.Null[string]
		errText, taskID                  sql.Null[string]
		currentTier                      sql.Null[int64]
		totalTiers, createdAt, updatedAt int64
	)
	if err := rows.Scan(&b.BatchId, &b.BucketId, &status, &typ, &objectIDs, &collectionIDs, &errText,
		&errorSummary, &taskID, &metadata, &currentTier, &totalTiers, &createdAt, &updatedAt); err != nil {
		return server.Batch{}, err
	}
	b.Status = server.TaskStatus(status)
	b.Type = server.BatchType(typ)
	b.TotalTiers = int(totalTiers)
	b.CreatedAt = time.Unix(0, createdAt).UTC()
	b.UpdatedAt = time.Unix(0, updatedAt).UTC()

	if err := json.Unmarshal([]byte(objectIDs), &b.ObjectIds); err != nil {
		return server.Batch{}, fmt.Errorf("batch %s: object_ids: %w", b.BatchId, err)
	}
	if b.ObjectIds == nil {
		b.ObjectIds = []string{}
	}
	md := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader([]byte(metadata)))
	dec.UseNumber()
	if err := dec.Decode(&md); err != nil {
		return server.Batch{}, fmt.Errorf("batch %s: metadata: %w", b.BatchId, err)
	}
	if md == nil {
		md = map[string]any{}
	}
	b.Metadata = md
	if collectionIDs.Valid {
		ids := []string{}
		if err := json.Unmarshal([]byte(collectionIDs.V), &ids); err != nil {
			return server.Batch{}, fmt.Errorf("batch %s: collection_ids: %w", b.BatchId, err)
		}
		if ids == nil {
			ids = []string{}
		}
		b.CollectionIds = &ids
	}
	if errorSummary.Valid {
		sum := map[string]int{}
		if err := json.Unmarshal([]byte(errorSummary.V), &sum); err != nil {
			return server.Batch{}, fmt.Errorf("batch %s: error_summary: %w", b.BatchId, err)
		}
		if sum == nil {
			sum = map[string]int{}
		}
		b.ErrorSummary = &sum
	}
	if errText.Valid {
		b.Error = &errText.V
	}
	if taskID.Valid {
		b.TaskId = &taskID.V
	}
	if currentTier.Valid {
		t := int(currentTier.V)
		b.CurrentTier = &t
	}
	return b, nil
}
