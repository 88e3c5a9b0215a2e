// Package domain is what the reference server is about, without HTTP or a
// database: organizations, namespaces, buckets, batches and API keys; their
// rules (names, ids, keys, batches) and errors; the canonical JSON of a
// batch ([BatchJSON]), the JSON Lines import format ([ReadBatches]) and the
// demo data; and the interfaces a storage backend implements: [Store], what
// the server reads, and [Admin], what fills it, both in [DB].
//
// Package api serves a Store over HTTP; api/sqlite and api/postgres are the
// backends. A backend writes the SQL of [Tx] and runs its transactions;
// [NewAdmin] holds every rule of the administration methods, so that both
// backends behave alike. The status and batch-type vocabulary, and the page
// bounds, are the root package's ([batches.TaskStatus], [batches.BatchType],
// [batches.MaxLimit]).
package domain

import (
	"context"
	"fmt"
	"io"

	"github.com/mixpeekgo/batches"
)

// TaskStatus and BatchType are the root package's ([batches.TaskStatus],
// [batches.BatchType]), the one home of the contract's status vocabulary,
// named here so that a backend needs no other package of the project.
type (
	TaskStatus = batches.TaskStatus
	BatchType  = batches.BatchType
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
	ID          string // "bkt_" and 12 characters, or chosen (the demo bucket is "bkt_demo")
	NamespaceID string
	Name        string
	// Sizes are the sizes of the bucket's batches as [Store.ResolveBucket]
	// read them; zero from the other methods, and for a bucket without
	// batches.
	Sizes BucketSizes
}

// BucketSizes are the sizes of the canonical JSON ([BatchJSON]) of a
// bucket's batches, kept by the backends with the per-status counts in
// the transaction of every write (whatever writes), so that the API can
// bound a page before it reads it ([BucketSizes.PageBound]).
type BucketSizes struct {
	// DocBytes is the bytes of the JSON of all the bucket's batches.
	DocBytes int64
	// MaxDocBytes is at least the bytes of the JSON of each of its
	// batches: the most one has had (it is not lowered when that batch
	// shrinks or goes).
	MaxDocBytes int64
}

// PageBound is the most bytes the results array of a page of at most
// limit batches of the bucket can hold, by s: limit batches of
// MaxDocBytes, or all of DocBytes, whichever is less, with the commas and
// brackets. A write after s was read may make the page larger.
func (s BucketSizes) PageBound(limit int) int64 {
	return min(int64(limit)*s.MaxDocBytes, s.DocBytes) + int64(limit) + 1
}

// ListParams selects one page of a bucket's batches.
type ListParams struct {
	// BucketID is the id of the bucket, as ResolveBucket returns it.
	BucketID string
	// Status filters by status; nil means every status.
	Status *batches.TaskStatus
	// CollectionID keeps only the batches whose collection_ids contain
	// it; nil means every batch. With Status, both apply.
	CollectionID *string
	// Offset is the number of matching batches to skip (≥ 0).
	Offset int64
	// Limit is the most batches to return (1 to [batches.MaxLimit]).
	Limit int
}

// CheckPage returns an error wrapping [ErrInvalid] when p.Offset is
// negative or p.Limit is less than 1: what [Store.ListBatches] refuses.
// Larger limits are the API's to refuse; a store serves them.
func CheckPage(p ListParams) error {
	if p.Offset < 0 {
		return fmt.Errorf("%w: negative offset %d", ErrInvalid, p.Offset)
	}
	if p.Limit < 1 {
		return fmt.Errorf("%w: limit %d is less than 1", ErrInvalid, p.Limit)
	}
	return nil
}

