package postgres

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mixpeekgo/batches/api/postgres/pgtest"
)

// TestImportCanceledInWords: an import whose transaction PostgreSQL
// cancels (a lock held elsewhere keeps it past the statement timeout)
// fails with what happened in the project's words, not "canceling
// statement due to … (SQLSTATE 57014)", and still wraps PostgreSQL's error.
func TestImportCanceledInWords(t *testing.T) {
	t.Parallel()
	db, u := openTest(t, WithStatementTimeout(300*time.Millisecond))
	b := bucket(t, db, "bkt_slowimport")
	pgtest.HoldLock(t, u)
	line := `{"batch_id":"btch_x","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}`
	n, err := db.ImportBatches(t.Context(), b.ID, strings.NewReader(line), schemaStub{})
	var pe *pgconn.PgError
	if n != 0 || !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("ImportBatches behind a lock = %d, %v; want PostgreSQL's 57014", n, err)
	}
	const want = "postgres: import batches: PostgreSQL canceled the transaction's statement: it ran longer than the statement timeout (300ms), or the call took longer than 2.3s in all (nothing was written); a very large import may need longer: run it without a statement timeout (batchesd --statement-timeout 0 import …; WithStatementTimeout(0))"
	if err.Error() != want {
		t.Errorf("error %q\nwant %q", err, want)
	}
}

// schemaStub takes every field and checks nothing: the import's checks
// are the domain's, tested there.
type schemaStub struct{}

func (schemaStub) Has(string) bool            { return true }
func (schemaStub) Check(map[string]any) error { return nil }
