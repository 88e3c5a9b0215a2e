package batchestest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
)

// post sends List Batches for bucket with body and the server's key and
// namespace, and returns the answer with its body read.
func post(t *testing.T, srv *batchestest.Server, bucket, body string, edit ...func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	rsp, data, err := tryPost(context.Background(), srv, bucket, body, edit...)
	if err != nil {
		t.Fatal(err)
	}
	return rsp, data
}

func tryPost(ctx context.Context, srv *batchestest.Server, bucket, body string, edit ...func(*http.Request)) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+batchestest.ListPath(bucket), strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	req.Header.Set("X-Namespace", srv.Namespace)
	req.Header.Set("Content-Type", "application/json")
	for _, e := range edit {
		e(req)
	}
	rsp, err := srv.HTTPClient().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer rsp.Body.Close()
	data, err := io.ReadAll(rsp.Body)
	return rsp, data, err
}

// page is a 200 answer, decoded with the client's types.
type page struct {
	Results    []batches.Batch `json:"results"`
	TotalCount int64           `json:"total_count"`
}

func listPage(t *testing.T, srv *batchestest.Server, bucket, body string) page {
	t.Helper()
	rsp, data := post(t, srv, bucket, body)
	if rsp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", rsp.StatusCode, data)
	}
	var p page
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return p
}

