package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/storage"
	"github.com/mixpeekgo/batches/generated/server"
)

// CreateOrganization creates an organization named name, with a new id
// "org_" and 12 characters of [a-z0-9], and returns it. Names need not be
// unique. It returns an error wrapping [ErrInvalid] when name is empty, has
// leading or trailing white space or control characters, or is longer than
// 128 characters, and other errors for storage failures or a done ctx.
func (db *DB) CreateOrganization(ctx context.Context, name string) (api.Organization, error) {
	var org api.Organization
	err := db.inWriteTx(ctx, func(tx *sql.Tx) (err error) {
		org, err = createOrganization(ctx, tx, name, time.Now())
		return err
	})
	if err != nil {
		return api.Organization{}, fmt.Errorf("sqlite: create organization: %w", err)
	}
	return org, nil
}

// CreateNamespace creates a namespace named name in the organization
// organizationID, with a new id "ns_" and 12 characters of [a-z0-9], and
// returns it. It returns an error wrapping [api.ErrNotFound] when the
// organization does not exist, [ErrAlreadyExists] when the organization
// already has a namespace of that name, [ErrInvalid] when the name is empty,
// has leading or trailing white space or control characters, or is longer
// than 128 characters; and other errors for storage failures or a done ctx.
func (db *DB) CreateNamespace(ctx context.Context, organizationID, name string) (api.Namespace, error) {
	var ns api.Namespace
	err := db.inWriteTx(ctx, func(tx *sql.Tx) (err error) {
		ns, err = createNamespace(ctx, tx, organizationID, name, time.Now())
		return err
	})
	if err != nil {
		return api.Namespace{}, fmt.Errorf("sqlite: create namespace: %w", err)
	}
	return ns, nil
}

// CreateBucket creates a bucket named name in the namespace namespaceID and
// returns it. Its id is id when id is not empty (1 to 128 characters of
// [A-Za-z0-9_.-], unique across all namespaces), or else a new id "bkt_" and
// 12 characters of [a-z0-9]. It returns an error wrapping [api.ErrNotFound]
// when the namespace does not exist, [ErrAlreadyExists] when the namespace
// already has a bucket of that name or any bucket has that id, [ErrInvalid]
// when the name or the id is malformed (names as for [DB.CreateNamespace]);
// and other errors for storage failures or a done ctx.
func (db *DB) CreateBucket(ctx context.Context, namespaceID, name, id string) (api.Bucket, error) {
	var b api.Bucket
	err := db.inWriteTx(ctx, func(tx *sql.Tx) (err error) {
		b, err = createBucket(ctx, tx, namespaceID, name, id, time.Now())
		return err
	})
	if err != nil {
		return api.Bucket{}, fmt.Errorf("sqlite: create bucket: %w", err)
	}
	return b, nil
}

// CreateAPIKey registers an API key of the organization organizationID and
// returns it: key when key is not empty (1 to 128 bytes of printable ASCII
// without spaces), or else a new key "sk_live_" and 40 random base62
// characters. Only the key's SHA-256 hash ([api.HashKey]) is stored, so the
// returned string is the only time the whole key is seen. It returns an
// error wrapping [api.ErrNotFound] when the organization does not exist,
// [ErrAlreadyExists] when the key is already registered (to any
// organization, revoked or not), [ErrInvalid] when key is malformed; and
// other errors for storage failures or a done ctx. Errors never show the
// key.
func (db *DB) CreateAPIKey(ctx context.Context, organizationID, key string) (string, error) {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) (err error) {
		key, err = createAPIKey(ctx, tx, organizationID, key, time.Now())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: create API key: %w", err)
	}
	return key, nil
}

