package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
)

// The admission of hostile clients' break-test: what one organization
// holds cannot make another's requests answer 503. Each test counts
// answers; none asserts a time.

// gauge returns the value of the metric line name{labels} of the server
// at url.
func gauge(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", series)
	return 0
}

// waitFor polls cond until it holds: it waits for an event, and asserts
// no bound on when it comes (the test's timeout does).
func waitFor(cond func() bool) {
	for !cond() {
		time.Sleep(5 * time.Millisecond)
	}
}

// slowBody opens a connection to addr that sends a List Batches request
// of key's bucket declaring a body of declared bytes, sends one byte of
// it, and no more until the test ends.
func slowBody(t *testing.T, addr, key, bucket string, declared int) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /v1/buckets/%s/batches/list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Namespace: production\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", bucket, key, declared)
}

// listAs sends a List Batches request of body for key's bucket to url and
// returns its status and body.
func listAs(t *testing.T, url, key, bucket, body string) (int, string) {
	t.Helper()
	status, _, b := listRaw(t, url, key, bucket, body)
	return status, strings.TrimSpace(b)
}

// listRaw sends a List Batches request of body for key's bucket to url,
// outside the contract check, and returns its status, headers and body.
func listRaw(t *testing.T, url, key, bucket, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/buckets/"+bucket+"/batches/list", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Namespace", "production")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// countStatuses sends n lists of key's bucket and counts their statuses.
func countStatuses(t *testing.T, url, key, bucket string, n int) map[int]int {
	t.Helper()
	got := map[int]int{}
	for range n {
		status, _ := listAs(t, url, key, bucket, `{"limit":5}`)
		got[status]++
	}
	return got
}

