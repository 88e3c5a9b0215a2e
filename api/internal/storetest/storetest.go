// Package storetest runs tests on every storage backend: api/sqlite always,
// api/postgres when pgtest.EnvDatabaseURL (BATCHES_TEST_DATABASE_URL) names
// a server, each test on a new empty database of its own. [Contract] is the
// suite of the domain.Store and domain.Admin contract, which the tests of
// both backends run; [Run] runs a test of another package on each backend.
package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/postgres"
	"github.com/mixpeekgo/batches/api/postgres/pgtest"
	"github.com/mixpeekgo/batches/api/river"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// Backend is a storage backend the tests run on.
type Backend struct {
	// Name is the name of the subtest: "sqlite" or "postgres".
	Name string
	// Open returns a new empty database of the backend, migrated, closed at
	// the end of t. It skips t when the backend is not available.
	Open func(t testing.TB) domain.DB
	// OpenSQL is Open plus a database/sql handle on the same database, to
	// look behind the store (batch_counts, the docs) or write in SQL as no
	// method does; both are closed at the end of t. Statements that take no
	// arguments and use the SQL both databases share run on either. A
	// SQLite handle runs with busy_timeout, foreign_keys and
	// recursive_triggers, as the store's connections and as the README
	// asks of operators' own.
	OpenSQL func(t testing.TB) (domain.DB, *sql.DB)
	// OpenWith is OpenSQL of a database whose batches are processed as p
	// and q say (its workers not started).
	OpenWith func(t testing.TB, p domain.Processing, q river.Config) (domain.DB, *sql.DB)
}

// SQLite is a new SQLite file in t.TempDir() a test.
var SQLite = backend("sqlite", func(t testing.TB, p domain.Processing, q river.Config) (domain.DB, *sql.DB) {
	t.Helper()
	return sqliteWith(t, sqlite.WithProcessing(p), sqlite.WithQueue(q))
})

// backend is the Backend name whose databases openWith opens.
func backend(name string, openWith func(t testing.TB, p domain.Processing, q river.Config) (domain.DB, *sql.DB)) Backend {
	return Backend{
		Name: name,
		Open: func(t testing.TB) domain.DB {
			t.Helper()
			db, _ := openWith(t, domain.Processing{}, river.Config{})
			return db
		},
		OpenSQL: func(t testing.TB) (domain.DB, *sql.DB) {
			t.Helper()
			return openWith(t, domain.Processing{}, river.Config{})
		},
		OpenWith: openWith,
	}
}

func sqliteWith(t testing.TB, opts ...sqlite.Option) (domain.DB, *sql.DB) {
	t.Helper()
	db := openSQLite(t, opts...)
	raw, err := sql.Open(sqlite.DataSource(db.Path(), "busy_timeout(5000)", "foreign_keys(1)", "recursive_triggers(1)"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return db, raw
}

func openSQLite(t testing.TB, opts ...sqlite.Option) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "batches.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Postgres is a new database a test on the server of
// BATCHES_TEST_DATABASE_URL; without it the test skips.
var Postgres = backend("postgres", func(t testing.TB, p domain.Processing, q river.Config) (domain.DB, *sql.DB) {
	t.Helper()
	return postgresWith(t, postgres.WithProcessing(p), postgres.WithQueue(q))
})

func postgresWith(t testing.TB, opts ...postgres.Option) (domain.DB, *sql.DB) {
	t.Helper()
	u := pgtest.NewDatabase(t)
	db := openPostgres(t, u, opts...)
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	raw := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { raw.Close() })
	return db, raw
}

func openPostgres(t testing.TB, databaseURL string, opts ...postgres.Option) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), databaseURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Backends are every backend, SQLite first.
var Backends = []Backend{SQLite, Postgres}

// Run runs f as a subtest of t for each backend, named after it. The
// PostgreSQL subtest skips, naming BATCHES_TEST_DATABASE_URL, when the
// variable is not set.
func Run(t *testing.T, f func(t *testing.T, b Backend)) {
	t.Helper()
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) {
			if b.Name == Postgres.Name {
				skipWithoutPostgres(t)
			}
			f(t, b)
		})
	}
}

