package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/storage"
	"github.com/mixpeekgo/batches/generated/server"
)

// The administration methods behave as api/sqlite's of the same names, whose
// documentation gives every rule; errors name this package ("postgres: …").

// CreateOrganization creates an organization named name, with a new id
// "org_" and 12 characters of [a-z0-9], and returns it. Names need not be
// unique. It returns an error wrapping [storage.ErrInvalid] when name is
// empty, has leading or trailing white space or control characters, or is
// longer than 128 characters, and other errors for storage failures or a
// done ctx.
func (db *DB) CreateOrganization(ctx context.Context, name string) (api.Organization, error) {
	var org api.Organization
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		org, err = createOrganization(ctx, tx, name, time.Now())
		return err
	})
	if err != nil {
		return api.Organization{}, fmt.Errorf("postgres: create organization: %w", err)
	}
	return org, nil
}

// CreateNamespace creates a namespace named name in the organization
// organizationID, with a new id "ns_" and 12 characters of [a-z0-9], and
// returns it. It returns an error wrapping [api.ErrNotFound] when the
// organization does not exist, [storage.ErrAlreadyExists] when the
// organization already has a namespace of that name, [storage.ErrInvalid]
// when the name is malformed (as for [DB.CreateOrganization]); and other
// errors for storage failures or a done ctx.
func (db *DB) CreateNamespace(ctx context.Context, organizationID, name string) (api.Namespace, error) {
	var ns api.Namespace
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		ns, err = createNamespace(ctx, tx, organizationID, name, time.Now())
		return err
	})
	if err != nil {
		return api.Namespace{}, fmt.Errorf("postgres: create namespace: %w", err)
	}
	return ns, nil
}

// CreateBucket creates a bucket named name in the namespace namespaceID and
// returns it. Its id is id when id is not empty (1 to 128 characters of
// [A-Za-z0-9_.-], unique across all namespaces), or else a new id "bkt_" and
// 12 characters of [a-z0-9]. It returns an error wrapping [api.ErrNotFound]
// when the namespace does not exist, [storage.ErrAlreadyExists] when the
// namespace already has a bucket of that name or any bucket has that id,
// [storage.ErrInvalid] when the name or the id is malformed; and other
// errors for storage failures or a done ctx.
func (db *DB) CreateBucket(ctx context.Context, namespaceID, name, id string) (api.Bucket, error) {
	var b api.Bucket
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		b, err = createBucket(ctx, tx, namespaceID, name, id, time.Now())
		return err
	})
	if err != nil {
		return api.Bucket{}, fmt.Errorf("postgres: create bucket: %w", err)
	}
	return b, nil
}

// CreateAPIKey registers an API key of the organization organizationID and
// returns it: key when key is not empty (20 to 128 bytes of printable ASCII
// without spaces), or else a new key "sk_live_" and 40 random base62
// characters. Only the key's SHA-256 hash ([api.HashKey]) is stored, so the
// returned string is the only time the whole key is seen. It returns an
// error wrapping [api.ErrNotFound] when the organization does not exist,
// [storage.ErrAlreadyExists] when the key is already registered (to any
// organization, revoked or not), [storage.ErrInvalid] when key is malformed;
// and other errors for storage failures or a done ctx. Errors never show the
// key.
func (db *DB) CreateAPIKey(ctx context.Context, organizationID, key string) (string, error) {
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) (err error) {
		key, err = createAPIKey(ctx, tx, organizationID, key, time.Now())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("postgres: create API key: %w", err)
	}
	return key, nil
}