// Store is what the server serves: what it reads, and the lifecycle's
// changes ([Lifecycle]). Implementations are safe for concurrent use;
// api/sqlite is the default one, api/postgres the other.
type Store interface {
	Lifecycle

	// OrganizationForKey returns the organization that owns the API key
	// whose SHA-256 hash ([HashKey]) is keyHash. It returns [ErrNotFound]
	// (as is) when no key has that hash or the key has been revoked, and
	// other errors only for storage failures or a done ctx. The stored hash
	// is compared with keyHash in constant time.
	OrganizationForKey(ctx context.Context, keyHash [32]byte) (Organization, error)

	// ResolveBucket returns, read at once, the namespace of the
	// organization organizationID that namespace names (its id or, when
	// none has that id, its name) and the bucket of that namespace that
	// bucket names (likewise, the id first), with its Sizes. It returns
	// [ErrNamespaceNotFound] (as is) when the organization has no such
	// namespace, whether or not another organization has one, and
	// [ErrBucketNotFound] (as is, with the namespace) when the namespace
	// has no such bucket, whether or not another namespace has one; both
	// wrap [ErrNotFound]. A string that is not text ([IsText]) names
	// nothing. Other errors are storage failures or a done ctx.
	ResolveBucket(ctx context.Context, organizationID, namespace, bucket string) (Namespace, Bucket, error)

	// ListBatches appends to dst one page of the batches of bucket
	// p.BucketID matching p.Status and p.CollectionID, newest first (created_at descending,
	// then batch_id descending by its bytes), skipping p.Offset of them and
	// holding at most p.Limit, as the JSON array the API answers in
	// results: "[", the canonical JSON of each batch ([BatchJSON], stored
	// with it) joined by ",", "]". It returns the extended slice and the
	// number of all batches matching p.Status and p.CollectionID whatever
	// the offset and limit, both read from one consistent snapshot; the
	// number is read from counts kept with every write, not counted, with
	// a collection filter too.
	//
	// The array is [] when the offset is at or past the end (any offset up
	// to math.MaxInt64). An unknown bucket is not an error: it has no
	// batches, so the page is [] and the count 0 (resolve buckets with
	// ResolveBucket first). It returns an error wrapping [ErrInvalid] when
	// p.Offset is negative or p.Limit is less than 1, and other errors for
	// storage failures or a done ctx; results is nil with any error.
	ListBatches(ctx context.Context, p ListParams, dst []byte) (results []byte, totalCount int64, err error)

	// GetBatch appends to dst the canonical JSON ([BatchJSON], as stored)
	// of the batch batchID of the bucket bucketID, read in one lookup of
	// the primary key, and returns the extended slice. It returns
	// [ErrNotFound] (as is) when the bucket has no such batch, whether or
	// not another bucket has one; a string that is not text ([IsText])
	// names nothing. Other errors are storage failures or a done ctx; the
	// slice is nil with any error.
	GetBatch(ctx context.Context, bucketID, batchID string, dst []byte) ([]byte, error)

	// GetTask appends to dst the canonical JSON ([TaskJSON], as stored)
	// of the task taskID of the organization organizationID, read in one
	// lookup of the primary key, and returns the extended slice. It
	// returns [ErrNotFound] (as is) when the organization has no such
	// task, whether or not another one has; other errors are storage
	// failures or a done ctx; the slice is nil with any error.
	GetTask(ctx context.Context, organizationID, taskID string, dst []byte) ([]byte, error)

	// ListTasks appends to dst one page of the tasks of p.OrganizationID
	// that match p.Status and p.Type, newest first (created_at
	// descending, then task_id descending by its bytes), starting after
	// p.After when it is set, skipping p.Offset and holding at most
	// p.Limit, as the JSON array the API answers in results ("[", the
	// canonical JSON of each task joined by ",", "]"). It returns the
	// extended slice; next, the cursor of the page's last task when more
	// tasks follow it (nil on the last page); and, with p.CountTotal, the
	// number of the tasks that match the filters (else 0). It returns an
	// error wrapping [ErrInvalid] when p.Offset is negative or p.Limit
	// is less than 1, and other errors for storage failures or a done
	// ctx.
	ListTasks(ctx context.Context, p TaskListParams, dst []byte) (results []byte, next *TaskCursor, total int64, err error)
}

// BucketVersioner is a [Store] that tells when a bucket's batches change,
// so that a page it answered can be answered again without reading it
// (api's page cache). Both backends are one.
type BucketVersioner interface {
	// BucketVersion returns the version of the batches of bucket
	// bucketID: a number that triggers change in the transaction of
	// every write to the bucket's batches (an insert, an update of any
	// column, a delete, whatever writes them), and that never comes back
	// to a value it had. A page read after BucketVersion returned v
	// holds every write of version v and before. It returns
	// [ErrNotFound] (as is) when the bucket has no version (it does not
	// exist); other errors are storage failures or a done ctx.
	BucketVersion(ctx context.Context, bucketID string) (int64, error)
}

// ChangeCounter is a [BucketVersioner] that also tells, more cheaply than a
// bucket's version, whether anything at all was committed to the database:
// SQLite's data_version. When it is unchanged since a bucket's version was
// read, so is the version.
type ChangeCounter interface {
	// DataVersion returns a number that changes whenever a transaction
	// of any connection or process commits to the database, and that
	// never comes back to a value it returned while nothing was
	// committed. An error means that it cannot tell (the caller reads
	// the bucket's version instead).
	DataVersion(ctx context.Context) (int64, error)
}

