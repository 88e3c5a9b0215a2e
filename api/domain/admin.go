package domain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mixpeekgo/batches"
)

// Tx is one write transaction of a storage backend: the statements the
// administration methods are made of, which is all of them that differs
// between backends. [NewAdmin] makes the methods of [Admin] of them, with
// every rule: the checks, the ids and keys, the errors. The ids and names
// a Tx is given are text ([IsText]) and checked. Its errors are storage
// failures or a done ctx, except where a method says otherwise.
type Tx interface {
	// HasOrganizations reports whether the database holds any
	// organization.
	HasOrganizations(ctx context.Context) (bool, error)

	// Exists reports whether the organization, namespace or bucket (kind
	// "organization", "namespace" or "bucket") whose id is id exists.
	Exists(ctx context.Context, kind, id string) (bool, error)

	// InsertOrganization stores org, created at now.
	InsertOrganization(ctx context.Context, org Organization, now time.Time) error

	// InsertNamespace stores ns, created at now, unless its organization
	// has a namespace of that name: then taken is true and nothing is
	// stored.
	InsertNamespace(ctx context.Context, ns Namespace, now time.Time) (taken bool, err error)

	// BucketTaken reports whether the namespace namespaceID has a bucket
	// named name, and whether any bucket has the id id.
	BucketTaken(ctx context.Context, namespaceID, name, id string) (nameTaken, idTaken bool, err error)

	// InsertBucket stores b, created at now, unless another writer took
	// its name in its namespace or its id since BucketTaken: then nameTaken
	// or idTaken is true and nothing is stored.
	InsertBucket(ctx context.Context, b Bucket, now time.Time) (nameTaken, idTaken bool, err error)

	// InsertAPIKey stores keyHash, the hash of an API key of the
	// organization organizationID, and prefix, what a list shows of it
	// ([KeyPrefix]), created at now, unless it is stored already: then
	// taken is true and nothing is stored.
	InsertAPIKey(ctx context.Context, keyHash [32]byte, prefix, organizationID string, now time.Time) (taken bool, err error)

	// List runs the list query of what ("organizations", "namespaces",
	// "buckets" or "keys", as [ListQueries] has them) with its argument
	// arg, and calls row with the Scan of each row read, in order; it
	// stops at row's first error, which it returns.
	List(ctx context.Context, what string, arg string, row func(scan func(dest ...any) error) error) error

	// RevokeAPIKey sets the revoked_at of the keys whose hash starts with
	// hashPrefix to now, where it is not set already, and returns how many
	// keys have that prefix (the caller rolls back when that is not one).
	RevokeAPIKey(ctx context.Context, hashPrefix []byte, now time.Time) (matched int, err error)

	// InsertBatches stores rows, each the values of [BatchColumns] for a
	// batch ([BatchRow]), in order. When the batch id of one is already
	// stored, it returns the index in rows of the first such and the
	// bucket that holds it, having stored any or none of the rows (the
	// transaction is rolled back); otherwise taken is -1. It returns an
	// error wrapping ErrAlreadyExists when another writer stores one of the
	// ids meanwhile.
	InsertBatches(ctx context.Context, rows [][]any) (taken int, inBucket string, err error)

	// BatchDoc returns the stored canonical JSON of the batch batchID,
	// whose row it locks until the transaction ends; found is false when
	// no batch has that id.
	BatchDoc(ctx context.Context, batchID string) (doc []byte, found bool, err error)

	// SetBatchStatus sets the status, updated_at and doc of the batch
	// batchID.
	SetBatchStatus(ctx context.Context, batchID string, status batches.TaskStatus, updatedAt time.Time, doc []byte) error

	// DeleteBatch deletes the batch batchID; found is false when no batch
	// has that id.
	DeleteBatch(ctx context.Context, batchID string) (found bool, err error)

	// UpdateBatch rewrites the stored batch whose values of [BatchColumns]
	// are row ([BatchRow]), found by its id (row[0]), whose row the
	// transaction has locked (BatchDoc).
	UpdateBatch(ctx context.Context, row []any) error

	// Task returns the stored task taskID; found is false when there is
	// none. It takes no lock: a batch's tasks are written under the lock
	// of the batch's row (BatchDoc), or, for a task whose batch is gone,
	// alone.
	Task(ctx context.Context, taskID string) (r TaskRow, found bool, err error)

	// SaveTask stores r: a new task, or a new version of the stored task
	// of its TaskID (whose OrganizationID, BatchID, Type and CreatedAt do
	// not change).
	SaveTask(ctx context.Context, r TaskRow) error

	// Enqueue queues job on the backend's queue within the transaction:
	// the job exists if and only if the transaction commits. Its worker
	// runs it at job.At (at once when that is past) by calling
	// [Lifecycles.Step].
	Enqueue(ctx context.Context, job Job) error

	// LockDemo takes, until the transaction ends, the lock that orders the
	// SeedDemo calls of every process; it does nothing on a database whose
	// write transactions already exclude each other.
	LockDemo(ctx context.Context) error

	// BucketOrganization returns the id of the organization that holds
	// the bucket bucketID (through its namespace); found is false when no
	// bucket has that id.
	BucketOrganization(ctx context.Context, bucketID string) (organizationID string, found bool, err error)
}