// skipWithoutPostgres skips t before it does anything when no PostgreSQL
// server is configured.
func skipWithoutPostgres(t *testing.T) {
	t.Helper()
	if !pgtest.Available() {
		t.Skip(pgtest.SkipMessage)
	}
}

// ListPage lists one page with s.ListBatches and decodes it, checking the
// method's contract on the way: the results extend what dst held (a prefix
// it must keep, with no room to write past it), they are one JSON array of
// Batch objects with no unknown field and nothing after it, and they are
// nil with an error. Metadata numbers decode as json.Number.
func ListPage(ctx context.Context, s domain.Store, p domain.ListParams) ([]domain.Batch, int64, error) {
	prefix := []byte(`{"results":`)
	out, total, err := s.ListBatches(ctx, p, prefix[:len(prefix):len(prefix)])
	if err != nil {
		if out != nil {
			return nil, 0, fmt.Errorf("results %q with error %w", out, err)
		}
		return nil, 0, err
	}
	if !bytes.HasPrefix(out, prefix) {
		return nil, 0, fmt.Errorf("results %q do not extend dst", out)
	}
	page := []domain.Batch{}
	dec := json.NewDecoder(bytes.NewReader(out[len(prefix):]))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&page); err != nil {
		return nil, 0, fmt.Errorf("results %q: %w", out[len(prefix):], err)
	}
	if dec.More() {
		return nil, 0, fmt.Errorf("results %q: more than one JSON value", out[len(prefix):])
	}
	return page, total, nil
}

// Contract runs on the backend b the tests of the contract of
// [domain.Store] and [domain.Admin] that every backend keeps, each a
// parallel subtest on new databases of its own: the tests of api/sqlite and
// of api/postgres call it. On PostgreSQL it skips, naming
// BATCHES_TEST_DATABASE_URL, when the variable is not set.
func Contract(t *testing.T, b Backend) {
	t.Helper()
	if b.Name == Postgres.Name {
		skipWithoutPostgres(t)
	}
	for _, c := range []struct {
		name string
		test func(t *testing.T, b Backend)
	}{
		{"ListOrder", testListOrder},
		{"ListByCollection", testListByCollection},
		{"ImportKeepsEveryField", testImportKeepsEveryField},
		{"StringsThatAreNotText", testStringsThatAreNotText},
		{"InsertReportsTheFirstWrongBatch", testInsertReportsTheFirstWrongBatch},
		{"SeedDemoOnce", testSeedDemoOnce},
		{"TakenNamesCommit", testTakenNamesCommit},
		{"ResolveBucket", testResolveBucket},
		{"UpdateBatchStatusAndDeleteBatch", testUpdateBatchStatusAndDeleteBatch},
		{"InsertBatchesErrors", testInsertBatchesErrors},
		{"CountsFollowEveryWrite", testCountsFollowEveryWrite},
		{"CountsFollowUpsertsAndReplaces", testCountsFollowUpsertsAndReplaces},
		{"BucketVersionFollowsEveryWrite", testBucketVersionFollowsEveryWrite}, // versions.go
		{"ConcurrentImports", testConcurrentImports},                           // hostile.go
		{"ImportRefusesWhatItWouldChange", testImportRefusesWhatItWouldChange}, // hostile.go
		{"LifecycleStored", testLifecycleStored},                               // lifecycle.go
		{"ListTasks", testListTasks},                                           // lifecycle.go
		{"RiverSchemaComplete", testRiverSchemaComplete},                       // lifecycle.go
		{"ProcessingRuns", testProcessingRuns},                                 // lifecycle.go
		{"LifecycleAtTheLimits", testLifecycleAtTheLimits},                     // limits.go
		{"AdminLists", testAdminLists},                                         // lifecycle.go
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, b)
		})
	}
}