// InsertBatches stores batches in the bucket bucketID, all of them or, on
// any error, none (one transaction). Each keeps its BatchId, CreatedAt and
// UpdatedAt (stored in UTC, to the nanosecond) and every other field; its
// BucketId is ignored and bucketID stored instead. A nil ObjectIds is
// stored as [] and a nil Metadata as {}.
//
// It returns an error wrapping [api.ErrNotFound] when the bucket does not
// exist, [ErrAlreadyExists] when a BatchId is already stored (batch ids are
// unique across buckets) or repeated in batches, [ErrInvalid] when a batch
// has an empty BatchId, a Status or Type outside the enums, TotalTiers below
// 1, a timestamp outside the years 1678 to 2261, a string that is not valid
// UTF-8 (wrapping [api.ErrInvalidUTF8] too), an Error or TaskId holding NUL
// (which PostgreSQL cannot store, refused alike here) or a metadata value
// JSON cannot hold (NaN, ±Inf); and other errors for storage failures or a
// done ctx.
// Errors name the batch by index and id.
func (db *DB) InsertBatches(ctx context.Context, bucketID string, batches []server.Batch) error {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		return insertBatches(ctx, tx, bucketID, batches, func(i int, err error) error {
			return fmt.Errorf("batch %d (%q): %w", i, batches[i].BatchId, err)
		})
	})
	if err != nil {
		return fmt.Errorf("sqlite: insert batches: %w", err)
	}
	return nil
}

// UpdateBatchStatus sets the status of the batch batchID (in whichever
// bucket) to status and its updated_at to now (UTC, to the nanosecond; never
// before its created_at), in one transaction that also rewrites the batch's
// served JSON and moves it between the per-status counts. Setting the
// status a batch already has only moves its updated_at.
//
// It returns an error wrapping [api.ErrNotFound] when no batch has that id,
// [ErrInvalid] when status is not a TaskStatus, and other errors for storage
// failures or a done ctx.
func (db *DB) UpdateBatchStatus(ctx context.Context, batchID string, status server.TaskStatus) error {
	if !status.Valid() {
		return fmt.Errorf("sqlite: update batch status: %w: status %q is not a TaskStatus", ErrInvalid, status)
	}
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var doc []byte
		err := tx.QueryRowContext(ctx, `SELECT doc FROM batches WHERE id = ?`, batchID).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("batch %q: %w", batchID, api.ErrNotFound)
		}
		if err != nil {
			return err
		}
		doc, updatedAt, err := storage.Restatus(doc, status, time.Now())
		if err != nil {
			return fmt.Errorf("batch %q: %w", batchID, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE batches SET status = ?, updated_at = ?, doc = ? WHERE id = ?`,
			string(status), updatedAt.UnixNano(), string(doc), batchID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: update batch status: %w", err)
	}
	return nil
}

// DeleteBatch deletes the batch batchID (in whichever bucket), in one
// transaction that also takes it out of the per-status counts. It returns an
// error wrapping [api.ErrNotFound] when no batch has that id, and other
// errors for storage failures or a done ctx.
func (db *DB) DeleteBatch(ctx context.Context, batchID string) error {
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM batches WHERE id = ?`, batchID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("batch %q: %w", batchID, api.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete batch: %w", err)
	}
	return nil
}

func createOrganization(ctx context.Context, tx *sql.Tx, name string, now time.Time) (api.Organization, error) {
	if err := storage.CheckName("organization", name); err != nil {
		return api.Organization{}, err
	}
	org := api.Organization{ID: NewID("org_"), Name: name}
	_, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`,
		org.ID, org.Name, now.UnixNano())
	if err != nil {
		return api.Organization{}, err
	}
	return org, nil
}

func createNamespace(ctx context.Context, tx *sql.Tx, organizationID, name string, now time.Time) (api.Namespace, error) {
	if err := storage.CheckName("namespace", name); err != nil {
		return api.Namespace{}, err
	}
	if err := mustExist(ctx, tx, "organizations", "organization", organizationID); err != nil {
		return api.Namespace{}, err
	}
	var taken bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM namespaces WHERE organization_id = ? AND name = ?)`,
		organizationID, name).Scan(&taken); err != nil {
		return api.Namespace{}, err
	}
	if taken {
		return api.Namespace{}, fmt.Errorf("namespace %q %w in organization %s", name, ErrAlreadyExists, organizationID)
	}
	ns := api.Namespace{ID: NewID("ns_"), OrganizationID: organizationID, Name: name}
	_, err := tx.ExecContext(ctx, `INSERT INTO namespaces (id, organization_id, name, created_at) VALUES (?, ?, ?, ?)`,
		ns.ID, ns.OrganizationID, ns.Name, now.UnixNano())
	if err != nil {
		return api.Namespace{}, err
	}
	return ns, nil
}