// Processor is the processing of submitted batches by a backend's queue:
// its workers run the jobs that [Lifecycle.SubmitBatch] and
// [Lifecycle.RetryBatch] queue, one step of a batch at a time. A backend
// queues jobs whether or not its workers run: jobs wait in the database
// until a process starts them (batchesd serve does; a test may steer
// batches instead, [Admin.Steer]).
type Processor interface {
	// StartProcessing starts the workers of this process, until
	// StopProcessing. Several processes may work one database's queue:
	// each step runs in one of them.
	StartProcessing(ctx context.Context) error

	// StopProcessing stops the workers: no step starts after it begins,
	// steps under way finish (or, when ctx is done first, are abandoned,
	// their jobs back in the queue for a worker to run again). It does
	// nothing when the workers do not run.
	StopProcessing(ctx context.Context) error
}

// Tenants creates what a tenant is made of: an organization, its
// namespaces and buckets, and its API keys. Errors wrap [ErrInvalid],
// [ErrAlreadyExists] or [ErrNotFound] as each method says; others are
// storage failures or a done ctx. Every error of a backend's method starts
// with the backend's name and the operation ("sqlite: create bucket: …").
type Tenants interface {
	// CreateOrganization creates an organization named name, with a new
	// id ([NewID] "org_"), and returns it. Names need not be unique. It
	// returns an error wrapping ErrInvalid when name breaks [CheckName].
	CreateOrganization(ctx context.Context, name string) (Organization, error)

	// CreateNamespace creates a namespace named name in the organization
	// organizationID, with a new id ([NewID] "ns_"), and returns it. It
	// returns an error wrapping ErrNotFound when the organization does not
	// exist, ErrAlreadyExists when it already has a namespace of that name,
	// and ErrInvalid when name breaks [CheckName].
	CreateNamespace(ctx context.Context, organizationID, name string) (Namespace, error)

	// CreateBucket creates a bucket named name in the namespace
	// namespaceID and returns it. Its id is id when id is not empty
	// ([CheckID]: 1 to 128 characters of [A-Za-z0-9_.-], unique across all
	// namespaces), or else a new one ([NewID] "bkt_"). It returns an error
	// wrapping ErrNotFound when the namespace does not exist,
	// ErrAlreadyExists when the namespace already has a bucket of that name
	// (said first) or any bucket has that id, and ErrInvalid when the name
	// ([CheckName]) or the id is malformed.
	CreateBucket(ctx context.Context, namespaceID, name, id string) (Bucket, error)

	// CreateAPIKey registers an API key of the organization
	// organizationID and returns it: key when it is not empty ([APIKey]:
	// 20 to 128 bytes of printable ASCII without spaces), or else a new
	// one ([NewAPIKey]). Only the key's SHA-256 hash ([HashKey]) is stored,
	// so the returned string is the only time the whole key is seen. It
	// returns an error wrapping ErrNotFound when the organization does not
	// exist, ErrAlreadyExists when the key is already registered (to any
	// organization, revoked or not), and ErrInvalid when key is malformed.
	// Errors never show the key.
	CreateAPIKey(ctx context.Context, organizationID, key string) (string, error)
}

