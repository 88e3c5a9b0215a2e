// Package postgres is the storage of the reference server on PostgreSQL
// (or a PostgreSQL-compatible database that has PL/pgSQL triggers and
// advisory locks), through github.com/jackc/pgx/v5: a [domain.DB], like
// api/sqlite's, with the same behaviour (the rules are the domain's:
// [domain.Store], [domain.Admin]; this package is the SQL and the
// transactions), so that several stateless server processes can serve one
// database.
//
// The schema is kept up to date by goose migrations embedded in the binary,
// the same versions as api/sqlite's, applied by [Open] under a session-level
// advisory lock, so that servers starting at once apply them once.
// Timestamps are stored as bigint nanoseconds since the Unix epoch, as in
// SQLite, and ids sort by their bytes, so pages come in the same order on
// both backends. Each batch keeps the JSON the API serves for it, and
// triggers keep the number of batches of each bucket and status in the
// same transaction as every write, so total_count never counts rows.
//
// Every query runs with the caller's ctx, whose cancellation or deadline
// cancels it on the server (a cancel request), and under statement_timeout
// ([DefaultStatementTimeout] unless configured), so that a slow query ends
// in an error instead of holding a connection. Each method call is also
// bounded on the client: its ctx gets a deadline of the statement timeout
// plus [DeadlineMargin], covering the wait for a pool connection, so that a
// database that stops answering (a stopped server, a network partition:
// statement_timeout is the server's and cannot fire then), or a pool whose
// connections are all held by stuck queries, ends the call with an error
// wrapping [context.DeadlineExceeded] instead of leaving it waiting. With a
// statement timeout of 0 (no limit) only the caller's ctx bounds a call.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// DefaultStatementTimeout is the statement_timeout of every connection
// unless [WithStatementTimeout] or the database URL sets one: the longest a
// single SQL statement may run before PostgreSQL cancels it (SQLSTATE
// 57014). A page of 1000 batches takes milliseconds; only a stuck query
// (a lock held elsewhere, an overloaded server) comes near it.
const DefaultStatementTimeout = 10 * time.Second

// DeadlineMargin is what each method call of a [DB] may take beyond the
// statement timeout before the client gives up on it: the time to send the
// statement, receive the server's cancellation, and take a connection from
// the pool. A call that reaches it returns an error wrapping
// [context.DeadlineExceeded]; pgx then sends a cancel request and closes the
// connection after at most one more second.
const DeadlineMargin = 2 * time.Second

// ErrNoSchema is wrapped by the error of [Open] with [WithExistingSchema]
// when the database has never been migrated (it has no goose_db_version
// table in its search_path).
var ErrNoSchema = errors.New("no batches schema in the database")

// Option configures [Open].
type Option func(*config)

type config struct {
	statementTimeout    time.Duration
	statementTimeoutSet bool
	existingSchema      bool
	processing          domain.Processing
	queue               river.Config
}

// WithStatementTimeout sets statement_timeout on every connection: the
// longest one SQL statement may run, rounded up to whole milliseconds; 0
// means no limit. It overrides a statement_timeout of the database URL.
// Without it the URL's applies, or else [DefaultStatementTimeout].
// Migrations run without a limit. The statement timeout plus
// [DeadlineMargin] is also the client-side deadline of each method call
// (none when it is 0).
func WithStatementTimeout(d time.Duration) Option {
	return func(c *config) { c.statementTimeout, c.statementTimeoutSet = max(d, 0), true }
}

// WithExistingSchema makes [Open] fail, with an error wrapping
// [ErrNoSchema], on a database that has never been migrated, instead of
// creating the tables: for tools that must not turn a mistyped URL into a
// new empty store. Pending migrations of an existing schema are applied.
func WithExistingSchema() Option { return func(c *config) { c.existingSchema = true } }

//go:embed migrations/*.sql
var embedded embed.FS