// TestSlowBodiesHoldNoSlot: an organization's connections that send
// their bodies a byte at a time, four times as many as there are slots,
// hold no slot (the body is read before the request takes one): another
// organization's requests are all answered 200, as are the slow
// organization's own requests whose bodies arrive. (The break-test's 64
// connections at a byte every 2 s had every other organization's request
// answer 503 for the 30 s of the read timeout.)
func TestSlowBodiesHoldNoSlot(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	h, err := api.NewHandler(f.db, api.WithMaxInFlight(4, 0), api.WithBodyRead(time.Hour, 1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close) // after the slow connections close (cleanups run last first)
	const slow = 16
	for range slow {
		slowBody(t, srv.Listener.Addr().String(), f.a.key, "bkt_a", 100)
	}
	waitFor(func() bool { return gauge(t, srv.URL, `batchesd_admission_in_use{gate="body_bytes"}`) == slow*100 })
	if n := gauge(t, srv.URL, `batchesd_admission_in_use{gate="requests"}`); n != 0 {
		t.Errorf("%v slots held while %d bodies arrive", n, slow)
	}
	if got := countStatuses(t, srv.URL, f.b.key, "bkt_b", 20); got[http.StatusOK] != 20 {
		t.Errorf("the other organization's 20 requests: %v, want all 200", got)
	}
	if got := countStatuses(t, srv.URL, f.a.key, "bkt_a", 20); got[http.StatusOK] != 20 {
		t.Errorf("the slow organization's 20 other requests: %v, want all 200", got)
	}
}

// TestSlowBodyCutOff: a body that falls behind its schedule answers 408
// RequestTimeoutError and its connection is closed; its reservation is
// given back.
func TestSlowBodyCutOff(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	h, err := api.NewHandler(f.db, api.WithBodyRead(50*time.Millisecond, 1000, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/buckets/bkt_a/batches/list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Namespace: production\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", f.a.key)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	const want = `{"error":{"details":{"declared_bytes":100,"grace_seconds":0.05,"max_seconds":3600,"min_bytes_per_second":1000,"received_bytes":1},"message":"The request body arrived too slowly: 1 of 100 bytes; a body must arrive within 50ms, plus 1 s for each 1000 bytes received, and within 1h0m0s","type":"RequestTimeoutError"},"status":408,"success":false}`
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close || strings.TrimSpace(string(body)) != want {
		t.Errorf("%d (close %v) %s\nwant 408, closed, %s", resp.StatusCode, resp.Close, body, want)
	}
	waitFor(func() bool { return gauge(t, srv.URL, `batchesd_admission_in_use{gate="body_bytes"}`) == 0 })
}

// TestOrganizationShareOfBodyMemory: an organization's bodies being read
// hold at most its share of the body memory: its next request answers 503
// (its share held), another organization's are served.
func TestOrganizationShareOfBodyMemory(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	h, err := api.NewHandler(f.db, api.WithBodyMemory(1000, 500), api.WithMaxInFlight(64, 0), api.WithBodyRead(time.Hour, 1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close) // after the slow connections close (cleanups run last first)
	for range 5 {
		slowBody(t, srv.Listener.Addr().String(), f.a.key, "bkt_a", 100)
	}
	waitFor(func() bool { return gauge(t, srv.URL, `batchesd_admission_in_use{gate="body_bytes"}`) == 500 })
	status, body := listAs(t, srv.URL, f.a.key, "bkt_a", `{"limit":5}`)
	const want = `{"error":{"details":{"body_memory_per_organization_bytes":500,"retry_after_seconds":1},"message":"The server is busy: this organization's request bodies being read hold its 500 bytes of them; try again in 1 s","type":"ServiceUnavailableError"},"status":503,"success":false}`
	if status != http.StatusServiceUnavailable || body != want {
		t.Errorf("the organization over its share: %d %s\nwant 503 %s", status, body, want)
	}
	if got := countStatuses(t, srv.URL, f.b.key, "bkt_b", 20); got[http.StatusOK] != 20 {
		t.Errorf("the other organization's 20 requests: %v, want all 200", got)
	}
}

// gateStore is a store whose lists of one bucket wait, each once it
// entered (it says so on entered), until release is closed.
type gateStore struct {
	domain.Store
	bucket  string
	entered chan struct{}
	release chan struct{}
}

func (s *gateStore) ListBatches(ctx context.Context, p domain.ListParams, dst []byte) ([]byte, int64, error) {
	if p.BucketID == s.bucket {
		s.entered <- struct{}{}
		<-s.release
	}
	return s.Store.ListBatches(ctx, p, dst)
}

// TestOrganizationShareOfSlots: an organization's requests hold at most
// its share of the slots; beyond it they answer 503 (its share held), and
// another organization's requests are all served.
func TestOrganizationShareOfSlots(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	store := &gateStore{Store: f.db, bucket: f.a.bucket.ID, entered: make(chan struct{}), release: make(chan struct{})}
	h, err := api.NewHandler(store, api.WithMaxInFlight(4, 0), api.WithMaxInFlightPerOrganization(2))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var wg sync.WaitGroup
	held := make(chan int, 2)
	for range 2 {
		wg.Go(func() {
			status, _ := listAs(t, srv.URL, f.a.key, "bkt_a", `{"limit":5}`)
			held <- status
		})
		<-store.entered
	}
	status, body := listAs(t, srv.URL, f.a.key, "bkt_a", `{"limit":5}`)
	const want = `{"error":{"details":{"max_in_flight_per_organization":2,"retry_after_seconds":1},"message":"The server is busy: this organization has 2 requests being served, its most at once, and more waiting; try again in 1 s","type":"ServiceUnavailableError"},"status":503,"success":false}`
	if status != http.StatusServiceUnavailable || body != want {
		t.Errorf("the organization over its share: %d %s\nwant 503 %s", status, body, want)
	}
	if got := countStatuses(t, srv.URL, f.b.key, "bkt_b", 20); got[http.StatusOK] != 20 {
		t.Errorf("the other organization's 20 requests: %v, want all 200", got)
	}
	close(store.release)
	wg.Wait()
	close(held)
	for s := range held {
		if s != http.StatusOK {
			t.Errorf("a held request: %d", s)
		}
	}
}

// addBucket adds to ten's namespace a bucket of n batches whose metadata
// holds pad bytes each.
func addBucket(t *testing.T, f *fixture, ten tenant, id string, n, pad int) {
	t.Helper()
	b, err := f.db.CreateBucket(t.Context(), ten.namespace.ID, id, id)
	if err != nil {
		t.Fatal(err)
	}
	bs := make([]domain.Batch, n)
	for i := range bs {
		at := time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC)
		bs[i] = domain.Batch{BatchID: fmt.Sprintf("btch_%s%04d", id[4:], i), Status: batches.TaskStatusCompleted, Type: batches.BatchTypeBucket,
			TotalTiers: 1, CreatedAt: at, UpdatedAt: at, Metadata: map[string]any{"pad": strings.Repeat("x", pad)}}
	}
	if err := f.db.InsertBatches(t.Context(), b.ID, bs); err != nil {
		t.Fatal(err)
	}
}

// TestOrganizationShareOfAnswerMemory: the answers of an organization
// being written hold at most its share of the answer memory: another of
// its large answers answers 503 (its share held), while another
// organization's large answers are served.
func TestOrganizationShareOfAnswerMemory(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	addBucket(t, f, f.b, "bkt_bbig", 300, 1000) // a page of about 330 KB
	h, err := api.NewHandler(f.db, api.WithAnswerMemory(1<<20), api.WithAnswerMemoryPerOrganization(100<<10))
	if err != nil {
		t.Fatal(err)
	}
	big := `{"limit":1000}` // bkt_a: 250 batches, about 100 KB
	slow := &blockingWriter{header: http.Header{}, entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() { h.ServeHTTP(slow, listRequest(f.a.key, big)); close(done) }()
	<-slow.entered

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, listRequest(f.a.key, big))
	const want = `{"error":{"details":{"answer_memory_per_organization_bytes":102400,"retry_after_seconds":1},"message":"The server is busy: this organization's answers being made and written hold its 102400 bytes of them; try again in 1 s","type":"ServiceUnavailableError"},"status":503,"success":false}`
	if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != want {
		t.Errorf("the organization over its share: %d %s\nwant 503 %s", rec.Code, rec.Body, want)
	}
	for range 5 {
		r := httptest.NewRequest(http.MethodPost, "/v1/buckets/bkt_bbig/batches/list", strings.NewReader(big))
		r.Header.Set("Authorization", "Bearer "+f.b.key)
		r.Header.Set("X-Namespace", "production")
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK || rec.Body.Len() < 300_000 {
			t.Errorf("the other organization's large page: %d, %d bytes", rec.Code, rec.Body.Len())
		}
	}
	close(slow.release)
	<-done
}

// TestPageReservesWhatItsBucketHolds: a page reserves by what its bucket
// holds (three times the bytes of the bucket, or of limit batches of its
// largest, whichever is less), not by the largest a batch may be (1000
// times 32 KiB): while a page of 1000 of a small bucket is written,
// another is served under an answer memory of 1 MiB (it used to reserve
// all of it), and each holds its page's size; a bucket of large batches
// reserves three times its bytes while its page is read.
func TestPageReservesWhatItsBucketHolds(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	addBucket(t, f, f.a, "bkt_alarge", 40, 15_000) // 40 batches of about 15 KB: a page of 600 KB
	store := &gateStore{Store: f.db, bucket: "bkt_alarge", entered: make(chan struct{}), release: make(chan struct{})}
	m := api.NewMetrics()
	h, err := api.NewHandler(store, api.WithAnswerMemory(4<<20), api.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	inUse := func() float64 {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		for line := range strings.Lines(rec.Body.String()) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), `batchesd_admission_in_use{gate="answer_bytes"} `); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		t.Fatal("no answer_bytes in the metrics")
		return 0
	}
	big := `{"limit":1000}`
	slow := &blockingWriter{header: http.Header{}, entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() { h.ServeHTTP(slow, listRequest(f.a.key, big)); close(done) }()
	<-slow.entered
	page := inUse()
	if page <= 64<<10 {
		t.Errorf("a page of about 100 KB being written holds %v bytes", page)
	}
	for range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, listRequest(f.a.key, big))
		if rec.Code != http.StatusOK || float64(rec.Body.Len()) != page {
			t.Errorf("another page of 1000 while one is written: %d, %d bytes (the first %v)", rec.Code, rec.Body.Len(), page)
		}
	}

	_, b, err := f.db.ResolveBucket(t.Context(), f.a.org.ID, "production", "bkt_alarge")
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan int)
	go func() {
		r := httptest.NewRequest(http.MethodPost, "/v1/buckets/bkt_alarge/batches/list", strings.NewReader(big))
		r.Header.Set("Authorization", "Bearer "+f.a.key)
		r.Header.Set("X-Namespace", "production")
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		read <- rec.Code
	}()
	<-store.entered
	if got, want := inUse()-page, float64(3*b.Sizes.PageBound(1000)); got != want {
		t.Errorf("a page of the bucket of large batches being read holds %v bytes, want 3 × %d", got, b.Sizes.PageBound(1000))
	}
	close(store.release)
	if code := <-read; code != http.StatusOK {
		t.Errorf("the page of large batches: %d", code)
	}
	close(slow.release)
	<-done
}

