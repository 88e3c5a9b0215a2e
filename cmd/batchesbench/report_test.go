package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// A go test output of three runs each: the report takes medians and
// divides the baseline's time by each List's of the same filter and limit.
const goOutput = `goos: linux
goarch: amd64
pkg: github.com/mixpeekgo/batches/api/benchmark
cpu: Some CPU
BenchmarkList/1k/all/limit=100/offset=0-2   	100	 400000 ns/op	 630000 B/op	 7900 allocs/op	 100.0 batches/op
BenchmarkList/1k/all/limit=100/offset=0-2   	100	 900000 ns/op	 630000 B/op	 7900 allocs/op	 100.0 batches/op
BenchmarkList/1k/all/limit=100/offset=0-2   	100	 410000 ns/op	 630000 B/op	 7900 allocs/op	 100.0 batches/op
BenchmarkList/1M/all/limit=100/offset=0-2   	10	 1200000 ns/op	 630000 B/op	 7900 allocs/op	 100.0 batches/op
BenchmarkBaseline/all/limit=100-2           	1000	 200000 ns/op	 95000 B/op	 659 allocs/op	 100.0 batches/op
BenchmarkBaseline/all/limit=100-2           	1000	 205000 ns/op	 95000 B/op	 659 allocs/op	 100.0 batches/op
BenchmarkBaseline/all/limit=100-2           	1000	 100000 ns/op	 95000 B/op	 659 allocs/op	 100.0 batches/op
BenchmarkValidator/all/limit=100-2          	10000	 30000 ns/op	 9700 B/op	 70 allocs/op
PASS
`

func TestGoReportRatios(t *testing.T) {
	g, err := parseGoBench(strings.NewReader(goOutput))
	if err != nil {
		t.Fatal(err)
	}
	md := g.markdown()
	// Medians 410 µs and 200 µs: ratio 0.49.
	if !strings.Contains(md, "| List/1k/all/limit=100/offset=0 | 410 µs | 200 µs | 0.49 | 615.2 KiB | 7900 | 100 |") {
		t.Errorf("no row of List/1k/all/limit=100/offset=0 with the medians and their ratio in\n%s", md)
	}
	if !strings.Contains(md, "| List/1M/all/limit=100/offset=0 | 1.2 ms | 200 µs | 0.17 |") {
		t.Errorf("no row of List/1M/all/limit=100/offset=0 in\n%s", md)
	}
	targets := targetsMarkdown(g, nil)
	for _, want := range []string{
		"all: 2.93× (1.2 ms vs 410 µs) | **not met** |",
		"all, page read: 7.3% (validator 30 µs of 410 µs) | met |",
	} {
		if !strings.Contains(targets, want) {
			t.Errorf("targets lack %q:\n%s", want, targets)
		}
	}
}

func TestGoReportOfNothing(t *testing.T) {
	if _, err := parseGoBench(strings.NewReader("PASS\nok  \tx\t0.1s\n")); err == nil || !strings.Contains(err.Error(), "no benchmark results") {
		t.Errorf("an output without results: error %v, want no benchmark results", err)
	}
}

func TestWriteBetweenMarkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	prose := "# Benchmarks\n\nProse.\n\n" + beginMarker + "\nold figures\n" + endMarker + "\n\nMore prose.\n"
	if err := os.WriteFile(path, []byte(prose), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second write replaces the first
		if _, err := replaceBetweenMarkers(path, "new figures\n\n"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	want := "# Benchmarks\n\nProse.\n\n" + beginMarker + "\nnew figures\n" + endMarker + "\n\nMore prose.\n"
	if string(got) != want {
		t.Errorf("file is\n%s\nwant\n%s", got, want)
	}

	if err := os.WriteFile(path, []byte("# Benchmarks\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := replaceBetweenMarkers(path, "new figures")
	if err == nil || !strings.Contains(err.Error(), "has no line") {
		t.Errorf("a file without the markers: error %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "# Benchmarks\n" {
		t.Errorf("a file without the markers was changed: %q", got)
	}
}

// wrk runs the script against a real server and reports what it saw,
// answers of 400 and more counted apart.
func TestWrkScript(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	script := filepath.Join(t.TempDir(), "limit-2.lua")
	if err := os.WriteFile(script, []byte(wrkScript(2)), 0o644); err != nil {
		t.Fatal(err)
	}
	// wrk's connections are served on goroutines of their own.
	var seen struct {
		sync.Mutex
		body    string
		headers http.Header
		path    string
	}
	bl := benchmark.NewBaseline(map[server.TaskStatus]server.ListBatchesResponse{
		"": {Results: asServer(t, benchmark.Batches(0, 5)), TotalCount: 5},
	})
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen.Lock()
		seen.body, seen.headers, seen.path = string(b), r.Header.Clone(), r.URL.Path
		seen.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		bl.ServeHTTP(w, r)
	}))
	defer ok.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer failing.Close()

	e := &env{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard}
	res, err := runWrk(e, wrk, ok.URL, script, 2, 1, time.Second, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.StatusErrors != 0 || res.P50US <= 0 || res.P99US < res.P50US || res.DurationUS < 900000 {
		t.Errorf("against a server answering 200: %+v", res)
	}
	seen.Lock()
	path, body, headers := seen.path, seen.body, seen.headers
	seen.Unlock()
	if path != benchmark.Path || body != string(benchmark.Body("", 0, 2)) ||
		headers.Get("Authorization") != "Bearer "+benchmark.APIKey || headers.Get("X-Namespace") != benchmark.Namespace ||
		headers.Get("Content-Type") != "application/json" {
		t.Errorf("wrk sent %s with %q and headers %v", path, body, headers)
	}

	res, err = runWrk(e, wrk, failing.URL, script, 2, 1, time.Second, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.StatusErrors != res.Requests {
		t.Errorf("against a server answering 503: %d answers ≥ 400 of %d", res.StatusErrors, res.Requests)
	}
}

// The soak's row says how long it ran, and a clean soak shorter than the
// target's 30 s is not reported as meeting it; errors fail it however
// long it ran.
func TestSoakVerdict(t *testing.T) {
	for _, tc := range []struct {
		ran    time.Duration
		errors int64
		want   string
	}{
		{30 * time.Second, 0, "limit 100: 0 answers ≥ 400, 0 timeouts, 0 connect/read/write errors in 1000 requests; RSS 0 MiB before, 0 MiB after, peak 0 MiB | met |"},
		{5 * time.Second, 0, "for 5s at limit 100: 0 answers ≥ 400, 0 timeouts, 0 connect/read/write errors in 1000 requests; RSS 0 MiB before, 0 MiB after, peak 0 MiB | not measured at 30 s (ran 5s) |"},
		{5 * time.Second, 3, "3 answers ≥ 400, 0 timeouts, 0 connect/read/write errors in 1000 requests; RSS 0 MiB before, 0 MiB after, peak 0 MiB | **not met** |"},
	} {
		l := &loadRuns{connections: 64, soak: &loadRun{target: "batchesd", size: 1000, limit: 100,
			wrk: wrkResult{Requests: 1000, DurationUS: tc.ran.Microseconds(), StatusErrors: tc.errors}}}
		got := targetsMarkdown(nil, l)
		if !strings.Contains(got, tc.want) {
			t.Errorf("soak of %s with %d errors:\n%s\nwant it to contain %q", tc.ran, tc.errors, got, tc.want)
		}
	}
}

// asServer returns bs as the generated server's Batches, through their
// JSON, which is the same.
func asServer(t *testing.T, bs []domain.Batch) []server.Batch {
	t.Helper()
	data, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	var out []server.Batch
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