// InsertBatches stores batches in the bucket bucketID, all of them or, on
// any error, none (one transaction). Each keeps its BatchId, CreatedAt and
// UpdatedAt (stored in UTC, to the nanosecond) and every other field; its
// BucketId is ignored and bucketID stored instead. A nil ObjectIds is
// stored as [] and a nil Metadata as {}. The bucket's counts are updated in
// the same transaction.
//
// It returns an error wrapping [api.ErrNotFound] when the bucket does not
// exist, [storage.ErrAlreadyExists] when a BatchId is already stored (batch
// ids are unique across buckets) or repeated in batches,
// [storage.ErrInvalid] when a batch has a malformed BatchId, a Status or
// Type outside the enums, TotalTiers below 1, a timestamp outside the
// years 1678 to 2261, a string that is not valid UTF-8 (wrapping
// [api.ErrInvalidUTF8] too), an Error or TaskId holding NUL, or a metadata
// value JSON cannot hold (NaN, ±Inf); and other errors for storage
// failures or a done ctx.
// Errors name the first wrong batch by index and id.
func (db *DB) InsertBatches(ctx context.Context, bucketID string, batches []server.Batch) error {
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return insertBatches(ctx, tx, bucketID, batches, func(i int, err error) error {
			return fmt.Errorf("batch %d (%q): %w", i, batches[i].BatchId, err)
		})
	})
	if err != nil {
		return fmt.Errorf("postgres: insert batches: %w", err)
	}
	return nil
}

// ImportBatches stores in the bucket bucketID the batches read from r as
// JSON Lines, one Batch object a line as the List Batches endpoint returns
// them, and returns how many it stored. The format and its checks are
// [storage.ReadBatches]'s; the rules are those of api/sqlite's
// DB.ImportBatches. All or nothing: on any error nothing is stored and the
// count is 0. An error about a line is a *[storage.LineError] ("line N: …",
// wrapping [storage.ErrInvalid] or [storage.ErrAlreadyExists]); it returns
// an error wrapping [api.ErrNotFound] when the bucket does not exist, and
// other errors when r fails, for storage failures or a done ctx.
func (db *DB) ImportBatches(ctx context.Context, bucketID string, r io.Reader) (int, error) {
	if err := db.mustExist(ctx, "buckets", "bucket", bucketID); err != nil {
		return 0, fmt.Errorf("postgres: import batches: %w", err)
	}
	batches, lines, err := storage.ReadBatches(r)
	if err != nil {
		return 0, fmt.Errorf("postgres: import batches: %w", err)
	}
	err = db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return insertBatches(ctx, tx, bucketID, batches, func(i int, err error) error {
			return &storage.LineError{Line: lines[i], Err: err}
		})
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: import batches: %w", err)
	}
	return len(batches), nil
}

// UpdateBatchStatus sets the status of the batch batchID (in whichever
// bucket) to status and its updated_at to now (UTC, to the nanosecond;
// never before its created_at), in one transaction that also rewrites the
// batch's served JSON and moves it between the per-status counts. Setting
// the status a batch already has only moves its updated_at.
//
// It returns an error wrapping [api.ErrNotFound] when no batch has that id,
// [storage.ErrInvalid] when status is not a TaskStatus, and other errors
// for storage failures or a done ctx.
func (db *DB) UpdateBatchStatus(ctx context.Context, batchID string, status server.TaskStatus) error {
	if !status.Valid() {
		return fmt.Errorf("postgres: update batch status: %w: status %q is not a TaskStatus", storage.ErrInvalid, status)
	}
	if !storage.IsText(batchID) {
		return fmt.Errorf("postgres: update batch status: batch %q: %w", batchID, api.ErrNotFound)
	}
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var doc []byte
		err := tx.QueryRow(ctx, `SELECT doc FROM batches WHERE id = $1 FOR UPDATE`, batchID).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("batch %q: %w", batchID, api.ErrNotFound)
		}
		if err != nil {
			return err
		}
		doc, updatedAt, err := storage.Restatus(doc, status, time.Now())
		if err != nil {
			return fmt.Errorf("batch %q: %w", batchID, err)
		}
		_, err = tx.Exec(ctx, `UPDATE batches SET status = $2, updated_at = $3, doc = $4 WHERE id = $1`,
			batchID, string(status), updatedAt.UnixNano(), doc)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: update batch status: %w", err)
	}
	return nil
}

