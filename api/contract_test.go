package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
)

// exchange is one request and its answer, with the contract's verdict on
// the request.
type exchange struct {
	status     int
	header     http.Header
	body       []byte
	requestErr error // nil when the request conforms to openapi.yaml
}

// tenant is one organization of the fixture.
type tenant struct {
	org       domain.Organization
	namespace domain.Namespace
	bucket    domain.Bucket
	key       string
	batches   []domain.Batch // newest first, as listed
}

// fixture is a real server on a real database, a SQLite file or a
// PostgreSQL database, with two organizations whose names and resources look
// alike.
type fixture struct {
	t      testing.TB
	url    string
	db     domain.DB
	a, b   tenant
	client *http.Client
	vt     *apitest.Transport
}

var statuses = batches.TaskStatuses()

// eachBackend runs test on a new fixture of each backend, as subtests named
// after the backend ("sqlite", "postgres"; the latter skips without
// BATCHES_TEST_DATABASE_URL).
func eachBackend(t *testing.T, test func(t *testing.T, f *fixture)) {
	t.Helper()
	storetest.Run(t, func(t *testing.T, b storetest.Backend) { test(t, newFixtureOn(t, b)) })
}

// newFixtureOn is the fixture on a new database of the backend b.
func newFixtureOn(t testing.TB, b storetest.Backend) *fixture {
	t.Helper()
	return newFixtureWith(t, b.Open(t))
}

// newFixtureWith is the fixture on db, a new database.
func newFixtureWith(t testing.TB, db domain.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, db: db}
	f.a = f.newTenant(ctx, "Acme", "bkt_a", 250)
	f.b = f.newTenant(ctx, "ACME", "bkt_b", 40)
	// A namespace name only B has.
	if _, err := db.CreateNamespace(ctx, f.b.org.ID, "staging"); err != nil {
		t.Fatal(err)
	}

	h, err := api.NewHandler(db)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.vt = apitest.NewTransport(t, nil)
	f.client = &http.Client{Transport: f.vt, Timeout: 30 * time.Second}
	return f
}

func (f *fixture) newTenant(ctx context.Context, orgName, bucketID string, n int) tenant {
	t := f.t
	org, err := f.db.CreateOrganization(ctx, orgName)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := f.db.CreateNamespace(ctx, org.ID, "production")
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := f.db.CreateBucket(ctx, ns.ID, "main", bucketID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := f.db.CreateAPIKey(ctx, org.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// Timestamps collide in pairs so the batch_id tie-break is exercised.
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	stored := make([]domain.Batch, n)
	for i := range stored {
		created := base.Add(time.Duration(i/2) * time.Minute)
		stored[i] = domain.Batch{
			BatchID:    fmt.Sprintf("btch_%s%07d", bucketID[4:5], i),
			BucketID:   bucket.ID,
			Status:     statuses[i%len(statuses)],
			ObjectIDs:  []string{fmt.Sprintf("obj_%012d", i)},
			Type:       batches.BatchTypeBucket,
			Metadata:   map[string]any{"seq": float64(i)},
			TotalTiers: 1,
			TierTasks:  []domain.TierTask{},
			CreatedAt:  created,
			UpdatedAt:  created.Add(time.Second),
		}
	}
	if err := f.db.InsertBatches(ctx, bucket.ID, stored); err != nil {
		t.Fatal(err)
	}
	// Newest first: created_at descending, then batch_id descending.
	listed := make([]domain.Batch, n)
	for i := range stored {
		listed[n-1-i] = stored[i]
	}
	return tenant{org: org, namespace: ns, bucket: bucket, key: key, batches: listed}
}

// request describes one raw HTTP request; zero fields take the defaults of
// the bad-input table: POST …/bkt_a/batches/list with A's key, X-Namespace
// production and Content-Type application/json.
type request struct {
	method  string
	path    string
	body    *string
	headers map[string][]string // nil value deletes the header
}

func (f *fixture) do(r request) exchange {
	f.t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	path := r.path
	if path == "" {
		path = "/v1/buckets/bkt_a/batches/list"
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader([]byte(*r.body))
	}
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.a.key)
	req.Header.Set("X-Namespace", "production")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range r.headers {
		if v == nil {
			req.Header.Del(k)
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	verdicts := f.vt.RequestErrors()
	return exchange{status: resp.StatusCode, header: resp.Header, body: b, requestErr: verdicts[len(verdicts)-1]}
}

func str(s string) *string { return &s }
