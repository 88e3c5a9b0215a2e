// Package storage holds what the storage backends of the reference server
// share, whatever database they run on: the errors of their administration
// methods, the checks of names, ids, keys and batches, id and key
// generation, the JSON Lines import format, the demo data, and the
// interfaces that api/sqlite's and api/postgres's DB both satisfy.
package storage

import (
	"context"
	"errors"
	"io"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/generated/server"
)

// ErrInvalid is wrapped by the errors of the methods that refuse their
// arguments: an empty or badly formed name, id or key, a batch that breaks
// the Batch schema, a negative offset. errors.Is(err, ErrInvalid) tells them
// apart from storage failures.
var ErrInvalid = errors.New("invalid argument")

// ErrAlreadyExists is wrapped by the errors of the methods that create
// something whose id, name or key is already taken.
var ErrAlreadyExists = errors.New("already exists")

// Admin is the administration surface of a storage backend: what
// cmd/batchesd's commands and the demo seeding call. The methods' rules
// (the errors, wrapping [ErrInvalid], [ErrAlreadyExists] or
// [api.ErrNotFound], and what is stored) are the same on every backend and
// documented on api/sqlite's DB.
type Admin interface {
	CreateOrganization(ctx context.Context, name string) (api.Organization, error)
	CreateNamespace(ctx context.Context, organizationID, name string) (api.Namespace, error)
	CreateBucket(ctx context.Context, namespaceID, name, id string) (api.Bucket, error)
	CreateAPIKey(ctx context.Context, organizationID, key string) (string, error)
	InsertBatches(ctx context.Context, bucketID string, batches []server.Batch) error
	ImportBatches(ctx context.Context, bucketID string, r io.Reader) (int, error)
	UpdateBatchStatus(ctx context.Context, batchID string, status server.TaskStatus) error
	DeleteBatch(ctx context.Context, batchID string) error
	SeedDemo(ctx context.Context, apiKey string) (DemoInfo, bool, error)
}

// DB is a storage backend: the [api.Store] the server reads and the
// [Admin] methods that fill it. Close releases its connections; the DB must
// not be used afterwards.
type DB interface {
	api.Store
	Admin
	Close() error
}