// DB is a [domain.DB] on one PostgreSQL database: the [domain.Store]
// methods below, and the administration methods of [domain.Admin] (made by
// [domain.NewAdmin] of this package's SQL, each one transaction). It is safe
// for concurrent use by many goroutines, and any number of processes may
// open the same database.
type DB struct {
	admin              // CreateOrganization, …, SeedDemo
	*domain.Lifecycles // CreateBatch, …, KillTask, Steer (lifecycle.go)
	pool               *pgxpool.Pool
	riverPool          *pgxpool.Pool // river's own (lifecycle.go)
	queue              *river.Queue[pgx.Tx]
	// callTimeout bounds each method call on the client: the statement
	// timeout plus DeadlineMargin, or 0 for none.
	callTimeout time.Duration
}

// admin is domain.Admin under a name that keeps it out of DB's exported
// fields: DB has its methods.
type admin = domain.Admin

var _ domain.DB = (*DB)(nil)

// Open connects to the PostgreSQL database of databaseURL and applies every
// pending schema migration before returning; reopening an up-to-date
// database applies none, and processes opening one database at once apply
// each migration once (the others wait on an advisory lock, up to 5
// minutes).
//
// databaseURL is a URL, postgres://user:password@host:port/database?…, or a
// keyword/value string (host=… dbname=…), as libpq reads them (pgx's
// ParseConfig: PG* environment variables fill what it leaves out; a Unix
// socket is ?host=/path/to/dir). Its pool_max_conns and the other pool_
// parameters of pgxpool size the connection pool: pool_max_conns (default:
// 4, or the number of CPUs if more) is the most queries one process runs
// at once; a call waits for a free connection at most until its deadline
// (the statement timeout plus [DeadlineMargin]). Its statement_timeout (a
// PostgreSQL duration: 500ms, 10s, 1min, or a number of milliseconds)
// applies unless [WithStatementTimeout] is given. The database must exist
// and use the UTF8 encoding.
//
// Open fails when databaseURL is empty or malformed, or its
// statement_timeout is not a duration (errors wrapping
// [domain.ErrInvalid]), when the server cannot be reached or refuses the
// login, when the database's encoding is not UTF8, when a migration fails
// (the database is then left at the last migration that succeeded), or,
// with [WithExistingSchema], on a database never migrated. ctx bounds the
// connection and the migrations. Close the DB when done.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*DB, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if databaseURL == "" {
		return nil, fmt.Errorf("postgres: open: %w: a database URL is required", domain.ErrInvalid)
	}
	if err := domain.CheckProcessing(cfg.processing); err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pcfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's message may hold the password: say only what kind of
		// mistake it is.
		return nil, fmt.Errorf("postgres: open: %w: the database URL cannot be parsed (postgres://user:password@host:port/database)", domain.ErrInvalid)
	}
	params := pcfg.ConnConfig.RuntimeParams
	statementTimeout := DefaultStatementTimeout
	if v, ok := params["statement_timeout"]; ok {
		// Checked even when overridden: a bad URL is reported, not hidden.
		if statementTimeout, err = ParseStatementTimeout(v); err != nil {
			return nil, fmt.Errorf("postgres: open: %w: the database URL's statement_timeout: %w", domain.ErrInvalid, err)
		}
	}
	if cfg.statementTimeoutSet {
		statementTimeout = cfg.statementTimeout
	}
	params["statement_timeout"] = milliseconds(statementTimeout)
	var callTimeout time.Duration
	if statementTimeout > 0 {
		callTimeout = statementTimeout + DeadlineMargin
	}
	// A connection the pool opens for a call goes on in the background
	// when the call gives up; without a connect_timeout in the URL, it is
	// given as long as a call, so that a database that stops answering does
	// not leave connection attempts waiting forever (and Close with them).
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = callTimeout
	}
	// A done ctx cancels the query on the server (a cancel request) rather
	// than only closing the socket, so the server stops working on it; if
	// the server does not answer within a second, the connection is closed.
	pcfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}

	// Migrations run on their own connections, without statement_timeout:
	// one may rewrite a large table.
	mcfg := pcfg.ConnConfig.Copy()
	mcfg.RuntimeParams["statement_timeout"] = "0"
	if err := migrate(ctx, mcfg, cfg.existingSchema); err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", describe(pcfg.ConnConfig), err)
	}

	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", describe(pcfg.ConnConfig), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", describe(pcfg.ConnConfig), err)
	}
	db := &DB{pool: pool, callTimeout: callTimeout}
	db.admin = domain.NewAdmin("postgres", db.writeTx, domain.WithImportLock(db.lockImport))
	if db.Lifecycles, err = domain.NewLifecycle("postgres", db.writeTx, cfg.processing); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := db.openQueue(ctx, pcfg, cfg.queue); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", describe(pcfg.ConnConfig), err)
	}
	return db, nil
}

