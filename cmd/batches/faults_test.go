package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/batchestest"
)

// fakeAPI is the real server in-process (package batchestest) with n
// generated batches in its bucket, and the environment that points the CLI
// at it.
func fakeAPI(t *testing.T, n int) (*batchestest.Server, map[string]string) {
	t.Helper()
	srv := batchestest.NewServer(t, batchestest.WithContractCheck())
	srv.SeedBatches(srv.Bucket, n)
	return srv, env(srv)
}

// requestIDs matches the request ids the server makes, in an error line.
var requestIDs = regexp.MustCompile(`request id req_[A-Z0-9]+`)

// TestVerboseShowsRetries: -v logs each attempt to stderr, a retried one
// with its status and the delay before the next, and never the key.
func TestVerboseShowsRetries(t *testing.T) {
	srv, env := fakeAPI(t, 5)
	srv.Inject(batchestest.Unavailable(0), batchestest.RateLimited(0))
	r := runCLI(t, env, false, "-v", "--max-retry-delay", "5ms", "list", "--bucket", srv.Bucket)
	if r.code != exitOK || decodePage(t, r.stdout).TotalCount != 5 {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	path := regexp.QuoteMeta(batchestest.ListPath(srv.Bucket))
	want := []string{
		`^level=WARN msg="batches: request failed, retrying" method=POST path=` + path + ` status=503 duration=\S+ attempt=1 retry_in=0s$`,
		`^level=WARN msg="batches: request failed, retrying" method=POST path=` + path + ` status=429 duration=\S+ attempt=2 retry_in=0s$`,
		// The server's request id, which leads to its log line (the
		// faults injected in front of it answer without one).
		`^level=INFO msg="batches: request" method=POST path=` + path + ` status=200 duration=\S+ attempt=3 request_id=req_\w+$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(want), r.stderr)
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], w)
		}
	}
	if strings.Contains(r.stderr, srv.APIKey) || srv.Requests() != 3 {
		t.Errorf("the key on stderr, or %d requests", srv.Requests())
	}

	// Without -v the retries are silent.
	srv.Inject(batchestest.Status(500))
	r = runCLI(t, env, false, "--max-retry-delay", "1ms", "list", "--bucket", srv.Bucket)
	if r.code != exitOK || r.stderr != "" || srv.Requests() != 5 {
		t.Errorf("exit %d, stderr %q, %d requests", r.code, r.stderr, srv.Requests())
	}
	// A dropped connection shows its error in the log.
	srv.Inject(batchestest.Drop())
	r = runCLI(t, env, false, "-v", "--max-retry-delay", "1ms", "list", "--bucket", srv.Bucket)
	if r.code != exitOK || !strings.Contains(r.stderr, "status=0") || !strings.Contains(r.stderr, "error=") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestExitCodes: one exit status per kind of failure, as --help documents.
func TestExitCodes(t *testing.T) {
	srv, env := fakeAPI(t, 3)
	fast := []string{"--max-retry-delay", "1ms"}
	for _, tc := range []struct {
		name     string
		faults   []batchestest.Fault
		args     []string
		code     int
		stderr   string
		requests int
	}{
		{"success after a 503", []batchestest.Fault{batchestest.Status(503)}, nil, exitOK, "", 2},
		{"wrong key", nil, []string{"--api-key", "sk_test_wrongwrongwrongwrong"}, exitAuth, "(UnauthorizedError, HTTP 401, request id req_…)\n", 1},
		{"forbidden", []batchestest.Fault{batchestest.Status(403)}, nil, exitAuth, "error: Forbidden (ForbiddenError, HTTP 403)\n", 1},
		{"unknown namespace", nil, []string{"--namespace", "nope"}, exitNotFound, "(NotFoundError, HTTP 404, request id req_…)\n", 1},
		{"503 three times", []batchestest.Fault{batchestest.Status(503), batchestest.Status(503), batchestest.Status(503)}, nil,
			exitUnavailable, "error: Service Unavailable (ServiceUnavailableError, HTTP 503)\nerror: gave up after 3 attempts\n", 3},
		{"429 three times", []batchestest.Fault{batchestest.RateLimited(0), batchestest.RateLimited(0), batchestest.RateLimited(0)}, nil,
			exitUnavailable, "error: Too Many Requests (TooManyRequestsError, HTTP 429)\nerror: gave up after 3 attempts\n", 3},
		{"429 with a Retry-After past --max-retry-delay", []batchestest.Fault{batchestest.RateLimited(time.Minute)}, nil,
			exitUnavailable, "error: Too Many Requests (TooManyRequestsError, HTTP 429)\n" +
				"error: the server asks to wait 1m0s before trying again (Retry-After), more than --max-retry-delay 1ms: not retried\n", 1},
		{"500 without retries", []batchestest.Fault{batchestest.Status(500)}, []string{"--max-retries", "0"},
			exitUnavailable, "error: Internal Server Error (InternalServerError, HTTP 500)\n", 1},
		{"connection dropped three times", []batchestest.Fault{batchestest.Drop(), batchestest.Drop(), batchestest.Drop()}, nil,
			exitUnavailable, "/batches/list\": EOF\nerror: gave up after 3 attempts\n", 3},
		{"400 from the API", []batchestest.Fault{batchestest.Status(400)}, nil, exitFailure, "error: Bad Request (BadRequestError, HTTP 400)\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ClearFaults()
			srv.Inject(tc.faults...)
			before := srv.Requests()
			args := append(append(append([]string{}, fast...), tc.args...), "list", "--bucket", srv.Bucket)
			r := runCLI(t, env, false, args...)
			r.stderr = requestIDs.ReplaceAllString(r.stderr, "request id req_…")
			if r.code != tc.code || !strings.HasSuffix(r.stderr, tc.stderr) || srv.Requests()-before != tc.requests {
				t.Errorf("exit %d after %d requests, stderr %q; want %d after %d, stderr ending %q",
					r.code, srv.Requests()-before, r.stderr, tc.code, tc.requests, tc.stderr)
			}
			if (r.code == exitOK) != (r.stdout != "") {
				t.Errorf("exit %d with stdout %q", r.code, r.stdout)
			}
		})
	}

	// A server that is gone: a network error.
	gone := batchestest.NewServer(t)
	gone.Close()
	env = map[string]string{"MIXPEEK_API_KEY": gone.APIKey, "MIXPEEK_NAMESPACE": gone.Namespace, "MIXPEEK_BASE_URL": gone.URL}
	r := runCLI(t, env, false, "--max-retries", "0", "list", "--bucket", gone.Bucket)
	if r.code != exitUnavailable || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("server gone: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestInterrupted(t *testing.T) {
	srv, env := fakeAPI(t, 1)
	srv.Inject(batchestest.Slow(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result)
	go func() {
		var stdout, stderr strings.Builder
		code := run(ctx, []string{"list", "--bucket", srv.Bucket}, func(k string) string { return env[k] }, &stdout, &stderr, nil)
		done <- result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}()
	for srv.Requests() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	r := <-done
	if r.code != exitInterrupted || r.stderr != "error: interrupted\n" || r.stdout != "" || srv.Requests() != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q after %d requests", r.code, r.stdout, r.stderr, srv.Requests())
	}
}

// TestJSONL: -o jsonl writes one batch a line, each as the server sent it.
func TestJSONL(t *testing.T) {
	srv, env := fakeAPI(t, 30)
	r := runCLI(t, env, true, "list", "--bucket", srv.Bucket, "--limit", "7", "--offset", "3", "-o", "jsonl")
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	page := decodePage(t, runCLI(t, env, false, "list", "--bucket", srv.Bucket, "--limit", "7", "--offset", "3").stdout)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines:\n%s", len(lines), r.stdout)
	}
	for i, l := range lines {
		want, _ := json.Marshal(page.Results[i])
		if !jsonEqual(t, l, string(want)) {
			t.Errorf("line %d %s, want %s", i, l, want)
		}
	}

	// --all: every batch, in the order of --all -o json.
	r = runCLI(t, env, false, "list", "--bucket", srv.Bucket, "--all", "--limit", "4", "-o", "jsonl")
	all := decodePage(t, runCLI(t, env, false, "list", "--bucket", srv.Bucket, "--all").stdout)
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != exitOK || len(lines) != 30 || len(all.Results) != 30 {
		t.Fatalf("exit %d, %d lines, %d batches", r.code, len(lines), len(all.Results))
	}
	for i, l := range lines {
		var b struct {
			BatchID string `json:"batch_id"`
		}
		if err := json.Unmarshal([]byte(l), &b); err != nil || b.BatchID != all.Results[i].BatchID {
			t.Errorf("line %d %s, want batch %s", i, l, all.Results[i].BatchID)
		}
	}
	// An empty page prints nothing.
	r = runCLI(t, env, false, "list", "--bucket", srv.Bucket, "--offset", "30", "-o", "jsonl")
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("empty page: exit %d, stdout %q", r.code, r.stdout)
	}
}

// TestAllFailsWhole: when a page of --all fails for good, -o json and
// table print nothing, and -o jsonl keeps the lines it streamed before and
// says the listing is incomplete; all exit non-zero.
func TestAllFailsWhole(t *testing.T) {
	srv, env := fakeAPI(t, 25)
	// The first two pages pass; the third fails every attempt.
	third := []batchestest.Fault{{}, {}, batchestest.Status(500), batchestest.Status(500), batchestest.Status(500)}
	for _, out := range []string{"json", "table"} {
		srv.Inject(third...)
		r := runCLI(t, env, false, "--max-retry-delay", "1ms", "list", "--bucket", srv.Bucket, "--all", "--limit", "10", "-o", out)
		if r.code != exitUnavailable || r.stdout != "" || !strings.Contains(r.stderr, "HTTP 500") {
			t.Errorf("-o %s: exit %d, stdout %q, stderr %q", out, r.code, r.stdout, r.stderr)
		}
	}
	srv.Inject(third...)
	r := runCLI(t, env, false, "--max-retry-delay", "1ms", "list", "--bucket", srv.Bucket, "--all", "--limit", "10", "-o", "jsonl")
	if n := strings.Count(r.stdout, "\n"); r.code != exitUnavailable || n != 20 ||
		!strings.HasSuffix(r.stderr, "error: the listing is incomplete: 20 batches were written before the error\n") {
		t.Errorf("-o jsonl: exit %d, %d lines, stderr %q", r.code, n, r.stderr)
	}
	if srv.PendingFaults() != 0 {
		t.Errorf("%d faults left", srv.PendingFaults())
	}
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

// TestAllAllowsNewBatches: a page that repeats batches because as many
// were created during the walk is not taken for a server that ignores the
// offset: the walk goes on and lists every batch that was there when it
// started.
func TestAllAllowsNewBatches(t *testing.T) {
	srv, _ := fakeAPI(t, 12)
	before := decodePage(t, runCLI(t, env(srv), false, "list", "--bucket", srv.Bucket, "--all").stdout)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	for i, created := range []int{4, 2, 9} {
		t.Run(fmt.Sprint(created), func(t *testing.T) {
			var n atomic.Int64
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 2 {
					// Before the second page: batches newer than all
					// (each set a day after the one before).
					var lines bytes.Buffer
					for _, b := range batchestest.NewBatches(created, time.Now().Add(time.Duration(i+1)*24*time.Hour)) {
						data, _ := json.Marshal(b)
						lines.Write(append(data, '\n'))
					}
					if _, err := srv.DB().ImportBatches(r.Context(), srv.Bucket, &lines, api.BatchSchema()); err != nil {
						t.Error(err)
					}
				}
				proxy.ServeHTTP(w, r)
			}))
			defer front.Close()
			e := env(srv)
			e["MIXPEEK_BASE_URL"] = front.URL
			r := runCLI(t, e, false, "list", "--bucket", srv.Bucket, "--all", "--limit", "4", "-o", "json")
			if r.code != exitOK {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			// Every batch there at the start, once; more than a page of
			// new ones puts some of them after the walk's offset, where
			// it lists them too.
			got := ids(decodePage(t, r.stdout).Results)
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Errorf("%s listed twice", id)
				}
				seen[id] = true
			}
			for _, id := range ids(before.Results) {
				if !seen[id] {
					t.Errorf("%s, there at the start, not listed", id)
				}
			}
			if created <= 4 && len(got) != len(before.Results) {
				t.Errorf("listed %d, want the %d there at the start", len(got), len(before.Results))
			}
		})
		before = decodePage(t, runCLI(t, env(srv), false, "list", "--bucket", srv.Bucket, "--all").stdout)
	}
}

func env(srv *batchestest.Server) map[string]string {
	return map[string]string{
		"MIXPEEK_API_KEY":   srv.APIKey,
		"MIXPEEK_NAMESPACE": srv.Namespace,
		"MIXPEEK_BASE_URL":  srv.URL,
	}
}

// TestAllAllowsDeletions: after batches ahead of the walk are deleted,
// the iterator steps back and reads pages of batches it has yielded; that
// is not a server ignoring the offset.
func TestAllAllowsDeletions(t *testing.T) {
	srv, e := fakeAPI(t, 12)
	all := ids(decodePage(t, runCLI(t, e, false, "list", "--bucket", srv.Bucket, "--all").stdout).Results)
	db, err := sql.Open("sqlite", srv.DB().Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var n atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 3 {
			// Before the third page of 4: the last 4 go, so the page at
			// offset 8 is empty, total_count falls to 8, and the iterator
			// reads offset 4 again.
			for _, id := range all[8:] {
				if _, err := db.ExecContext(r.Context(), `DELETE FROM batches WHERE id = ?`, id); err != nil {
					t.Error(err)
				}
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	e["MIXPEEK_BASE_URL"] = front.URL
	r := runCLI(t, e, false, "list", "--bucket", srv.Bucket, "--all", "--limit", "4", "-o", "jsonl")
	if r.code != exitOK || strings.Count(r.stdout, "\n") != 8 || n.Load() != 4 {
		t.Fatalf("exit %d after %d requests, %d lines, stderr %q", r.code, n.Load(), strings.Count(r.stdout, "\n"), r.stderr)
	}
}
