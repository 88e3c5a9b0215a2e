package batchestest_test

// The files batches_*_test.go hold the tests of package batches (the
// client, at the module's root) that need the real server: the client
// against the server's answers, its paging under inserts and deletions,
// and its types against openapi.yaml. They live here, not beside the
// client, so that the client's own tests import nothing of the server: go
// mod tidy in a module that imports the client loads the client's test
// imports too, and those of the server (SQLite, kin-openapi, …) would land
// in that module's go.sum (TestImportWeight, at the root, keeps it so).
// Each test gets a server of its own from NewServer, as a user's test
// would; the client's tests of its own mechanics, against canned answers,
// stay at the root.

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/batchestest"
)

// ref is the reference server of one test, over a database of its own,
// its namespace "production"; each test makes the buckets it needs.
type ref struct {
	*batchestest.Server
	proxy *httputil.ReverseProxy // to the server, for toRef
	seq   int
}

// newRef starts the reference server of t, closed when t ends.
func newRef(t *testing.T) *ref {
	t.Helper()
	srv := batchestest.NewServer(t, batchestest.WithNamespace("production"))
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport: srv.HTTPClient().Transport,
		// A client that gives up on a request it sent through a fake is the
		// point of some tests, not news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return &ref{Server: srv, proxy: proxy}
}

// bucket is a bucket of the reference server with its batches.
type bucket struct {
	id  string
	ns  string   // the namespace's name
	ids []string // batch ids, newest first, as listed
}

// newBucket makes a bucket in namespace ns ("" is production) holding n
// batches; statuses cycle through batches.TaskStatuses().
func (s *ref) newBucket(t testing.TB, ns string, n int) bucket {
	t.Helper()
	nsID := ""
	if ns != "" {
		nsID = s.AddNamespace(ns)
	} else {
		ns = s.Namespace
	}
	s.seq++
	bk := bucket{id: s.AddBucket(nsID, fmt.Sprintf("bkt_t%d", s.seq)), ns: ns}
	bk.ids = s.insert(t, bk.id, n, time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	return bk
}

// insert stores n batches in bucket, created a minute apart from created
// on, and returns their ids newest first.
func (s *ref) insert(t testing.TB, bucketID string, n int, created time.Time) []string {
	t.Helper()
	statuses := batches.TaskStatuses()
	bs := make([]batches.Batch, n)
	ids := make([]string, n)
	for i := range bs {
		at := created.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("btch_%s_%d_%s", bucketID, i, at.Format("20060102T150405"))
		bs[i] = batches.Batch{
			BatchID:    id,
			Status:     statuses[i%len(statuses)],
			ObjectIDs:  []string{fmt.Sprintf("obj_%012d", i)},
			Type:       batches.BatchTypeBucket,
			Metadata:   map[string]any{"seq": float64(i)},
			TotalTiers: 1,
			CreatedAt:  at,
			UpdatedAt:  at.Add(time.Second),
		}
		ids[n-1-i] = id
	}
	s.AddBatches(bucketID, bs...)
	return ids
}

// deleteBatches removes batches behind the store's back, as another client
// of the API would.
func (s *ref) deleteBatches(t testing.TB, ids ...string) {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(s.DB().Path()), RawQuery: "_pragma=busy_timeout(5000)"}
	raw, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, id := range ids {
		if _, err := raw.ExecContext(t.Context(), "DELETE FROM batches WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
}

// checked is an HTTP client whose every exchange apitest checks against
// openapi.yaml; for the reference server only (its answers conform).
func checked(t testing.TB) *http.Client {
	return &http.Client{Transport: apitest.NewTransport(t, nil)}
}

// client is a client of the reference server with its key and namespace,
// checked against the contract, without delays between retries worth
// waiting for.
func (s *ref) client(t testing.TB, opts ...batches.Option) *batches.Client {
	t.Helper()
	base := []batches.Option{
		batches.WithBaseURL(s.URL),
		batches.WithAPIKey(s.APIKey),
		batches.WithNamespace("production"),
		batches.WithHTTPClient(checked(t)),
		batches.WithMaxRetryDelay(time.Millisecond),
	}
	c, err := batches.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// toRef passes a request of a fake server on to the reference server, with
// its key; apitest checks the exchange.
func (s *ref) toRef(t testing.TB, w http.ResponseWriter, r *http.Request) {
	r.Header.Set("Authorization", "Bearer "+s.APIKey)
	apitest.Handler(t, s.proxy).ServeHTTP(w, r)
}

// fake is a server of the test's own (faults a real server does not
// make), counting requests; handle gets the request number from 1.
type fake struct {
	srv *httptest.Server
	n   atomic.Int64
}

func newFake(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int64)) *fake {
	t.Helper()
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, f.n.Add(1))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// client is a client of the fake server; retries wait at most 1 ms unless
// opts say otherwise.
func (f *fake) client(t testing.TB, opts ...batches.Option) *batches.Client {
	t.Helper()
	base := []batches.Option{
		batches.WithBaseURL(f.srv.URL),
		batches.WithAPIKey(testKey),
		batches.WithNamespace("production"),
		batches.WithMaxRetryDelay(time.Millisecond),
	}
	c, err := batches.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testKey is the key sent to fake servers.
const testKey = "sk_test_FAKEkey0123456789abcdef"

// writeJSON answers status with body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// errorBody is Mixpeek's ErrorResponse.
func errorBody(status int, typ, message string) string {
	return fmt.Sprintf(`{"success":false,"status":%d,"error":{"message":%q,"type":%q,"details":null}}`, status, message, typ)
}

// collect walks an iterator to the end or the first error.
func collect(seq func(func(batches.Batch, error) bool)) ([]string, error) {
	var ids []string
	for b, err := range seq {
		if err != nil {
			return ids, err
		}
		ids = append(ids, b.BatchID)
	}
	return ids, nil
}

func ids(bs []batches.Batch) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.BatchID
	}
	return out
}

// asError checks that err is an *Error of status matching sentinel and no
// other sentinel.
func asError(t *testing.T, err error, status int, sentinel error) *batches.Error {
	t.Helper()
	var e *batches.Error
	if !errors.As(err, &e) {
		t.Fatalf("%T %v is not an *Error", err, err)
	}
	if e.StatusCode != status {
		t.Errorf("status %d, want %d: %v", e.StatusCode, status, err)
	}
	for _, s := range []error{batches.ErrUnauthorized, batches.ErrForbidden, batches.ErrNotFound, batches.ErrRateLimited, batches.ErrValidation} {
		if got := errors.Is(err, s); got != (s == sentinel) {
			t.Errorf("errors.Is(%v, %v) = %v", err, s, got)
		}
	}
	return e
}
