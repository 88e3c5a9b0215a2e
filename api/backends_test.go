package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/api/postgres"
	"github.com/mixpeekgo/batches/api/postgres/pgtest"
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
	f := timeoutFixture(t, u)

	release := pgtest.HoldLock(t, u)
	f.client.Timeout = 5 * time.Second // a hung connection fails the request
	assertErrorResponse(t, f.do(request{body: str(`{"limit":5}`)}), http.StatusInternalServerError, "InternalServerError")
	release()
	assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, int64(len(f.a.batches)))
}

// blackhole is a TCP proxy to the PostgreSQL server of a database URL that
// forwards both ways, until freeze: from then on, until thaw, it forwards
// nothing and answers nothing (it still accepts connections): a server that
// stops answering (kill -STOP, a network partition), where PostgreSQL's own
// statement_timeout cannot fire.
type blackhole struct {
	network, address string

	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	closed bool
}

// newBlackhole starts a proxy to the server of databaseURL and returns it
// and the URL that connects through it; it is closed when t ends.
func newBlackhole(t *testing.T, databaseURL string) (*blackhole, string) {
	t.Helper()
	cfg, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackhole{}
	p.network, p.address = pgconn.NetworkAddress(cfg.Host, cfg.Port)
	p.cond = sync.NewCond(&p.mu)
	var conns sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		p.cond.Broadcast()
		p.mu.Unlock()
		close(done)
		ln.Close()
		conns.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { p.serve(c, done) })
		}
	}()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("host", "127.0.0.1")
	q.Set("port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	u.RawQuery = q.Encode()
	return p, u.String()
}

func (p *blackhole) set(frozen bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = frozen
	p.cond.Broadcast()
}

func (p *blackhole) freeze() { p.set(true) }
func (p *blackhole) thaw()   { p.set(false) }

// pass waits while the proxy is frozen; it reports false once it is closed.
func (p *blackhole) pass() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.frozen && !p.closed {
		p.cond.Wait()
	}
	return !p.closed
}

func (p *blackhole) serve(c net.Conn, done <-chan struct{}) {
	defer c.Close()
	if !p.pass() {
		return
	}
	s, err := net.Dial(p.network, p.address)
	if err != nil {
		return
	}
	defer s.Close()
	go func() { <-done; c.Close(); s.Close() }()
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil || !p.pass() {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { pipe(s, c) })
	wg.Go(func() { pipe(c, s) })
	wg.Wait()
}

// TestPostgresStopsAnswering: when the database stops answering in the
// middle of serving (its packets go nowhere), a list still answers the 500
// ErrorResponse, by the store's client-side deadline (statement timeout +
// postgres.DeadlineMargin), on the connection that was in use and on a new
// one; it is not left waiting for an answer that never comes. Once the
// database answers again, so do lists.
func TestPostgresStopsAnswering(t *testing.T) {
	t.Parallel()
	u := pgtest.NewDatabase(t)
	proxy, proxied := newBlackhole(t, u)
	f := timeoutFixture(t, proxied+poolParam(proxied, 1))
	assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, int64(len(f.a.batches)))

	proxy.freeze()
	// Generous: without a client-side deadline the request never answers.
	f.client.Timeout = 20 * time.Second
	for range 2 {
		assertErrorResponse(t, f.do(request{body: str(`{"limit":5}`)}), http.StatusInternalServerError, "InternalServerError")
	}
	proxy.thaw()
	assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, int64(len(f.a.batches)))
}

// TestPostgresQueueBehindStuckQueries: while a lock held elsewhere blocks
// every list until statement_timeout, many more requests than the pool has
// connections do not queue one statement timeout after another: each
// call's wait for a connection is bounded by the same deadline as its
// query, so every request answers (the 500 ErrorResponse) within about the
// statement timeout plus postgres.DeadlineMargin, however many wait.
func TestPostgresQueueBehindStuckQueries(t *testing.T) {
	t.Parallel()
	u := pgtest.NewDatabase(t)
	f := timeoutFixture(t, u+poolParam(u, 1))

	release := pgtest.HoldLock(t, u)
	// Queued one after another, 40 lists of 300 ms on one connection take
	// 12 s; bounded, each answers within about 2.3 s. The client's timeout
	// is a generous bound between the two.
	const n = 40
	client := &http.Client{Timeout: 8 * time.Second}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/buckets/bkt_a/batches/list", strings.NewReader(`{"limit":5}`))
			req.Header.Set("Authorization", "Bearer "+f.a.key)
			req.Header.Set("X-Namespace", "production")
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusInternalServerError || !bytes.Contains(body, []byte(`"type":"InternalServerError"`)) {
				errs <- fmt.Errorf("status %d, body %s; want the 500 ErrorResponse", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	release()
	assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, int64(len(f.a.batches)))
}

// timeoutFixture is newFixtureOn on PostgreSQL at databaseURL
// (an empty database, of pgtest.NewDatabase), opened with a statement
// timeout of 300 ms; the store is closed when t ends.
func timeoutFixture(t testing.TB, databaseURL string) *fixture {
	t.Helper()
	db, err := postgres.Open(context.Background(), databaseURL, postgres.WithStatementTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newFixtureOn(t, storetest.Backend{Name: "postgres", Open: func(testing.TB) domain.DB { return db }})
}

// poolParam is the query parameter that sets pool_max_conns to n, after
// the URL u.
func poolParam(u string, n int) string {
	if strings.Contains(u, "?") {
		return "&pool_max_conns=" + strconv.Itoa(n)
	}
	return "?pool_max_conns=" + strconv.Itoa(n)
}
