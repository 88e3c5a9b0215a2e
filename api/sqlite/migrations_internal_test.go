package sqlite

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
)

// TestMigrationsNumbered: the migrations are numbered 1, 2, 3, … (the SQL
// files and the Go migrations, each Go migration named as a file would
// be), and every SQL migration, of this package and of api/postgres, can
// be rolled back. storetest's TestMigrationsAlike checks that both
// backends have the same.
func TestMigrationsNumbered(t *testing.T) {
	sqlFiles := func(fsys fs.FS) {
		t.Helper()
		files, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if b, err := fs.ReadFile(fsys, f); err != nil || !bytes.Contains(b, []byte("-- +goose Down")) {
				t.Errorf("%s has no Down section (%v)", f, err)
			}
		}
	}
	own, err := fs.Sub(embedded, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	sqlFiles(own)
	sqlFiles(os.DirFS(filepath.Join("..", "postgres", "migrations")))
	for _, m := range goMigrations() {
		if m.Source == "" {
			t.Fatalf("Go migration %d has no name (Source)", m.Version)
		}
		if v, err := goose.NumericComponent(m.Source); err != nil || v != m.Version {
			t.Errorf("Go migration %d is named %s", m.Version, m.Source)
		}
	}
	for i, name := range Migrations() {
		if v, err := goose.NumericComponent(name + ".sql"); err != nil || v != int64(i+1) {
			t.Errorf("versions %v are not 1, 2, 3…", Migrations())
			break
		}
	}
}