// InTx runs f in one write transaction of a backend, giving it the context
// to run the statements with (ctx, with the backend's deadline if it has
// one). It commits when f returns nil and rolls back otherwise, and returns
// f's error, or the backend's when it cannot begin or commit.
type InTx func(ctx context.Context, f func(ctx context.Context, tx Tx) error) error

// NewAdmin returns the [Admin] of a backend whose write transactions inTx
// runs. name names the backend at the start of its errors ("sqlite" makes
// "sqlite: create bucket: …").
func NewAdmin(name string, inTx InTx, opts ...AdminOption) Admin {
	a := &admin{name: name, inTx: inTx}
	for _, o := range opts {
		o(a)
	}
	return a
}

type admin struct {
	name       string
	inTx       InTx
	importLock ImportLock // nil: imports do not take turns
}

// do runs f in one transaction; its error starts with the backend's name
// and op ("sqlite: create bucket: …").
func (a *admin) do(ctx context.Context, op string, f func(ctx context.Context, tx Tx) error) error {
	if err := a.inTx(ctx, f); err != nil {
		return a.fail(op, err)
	}
	return nil
}

func (a *admin) fail(op string, err error) error { return fmt.Errorf("%s: %s: %w", a.name, op, err) }

// write is do of an f that returns a value: that value, or the zero value
// with an error.
func write[T any](ctx context.Context, a *admin, op string, f func(ctx context.Context, tx Tx) (T, error)) (T, error) {
	var v T
	err := a.do(ctx, op, func(ctx context.Context, tx Tx) (err error) {
		v, err = f(ctx, tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func (a *admin) CreateOrganization(ctx context.Context, name string) (Organization, error) {
	return write(ctx, a, "create organization", func(ctx context.Context, tx Tx) (Organization, error) {
		return txTenants{tx, time.Now()}.CreateOrganization(ctx, name)
	})
}

func (a *admin) CreateNamespace(ctx context.Context, organizationID, name string) (Namespace, error) {
	return write(ctx, a, "create namespace", func(ctx context.Context, tx Tx) (Namespace, error) {
		return txTenants{tx, time.Now()}.CreateNamespace(ctx, organizationID, name)
	})
}

func (a *admin) CreateBucket(ctx context.Context, namespaceID, name, id string) (Bucket, error) {
	return write(ctx, a, "create bucket", func(ctx context.Context, tx Tx) (Bucket, error) {
		return txTenants{tx, time.Now()}.CreateBucket(ctx, namespaceID, name, id)
	})
}

func (a *admin) CreateAPIKey(ctx context.Context, organizationID, key string) (string, error) {
	return write(ctx, a, "create API key", func(ctx context.Context, tx Tx) (string, error) {
		return txTenants{tx, time.Now()}.CreateAPIKey(ctx, organizationID, key)
	})
}

func (a *admin) InsertBatches(ctx context.Context, bucketID string, bs []Batch) error {
	return a.do(ctx, "insert batches", func(ctx context.Context, tx Tx) error {
		return insertBatches(ctx, tx, bucketID, bs, func(i int, err error) error {
			return fmt.Errorf("batch %d (%q): %w", i, bs[i].BatchID, err)
		})
	})
}

func (a *admin) ImportBatches(ctx context.Context, bucketID string, r io.Reader, schema Schema) (int, error) {
	const op = "import batches"
	if err := a.do(ctx, op, func(ctx context.Context, tx Tx) error {
		return mustExist(ctx, tx, "bucket", bucketID)
	}); err != nil {
		return 0, err
	}
	if a.importLock != nil {
		unlock, err := a.importLock(ctx, bucketID)
		if err != nil {
			return 0, a.fail(op, err)
		}
		defer unlock()
	}
	bs, lines, err := ReadBatches(r, schema)
	if err != nil {
		return 0, a.fail(op, err)
	}
	return write(ctx, a, op, func(ctx context.Context, tx Tx) (int, error) {
		return len(bs), insertBatches(ctx, tx, bucketID, bs, func(i int, err error) error {
			return &LineError{Line: lines[i], Err: err}
		})
	})
}

func (a *admin) UpdateBatchStatus(ctx context.Context, batchID string, status batches.TaskStatus) error {
	const op = "update batch status"
	if !status.IsKnown() {
		return a.fail(op, fmt.Errorf("%w: status %q is not a TaskStatus", ErrInvalid, status))
	}
	return a.do(ctx, op, func(ctx context.Context, tx Tx) error {
		var (
			doc   []byte
			found bool
			err   error
		)
		if IsText(batchID) { // no id is another string
			doc, found, err = tx.BatchDoc(ctx, batchID)
		}
		if err != nil || !found {
			return cmp.Or(err, batchNotFound(batchID))
		}
		doc, updatedAt, err := restatus(doc, status, time.Now())
		if err != nil {
			return fmt.Errorf("batch %q: %w", batchID, err)
		}
		return tx.SetBatchStatus(ctx, batchID, status, updatedAt, doc)
	})
}

func (a *admin) DeleteBatch(ctx context.Context, batchID string) error {
	return a.do(ctx, "delete batch", func(ctx context.Context, tx Tx) error {
		b, err := lockBatch(ctx, tx, "", batchID)
		if errors.Is(err, ErrNotFound) {
			return batchNotFound(batchID)
		}
		if err != nil {
			return err
		}
		_, err = remove(ctx, tx, Scope{}, b, time.Now())
		return err
	})
}

func batchNotFound(batchID string) error { return fmt.Errorf("batch %q: %w", batchID, ErrNotFound) }

func (a *admin) SeedDemo(ctx context.Context, apiKey string) (DemoInfo, bool, error) {
	info, err := write(ctx, a, "seed demo", func(ctx context.Context, tx Tx) (DemoInfo, error) {
		return seedDemo(ctx, tx, apiKey)
	})
	return info, info != DemoInfo{}, err
}

// seedDemo is SeedDemo within tx: the zero DemoInfo when the database has
// an organization.
func seedDemo(ctx context.Context, tx Tx, apiKey string) (DemoInfo, error) {
	if err := tx.LockDemo(ctx); err != nil {
		return DemoInfo{}, err
	}
	if has, err := tx.HasOrganizations(ctx); err != nil || has {
		return DemoInfo{}, err
	}
	now := time.Now()
	t, err := CreateTenant(ctx, txTenants{tx, now}, DemoTenant(apiKey))
	if err != nil {
		return DemoInfo{}, err
	}
	if err := insertBatches(ctx, tx, t.Bucket.ID, DemoBatches(now, t.Bucket.ID), func(i int, err error) error {
		return fmt.Errorf("demo batch %d: %w", i, err)
	}); err != nil {
		return DemoInfo{}, err
	}
	return DemoInfo{OrganizationID: t.Organization.ID, NamespaceID: t.Namespace.ID, NamespaceName: t.Namespace.Name,
		BucketID: t.Bucket.ID, APIKey: t.APIKey}, nil
}

// txTenants creates tenants within one transaction, all created at now.
type txTenants struct {
	tx  Tx
	now time.Time
}

func (t txTenants) CreateOrganization(ctx context.Context, name string) (Organization, error) {
	if err := CheckName("organization", name); err != nil {
		return Organization{}, err
	}
	org := Organization{ID: NewID("org_"), Name: name}
	if err := t.tx.InsertOrganization(ctx, org, t.now); err != nil {
		return Organization{}, err
	}
	return org, nil
}

func (t txTenants) CreateNamespace(ctx context.Context, organizationID, name string) (Namespace, error) {
	if err := CheckName("namespace", name); err != nil {
		return Namespace{}, err
	}
	if err := mustExist(ctx, t.tx, "organization", organizationID); err != nil {
		return Namespace{}, err
	}
	ns := Namespace{ID: NewID("ns_"), OrganizationID: organizationID, Name: name}
	taken, err := t.tx.InsertNamespace(ctx, ns, t.now)
	switch {
	case err != nil:
		return Namespace{}, err
	case taken:
		return Namespace{}, fmt.Errorf("namespace %q %w in organization %s", name, ErrAlreadyExists, organizationID)
	}
	return ns, nil
}

func (t txTenants) CreateBucket(ctx context.Context, namespaceID, name, id string) (Bucket, error) {
	if err := CheckName("bucket", name); err != nil {
		return Bucket{}, err
	}
	if id == "" {
		id = NewID("bkt_")
	} else if err := CheckID("bucket id", id); err != nil {
		return Bucket{}, err
	}
	if err := mustExist(ctx, t.tx, "namespace", namespaceID); err != nil {
		return Bucket{}, err
	}
	b := Bucket{ID: id, NamespaceID: namespaceID, Name: name}
	nameTaken, idTaken, err := t.tx.BucketTaken(ctx, namespaceID, name, id)
	if err == nil && !nameTaken && !idTaken {
		nameTaken, idTaken, err = t.tx.InsertBucket(ctx, b, t.now)
	}
	switch {
	case err != nil:
		return Bucket{}, err
	case nameTaken:
		return Bucket{}, fmt.Errorf("bucket %q %w in namespace %s", name, ErrAlreadyExists, namespaceID)
	case idTaken:
		return Bucket{}, fmt.Errorf("bucket id %q %w", id, ErrAlreadyExists)
	}
	return b, nil
}

func (t txTenants) CreateAPIKey(ctx context.Context, organizationID, key string) (string, error) {
	key, err := APIKey(key)
	if err != nil {
		return "", err
	}
	if err := mustExist(ctx, t.tx, "organization", organizationID); err != nil {
		return "", err
	}
	taken, err := t.tx.InsertAPIKey(ctx, HashKey(key), KeyPrefix(key), organizationID, t.now)
	switch {
	case err != nil:
		return "", err
	case taken:
		return "", fmt.Errorf("API key %w", ErrAlreadyExists)
	}
	return key, nil
}

// mustExist returns an error wrapping ErrNotFound unless the organization,
// namespace or bucket (kind) id exists.
func mustExist(ctx context.Context, tx Tx, kind, id string) error {
	ok := IsText(id) // no id is another string
	if ok {
		var err error
		if ok, err = tx.Exists(ctx, kind, id); err != nil {
			return err
		}
	}
	if !ok {
		return fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
	}
	return nil
}

// insertBatches stores the batches bs in bucketID within tx; wrap(i, err)
// returns the error err about the i-th batch. The batches are checked in
// order, and the first one that is wrong, in whichever way, is the one
// reported: one that breaks the rules, or one before it whose id is stored.
func insertBatches(ctx context.Context, tx Tx, bucketID string, bs []Batch, wrap func(i int, err error) error) error {
	if err := mustExist(ctx, tx, "bucket", bucketID); err != nil {
		return err
	}
	rows := make([][]any, 0, len(bs))
	seen := make(map[string]bool, len(bs))
	bad, badErr := -1, error(nil)
	for i := range bs {
		b := AsListed(bucketID, bs[i])
		if err := CheckBatch(&b); err != nil {
			bad, badErr = i, err
			break
		}
		if err := checkCancelRoom(b); err != nil {
			bad, badErr = i, err
			break
		}
		if seen[b.BatchID] {
			bad, badErr = i, fmt.Errorf("batch_id %q %w earlier in the input", b.BatchID, ErrAlreadyExists)
			break
		}
		seen[b.BatchID] = true
		row, err := BatchRow(bucketID, b)
		if err != nil {
			bad, badErr = i, err
			break
		}
		rows = append(rows, row)
	}
	taken, other, err := tx.InsertBatches(ctx, rows)
	switch {
	case err != nil:
		return err
	case taken >= 0:
		return wrap(taken, fmt.Errorf("batch_id %q %w in bucket %s", bs[taken].BatchID, ErrAlreadyExists, other))
	case badErr != nil:
		return wrap(bad, badErr)
	}
	return nil
}

// StoredKey is an API key as a store keeps it: its hash, never the key.
type StoredKey struct {
	Hash           [32]byte
	OrganizationID string
	Prefix         string
	CreatedAt      time.Time
	RevokedAt      *time.Time
}

// listOf lists what (a query of ListQueries) with arg, each row read by
// scan. When arg is not empty it is the id of the organization or
// namespace (kind) whose items are listed: one that does not exist is an
// error wrapping ErrNotFound, not an empty list.
func listOf[T any](ctx context.Context, a *admin, what, kind, arg string, scan func(func(...any) error) (T, error)) ([]T, error) {
	return write(ctx, a, "list "+what, func(ctx context.Context, tx Tx) ([]T, error) {
		if arg != "" {
			if err := mustExist(ctx, tx, kind, arg); err != nil {
				return nil, err
			}
		}
		var out []T
		err := tx.List(ctx, what, arg, func(s func(...any) error) error {
			v, err := scan(s)
			out = append(out, v)
			return err
		})
		return out, err
	})
}

func (a *admin) ListOrganizations(ctx context.Context) ([]Organization, error) {
	return listOf(ctx, a, "organizations", "", "", ScanOrganization)
}

func (a *admin) ListNamespaces(ctx context.Context, organizationID string) ([]Namespace, error) {
	return listOf(ctx, a, "namespaces", "organization", organizationID, ScanNamespace)
}

func (a *admin) ListBuckets(ctx context.Context, namespaceID string) ([]Bucket, error) {
	return listOf(ctx, a, "buckets", "namespace", namespaceID, ScanBucket)
}

func (a *admin) ListAPIKeys(ctx context.Context, organizationID string) ([]APIKeyInfo, error) {
	keys, err := listOf(ctx, a, "keys", "organization", organizationID, ScanKey)
	out := make([]APIKeyInfo, len(keys))
	for i, k := range keys {
		out[i] = APIKeyInfo{ID: KeyID(k.Hash), OrganizationID: k.OrganizationID, Prefix: k.Prefix,
			CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
	}
	return out, err
}

func (a *admin) RevokeAPIKey(ctx context.Context, keyID string) error {
	return a.do(ctx, "revoke API key", func(ctx context.Context, tx Tx) error {
		prefix, ok := parseKeyID(keyID)
		if !ok {
			// Not repeated: it may be a key given by mistake.
			return fmt.Errorf("%w: not a key id: a key id is key_ and 12 hexadecimal digits (batchesd key list shows them)", ErrInvalid)
		}
		n, err := tx.RevokeAPIKey(ctx, prefix, time.Now())
		switch {
		case err != nil:
			return err
		case n == 0:
			return fmt.Errorf("API key %s: %w", keyID, ErrNotFound)
		case n > 1:
			return fmt.Errorf("key id %s names %d keys: %w", keyID, n, ErrInvalid)
		}
		return nil
	})
}

// The rows of the administration's lists, in the order of their columns:
// id, name; id, organization_id, name; id, namespace_id, name;
// key_hash, organization_id, prefix (” when NULL), created_at, revoked_at
// (nanoseconds since the Unix epoch, revoked_at NULL while valid).
func ScanOrganization(scan func(...any) error) (o Organization, err error) {
	err = scan(&o.ID, &o.Name)
	return o, err
}

func ScanNamespace(scan func(...any) error) (n Namespace, err error) {
	err = scan(&n.ID, &n.OrganizationID, &n.Name)
	return n, err
}

func ScanBucket(scan func(...any) error) (b Bucket, err error) {
	err = scan(&b.ID, &b.NamespaceID, &b.Name)
	return b, err
}

func ScanKey(scan func(...any) error) (StoredKey, error) {
	var (
		k       StoredKey
		hash    []byte
		created int64
		revoked *int64
	)
	if err := scan(&hash, &k.OrganizationID, &k.Prefix, &created, &revoked); err != nil {
		return StoredKey{}, err
	}
	copy(k.Hash[:], hash)
	k.CreatedAt = time.Unix(0, created).UTC()
	if revoked != nil {
		r := time.Unix(0, *revoked).UTC()
		k.RevokedAt = &r
	}
	return k, nil
}

// ListQueries returns the statements of the administration's lists
// ([Tx.List]) by what they list, with the placeholder p1 (?1, $1) of their
// one argument (the organization's or namespace's id, ” for all; the
// organizations' list takes none and ignores it): the same SQL on both
// backends.
func ListQueries(p1 string) map[string]string {
	return map[string]string{
		"organizations": `SELECT id, name FROM organizations WHERE ` + p1 + ` = ` + p1 + ` ORDER BY created_at, id`,
		"namespaces":    `SELECT id, organization_id, name FROM namespaces WHERE ` + p1 + ` = '' OR organization_id = ` + p1 + ` ORDER BY created_at, id`,
		"buckets":       `SELECT id, namespace_id, name FROM buckets WHERE ` + p1 + ` = '' OR namespace_id = ` + p1 + ` ORDER BY created_at, id`,
		"keys": `SELECT key_hash, organization_id, coalesce(prefix, ''), created_at, revoked_at FROM api_keys WHERE ` + p1 +
			` = '' OR organization_id = ` + p1 + ` ORDER BY created_at, key_hash`,
	}
}

// TxQueries are the statements of some [Tx] methods, the same SQL on
// both backends but for their placeholders ([NewTxQueries]).
type TxQueries struct {
	// UpdateBatch rewrites a batch: the values of [BatchRow], the id
	// first.
	UpdateBatch string
	// Task reads a task's row of [TaskColumns] by its id.
	Task string
	// SaveTask upserts a task: the values of [TaskRow.Values].
	SaveTask string
	// BucketOrganization reads the organization of a bucket, by its id.
	BucketOrganization string
}

// NewTxQueries returns the [TxQueries] whose placeholder of parameter n is
// mark followed by n: "?" for SQLite's ?1, "$" for PostgreSQL's $1.
func NewTxQueries(mark string) TxQueries {
	p := func(n int) string { return mark + strconv.Itoa(n) }
	cols := BatchColumns()[1:]
	for i, c := range cols {
		cols[i] = c + " = " + p(i+2)
	}
	vals := make([]string, strings.Count(TaskColumns(), ",")+1)
	for i := range vals {
		vals[i] = p(i + 1)
	}
	return TxQueries{
		UpdateBatch: `UPDATE batches SET ` + strings.Join(cols, ", ") + ` WHERE id = ` + p(1),
		Task:        `SELECT ` + TaskColumns() + ` FROM tasks WHERE task_id = ` + p(1),
		SaveTask: `INSERT INTO tasks (` + TaskColumns() + `) VALUES (` + strings.Join(vals, ", ") + `)
		ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, doc = excluded.doc`,
		BucketOrganization: `SELECT n.organization_id FROM buckets b JOIN namespaces n ON n.id = b.namespace_id
		WHERE b.id = ` + p(1),
	}
}

// EachRow calls row with the Scan of each row of rows (a *sql.Rows or
// pgx.Rows), in order, and returns row's first error or rows'.
func EachRow(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}, row func(scan func(dest ...any) error) error) error {
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
