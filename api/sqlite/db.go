// Package sqlite is the default storage of the reference server: a
// [domain.DB] on one SQLite database file, through the pure-Go driver
// modernc.org/sqlite, with its schema kept up to date by goose migrations
// embedded in the binary. The rules of its methods are the domain's
// ([domain.Store], [domain.Admin]); this package is the SQL and the
// transactions.
//
// A [DB] holds two connection pools on the file: one connection for writes,
// whose transactions begin IMMEDIATE so that writers queue on SQLite's lock
// instead of failing part way, and a few read-only connections for reads,
// which in WAL mode never wait for the writer. Every connection runs with
// busy_timeout=5000 (milliseconds), journal_mode=WAL, synchronous=FULL,
// foreign_keys=ON and recursive_triggers=ON (see [Open]).
//
// Timestamps are stored as INTEGER nanoseconds since the Unix epoch and come
// back as UTC [time.Time] values with their nanoseconds; the representable
// range is therefore the years 1678 to 2261.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// readConns is the size of the read pool.
const readConns = 4

//go:embed migrations/*.sql
var embedded embed.FS

// DB is a [domain.DB] on one SQLite database file: the [domain.Store]
// methods below, and the administration methods of [domain.Admin] (made by
// [domain.NewAdmin] of this package's SQL, each one write transaction). It
// is safe for concurrent use by many goroutines.
// Several DBs, of this process or of others (servers, imports), may open
// one file at the same time: [Open] makes their setup take turns, and
// SQLite's file locks order their writes, a write waiting up to 5 s
// (busy_timeout) for another process's write to end before it fails with
// SQLITE_BUSY. Readers never wait for writers (WAL).
type DB struct {
	admin                      // CreateOrganization, …, SeedDemo
	*domain.Lifecycles         // CreateBatch, …, KillTask, Steer (lifecycle.go)
	write              *sql.DB // one connection, BEGIN IMMEDIATE
	read               *sql.DB // readConns connections, query_only
	riverPool          *sql.DB // river's own connection (lifecycle.go)
	queue              *river.Queue[*sql.Tx]
	stmts              readStmts
	watch              watch // DataVersion's connection (store.go)
	path               string
	file               os.FileInfo // the database file as opened: Check tells when path no longer names it
}

// readStmts are the statements of the API's requests, prepared once on the
// read pool (database/sql prepares each on a connection the first time it
// runs there and keeps it), so that no request parses SQL.
type readStmts struct {
	organizationForKey, resolveBucket *sql.Stmt
	list, listStatus                  *sql.Stmt
	listCollection                    *sql.Stmt
	listCollectionStatus              *sql.Stmt
	getBatch, getTask                 *sql.Stmt
	bucketVersion                     *sql.Stmt
}

// prepare prepares every statement of readStmts on read.
func (s *readStmts) prepare(ctx context.Context, read *sql.DB) error {
	for _, st := range []struct {
		dst  **sql.Stmt
		text string
	}{
		{&s.organizationForKey, organizationForKeyQuery},
		{&s.resolveBucket, resolveBucketQuery},
		{&s.list, fmt.Sprintf(listQuery, "")},
		{&s.listStatus, fmt.Sprintf(listQuery, " AND status = ?4")},
		{&s.listCollection, fmt.Sprintf(collectionListQuery, "")},
		{&s.listCollectionStatus, fmt.Sprintf(collectionListQuery, " AND status = ?5")},
		{&s.getBatch, getBatchQuery},
		{&s.getTask, getTaskQuery},
		{&s.bucketVersion, bucketVersionQuery},
	} {
		stmt, err := read.PrepareContext(ctx, st.text)
		if err != nil {
			s.close()
			return fmt.Errorf("preparing %q: %w", st.text, err)
		}
		*st.dst = stmt
	}
	return nil
}