// bound returns ctx with the deadline of one method call, if the DB has
// one and ctx has no earlier one.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if db.callTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, db.callTimeout)
}

// ParseStatementTimeout parses a statement_timeout value as PostgreSQL does
// (https://www.postgresql.org/docs/current/config-setting.html): a
// non-negative number with an optional unit, us, ms (the default), s, min,
// h or d, e.g. 500ms, 10s, 1min, 10000; fractions are allowed ("1.5s"), as
// are spaces between the number and the unit. 0 means no limit. It returns
// an error naming the value when it is none of these.
func ParseStatementTimeout(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	units := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	scale, ok := units[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" || f < 0 || f*float64(scale) > float64(math.MaxInt32)*float64(time.Millisecond) {
		return 0, fmt.Errorf("%q is not a duration: give a number of milliseconds, or one with a unit (us, ms, s, min, h, d), e.g. 10s", v)
	}
	return time.Duration(f * float64(scale)), nil
}

// milliseconds formats d as a statement_timeout value, rounded up.
func milliseconds(d time.Duration) string {
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	return strconv.FormatInt(int64(ms), 10)
}

// describe names the database of c for errors, without its password.
func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("database %q on %s:%d as %q", c.Database, c.Host, c.Port, c.User)
}

// migrate checks the database's encoding and applies the pending embedded
// migrations, on connections of its own that it closes.
func migrate(ctx context.Context, cc *pgx.ConnConfig, existingSchema bool) error {
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	db.SetMaxOpenConns(2) // the session lock's and the migrations'

	var encoding string
	var migrated bool
	if err := db.QueryRowContext(ctx,
		`SELECT current_setting('server_encoding'), to_regclass('goose_db_version') IS NOT NULL`).
		Scan(&encoding, &migrated); err != nil {
		return err
	}
	if encoding != "UTF8" {
		return fmt.Errorf("the database's encoding is %s, not UTF8: create it with ENCODING 'UTF8'", encoding)
	}
	if existingSchema && !migrated {
		return ErrNoSchema
	}

	fsys, err := fs.Sub(embedded, "migrations")
	if err != nil {
		return err
	}
	// Checked every second for up to 5 minutes: the longest another
	// process's migrations are waited for.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker), goose.WithGoMigrations(goMigrations()...))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// Close closes the connection pool, waiting for the queries under way to
// finish. A connection whose call ran out of time is closed by pgx after a
// cancel request, which it gives up to 15 s when the database does not
// answer; Close waits for that too. The DB must not be used afterwards. It
// always returns nil.
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = db.queue.Stop(ctx) // jobs under way go back to the queue
	db.riverPool.Close()
	db.pool.Close()
	return nil
}

// queryError returns err, wrapping ctx's error too when ctx is done: the
// server answers a cancel request with SQLSTATE 57014, which alone does not
// say that the caller's deadline passed or that it gave up.
func queryError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	return err
}

// isUniqueViolation reports whether err is PostgreSQL's refusal of a
// duplicate primary key or UNIQUE value (SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// goMigrations returns the migrations that need Go, numbered among the SQL
// files of migrations/ and named as a file would be: river's schema, 8 to
// 15 (api/river), as on SQLite. New values each time, as goose keeps state
// in them.
func goMigrations() []*goose.Migration {
	ms, err := river.Migrations(riverpgxv5.New(nil))
	if err != nil {
		panic(err) // river's own embedded files: the tests rule it out
	}
	return ms
}

// Migrations returns the versions and names of the migrations [Open]
// applies, in order: "00001_init", …, the name of each SQL file without
// its extension, and of each Go migration (its Source). api/sqlite
// applies the same (storetest's TestMigrationsAlike compares them).
func Migrations() []string {
	var gos []string
	for _, m := range goMigrations() {
		gos = append(gos, m.Source)
	}
	return domain.MigrationNames(embedded, gos)
}