// sameJSON fails the test unless got and want encode to the same JSON (a
// Batch decoded from the server keeps its RawJSON, which DeepEqual would
// compare).
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// errorResponse is the API's ErrorResponse, decoded strictly.
type errorResponse struct {
	Success bool `json:"success"`
	Status  int  `json:"status"`
	Error   struct {
		Message string         `json:"message"`
		Type    string         `json:"type"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func decodeError(t *testing.T, data []byte) errorResponse {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e errorResponse
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("not an ErrorResponse: %v: %s", err, data)
	}
	return e
}

func TestNewServerDefaults(t *testing.T) {
	srv := batchestest.NewServer(t)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || srv.Namespace != batchestest.DefaultNamespace ||
		srv.Bucket != batchestest.DefaultBucket || !strings.HasPrefix(srv.APIKey, "sk_test_") ||
		!strings.HasPrefix(srv.NamespaceID, "ns_") || !strings.HasPrefix(srv.OrganizationID, "org_") {
		t.Fatalf("server %+v", srv)
	}
	if p := listPage(t, srv, srv.Bucket, `{}`); len(p.Results) != 0 || p.TotalCount != 0 {
		t.Errorf("a new bucket lists %d of %d", len(p.Results), p.TotalCount)
	}
	// The namespace by id; the bucket by name (its id).
	rsp, data := post(t, srv, srv.Bucket, `{}`, func(r *http.Request) { r.Header.Set("X-Namespace", srv.NamespaceID) })
	if rsp.StatusCode != http.StatusOK {
		t.Errorf("namespace by id: %d %s", rsp.StatusCode, data)
	}
	// It is the real server: a wrong key is refused, an unknown bucket is
	// not found.
	rsp, data = post(t, srv, srv.Bucket, `{}`, func(r *http.Request) { r.Header.Set("Authorization", "Bearer sk_test_wrongwrongwrongwrong") })
	if e := decodeError(t, data); rsp.StatusCode != http.StatusUnauthorized || e.Error.Type != "UnauthorizedError" ||
		rsp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong key: %d %s", rsp.StatusCode, data)
	}
	rsp, data = post(t, srv, "bkt_missing", `{}`)
	if e := decodeError(t, data); rsp.StatusCode != http.StatusNotFound || e.Error.Type != "NotFoundError" {
		t.Errorf("unknown bucket: %d %s", rsp.StatusCode, data)
	}
	// Two servers share nothing.
	other := batchestest.NewServer(t)
	if other.APIKey == srv.APIKey || other.URL == srv.URL {
		t.Errorf("two servers share a key or a URL")
	}
}

func TestOptions(t *testing.T) {
	const key = "sk_test_chosen_key_0123456789"
	srv := batchestest.NewServer(t, batchestest.WithAPIKey(key), batchestest.WithNamespace("production"),
		batchestest.WithBucket("videos"), batchestest.WithTLS(), batchestest.WithContractCheck())
	if srv.APIKey != key || srv.Namespace != "production" || srv.Bucket != "videos" || !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("server %+v", srv)
	}
	srv.SeedBatches(srv.Bucket, 3)
	if p := listPage(t, srv, "videos", `{"limit": 2}`); len(p.Results) != 2 || p.TotalCount != 3 {
		t.Errorf("%d of %d", len(p.Results), p.TotalCount)
	}
}

func TestSeedBatches(t *testing.T) {
	srv := batchestest.NewServer(t)
	want := srv.SeedBatches(srv.Bucket, 45)
	if len(want) != 45 {
		t.Fatalf("%d batches", len(want))
	}
	got := listPage(t, srv, srv.Bucket, `{"limit": 1000}`)
	if got.TotalCount != 45 {
		t.Fatalf("total_count %d", got.TotalCount)
	}
	// A bucket seeded once lists exactly what SeedBatches returned.
	sameJSON(t, "listed batches", got.Results, want)

	statuses := map[batches.TaskStatus]int{}
	types := map[batches.BatchType]int{}
	for i, b := range want {
		statuses[b.Status]++
		types[b.Type]++
		if b.BucketID != srv.Bucket || !strings.HasPrefix(b.BatchID, "btch_") || len(b.BatchID) != 17 {
			t.Errorf("batch %d: bucket %q, id %q", i, b.BucketID, b.BatchID)
		}
		if b.UpdatedAt.Before(b.CreatedAt) {
			t.Errorf("batch %d updated before it was created", i)
		}
		if i > 0 && !b.CreatedAt.Before(want[i-1].CreatedAt) {
			t.Errorf("batch %d is not older than batch %d", i, i-1)
		}
		if b.Status == batches.TaskStatusFailed && b.Error == nil {
			t.Errorf("batch %d FAILED without an error", i)
		}
		if b.Status == batches.TaskStatusCompletedWithErrors && len(b.ErrorSummary) == 0 {
			t.Errorf("batch %d COMPLETED_WITH_ERRORS without an error_summary", i)
		}
	}
	for _, s := range batches.TaskStatuses() {
		if statuses[s] == 0 {
			t.Errorf("no %s batch among 45", s)
		}
	}
	if statuses[batches.TaskStatusCompleted] < 15 || types[batches.BatchTypeCollection] == 0 {
		t.Errorf("statuses %v, types %v", statuses, types)
	}
	// The server filters them as it would any batches.
	failed := listPage(t, srv, srv.Bucket, `{"status": "FAILED"}`)
	if int(failed.TotalCount) != statuses[batches.TaskStatusFailed] {
		t.Errorf("FAILED: total_count %d, want %d", failed.TotalCount, statuses[batches.TaskStatusFailed])
	}

	// Seeded later lists first; another bucket is apart.
	newer := srv.SeedBatches(srv.Bucket, 2)
	got = listPage(t, srv, srv.Bucket, `{"limit": 3}`)
	sameJSON(t, "after a second seed", got.Results, append(slices.Clone(newer), want[0]))
	other := srv.AddBucket("", "")
	srv.SeedBatches(other, 4)
	if p := listPage(t, srv, other, `{}`); p.TotalCount != 4 {
		t.Errorf("other bucket: total_count %d", p.TotalCount)
	}
	if p := listPage(t, srv, srv.Bucket, `{}`); p.TotalCount != 47 {
		t.Errorf("first bucket: total_count %d", p.TotalCount)
	}
}

func TestNewBatches(t *testing.T) {
	newest := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	bs := batchestest.NewBatches(25, newest)
	again := batchestest.NewBatches(25, newest)
	for i, b := range bs {
		if !b.CreatedAt.Equal(newest.Add(-time.Duration(i)*time.Minute)) || b.CreatedAt.Location() != time.UTC {
			t.Errorf("batch %d created %v", i, b.CreatedAt)
		}
		if b.UpdatedAt.After(newest) || b.UpdatedAt.Before(b.CreatedAt) {
			t.Errorf("batch %d updated %v", i, b.UpdatedAt)
		}
		if b.BatchID == again[i].BatchID || b.BucketID != "" {
			t.Errorf("batch %d: id %q (again %q), bucket %q", i, b.BatchID, again[i].BatchID, b.BucketID)
		}
		// Everything but the id follows from i.
		a := again[i]
		a.BatchID = b.BatchID
		sameJSON(t, fmt.Sprintf("batch %d", i), a, b)
	}
	if len(batchestest.NewBatches(0, newest)) != 0 || len(batchestest.NewBatches(-1, newest)) != 0 {
		t.Error("NewBatches(0 or less) is not empty")
	}
}

func TestAddBatches(t *testing.T) {
	srv := batchestest.NewServer(t)
	created := time.Date(2024, 3, 4, 5, 6, 7, 891011121, time.FixedZone("CET", 3600))
	task := "task_abc"
	added := srv.AddBatches(srv.Bucket,
		batches.Batch{},
		batches.Batch{
			BatchID: "btch_chosen00001", Status: batches.TaskStatusCompleted, CreatedAt: created,
			TaskID: &task, CollectionIDs: []string{}, ErrorSummary: map[string]int{},
			Metadata: map[string]any{"n": 3, "nested": map[string]any{"ok": true}},
		},
		batches.Batch{Status: batches.TaskStatusFailed},
	)
	if len(added) != 3 {
		t.Fatalf("%d returned", len(added))
	}
	// Defaults: an id, DRAFT, BUCKET, 1 tier, the seed clock, UpdatedAt =
	// CreatedAt, [] and {}.
	d := added[0]
	if !strings.HasPrefix(d.BatchID, "btch_") || d.Status != batches.TaskStatusDraft || d.Type != batches.BatchTypeBucket ||
		d.TotalTiers != 1 || !d.CreatedAt.Equal(time.Date(2025, 6, 1, 12, 1, 0, 0, time.UTC)) || !d.UpdatedAt.Equal(d.CreatedAt) ||
		d.ObjectIDs == nil || d.Metadata == nil || d.CollectionIDs != nil || d.ErrorSummary != nil || d.BucketID != srv.Bucket {
		t.Errorf("defaults: %+v", d)
	}
	if !added[2].CreatedAt.Equal(d.CreatedAt.Add(time.Minute)) {
		t.Errorf("the third batch is created %v, want a tick after the first", added[2].CreatedAt)
	}
	if c := added[1]; c.BatchID != "btch_chosen00001" || !c.CreatedAt.Equal(created) || c.CreatedAt.Location() != time.UTC ||
		c.Metadata["n"] != 3.0 {
		t.Errorf("given: %+v", c)
	}
	got := listPage(t, srv, srv.Bucket, `{}`)
	// Newest first: the seed clock's two, then the one of 2024.
	sameJSON(t, "listed", got.Results, []batches.Batch{added[2], added[0], added[1]})

	// Seeding goes on after the newest seeded so far.
	next := srv.SeedBatches(srv.Bucket, 1)
	if !next[0].CreatedAt.Equal(added[2].CreatedAt.Add(time.Minute)) {
		t.Errorf("SeedBatches after AddBatches created %v", next[0].CreatedAt)
	}
}

// fakeT is a testing.TB whose Fatal ends the calling goroutine and is
// recorded, for the failures of the package's own methods.
type fakeT struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = append(f.failed, fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// fails runs f with a fakeT over t and returns what it failed with.
func fails(t *testing.T, f func(t testing.TB)) []string {
	t.Helper()
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ft)
	}()
	<-done
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.failed
}

func TestSeedingErrorsFailTheTest(t *testing.T) {
	srv := batchestest.NewServer(t)
	first := srv.AddBatches(srv.Bucket, batches.Batch{BatchID: "btch_taken000001"})
	for _, tc := range []struct {
		name string
		f    func(*batchestest.Server)
		want string
	}{
		{"duplicate id", func(s *batchestest.Server) { s.AddBatches(srv.Bucket, first[0]) }, "already exists"},
		{"id repeated", func(s *batchestest.Server) {
			s.AddBatches(srv.Bucket, batches.Batch{BatchID: "btch_twice000001"}, batches.Batch{BatchID: "btch_twice000001"})
		}, "already exists"},
		{"bad status", func(s *batchestest.Server) { s.AddBatches(srv.Bucket, batches.Batch{Status: "DONE"}) }, "TaskStatus"},
		{"unknown bucket", func(s *batchestest.Server) { s.AddBatches("bkt_missing", batches.Batch{}) }, "not found"},
		{"unencodable metadata", func(s *batchestest.Server) {
			s.AddBatches(srv.Bucket, batches.Batch{Metadata: map[string]any{"f": func() {}}})
		}, "metadata"},
		{"bucket id taken", func(s *batchestest.Server) { s.AddBucket("", srv.Bucket) }, "already exists"},
		{"unknown namespace", func(s *batchestest.Server) { s.AddBucket("nope", "") }, "not found"},
		{"namespace taken", func(s *batchestest.Server) { s.AddNamespace(srv.Namespace) }, "already exists"},
		{"bad fault", func(s *batchestest.Server) { s.Inject(batchestest.Status(99)) }, "Status 99"},
		{"retry-after without status", func(s *batchestest.Server) { s.Inject(batchestest.Fault{RetryAfter: "1"}) }, "without a Status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s *batchestest.Server
			got := fails(t, func(ft testing.TB) {
				// The server's methods report to the TB it was made with;
				// a server over the fake reports to the fake.
				s = batchestest.NewServer(ft, batchestest.WithBucket(srv.Bucket))
				s.AddBatches(srv.Bucket, first[0])
				tc.f(s)
			})
			if len(got) != 1 || !strings.Contains(got[0], tc.want) || !strings.HasPrefix(got[0], "batchestest: ") {
				t.Errorf("failed with %q, want one failure containing %q", got, tc.want)
			}
			// Nothing of a failed AddBatches is stored.
			if p := listPage(t, s, srv.Bucket, `{}`); p.TotalCount != 1 {
				t.Errorf("total_count %d after a failed seed, want 1", p.TotalCount)
			}
		})
	}
	if got := fails(t, func(ft testing.TB) { batchestest.NewServer(ft, batchestest.WithAPIKey("short")) }); len(got) != 1 ||
		!strings.Contains(got[0], "WithAPIKey") {
		t.Errorf("short key: %q", got)
	}
}

func TestAddNamespaceBucketKey(t *testing.T) {
	srv := batchestest.NewServer(t)
	nsID := srv.AddNamespace("staging")
	b := srv.AddBucket("staging", "bkt_staging")
	if b != "bkt_staging" || !strings.HasPrefix(nsID, "ns_") {
		t.Fatalf("bucket %q, namespace %q", b, nsID)
	}
	srv.SeedBatches(b, 2)
	key := srv.AddAPIKey()
	for _, ns := range []string{"staging", nsID} {
		rsp, data := post(t, srv, b, `{}`, func(r *http.Request) {
			r.Header.Set("X-Namespace", ns)
			r.Header.Set("Authorization", "Bearer "+key)
		})
		if rsp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"total_count":2`) {
			t.Errorf("namespace %s: %d %s", ns, rsp.StatusCode, data)
		}
	}
	// The bucket is in staging only.
	if rsp, _ := post(t, srv, b, `{}`); rsp.StatusCode != http.StatusNotFound {
		t.Errorf("bucket of staging in the default namespace: %d", rsp.StatusCode)
	}
}

