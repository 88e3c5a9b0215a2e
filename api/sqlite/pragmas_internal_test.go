package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// TestPragmas checks the settings of every connection of both pools: WAL,
// synchronous=FULL, a 5 s busy timeout, foreign keys and recursive
// triggers; query_only on the read pool only.
func TestPragmas(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, pool := range []struct {
		name      string
		db        *sql.DB
		queryOnly string
	}{{"write", db.write, "0"}, {"read", db.read, "1"}} {
		want := map[string]string{
			"journal_mode": "wal", "synchronous": "2", "busy_timeout": "5000",
			"foreign_keys": "1", "recursive_triggers": "1", "query_only": pool.queryOnly,
		}
		// Hold several connections at once (as many as the pool allows, up
		// to 3) so that each is a new one.
		n := pool.db.Stats().MaxOpenConnections
		if n <= 0 || n > 3 {
			n = 3
		}
		conns := make([]*sql.Conn, 0, n)
		for range n {
			c, err := pool.db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			for name, w := range want {
				var v any
				if err := c.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
					t.Fatalf("%s conn %d: PRAGMA %s: %v", pool.name, i, name, err)
				}
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				if got := fmt.Sprint(v); got != w {
					t.Errorf("%s conn %d: %s = %s, want %s", pool.name, i, name, got, w)
				}
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
}