// TestRequestBodies: a Content-Encoding the server does not decode
// answers 415 naming it, before the body is read; a chunked body is read
// whole, beyond the first 64 KiB, and one over the limit answers 413.
func TestRequestBodies(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	h, err := api.NewHandler(f.db)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(body io.Reader, encoding string) (int, http.Header, string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/buckets/bkt_a/batches/list", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+f.a.key)
		req.Header.Set("X-Namespace", "production")
		req.Header.Set("Content-Type", "application/json")
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, strings.TrimSpace(string(b))
	}
	for _, enc := range []string{"gzip", "identity, br"} {
		status, header, body := do(strings.NewReader("\x1f\x8b"), enc)
		name := strings.TrimPrefix(enc, "identity, ")
		want := `{"error":{"details":{"content_encoding":"` + name + `","supported":["identity"]},"message":"Content-Encoding \"` + name + `\" is not supported: send the body as it is, not encoded (the server does not decode request bodies)","type":"UnsupportedMediaTypeError"},"status":415,"success":false}`
		if status != http.StatusUnsupportedMediaType || header.Get("Accept-Encoding") != "identity" || body != want {
			t.Errorf("Content-Encoding %s: %d, Accept-Encoding %q, %s\nwant 415 %s", enc, status, header.Get("Accept-Encoding"), body, want)
		}
	}
	if status, _, body := do(strings.NewReader(`{"limit":3}`), "identity"); status != http.StatusOK || !strings.Contains(body, `"total_count":250`) {
		t.Errorf("Content-Encoding identity: %d %.200s", status, body)
	}
	// Chunked: no Content-Length.
	chunked := func(s string) io.Reader { return io.MultiReader(strings.NewReader(s)) }
	if status, _, body := do(chunked(`{"limit":4,"pad":"`+strings.Repeat("p", 300_000)+`"}`), ""); status != http.StatusOK || strings.Count(body, `"batch_id"`) != 4 {
		t.Errorf("a chunked body of 300 KB: %d %.200s", status, body)
	}
	const tooLarge = `{"error":{"details":{"max_bytes":1048576},"message":"Request body is larger than 1048576 bytes","type":"PayloadTooLargeError"},"status":413,"success":false}`
	if status, _, body := do(chunked(`{"limit":4,"pad":"`+strings.Repeat("p", 1<<20)+`"}`), ""); status != http.StatusRequestEntityTooLarge || body != tooLarge {
		t.Errorf("a chunked body over 1 MiB: %d %s", status, body)
	}
}

