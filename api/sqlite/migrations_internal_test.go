package sqlite

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
)

// TestMigrationsMatchPostgres: api/postgres has a migration of every
// version this package has, with the same name (the file's, or the Source
// of a Go migration), and none other; every SQL migration of either can be
// rolled back.
func TestMigrationsMatchPostgres(t *testing.T) {
	type migration struct {
		version int64
		name    string // without the extension
	}
	named := func(file string) migration {
		t.Helper()
		v, err := goose.NumericComponent(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return migration{v, strings.TrimSuffix(path.Base(file), path.Ext(file))}
	}
	sqlFiles := func(fsys fs.FS) []string {
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
		return files
	}

	own, err := fs.Sub(embedded, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var lite, pg []migration
	for _, f := range sqlFiles(own) {
		lite = append(lite, named(f))
	}
	for _, m := range goMigrations() {
		if m.Source == "" {
			t.Fatalf("Go migration %d has no name (Source)", m.Version)
		}
		if got := named(m.Source); got.version != m.Version {
			t.Errorf("Go migration %d is named %s", m.Version, m.Source)
		}
		lite = append(lite, named(m.Source))
	}
	for _, f := range sqlFiles(os.DirFS(filepath.Join("..", "postgres", "migrations"))) {
		pg = append(pg, named(f))
	}
	byVersion := func(a, b migration) int { return int(a.version - b.version) }
	slices.SortFunc(lite, byVersion)
	slices.SortFunc(pg, byVersion)
	if !slices.Equal(lite, pg) {
		t.Errorf("migrations differ:\nsqlite   %v\npostgres %v", lite, pg)
	}
	for i, m := range lite {
		if m.version != int64(i+1) {
			t.Errorf("versions %v are not 1, 2, 3…", lite)
			break
		}
	}
}