// Admin is the administration surface of a storage backend: what
// cmd/batchesd's commands, the demo seeding and the test helpers call.
// [NewAdmin] implements it over a backend's transactions, so the rules
// below are every backend's. Each method is one transaction: on any error
// it changes nothing.
type Admin interface {
	Tenants

	// InsertBatches stores batches in the bucket bucketID, all of them or
	// none. Each is stored as listed ([AsListed]): BucketID is bucketID,
	// times in UTC to the nanosecond, a nil ObjectIDs [] and a nil Metadata
	// {}; every other field as given. The bucket's counts change with them.
	//
	// It returns an error wrapping ErrNotFound when the bucket does not
	// exist, ErrAlreadyExists when a BatchID is already stored (batch ids
	// are unique across buckets; the error names the bucket holding it) or
	// repeated in batches, and ErrInvalid when a batch breaks [CheckBatch]
	// or has no canonical JSON ([BatchJSON]: a string that is not valid
	// UTF-8, wrapping [ErrInvalidUTF8] too; a metadata value JSON cannot
	// hold, NaN or ±Inf). The batches are checked in order and the error,
	// "batch I ("ID"): …", names the first wrong one, whatever is wrong.
	InsertBatches(ctx context.Context, bucketID string, batches []Batch) error

	// ImportBatches stores in the bucket bucketID the batches read from r,
	// JSON Lines of Batch objects as the List Batches endpoint returns them,
	// checked against schema (the format and its checks are
	// [ReadBatches]'s; api.BatchSchema is the contract's), and returns how many
	// it stored. The bucket_id of the lines is ignored; every other field
	// is kept as given, timestamps to the nanosecond (stored in UTC) and
	// metadata numbers digit for digit.
	//
	// All or nothing: the bucket is checked, then the whole input read and
	// checked, then stored in one transaction; on any error nothing is
	// stored and the count is 0. Imports into one bucket take turns: from
	// reading its input to its commit, an import holds the backend's
	// [ImportLock], which another waits for (as long as ctx allows). It returns an error wrapping ErrNotFound,
	// naming the bucket, when the bucket does not exist (before reading r);
	// an error about a line is a *[LineError] ("line N: …", N counting from
	// 1, blank lines included) wrapping ErrInvalid for a malformed or
	// invalid line, or ErrAlreadyExists for a batch_id repeated in the
	// input or already stored in any bucket. Other errors are those of r,
	// storage failures or a done ctx.
	ImportBatches(ctx context.Context, bucketID string, r io.Reader, schema Schema) (int, error)

	// UpdateBatchStatus sets the status of the batch batchID (in whichever
	// bucket) to status and its updated_at to now (UTC, to the nanosecond;
	// never before its created_at), rewriting its stored JSON (every other field kept as stored)
	// and moving it between the per-status counts. Setting the status a
	// batch already has only moves its updated_at. It returns an error
	// wrapping ErrNotFound when no batch has that id, and ErrInvalid when
	// status is not a known TaskStatus.
	UpdateBatchStatus(ctx context.Context, batchID string, status batches.TaskStatus) error

	// DeleteBatch deletes the batch batchID (in whichever bucket), taking
	// it out of the per-status counts. It returns an error wrapping
	// ErrNotFound when no batch has that id.
	DeleteBatch(ctx context.Context, batchID string) error

	// SeedDemo fills an empty database with the demo ([DemoTenant]): the
	// organization "Demo", the namespace "demo", the bucket "bkt_demo"
	// (named "demo") holding the [DemoBatchCount] batches of
	// [DemoBatches], and an API key of the organization, apiKey when it is
	// not empty (as for CreateAPIKey) or else a new one. It returns what it
	// created and true.
	//
	// When the database already has an organization, SeedDemo changes
	// nothing and returns a zero DemoInfo and false. The check and the
	// creation are one transaction, ordered with the other SeedDemo calls
	// of every process, so that servers starting at once on an empty
	// database seed it once. It returns an error wrapping ErrInvalid when
	// apiKey is malformed.
	SeedDemo(ctx context.Context, apiKey string) (DemoInfo, bool, error)

	// ListOrganizations, ListNamespaces (of the organization
	// organizationID, or all when ""), ListBuckets (of the namespace
	// namespaceID, or all when "") and ListAPIKeys (of the organization
	// organizationID, or all when "") list what the database holds, by
	// creation. A key is listed by its id ([KeyID]) and prefix
	// ([KeyPrefix]), never itself. An organization or namespace given
	// that does not exist is an error wrapping ErrNotFound.
	ListOrganizations(ctx context.Context) ([]Organization, error)
	ListNamespaces(ctx context.Context, organizationID string) ([]Namespace, error)
	ListBuckets(ctx context.Context, namespaceID string) ([]Bucket, error)
	ListAPIKeys(ctx context.Context, organizationID string) ([]APIKeyInfo, error)

	// RevokeAPIKey revokes the API key whose id ([KeyID]) is keyID: from
	// then on it authenticates nothing (401). Revoking a revoked key
	// changes nothing. It returns an error wrapping ErrNotFound when no key
	// has that id, and ErrInvalid when keyID is not a key id.
	RevokeAPIKey(ctx context.Context, keyID string) error

	// RegisterDemoKey registers apiKey for the demo's organization when it
	// is not registered yet (demokey.go).
	RegisterDemoKey(ctx context.Context, apiKey string) (organizationID string, registered bool, err error)
}

// DB is a storage backend: the [Store] the server serves, the [Admin]
// methods that fill it, the [Processor] of submitted batches and its
// [Steerer]. Close releases its connections; the DB must not be used
// afterwards.
type DB interface {
	Store
	Admin
	Processor
	Steerer
	Close() error
}

// Steerer moves batches along by hand: for tests that follow a batch to
// its end in milliseconds (api/batchestest).
type Steerer interface {
	// Steer moves the processing of the batch batchID (in whichever
	// bucket) along at once, as how says, each step one transaction as the
	// queue's worker would run it (the step's job, still queued, then does
	// nothing), and returns the steps it ran: for tests that follow a
	// batch to its end in milliseconds. It returns an error wrapping
	// ErrNotFound when no batch has that id, and ErrInvalid when the batch
	// is not being processed.
	Steer(ctx context.Context, batchID string, how Steering) ([]Step, error)
}