func createBucket(ctx context.Context, tx *sql.Tx, namespaceID, name, id string, now time.Time) (api.Bucket, error) {
	if err := storage.CheckName("bucket", name); err != nil {
		return api.Bucket{}, err
	}
	if id == "" {
		id = NewID("bkt_")
	} else if err := storage.CheckID("bucket id", id); err != nil {
		return api.Bucket{}, err
	}
	if err := mustExist(ctx, tx, "namespaces", "namespace", namespaceID); err != nil {
		return api.Bucket{}, err
	}
	var nameTaken, idTaken bool
	if err := tx.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM buckets WHERE namespace_id = ? AND name = ?),
		       EXISTS (SELECT 1 FROM buckets WHERE id = ?)`,
		namespaceID, name, id).Scan(&nameTaken, &idTaken); err != nil {
		return api.Bucket{}, err
	}
	if nameTaken {
		return api.Bucket{}, fmt.Errorf("bucket %q %w in namespace %s", name, ErrAlreadyExists, namespaceID)
	}
	if idTaken {
		return api.Bucket{}, fmt.Errorf("bucket id %q %w", id, ErrAlreadyExists)
	}
	b := api.Bucket{ID: id, NamespaceID: namespaceID, Name: name}
	_, err := tx.ExecContext(ctx, `INSERT INTO buckets (id, namespace_id, name, created_at) VALUES (?, ?, ?, ?)`,
		b.ID, b.NamespaceID, b.Name, now.UnixNano())
	if err != nil {
		return api.Bucket{}, err
	}
	return b, nil
}

func createAPIKey(ctx context.Context, tx *sql.Tx, organizationID, key string, now time.Time) (string, error) {
	key, err := storage.APIKey(key)
	if err != nil {
		return "", err
	}
	if err := mustExist(ctx, tx, "organizations", "organization", organizationID); err != nil {
		return "", err
	}
	hash := api.HashKey(key)
	_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (key_hash, organization_id, created_at) VALUES (?, ?, ?)`,
		hash[:], organizationID, now.UnixNano())
	if isUniqueViolation(err) {
		return "", fmt.Errorf("API key %w", ErrAlreadyExists)
	}
	if err != nil {
		return "", err
	}
	return key, nil
}

// queryRower is what mustExist queries: a *sql.Tx or a *sql.DB.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mustExist returns an error wrapping api.ErrNotFound unless table has a
// row whose id is id; kind names the thing in the error.
func mustExist(ctx context.Context, q queryRower, table, kind, id string) error {
	var ok bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s %q: %w", kind, id, api.ErrNotFound)
	}
	return nil
}

// insertBatchQuery inserts one batch: the values of storage.BatchRow.
var insertBatchQuery = `INSERT INTO batches (` + strings.Join(storage.BatchColumns(), ", ") + `)
	VALUES (?` + strings.Repeat(", ?", len(storage.BatchColumns())-1) + `)`

// insertBatches stores batches in bucketID within tx; wrap(i, err) returns
// the error err about the i-th batch.
func insertBatches(ctx context.Context, tx *sql.Tx, bucketID string, batches []server.Batch, wrap func(i int, err error) error) error {
	if err := mustExist(ctx, tx, "buckets", "bucket", bucketID); err != nil {
		return err
	}
	insert, err := tx.PrepareContext(ctx, insertBatchQuery)
	if err != nil {
		return err
	}
	defer insert.Close()

	seen := make(map[string]bool, len(batches))
	for i := range batches {
		b := &batches[i]
		if err := storage.CheckBatch(b); err != nil {
			return wrap(i, err)
		}
		if seen[b.BatchId] {
			return wrap(i, fmt.Errorf("batch_id %q %w earlier in the input", b.BatchId, ErrAlreadyExists))
		}
		seen[b.BatchId] = true
		args, err := storage.BatchRow(bucketID, *b)
		if err != nil {
			return wrap(i, err)
		}
		_, err = insert.ExecContext(ctx, args...)
		if isUniqueViolation(err) {
			// batches has no unique column but its id.
			var other string
			if qerr := tx.QueryRowContext(ctx, `SELECT bucket_id FROM batches WHERE id = ?`, b.BatchId).Scan(&other); qerr != nil {
				return wrap(i, fmt.Errorf("batch_id %q %w: %v", b.BatchId, ErrAlreadyExists, qerr))
			}
			return wrap(i, fmt.Errorf("batch_id %q %w in bucket %s", b.BatchId, ErrAlreadyExists, other))
		}
		if err != nil {
			return wrap(i, err)
		}
	}
	return nil
}
