// Package storetest runs tests on every storage backend: api/sqlite always,
// api/postgres when pgtest.EnvDatabaseURL (BATCHES_TEST_DATABASE_URL) names
// a server, each test on a new empty database of its own.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mixpeekgo/batches/api/postgres"
	"github.com/mixpeekgo/batches/api/postgres/pgtest"
	"github.com/mixpeekgo/batches/api/sqlite"
	"github.com/mixpeekgo/batches/api/storage"
)

// Backend is a storage backend the tests run on.
type Backend struct {
	// Name is the name of the subtest: "sqlite" or "postgres".
	Name string
	// Open returns a new empty database of the backend, migrated, closed at
	// the end of t. It skips t when the backend is not available.
	Open func(t testing.TB) storage.DB
}

// SQLite is a new SQLite file in t.TempDir() a test.
var SQLite = Backend{Name: "sqlite", Open: func(t testing.TB) storage.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "batches.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}}

// Postgres is a new database a test on the server of
// BATCHES_TEST_DATABASE_URL; without it the test skips.
var Postgres = Backend{Name: "postgres", Open: func(t testing.TB) storage.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}}

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
