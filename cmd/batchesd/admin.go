package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/postgres"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// output selects how an administration command prints what it created.
type output struct {
	Output string `short:"o" default:"env" enum:"env,json" help:"Print as KEY=value lines (env) or one JSON object (json)."`
}

// print writes fields, in order, as KEY=value lines or as one JSON object.
func (o output) print(w io.Writer, fields ...[2]string) error {
	if o.Output == "json" {
		m := make(map[string]string, len(fields))
		for _, f := range fields {
			m[strings.ToLower(f[0])] = f[1]
		}
		return json.NewEncoder(w).Encode(m)
	}
	for _, f := range fields {
		if _, err := fmt.Fprintf(w, "%s=%s\n", f[0], shellQuote(f[1])); err != nil {
			return err
		}
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it, so that the
// output can be eval'd.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r == '/' || r == ':' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// openDB opens the database of a command. Only serve and org create
// (create true) make a new one: the others need what an existing one holds,
// and a mistyped --database must not leave an empty database behind (nor a
// --database-url an empty schema).
func openDB(ctx context.Context, e *env, create bool) (domain.DB, error) {
	if e.databaseURL != "" {
		opts := []postgres.Option{postgres.WithProcessing(e.processing), postgres.WithQueue(e.queue)}
		if e.statementTimeout.set {
			opts = append(opts, postgres.WithStatementTimeout(e.statementTimeout.d))
		}
		if !create {
			opts = append(opts, postgres.WithExistingSchema())
		}
		db, err := postgres.Open(ctx, e.databaseURL, opts...)
		if errors.Is(err, postgres.ErrNoSchema) {
			return nil, fmt.Errorf("database %s has no batches tables: start the server on it, or create an organization first (org create)", e.describeDatabase())
		}
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	if !create {
		if _, err := os.Stat(e.dbPath); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist: start the server on it, or create an organization first (org create)", e.dbPath)
		}
	}
	db, err := sqlite.Open(ctx, e.dbPath, sqlite.WithProcessing(e.processing), sqlite.WithQueue(e.queue))
	if err != nil {
		return nil, err
	}
	return db, nil
}

// defaultDatabase is the SQLite file used when neither --database nor
// --database-url is given.
const defaultDatabase = "./data/batches.db"

// checkDatabase checks the choice of database and fills in the default.
func (e *env) checkDatabase() error {
	if e.databaseURL == "" {
		if e.dbPath == "" {
			e.dbPath = defaultDatabase
		}
		// Absolute, so that every message names the file itself.
		abs, err := filepath.Abs(e.dbPath)
		if err != nil {
			return fmt.Errorf("--database %s: %w", e.dbPath, err)
		}
		e.dbPath = abs
		return nil
	}
	if e.dbPath != "" {
		return errors.New("both --database (BATCHESD_DATABASE) and --database-url (DATABASE_URL) are set: give one, the SQLite file or the PostgreSQL URL")
	}
	return checkDatabaseURL(e.databaseURL)
}

// checkDatabaseURL checks that s is a postgres:// or postgresql:// URL that
// parses, or else a keyword/value string (whose keywords postgres.Open
// checks). Errors never show the password.
func checkDatabaseURL(s string) error {
	const example = "e.g. postgres://user:password@127.0.0.1:5432/batches or host=127.0.0.1 dbname=batches user=…"
	if !isURL(s) {
		if strings.Contains(s, "=") {
			return nil
		}
		return fmt.Errorf("--database-url (DATABASE_URL) is neither a postgres:// or postgresql:// URL nor a keyword/value string: %s", example)
	}
	redacted := redactURLPassword(s)
	if _, err := url.Parse(redacted); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("--database-url (DATABASE_URL) is a malformed URL: %v (%s)", err, example)
	}
	if _, err := url.Parse(s); err != nil {
		return errors.New("--database-url (DATABASE_URL) is a malformed URL: its password is not valid in a URL; percent-encode its special characters (% as %25, @ as %40, / as %2F, : as %3A, # as %23, ? as %3F)")
	}
	return nil
}

// isURL reports whether s is in the URL form of a PostgreSQL connection
// string (libpq's rule: it starts with postgres:// or postgresql://).
func isURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// redactURLPassword replaces the password of the URL s, if it has one, by
// xxxxx, without parsing s (which may be malformed).
func redactURLPassword(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	auth := rest
	if i := strings.IndexAny(auth, "?#"); i >= 0 {
		auth = auth[:i]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return s
	}
	user, _, hasPassword := strings.Cut(auth[:at], ":")
	if !hasPassword {
		return s
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// describeDatabase names the database for messages and logs: the SQLite
// file, or the PostgreSQL URL without its password.
func (e *env) describeDatabase() string {
	if e.databaseURL == "" {
		return e.dbPath
	}
	if !isURL(e.databaseURL) {
		// A keyword/value string: its parts, without the password.
		c, err := pgconn.ParseConfig(e.databaseURL)
		if err != nil {
			return "(malformed keyword/value string)"
		}
		return fmt.Sprintf("database %q on %s:%d as %q", c.Database, c.Host, c.Port, c.User)
	}
	u, err := url.Parse(e.databaseURL)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

type orgCmd struct {
	Create orgCreateCmd `cmd:"" help:"Create an organization; prints ORGANIZATION_ID and NAME."`
	List   orgListCmd   `cmd:"" help:"List the organizations: ORGANIZATION_ID and NAME, oldest first."`
}

type orgCreateCmd struct {
	Name string `required:"" help:"Name of the organization."`
	output
}

func (c *orgCreateCmd) Run(e *env) error {
	db, err := openDB(e.ctx, e, true)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := db.CreateOrganization(e.ctx, c.Name)
	if err != nil {
		return err
	}
	return c.print(e.stdout, [2]string{"ORGANIZATION_ID", org.ID}, [2]string{"NAME", org.Name})
}

type namespaceCmd struct {
	Create namespaceCreateCmd `cmd:"" help:"Create a namespace in an organization; prints NAMESPACE_ID (ns_…) and NAME."`
	List   namespaceListCmd   `cmd:"" help:"List the namespaces (of one organization with --org): NAMESPACE_ID, NAME and ORGANIZATION_ID."`
}

type namespaceCreateCmd struct {
	Org  string `required:"" help:"Id of the organization (org_…)."`
	Name string `required:"" help:"Name of the namespace (what clients send in X-Namespace), e.g. production."`
	output
}

func (c *namespaceCreateCmd) Run(e *env) error {
	db, err := openDB(e.ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	ns, err := db.CreateNamespace(e.ctx, c.Org, c.Name)
	if err != nil {
		return err
	}
	return c.print(e.stdout, [2]string{"NAMESPACE_ID", ns.ID}, [2]string{"NAME", ns.Name},
		[2]string{"ORGANIZATION_ID", ns.OrganizationID})
}

type bucketCmd struct {
	Create bucketCreateCmd `cmd:"" help:"Create a bucket in a namespace; prints BUCKET_ID and NAME."`
	List   bucketListCmd   `cmd:"" help:"List the buckets (of one namespace with --namespace): BUCKET_ID, NAME and NAMESPACE_ID."`
}

type bucketCreateCmd struct {
	Namespace string `required:"" help:"The namespace: its id (ns_…) or its name (with --org when several organizations have a namespace of that name)."`
	Org       string `help:"Id of the organization whose namespace --namespace names (org_…); needed only when the name is not unique."`
	Name      string `required:"" help:"Name of the bucket."`
	ID        string `name:"id" help:"Id of the bucket; generated (bkt_…) if empty."`
	output
}

func (c *bucketCreateCmd) Run(e *env) error {
	db, err := openDB(e.ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	ns, err := findNamespace(e.ctx, db, c.Org, c.Namespace)
	if err != nil {
		return err
	}
	b, err := db.CreateBucket(e.ctx, ns.ID, c.Name, c.ID)
	if err != nil {
		return err
	}
	return c.print(e.stdout, [2]string{"BUCKET_ID", b.ID}, [2]string{"NAME", b.Name},
		[2]string{"NAMESPACE_ID", b.NamespaceID})
}

type keyCmd struct {
	Create keyCreateCmd `cmd:"" help:"Create an API key for an organization; prints API_KEY once (only its SHA-256 hash is stored) and its KEY_ID."`
	List   keyListCmd   `cmd:"" help:"List the API keys (of one organization with --org) by KEY_ID and PREFIX, never the key: KEY_ID, PREFIX, ORGANIZATION_ID, CREATED_AT, REVOKED_AT."`
	Revoke keyRevokeCmd `cmd:"" help:"Revoke an API key by its id (key list shows them): from then on it answers 401. Prints KEY_ID and REVOKED_AT."`
}

type keyCreateCmd struct {
	Org string `required:"" help:"Id of the organization (org_…)."`
	Key string `env:"BATCHESD_NEW_API_KEY" help:"The key to register: 20 to 128 printable ASCII characters, no spaces; generated (sk_live_…) if empty."`
	output
}

func (c *keyCreateCmd) Run(e *env) error {
	db, err := openDB(e.ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := db.CreateAPIKey(e.ctx, c.Org, c.Key)
	if err != nil {
		return err
	}
	return c.print(e.stdout, [2]string{"API_KEY", key}, [2]string{"KEY_ID", domain.KeyID(domain.HashKey(key))},
		[2]string{"ORGANIZATION_ID", c.Org})
}

type importCmd struct {
	Bucket string `required:"" help:"Id of the bucket to import into."`
	File   string `required:"" type:"existingfile" help:"JSON Lines file of Batch objects, or - for standard input."`
	output
}

func (c *importCmd) Run(e *env) error {
	var r io.Reader = os.Stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	db, err := openDB(e.ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := domain.WithImportWaiting(e.ctx, func(waitingFor string) {
		fmt.Fprintf(e.stderr, "batchesd: waiting for %s to finish…\n", waitingFor)
	})
	n, err := db.ImportBatches(ctx, c.Bucket, r, api.BatchSchema())
	if err != nil {
		return fmt.Errorf("importing %s: %w (nothing was imported)", c.File, err)
	}
	return c.print(e.stdout, [2]string{"IMPORTED", strconv.Itoa(n)}, [2]string{"BUCKET_ID", c.Bucket})
}

type batchCmd struct {
	SetStatus batchSetStatusCmd `cmd:"" name:"set-status" help:"Set the status of a batch, and its updated_at to now; prints BATCH_ID and STATUS."`
	Delete    batchDeleteCmd    `cmd:"" help:"Delete a batch; prints BATCH_ID."`
}

type batchSetStatusCmd struct {
	ID     string `name:"id" required:"" help:"Id of the batch (btch_…), in whichever bucket."`
	Status string `required:"" help:"The new status, one of ${statuses} (any case: a note on stderr says the value set)."`
	output
}

// Validate refuses, as a usage error, a status that is none of the
// contract's in any case.
func (c *batchSetStatusCmd) Validate() error {
	_, err := parseStatus("--status", c.Status)
	return err
}

func (c *batchSetStatusCmd) Run(e *env) error {
	status, err := statusArg(e, "--status", c.Status)
	if err != nil {
		return err
	}
	db, err := openDB(e.ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.UpdateBatchStatus(e.ctx, c.ID, status); err != nil {
		return batchError(c.ID, err)
	}
	return c.print(e.stdout, [2]string{"BATCH_ID", c.ID}, [2]string{"STATUS", string(status)})
}

type batchDeleteCmd struct {
	ID string `name:"id" required:"" help:"Id of the batch (btch_…), in whichever bucket."`
	output
}

func (c *batchDeleteCmd) Run(e *env) error {
	db, err := openDB(e.ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.DeleteBatch(e.ctx, c.ID); err != nil {
		return batchError(c.ID, err)
	}
	return c.print(e.stdout, [2]string{"BATCH_ID", c.ID})
}

// batchError words a batch command's error: a batch that does not exist is
// said the same way on either database.
func batchError(id string, err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("batch %q not found (batch ids are unique across buckets)", id)
	}
	return err
}