func TestFaultsAnswerErrorResponses(t *testing.T) {
	srv := batchestest.NewServer(t)
	srv.Inject(
		batchestest.RateLimited(1500*time.Millisecond),
		batchestest.Status(http.StatusInternalServerError),
		batchestest.Unavailable(0),
		batchestest.Status(http.StatusServiceUnavailable),
		batchestest.Status(418),
	)
	for _, want := range []struct {
		status     int
		typ        string
		retryAfter string
	}{
		{429, "TooManyRequestsError", "2"},
		{500, "InternalServerError", ""},
		{503, "ServiceUnavailableError", "0"},
		{503, "ServiceUnavailableError", ""},
		{418, "Error418", ""},
	} {
		rsp, data := post(t, srv, srv.Bucket, `{}`)
		e := decodeError(t, data)
		if rsp.StatusCode != want.status || e.Status != want.status || e.Success || e.Error.Type != want.typ ||
			e.Error.Message != http.StatusText(want.status) || e.Error.Details["injected_by"] != "batchestest" {
			t.Errorf("got %d %s, want %d %s", rsp.StatusCode, data, want.status, want.typ)
		}
		if ct, ra := rsp.Header.Get("Content-Type"), rsp.Header.Get("Retry-After"); ct != "application/json" || ra != want.retryAfter {
			t.Errorf("%d: Content-Type %q, Retry-After %q; want application/json, %q", want.status, ct, ra, want.retryAfter)
		}
		if batchestest.ErrorType(want.status) != want.typ {
			t.Errorf("ErrorType(%d) = %q", want.status, batchestest.ErrorType(want.status))
		}
	}
	// The queue is empty: the real server answers again.
	if rsp, data := post(t, srv, srv.Bucket, `{}`); rsp.StatusCode != http.StatusOK {
		t.Errorf("after the faults: %d %s", rsp.StatusCode, data)
	}
	if srv.Requests() != 6 || srv.PendingFaults() != 0 {
		t.Errorf("%d requests, %d faults pending", srv.Requests(), srv.PendingFaults())
	}
}

