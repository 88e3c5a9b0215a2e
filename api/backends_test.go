package api_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/api/postgres"
	"github.com/mixpeekgo/batches/api/postgres/pgtest"
	"github.com/mixpeekgo/batches/api/storage"
)

// TestBackendsAnswerAlike: the same data on SQLite and on PostgreSQL
// answers the same bytes, pages, errors and all.
func TestBackendsAnswerAlike(t *testing.T) {
	if !pgtest.Available() {
		t.Skip(pgtest.SkipMessage)
	}
	lite, pg := newFixtureOn(t, storetest.SQLite), newFixtureOn(t, storetest.Postgres)
	for _, r := range []request{
		{},
		{body: str(`{"limit":1000}`)},
		{body: str(`{"status":"FAILED","offset":3,"limit":7}`)},
		{body: str(`{"status":"SUSPENDED","offset":1000000}`)},
		{body: str(`{"offset":9223372036854775807,"limit":1}`)},
		{path: "/v1/buckets/main/batches/list", body: str(`{"limit":3,"offset":248}`)},
		{path: "/v1/buckets/bkt_b/batches/list"},
		{path: "/v1/buckets/bkt_a%FF/batches/list"},
		{headers: map[string][]string{"X-Namespace": {"staging"}}},
		{body: str(`{"limit":0}`)},
	} {
		a, b := lite.do(r), pg.do(r)
		if a.status != b.status || !bytes.Equal(a.body, b.body) {
			t.Errorf("%s %s: SQLite answers %d\n%s\nPostgreSQL answers %d\n%s", r.path, deref(r.body), a.status, a.body, b.status, b.body)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "(no body)"
	}
	return *s
}

// TestSlowQueryAnswers500: a list that PostgreSQL cannot answer within
// statement_timeout (here a lock another transaction holds blocks it)
// answers the 500 ErrorResponse promptly, and the next one, once the lock
// is gone, answers 200.
func TestSlowQueryAnswers500(t *testing.T) {
	u := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), u, postgres.WithStatementTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := newFixtureOn(t, storetest.Backend{Name: "postgres", Open: func(testing.TB) storage.DB { return db }})

	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `LOCK TABLE batches IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	f.client.Timeout = 5 * time.Second // a hung connection fails the request
	assertErrorResponse(t, f.do(request{body: str(`{"limit":5}`)}), http.StatusInternalServerError, "InternalServerError")
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, int64(len(f.a.batches)))
}
