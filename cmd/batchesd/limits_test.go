package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// TestIdleReleaseCountsOnlyAPIRequests: once the API has served requests
// and then none, the next look returns the memory, however many probes
// (/healthz, /readyz, /metrics) came in between; a look after API requests
// does not, nor one with nothing served since the last release.
func TestIdleReleaseCountsOnlyAPIRequests(t *testing.T) {
	db, err := sqlite.Open(t.Context(), t.TempDir()+"/b.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	demo, _, err := db.SeedDemo(t.Context(), "sk_test_idle_release_0123")
	if err != nil {
		t.Fatal(err)
	}
	idle := newIdleRelease()
	frees := 0
	idle.free = func() { frees++ }
	h, err := api.NewHandler(db, api.WithOnRequest(idle.request))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	list := func() {
		r := httptest.NewRequest(http.MethodPost, "/v1/buckets/"+demo.BucketID+"/batches/list", strings.NewReader(`{"limit":5}`))
		r.Header.Set("Authorization", "Bearer sk_test_idle_release_0123")
		r.Header.Set("X-Namespace", demo.NamespaceName)
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("list: %d %s", rec.Code, rec.Body)
		}
	}
	probes := func() { get("/healthz"); get("/readyz"); get("/metrics") }

	for i, step := range []struct {
		serve func()
		want  int // frees after the look
	}{
		{probes, 0},                             // nothing of the API yet
		{list, 0},                               // a burst
		{func() { list(); probes() }, 0},        // still busy
		{probes, 1},                             // only probes since: idle, freed
		{probes, 1},                             // nothing new to free
		{list, 1}, {nil, 2}, {nil, 2}, {nil, 2}, // another burst, freed once
	} {
		if step.serve != nil {
			step.serve()
		}
		idle.check()
		if frees != step.want {
			t.Fatalf("look %d: %d frees, want %d", i+1, frees, step.want)
		}
	}
}