// DeleteBatch deletes the batch batchID (in whichever bucket), in one
// transaction that also takes it out of the per-status counts. It returns
// an error wrapping [api.ErrNotFound] when no batch has that id, and other
// errors for storage failures or a done ctx.
func (db *DB) DeleteBatch(ctx context.Context, batchID string) error {
	if !storage.IsText(batchID) {
		return fmt.Errorf("postgres: delete batch %q: %w", batchID, api.ErrNotFound)
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `DELETE FROM batches WHERE id = $1`, batchID)
	if err != nil {
		return fmt.Errorf("postgres: delete batch: %w", queryError(ctx, err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete batch %q: %w", batchID, api.ErrNotFound)
	}
	return nil
}

// mustExist is the function mustExist on the pool, within the deadline of
// one call.
func (db *DB) mustExist(ctx context.Context, table, kind, id string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return queryError(ctx, mustExist(ctx, db.pool, table, kind, id))
}

// querier is what a pool and a transaction share.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// mustExist returns an error wrapping api.ErrNotFound unless table has a
// row whose id is id; kind names the thing in the error.
func mustExist(ctx context.Context, q querier, table, kind, id string) error {
	ok := storage.IsText(id) // PostgreSQL would refuse it; no id is one
	if ok {
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id).Scan(&ok); err != nil {
			return err
		}
	}
	if !ok {
		return fmt.Errorf("%s %q: %w", kind, id, api.ErrNotFound)
	}
	return nil
}

func createOrganization(ctx context.Context, tx pgx.Tx, name string, now time.Time) (api.Organization, error) {
	if err := storage.CheckName("organization", name); err != nil {
		return api.Organization{}, err
	}
	org := api.Organization{ID: storage.NewID("org_"), Name: name}
	_, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)`,
		org.ID, org.Name, now.UnixNano())
	if err != nil {
		return api.Organization{}, err
	}
	return org, nil
}

func createNamespace(ctx context.Context, tx pgx.Tx, organizationID, name string, now time.Time) (api.Namespace, error) {
	if err := storage.CheckName("namespace", name); err != nil {
		return api.Namespace{}, err
	}
	if err := mustExist(ctx, tx, "organizations", "organization", organizationID); err != nil {
		return api.Namespace{}, err
	}
	taken := fmt.Errorf("namespace %q %w in organization %s", name, storage.ErrAlreadyExists, organizationID)
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM namespaces WHERE organization_id = $1 AND name = $2)`,
		organizationID, name).Scan(&exists); err != nil {
		return api.Namespace{}, err
	}
	if exists {
		return api.Namespace{}, taken
	}
	ns := api.Namespace{ID: storage.NewID("ns_"), OrganizationID: organizationID, Name: name}
	_, err := tx.Exec(ctx, `INSERT INTO namespaces (id, organization_id, name, created_at) VALUES ($1, $2, $3, $4)`,
		ns.ID, ns.OrganizationID, ns.Name, now.UnixNano())
	if isUniqueViolation(err) {
		return api.Namespace{}, taken // created by another writer meanwhile
	}
	if err != nil {
		return api.Namespace{}, err
	}
	return ns, nil
}

