package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/sqlite"
)

func TestOpenCreatesDirectoryAndReopenAppliesNoMigrationTwice(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nested dir", "with #odd ?chars%", "batches.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	org, err := db.CreateOrganization(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	for range 2 {
		db, err = sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		// The data survived, and the schema is usable.
		if _, err := db.CreateNamespace(ctx, org.ID, "ns-"+domain.NewID("")); err != nil {
			t.Fatalf("CreateNamespace after reopen: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}

	raw := rawDB(t, path)
	rows, err := raw.QueryContext(ctx, `SELECT version_id, COUNT(*) FROM goose_db_version WHERE is_applied GROUP BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	versions := map[int64]int{}
	for rows.Next() {
		var v int64
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		versions[v] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if versions[1] != 1 {
		t.Errorf("migration 1 recorded %d times, want once (versions: %v)", versions[1], versions)
	}
	for v, n := range versions {
		if n != 1 {
			t.Errorf("version %d recorded %d times", v, n)
		}
	}

	var mode string
	if err := raw.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestOpenRejectsNonFiles(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:"} {
		if db, err := sqlite.Open(t.Context(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		} else if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", p, err)
		}
	}
	// A file that is not a database.
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := sqlite.Open(t.Context(), path); err == nil {
		db.Close()
		t.Error("Open of a non-database file succeeded")
	}
}

func TestCanceledContext(t *testing.T) {
	db, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := db.CreateOrganization(ctx, "Acme"); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateOrganization with a canceled context = %v", err)
	}
}