func TestFaultBodyAndHeaders(t *testing.T) {
	srv := batchestest.NewServer(t)
	const page = "<html><body>502 Bad Gateway</body></html>"
	srv.Inject(batchestest.Fault{
		Status:     http.StatusBadGateway,
		RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT",
		Header:     http.Header{"Content-Type": {"text/html"}, "X-Proxy": {"edge-1"}},
		Body:       []byte(page),
	})
	rsp, data := post(t, srv, srv.Bucket, `{}`)
	if rsp.StatusCode != http.StatusBadGateway || string(data) != page || rsp.Header.Get("Content-Type") != "text/html" ||
		rsp.Header.Get("X-Proxy") != "edge-1" || rsp.Header.Get("Retry-After") != "Wed, 21 Oct 2015 07:28:00 GMT" {
		t.Errorf("got %d %v %s", rsp.StatusCode, rsp.Header, data)
	}
}

func TestFaultPathAndOrder(t *testing.T) {
	srv := batchestest.NewServer(t)
	other := srv.AddBucket("", "bkt_other")
	srv.Inject(batchestest.Fault{Path: batchestest.ListPath(other), Status: 500}, batchestest.Status(503))
	// The first request, to the default bucket, passes the fault of the
	// other bucket and takes the one for every path.
	if rsp, _ := post(t, srv, srv.Bucket, `{}`); rsp.StatusCode != 503 {
		t.Errorf("default bucket: %d, want 503", rsp.StatusCode)
	}
	if rsp, _ := post(t, srv, srv.Bucket, `{}`); rsp.StatusCode != 200 {
		t.Errorf("default bucket again: %d, want 200", rsp.StatusCode)
	}
	if srv.PendingFaults() != 1 {
		t.Errorf("%d faults pending, want the other bucket's", srv.PendingFaults())
	}
	if rsp, _ := post(t, srv, other, `{}`); rsp.StatusCode != 500 {
		t.Errorf("other bucket: %d, want 500", rsp.StatusCode)
	}
	if srv.RequestsFor(batchestest.ListPath(srv.Bucket)) != 2 || srv.RequestsFor(batchestest.ListPath(other)) != 1 || srv.Requests() != 3 {
		t.Errorf("requests: %d, %d, %d", srv.RequestsFor(batchestest.ListPath(srv.Bucket)), srv.RequestsFor(batchestest.ListPath(other)), srv.Requests())
	}
	srv.InjectN(3, batchestest.Status(500))
	if n := srv.ClearFaults(); n != 3 || srv.PendingFaults() != 0 {
		t.Errorf("ClearFaults = %d, then %d pending", n, srv.PendingFaults())
	}
}

