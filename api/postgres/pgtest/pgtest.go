// Package pgtest gives tests a new, empty PostgreSQL database each, on the
// server that the environment variable BATCHES_TEST_DATABASE_URL names, and
// skips them when it is not set. `make test-postgres` and .ci/run set it
// (.ci/with-postgres starts a throwaway cluster).
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDatabaseURL names the environment variable of the PostgreSQL server
// the tests use: a postgres:// URL of a database (postgres, say) whose user
// may CREATE DATABASE. Each test gets a database of its own on that server,
// dropped when it ends.
const EnvDatabaseURL = "BATCHES_TEST_DATABASE_URL"

// SkipMessage is why PostgreSQL tests skip without EnvDatabaseURL.
const SkipMessage = EnvDatabaseURL + " is not set: PostgreSQL tests skipped (set it to a postgres:// URL whose user may CREATE DATABASE, or run make test-postgres)"

// NewDatabase creates a new empty database (UTF8) on the server of
// EnvDatabaseURL, drops it at the end of t (after t's other cleanups, with
// any connections still open to it), and returns its URL: EnvDatabaseURL's
// with the database name replaced. It skips t when EnvDatabaseURL is not
// set, and fails it when the server cannot be reached or refuses.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDatabaseURL)
	if admin == "" {
		t.Skip(SkipMessage)
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s is not a postgres:// URL", EnvDatabaseURL)
	}
	name := "batches_test_" + strings.ToLower(rand.Text()[:16])
	// A database whose default collation does not sort by bytes (ICU's
	// en-US, as production databases often have en_US.UTF-8), so that the
	// tests see what the schema's COLLATE "C" columns are for; on a server
	// without ICU (or before PostgreSQL 15), the server's default.
	if err := tryExec(admin, fmt.Sprintf(`CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`, name)); err != nil {
		exec(t, admin, fmt.Sprintf(`CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0`, name))
	}
	t.Cleanup(func() {
		exec(t, admin, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	})
	u.Path = "/" + name
	return u.String()
}

// HoldLock takes an ACCESS EXCLUSIVE lock on the table batches of the
// database of databaseURL, in a transaction of its own on a connection of
// its own, which blocks every read and write of the table until release is
// called or t ends, whichever comes first. release rolls the transaction
// back and closes the connection; it may be called more than once (only the
// first call acts), and it fails t (t.Errorf) when the rollback does. It
// fails t (t.Fatal) when the connection, BEGIN or the LOCK TABLE does.
func HoldLock(t testing.TB, databaseURL string) (release func()) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(t.Context())
	if err != nil {
		conn.Close(context.Background())
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `LOCK TABLE batches IN ACCESS EXCLUSIVE MODE`); err != nil {
		conn.Close(context.Background())
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if err := tx.Rollback(context.Background()); err != nil {
				t.Errorf("releasing the lock on batches: %v", err)
			}
			conn.Close(context.Background())
		})
	}
	t.Cleanup(release)
	return release
}

// exec runs one statement on the database of databaseURL.
func exec(t testing.TB, databaseURL, sql string) {
	t.Helper()
	if err := tryExec(databaseURL, sql); err != nil {
		t.Fatalf("%s (%s): %v", sql, EnvDatabaseURL, err)
	}
}

func tryExec(databaseURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// Available reports whether EnvDatabaseURL is set.
func Available() bool { return os.Getenv(EnvDatabaseURL) != "" }