// TestBusyOrganizationsLeaveOthersRoom: two organizations whose slow
// bodies hold all they may of the body memory (each its share, the second
// also what the reserve gives an organization holding little) leave a
// third room for its requests, which the common part alone would not (the
// break-test's two organizations at 32 MiB each had every body of a third
// answer 503). An organization past the reserve's half is refused with the
// gate's own answer.
func TestBusyOrganizationsLeaveOthersRoom(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	c := f.newTenant(t.Context(), "Third", "bkt_c", 10)
	// 1000 bytes, 500 an organization: 500 in common, a reserve of 500
	// that an organization holding less than 250 may take from.
	h, err := api.NewHandler(f.db, api.WithBodyMemory(1000, 500), api.WithMaxInFlight(64, 0), api.WithBodyRead(time.Hour, 1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	for range 5 { // a: the common 500
		slowBody(t, addr, f.a.key, "bkt_a", 100)
	}
	waitFor(func() bool { return gauge(t, srv.URL, `batchesd_admission_in_use{gate="body_bytes"}`) == 500 })
	for range 5 { // b: 300 of the reserve (it holds less than 250 before each of the first three), then no more
		slowBody(t, addr, f.b.key, "bkt_b", 100)
	}
	waitFor(func() bool { return gauge(t, srv.URL, `batchesd_admission_in_use{gate="body_bytes"}`) == 800 })
	time.Sleep(50 * time.Millisecond) // b's last two were refused, not waiting
	if got := gauge(t, srv.URL, `batchesd_admission_in_use{gate="body_bytes"}`); got != 800 {
		t.Fatalf("body bytes in use %v, want 800: a's 500 and b's 300", got)
	}
	// c holds nothing: its requests are served, one after another.
	if got := countStatuses(t, srv.URL, c.key, "bkt_c", 20); got[http.StatusOK] != 20 {
		t.Errorf("the third organization's 20 requests: %v, want all 200", got)
	}
	// b, holding 300 of the reserve, is refused: the budget is held for it.
	status, body := listAs(t, srv.URL, f.b.key, "bkt_b", `{"limit":5}`)
	const want = `{"error":{"details":{"body_memory_bytes":1000,"retry_after_seconds":1},"message":"The server is busy: the request bodies being read hold its 1000 bytes for them; try again in 1 s","type":"ServiceUnavailableError"},"status":503,"success":false}`
	if status != http.StatusServiceUnavailable || body != want {
		t.Errorf("the organization holding the reserve's half: %d %s\nwant 503 %s", status, body, want)
	}
}