func TestDrop(t *testing.T) {
	srv := batchestest.NewServer(t)
	srv.Inject(batchestest.Drop())
	_, _, err := tryPost(context.Background(), srv, srv.Bucket, `{}`)
	if err == nil || !(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "reset")) {
		t.Fatalf("a dropped connection gave %v, want EOF or reset", err)
	}
	a := srv.Attempts()
	if len(a) != 1 || a[0].Fault == nil || !a[0].Fault.Drop || a[0].Status != 0 {
		t.Fatalf("attempts %+v", a)
	}
	if rsp, _ := post(t, srv, srv.Bucket, `{}`); rsp.StatusCode != 200 {
		t.Errorf("after the drop: %d", rsp.StatusCode)
	}
}

func TestSlow(t *testing.T) {
	srv := batchestest.NewServer(t)
	srv.SeedBatches(srv.Bucket, 1)
	// Slow, then served by the real server.
	srv.Inject(batchestest.Slow(20 * time.Millisecond))
	if p := listPage(t, srv, srv.Bucket, `{}`); p.TotalCount != 1 {
		t.Errorf("slow answer: total_count %d", p.TotalCount)
	}
	// A client that gives up first gets its own error, and nothing is
	// answered.
	srv.Inject(batchestest.Slow(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := tryPost(ctx, srv, srv.Bucket, `{}`); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the client's deadline", err)
	}
	// A delay before an error status.
	srv.Inject(batchestest.Fault{Delay: 10 * time.Millisecond, Status: 503})
	if rsp, _ := post(t, srv, srv.Bucket, `{}`); rsp.StatusCode != 503 {
		t.Errorf("delayed 503: %d", rsp.StatusCode)
	}
	a := srv.Attempts()
	if len(a) != 3 || a[0].Status != 200 || a[0].Fault.Delay != 20*time.Millisecond || a[2].Status != 503 {
		t.Fatalf("attempts %+v", a)
	}
}

func TestCloseEndsHeldRequests(t *testing.T) {
	srv := batchestest.NewServer(t)
	srv.Inject(batchestest.Slow(time.Hour), batchestest.Status(500))
	errc := make(chan error, 1)
	go func() {
		_, _, err := tryPost(context.Background(), srv, srv.Bucket, `{}`)
		errc <- err
	}()
	for srv.Requests() == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Close() // returns: the held request ends unanswered
	if err := <-errc; err == nil {
		t.Error("a request held at Close was answered")
	}
	if srv.PendingFaults() != 0 {
		t.Errorf("%d faults pending after Close", srv.PendingFaults())
	}
	if _, _, err := tryPost(context.Background(), srv, srv.Bucket, `{}`); err == nil {
		t.Error("a closed server answered")
	}
	srv.Close() // twice is fine
}

func TestAttemptsRecordRequests(t *testing.T) {
	srv := batchestest.NewServer(t)
	srv.Inject(batchestest.Status(503))
	post(t, srv, srv.Bucket, `{"limit": 5}`, func(r *http.Request) { r.Header.Set("User-Agent", "mine/1") })
	post(t, srv, srv.Bucket, `{"offset": 5}`)
	a := srv.Attempts()
	if len(a) != 2 {
		t.Fatalf("%d attempts", len(a))
	}
	if a[0].Method != "POST" || a[0].Path != batchestest.ListPath(srv.Bucket) || string(a[0].Body) != `{"limit": 5}` ||
		a[0].Header.Get("User-Agent") != "mine/1" || a[0].Header.Get("X-Namespace") != srv.Namespace ||
		a[0].Status != 503 || a[0].Fault == nil || a[0].Fault.Status != 503 || a[0].Time.IsZero() {
		t.Errorf("first attempt %+v", a[0])
	}
	if string(a[1].Body) != `{"offset": 5}` || a[1].Fault != nil || a[1].Status != 200 {
		t.Errorf("second attempt %+v", a[1])
	}
	// A copy: changing it changes nothing recorded.
	a[0].Header.Set("User-Agent", "changed")
	a[0].Body[0] = 'X'
	if b := srv.Attempts()[0]; b.Header.Get("User-Agent") != "mine/1" || b.Body[0] != '{' {
		t.Error("Attempts returned the record itself")
	}
	// A large body reaches the server whole; the record keeps its head.
	big := `{"limit": 1` + strings.Repeat(" ", batchestest.MaxRecordedBody) + `}`
	if p := listPage(t, srv, srv.Bucket, big); p.TotalCount != 0 {
		t.Errorf("large body: total_count %d", p.TotalCount)
	}
	if got := srv.Attempts()[2].Body; len(got) != batchestest.MaxRecordedBody || string(got[:11]) != `{"limit": 1` {
		t.Errorf("recorded %d bytes", len(got))
	}
}

// TestConcurrentFaults: each fault of a queue is taken by exactly one of
// many concurrent requests.
func TestConcurrentFaults(t *testing.T) {
	srv := batchestest.NewServer(t)
	srv.InjectN(10, batchestest.Status(503))
	const n = 40
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() {
			rsp, _, err := tryPost(context.Background(), srv, srv.Bucket, `{}`)
			if err != nil {
				t.Error(err)
				return
			}
			codes <- rsp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[503] != 10 || count[200] != n-10 || srv.Requests() != n || srv.PendingFaults() != 0 {
		t.Errorf("statuses %v, %d requests, %d pending", count, srv.Requests(), srv.PendingFaults())
	}
}

func TestContractCheckReportsBadRequests(t *testing.T) {
	got := fails(t, func(ft testing.TB) {
		srv := batchestest.NewServer(ft, batchestest.WithContractCheck())
		// limit 0 is below the contract's minimum: the server answers 422
		// and the check reports the request.
		req, _ := http.NewRequest(http.MethodPost, srv.URL+batchestest.ListPath(srv.Bucket), strings.NewReader(`{"limit": 0}`))
		req.Header.Set("Authorization", "Bearer "+srv.APIKey)
		req.Header.Set("X-Namespace", srv.Namespace)
		req.Header.Set("Content-Type", "application/json")
		rsp, err := srv.HTTPClient().Do(req)
		if err != nil {
			ft.Fatalf("%v", err)
		}
		rsp.Body.Close()
		if rsp.StatusCode != 422 {
			ft.Fatalf("status %d", rsp.StatusCode)
		}
	})
	if len(got) != 1 || !strings.Contains(got[0], "request does not conform to openapi.yaml") {
		t.Errorf("failures %q", got)
	}
}