// close closes the statements prepared.
func (s *readStmts) close() {
	for _, st := range []*sql.Stmt{s.organizationForKey, s.resolveBucket, s.list, s.listStatus, s.listCollection, s.listCollectionStatus, s.getBatch, s.getTask, s.bucketVersion} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// admin is domain.Admin under a name that keeps it out of DB's exported
// fields: DB has its methods.
type admin = domain.Admin

var _ domain.DB = (*DB)(nil)

// Open opens the SQLite database file at path, creating it and its parent
// directories (mode 0750) when they are missing, and applies every pending
// schema migration before returning; reopening an up-to-date database
// applies none. path is a file name, relative or absolute; in-memory
// databases are not supported (the two pools would not share one).
//
// Opens of one file at the same time, from goroutines or processes, take
// turns: from switching the file to WAL to the last migration, Open holds
// an exclusive lock (flock(2); LockFileEx on Windows) on the file
// path+"-open.lock", which it creates next to the database (mode 0600) and
// leaves there. The first Open migrates the database; the others wait for
// it, then find nothing to apply. The system releases the lock of a
// process that dies. Every connection of the DB runs with
// recursive_triggers=ON, so that the implicit delete of INSERT OR REPLACE
// and UPDATE OR REPLACE keeps batch_counts right; other connections to the
// file (the sqlite3 shell) must set it too before they REPLACE rows.
//
// Open fails when path is empty, when the directory, file or lock file
// cannot be created or opened, when the file is not a SQLite database, or
// when a migration fails (the database is then left at the last migration
// that succeeded). ctx bounds the wait for the lock and the migrations; a
// done ctx fails Open with its cause. Close the DB when done.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := domain.CheckProcessing(o.processing); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: %w: a file path is required", path, domain.ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}

	// Another process (or goroutine) opening the file at the same moment
	// would race this one to switch it to WAL and to apply each migration,
	// and the loser would fail; the lock makes them take turns.
	unlock, err := lockFile(ctx, abs+lockSuffix, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	db, err := open(ctx, abs, o)
	if uerr := unlock(); uerr != nil && err == nil {
		db.Close()
		err = uerr
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	return db, nil
}

// pragmas are the settings of every connection, busy_timeout first, so
// that the others wait for a lock held elsewhere rather than fail.
// recursive_triggers makes the delete that a REPLACE conflict resolution
// does (INSERT OR REPLACE, UPDATE OR REPLACE) fire the delete triggers
// that keep batch_counts, as a DELETE does.
var pragmas = []string{"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "recursive_triggers(1)"}

// open is Open of the absolute path abs, under the lock.
func open(ctx context.Context, abs string, o options) (*DB, error) {
	write, err := sql.Open(driver.Name, dsn(abs, pragmas, "immediate"))
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, err
	}
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}

	read, err := sql.Open(driver.Name, dsn(abs, append(slices.Clip(pragmas), "query_only(1)"), ""))
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	file, err := os.Stat(abs)
	if err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	db := &DB{write: write, read: read, path: abs, file: file}
	db.admin = domain.NewAdmin("sqlite", db.writeTx, domain.WithImportLock(db.lockImport))
	if db.Lifecycles, err = domain.NewLifecycle("sqlite", db.writeTx, o.processing); err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	if err := db.stmts.prepare(ctx, read); err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	if err := db.watch.open(ctx, abs); err != nil {
		db.stmts.close()
		read.Close()
		write.Close()
		return nil, err
	}
	if err := db.openQueue(ctx, abs, o.queue); err != nil {
		db.watch.close()
		db.stmts.close()
		read.Close()
		write.Close()
		return nil, err
	}
	return db, nil
}

// migrate applies the pending embedded migrations on db.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(embedded, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(goMigrations()...))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// goose holds a connection for the whole run, and a Go migration that
	// commits as it goes (backfillBatchDocs) needs another one.
	db.SetMaxOpenConns(2)
	defer db.SetMaxOpenConns(1)
	// p.Close would close db, which the DB keeps.
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Close closes both connection pools, waiting for the queries under way to
// finish. It returns the first errors of closing them, joined. The DB must
// not be used afterwards.
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopErr := db.queue.Stop(ctx)
	db.watch.mu.Lock()
	db.watch.close()
	db.watch.mu.Unlock()
	db.stmts.close()
	return errors.Join(stopErr, db.read.Close(), db.write.Close(), db.riverPool.Close())
}

// DataSource returns the database/sql driver name and data source name
// that open the file at path, run with pragmas (e.g.
// "busy_timeout(5000)"), through the SQLite driver of this build
// (driver.go): for tests and tools that look behind a DB.
func DataSource(path string, pragmas ...string) (driverName, dataSource string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return driver.Name, dsn(abs, pragmas, "")
}
