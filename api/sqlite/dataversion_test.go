package sqlite_test

import (
	"testing"

	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// TestDataVersion: the data version stays while nothing is committed
// (reads change nothing), and changes with a commit of the DB's own
// writes and with one of another connection, as another process's would
// be; a version never comes back while the DB is open.
func TestDataVersion(t *testing.T) {
	db, raw := storetest.SQLite.OpenSQL(t)
	lite := db.(*sqlite.DB)
	ctx := t.Context()
	version := func() int64 {
		t.Helper()
		v, err := lite.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	seen := map[int64]bool{}
	v := version()
	seen[v] = true
	if _, err := db.CreateOrganization(ctx, "Acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OrganizationForKey(ctx, [32]byte{}); err == nil {
		t.Fatal("a key of zeros found")
	}
	after := version()
	if after == v {
		t.Errorf("a commit of the DB's writes left the data version at %d", v)
	}
	if again := version(); again != after {
		t.Errorf("no commit, yet the data version went from %d to %d", after, again)
	}
	seen[after] = true
	if _, err := raw.ExecContext(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ('org_raw000000000', 'Raw', 1)`); err != nil {
		t.Fatal(err)
	}
	if last := version(); seen[last] {
		t.Errorf("a commit of another connection left the data version at %d", last)
	}
}
