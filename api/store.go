package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/mixpeekgo/batches/generated/server"
)

// ErrNotFound is returned by a Store when the thing asked for does not exist
// or belongs to another organization; the two are never told apart.
var ErrNotFound = errors.New("not found")

// The errors of Store.ResolveBucket, both wrapping ErrNotFound.
var (
	ErrNamespaceNotFound = fmt.Errorf("namespace %w", ErrNotFound)
	ErrBucketNotFound    = fmt.Errorf("bucket %w", ErrNotFound)
)

// Organization owns API keys and namespaces. Every request acts for exactly
// one organization, the one its API key belongs to.
type Organization struct {
	ID   string // "org_" and 12 characters
	Name string
}

// Namespace scopes every resource; it belongs to one organization.
type Namespace struct {
	ID             string // "ns_" and 12 characters
	OrganizationID string
	Name           string
}

// Bucket holds batches; it belongs to one namespace.
type Bucket struct {
	ID          string // "bkt_" and 12 characters (the demo bucket is "bkt_demo")
	NamespaceID string
	Name        string
}

// ListParams selects one page of a bucket's batches.
type ListParams struct {
	// BucketID is the id of the bucket, as ResolveBucket returns it.
	BucketID string
	// Status filters by status; nil means every status.
	Status *server.TaskStatus
	// Offset is the number of matching batches to skip (≥ 0).
	Offset int64
	// Limit is the most batches to return (1..1000).
	Limit int
}

// Store is the storage the server needs. Implementations are safe for
// concurrent use; api/sqlite is the default one, api/postgres the other.
type Store interface {
	// OrganizationForKey returns the organization that owns the API key whose
	// SHA-256 hash is keyHash, or ErrNotFound when no live key has that hash.
	OrganizationForKey(ctx context.Context, keyHash [32]byte) (Organization, error)

	// ResolveBucket returns, read at once, the namespace of the organization
	// organizationID that namespace names (its id or, when none has that id,
	// its name) and the bucket of that namespace that bucket names (likewise,
	// the id first). It returns ErrNamespaceNotFound when the organization
	// has no such namespace, including when another organization has one,
	// and ErrBucketNotFound (with the namespace) when the namespace has no
	// such bucket; both wrap ErrNotFound.
	ResolveBucket(ctx context.Context, organizationID, namespace, bucket string) (Namespace, Bucket, error)

	// ListBatches appends to dst one page of the bucket's batches matching
	// p.Status, newest first (created_at descending, then batch_id
	// descending), as the JSON array the API answers in results: "[", the
	// canonical JSON of each batch (BatchJSON) joined by ",", "]" ("[]" for
	// an empty page). It returns the extended slice and the number of all
	// batches matching p.Status whatever the offset and limit. The page and
	// the count are read from one consistent snapshot. An unknown bucket has
	// no batches. On error results is nil.
	ListBatches(ctx context.Context, p ListParams, dst []byte) (results []byte, totalCount int64, err error)
}