func createBucket(ctx context.Context, tx pgx.Tx, namespaceID, name, id string, now time.Time) (api.Bucket, error) {
	if err := storage.CheckName("bucket", name); err != nil {
		return api.Bucket{}, err
	}
	if id == "" {
		id = storage.NewID("bkt_")
	} else if err := storage.CheckID("bucket id", id); err != nil {
		return api.Bucket{}, err
	}
	if err := mustExist(ctx, tx, "namespaces", "namespace", namespaceID); err != nil {
		return api.Bucket{}, err
	}
	nameTakenErr := fmt.Errorf("bucket %q %w in namespace %s", name, storage.ErrAlreadyExists, namespaceID)
	idTakenErr := fmt.Errorf("bucket id %q %w", id, storage.ErrAlreadyExists)
	var nameTaken, idTaken bool
	if err := tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM buckets WHERE namespace_id = $1 AND name = $2),
		       EXISTS (SELECT 1 FROM buckets WHERE id = $3)`,
		namespaceID, name, id).Scan(&nameTaken, &idTaken); err != nil {
		return api.Bucket{}, err
	}
	if nameTaken {
		return api.Bucket{}, nameTakenErr
	}
	if idTaken {
		return api.Bucket{}, idTakenErr
	}
	b := api.Bucket{ID: id, NamespaceID: namespaceID, Name: name}
	_, err := tx.Exec(ctx, `INSERT INTO buckets (id, namespace_id, name, created_at) VALUES ($1, $2, $3, $4)`,
		b.ID, b.NamespaceID, b.Name, now.UnixNano())
	if isUniqueViolation(err) { // created by another writer meanwhile
		if constraint(err) == "buckets_pkey" {
			return api.Bucket{}, idTakenErr
		}
		return api.Bucket{}, nameTakenErr
	}
	if err != nil {
		return api.Bucket{}, err
	}
	return b, nil
}

func createAPIKey(ctx context.Context, tx pgx.Tx, organizationID, key string, now time.Time) (string, error) {
	key, err := storage.APIKey(key)
	if err != nil {
		return "", err
	}
	if err := mustExist(ctx, tx, "organizations", "organization", organizationID); err != nil {
		return "", err
	}
	hash := api.HashKey(key)
	_, err = tx.Exec(ctx, `INSERT INTO api_keys (key_hash, organization_id, created_at) VALUES ($1, $2, $3)`,
		hash[:], organizationID, now.UnixNano())
	if isUniqueViolation(err) {
		return "", fmt.Errorf("API key %w", storage.ErrAlreadyExists)
	}
	if err != nil {
		return "", err
	}
	return key, nil
}

// copyChunk is the most batches one COPY statement writes: each statement
// stays well within statement_timeout however large an import is.
const copyChunk = 2000

// insertBatches stores batches in bucketID within tx; wrap(i, err) returns
// the error err about the i-th batch. As in api/sqlite, the batches are
// checked in order and the first one that is wrong, in whichever way, is
// the one reported.
func insertBatches(ctx context.Context, tx pgx.Tx, bucketID string, batches []server.Batch, wrap func(i int, err error) error) error {
	if err := mustExist(ctx, tx, "buckets", "bucket", bucketID); err != nil {
		return err
	}
	rows := make([][]any, 0, len(batches))
	ids := make([]string, 0, len(batches))
	seen := make(map[string]bool, len(batches))
	bad, badErr := -1, error(nil)
	for i := range batches {
		b := storage.AsListed(bucketID, batches[i])
		if err := storage.CheckBatch(&b); err != nil {
			bad, badErr = i, err
			break
		}
		if seen[b.BatchId] {
			bad, badErr = i, fmt.Errorf("batch_id %q %w earlier in the input", b.BatchId, storage.ErrAlreadyExists)
			break
		}
		seen[b.BatchId] = true
		row, err := storage.BatchRow(bucketID, b)
		if err != nil {
			bad, badErr = i, err
			break
		}
		rows = append(rows, row)
		ids = append(ids, b.BatchId)
	}

	// Batch ids already stored, among those before the first wrong batch.
	stored, err := tx.Query(ctx, `SELECT id, bucket_id FROM batches WHERE id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	buckets := map[string]string{}
	var id, bucket string
	if _, err := pgx.ForEachRow(stored, []any{&id, &bucket}, func() error {
		buckets[id] = bucket
		return nil
	}); err != nil {
		return err
	}
	for i, id := range ids {
		if other, ok := buckets[id]; ok {
			return wrap(i, fmt.Errorf("batch_id %q %w in bucket %s", id, storage.ErrAlreadyExists, other))
		}
	}
	if badErr != nil {
		return wrap(bad, badErr)
	}

	for start := 0; start < len(rows); start += copyChunk {
		chunk := rows[start:min(start+copyChunk, len(rows))]
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"batches"}, storage.BatchColumns(), pgx.CopyFromRows(chunk))
		if isUniqueViolation(err) {
			// Stored by another writer since the check above.
			return fmt.Errorf("a batch_id %w: another writer stored it meanwhile (%v)", storage.ErrAlreadyExists, err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
