package batches_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// ref is the reference server (api.NewHandler over api/sqlite on a temporary
// file) the tests and examples share; each test makes its own bucket.
var ref struct {
	once    sync.Once
	err     error
	dir     string
	db      *sqlite.DB
	handler http.Handler
	srv     *httptest.Server
	org     domain.Organization
	ns      domain.Namespace // "production"
	key     string
	seq     atomic.Int64
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ref.srv != nil {
		ref.srv.Close()
	}
	if ref.db != nil {
		ref.db.Close()
	}
	if ref.dir != "" {
		os.RemoveAll(ref.dir)
	}
	os.Exit(code)
}

// startRef starts the shared reference server once.
func startRef() error {
	ref.once.Do(func() {
		ctx := context.Background()
		ref.dir, ref.err = os.MkdirTemp("", "batches-client-test-")
		if ref.err != nil {
			return
		}
		ref.db, ref.err = sqlite.Open(ctx, filepath.Join(ref.dir, "batches.db"))
		if ref.err != nil {
			return
		}
		if ref.org, ref.err = ref.db.CreateOrganization(ctx, "Acme"); ref.err != nil {
			return
		}
		if ref.ns, ref.err = ref.db.CreateNamespace(ctx, ref.org.ID, "production"); ref.err != nil {
			return
		}
		if ref.key, ref.err = ref.db.CreateAPIKey(ctx, ref.org.ID, "sk_test_"+"0123456789abcdefghijKLMNOP"); ref.err != nil {
			return
		}
		if ref.handler, ref.err = api.NewHandler(ref.db); ref.err != nil {
			return
		}
		ref.srv = httptest.NewServer(ref.handler)
	})
	return ref.err
}

// bucket is a bucket of the reference server with its batches.
type bucket struct {
	id  string
	ns  string   // the namespace's name
	ids []string // batch ids, newest first, as listed
}

// newBucket makes a bucket in namespace ns ("" is production) holding n
// batches; statuses cycle through batches.TaskStatuses().
func newBucket(t testing.TB, ns string, n int) bucket {
	t.Helper()
	if err := startRef(); err != nil {
		t.Fatal(err)
	}
	nsID := ref.ns.ID
	if ns != "" {
		got, err := ref.db.CreateNamespace(t.Context(), ref.org.ID, ns)
		if err != nil {
			t.Fatal(err)
		}
		nsID = got.ID
	}
	seq := ref.seq.Add(1)
	b, err := ref.db.CreateBucket(t.Context(), nsID, fmt.Sprintf("bucket-%d", seq), fmt.Sprintf("bkt_t%d", seq))
	if err != nil {
		t.Fatal(err)
	}
	bk := bucket{id: b.ID, ns: cmp.Or(ns, "production")}
	bk.ids = insert(t, bk.id, n, time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	return bk
}

// insert stores n batches in bucket, created a minute apart from created
// on, and returns their ids newest first.
func insert(t testing.TB, bucketID string, n int, created time.Time) []string {
	t.Helper()
	statuses := batches.TaskStatuses()
	bs := make([]domain.Batch, n)
	ids := make([]string, n)
	for i := range bs {
		at := created.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("btch_%s_%d_%s", bucketID, i, at.Format("20060102T150405"))
		bs[i] = domain.Batch{
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
	if err := ref.db.InsertBatches(t.Context(), bucketID, bs); err != nil {
		t.Fatal(err)
	}
	return ids
}

// deleteBatches removes batches behind the store's back, as another client
// of the API would.
func deleteBatches(t testing.TB, ids ...string) {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(ref.db.Path()), RawQuery: "_pragma=busy_timeout(5000)"}
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

// refClient is a client of the reference server with its key and
// namespace, checked against the contract, without delays between retries
// worth waiting for.
func refClient(t testing.TB, opts ...batches.Option) *batches.Client {
	t.Helper()
	if err := startRef(); err != nil {
		t.Fatal(err)
	}
	base := []batches.Option{
		batches.WithBaseURL(ref.srv.URL),
		batches.WithAPIKey(ref.key),
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

// toRef passes a request of a fake server on to the reference server,
// whose exchanges apitest checks.
func toRef(t testing.TB, w http.ResponseWriter, r *http.Request) {
	if err := startRef(); err != nil {
		t.Error(err)
		return
	}
	r.Header.Set("Authorization", "Bearer "+ref.key)
	apitest.Handler(t, ref.handler).ServeHTTP(w, r)
}

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

// demoHandler is the reference server over a database of its own seeded
// with the demo (bucket bkt_demo, 300 batches), every exchange checked
// against openapi.yaml; it returns the demo's settings and the handler.
func demoHandler(t *testing.T) (domain.DemoInfo, http.Handler) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "batches.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	info, seeded, err := db.SeedDemo(ctx, "")
	if err != nil || !seeded {
		t.Fatalf("SeedDemo: %v, %v", seeded, err)
	}
	h, err := api.NewHandler(db)
	if err != nil {
		t.Fatal(err)
	}
	return info, apitest.Handler(t, h)
}

// demoServer serves demoHandler and returns the demo's settings and the
// server's URL.
func demoServer(t *testing.T) (domain.DemoInfo, string) {
	t.Helper()
	info, h := demoHandler(t)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return info, srv.URL
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
