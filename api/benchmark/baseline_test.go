package benchmark_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/sqlite"
	"github.com/mixpeekgo/batches/generated/server"
)

// seeded returns the real handler over a database in t's temporary
// directory seeded with n batches.
func seeded(t testing.TB, n int) http.Handler {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := benchmark.Seed(ctx, db, n, nil); err != nil {
		t.Fatal(err)
	}
	h, err := api.NewHandler(db)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// post sends body (none when nil) to the List Batches path of srv and
// returns the status and the answer decoded as generic JSON.
func post(t *testing.T, srv *httptest.Server, body []byte) (int, any) {
	t.Helper()
	var r io.Reader = http.NoBody
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+benchmark.Path, r)
	if err != nil {
		t.Fatal(err)
	}
	benchmark.SetHeaders(req.Header)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("status %d, body not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

// generic is v encoded and decoded as generic JSON.
func generic(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&g); err != nil {
		t.Fatal(err)
	}
	return g
}

// The baseline answers the same pages as the real server, in the shape the
// contract gives; and the seeded bucket holds exactly what Batches says.
func TestBaselineAnswersAsTheServer(t *testing.T) {
	const n = 1200 // more than the 1000 of each filter the baseline keeps
	real := httptest.NewServer(apitest.Handler(t, seeded(t, n)))
	defer real.Close()
	baseline, err := benchmark.LoadBaseline(context.Background(), real.Client(), real.URL,
		benchmark.FilterStatus, server.TaskStatusFAILED)
	if err != nil {
		t.Fatal(err)
	}
	bare := httptest.NewServer(apitest.Handler(t, baseline))
	defer bare.Close()

	type request struct {
		status        server.TaskStatus
		offset, limit int
	}
	var requests []request
	for _, status := range []server.TaskStatus{"", benchmark.FilterStatus, server.TaskStatusFAILED} {
		for _, r := range []request{{"", 0, 1}, {"", 0, 100}, {"", 0, 1000}, {"", 7, 50}, {"", 990, 10}} {
			r.status = status
			requests = append(requests, r)
		}
	}
	// And the collection filter, from its own listing.
	for _, r := range []request{{"", 0, 1}, {"", 0, 100}, {"", 10, 5}} {
		t.Run(fmt.Sprintf("collection/offset=%d/limit=%d", r.offset, r.limit), func(t *testing.T) {
			body := benchmark.CollectionBody(benchmark.FilterCollection, int64(r.offset), r.limit)
			realStatus, want := post(t, real, body)
			bareStatus, got := post(t, bare, body)
			if realStatus != http.StatusOK || bareStatus != http.StatusOK || !reflect.DeepEqual(got, want) {
				t.Errorf("the baseline answers %d\n%v\nthe server %d\n%v", bareStatus, got, realStatus, want)
			}
		})
	}
	for _, r := range requests {
		t.Run(fmt.Sprintf("status=%s/offset=%d/limit=%d", r.status, r.offset, r.limit), func(t *testing.T) {
			body := benchmark.Body(r.status, int64(r.offset), r.limit)
			realStatus, want := post(t, real, body)
			bareStatus, got := post(t, bare, body)
			if realStatus != http.StatusOK || bareStatus != http.StatusOK {
				t.Fatalf("status %d from the server, %d from the baseline", realStatus, bareStatus)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the baseline answers\n%v\nthe server\n%v", got, want)
			}
			if r.status == "" {
				page := generic(t, map[string]any{"results": benchmark.Batches(r.offset, r.limit), "total_count": n})
				if !reflect.DeepEqual(page, want) {
					t.Errorf("the server answers\n%v\nBatches says\n%v", want, page)
				}
			}
		})
	}

	// No body: every status, offset 0, limit 100.
	_, want := post(t, real, nil)
	_, got := post(t, bare, nil)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("without a body the baseline answers\n%v\nthe server\n%v", got, want)
	}
	if results := got.(map[string]any)["results"].([]any); len(results) != batches.DefaultLimit {
		t.Errorf("without a body the baseline answers %d batches, want %d", len(results), batches.DefaultLimit)
	}
}

// The baseline answers GET, create and submit as the server does: the
// same batch, a draft of the same shape with the request's objects, the
// task of a submit.
func TestBaselineAnswersOperationsAsTheServer(t *testing.T) {
	real := httptest.NewServer(apitest.Handler(t, seeded(t, 50)))
	defer real.Close()
	ctx := context.Background()
	baseline, err := benchmark.LoadBaseline(ctx, real.Client(), real.URL)
	if err != nil {
		t.Fatal(err)
	}
	draft, task, err := benchmark.LoadOps(ctx, real.Client(), real.URL)
	if err != nil {
		t.Fatal(err)
	}
	baseline.SetOps(draft, task)
	bare := httptest.NewServer(apitest.Handler(t, baseline))
	defer bare.Close()

	id := benchmark.Batches(0, 1)[0].BatchID
	var fromServer, fromBaseline any
	if err := benchmark.Do(ctx, real.Client(), http.MethodGet, real.URL+benchmark.BatchPath(id), nil, &fromServer); err != nil {
		t.Fatal(err)
	}
	if err := benchmark.Do(ctx, bare.Client(), http.MethodGet, bare.URL+benchmark.BatchPath(id), nil, &fromBaseline); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromServer, fromBaseline) {
		t.Errorf("GET: the baseline answers\n%v\nthe server\n%v", fromBaseline, fromServer)
	}

	create := []byte(`{"object_ids":["obj_x","obj_y","obj_z"]}`)
	var created, bareCreated map[string]any
	if err := benchmark.Do(ctx, real.Client(), http.MethodPost, real.URL+benchmark.BatchesPath, create, &created); err != nil {
		t.Fatal(err)
	}
	if err := benchmark.Do(ctx, bare.Client(), http.MethodPost, bare.URL+benchmark.BatchesPath, create, &bareCreated); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]any{created, bareCreated} {
		for _, k := range []string{"batch_id", "created_at", "updated_at"} {
			delete(m, k) // a new id, and the time
		}
	}
	if !reflect.DeepEqual(created, bareCreated) {
		t.Errorf("create: the baseline answers\n%v\nthe server\n%v", bareCreated, created)
	}

	var submitted, bareSubmitted map[string]any
	if err := benchmark.Do(ctx, real.Client(), http.MethodPost, real.URL+benchmark.BatchPath(*draft.BatchId)+"/submit", nil, &submitted); err == nil {
		t.Error("a second submit of the same batch succeeded")
	}
	if err := benchmark.Do(ctx, bare.Client(), http.MethodPost, bare.URL+benchmark.BatchPath("btch_x")+"/submit", nil, &bareSubmitted); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(generic(t, task), generic(t, bareSubmitted)) {
		t.Errorf("submit: the baseline answers\n%v\nnot the server's\n%v", bareSubmitted, task)
	}
}
