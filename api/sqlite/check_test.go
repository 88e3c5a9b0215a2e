package sqlite_test

import (
	"os"
	"testing"
)

// TestCheckSeesTheFileGo: a database file deleted, moved or replaced under
// a running server is still read through its open connections; Check (the
// readiness probe's) says so rather than that all is well.
func TestCheckSeesTheFileGo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(path string) error
	}{
		{"deleted", os.Remove},
		{"moved", func(path string) error { return os.Rename(path, path+".moved") }},
		{"replaced", func(path string) error {
			if err := os.Rename(path, path+".old"); err != nil {
				return err
			}
			return os.WriteFile(path, nil, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := openTemp(t)
			if err := db.Check(t.Context()); err != nil {
				t.Fatalf("Check of a fresh database: %v", err)
			}
			if err := tc.change(path); err != nil {
				t.Fatal(err)
			}
			err := db.Check(t.Context())
			if want := "sqlite: check: " + path + " is no longer the database file this server opened (deleted, moved or replaced)"; err == nil || err.Error() != want {
				t.Errorf("Check = %v, want %q", err, want)
			}
		})
	}
}
