package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/generated/client"
)

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command with args and only the environment in env.
func runCLI(t *testing.T, env map[string]string, isTerminal bool, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var tty *terminal
	if isTerminal {
		tty = &terminal{width: func() int { return 80 }}
	}
	code := run(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr, tty)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// fakeServer answers every request with h and counts the requests.
func fakeServer(t *testing.T, h http.HandlerFunc) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func fakeEnv(url string) map[string]string {
	return map[string]string{
		"MIXPEEK_API_KEY":   "sk_test_fake0000000000",
		"MIXPEEK_NAMESPACE": "demo",
		"MIXPEEK_BASE_URL":  url,
	}
}

// fakeBatch is a batch as the API sends it.
func fakeBatch(i int) map[string]any {
	ts := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Minute).Format(time.RFC3339)
	return map[string]any{
		"batch_id": fmt.Sprintf("btch_%012d", i), "bucket_id": "bkt_demo", "status": "COMPLETED",
		"object_ids": []string{"obj_1"}, "collection_ids": nil, "error": nil, "error_summary": nil,
		"type": "BUCKET", "task_id": nil, "metadata": map[string]any{}, "current_tier": nil,
		"total_tiers": 1, "created_at": ts, "updated_at": ts,
	}
}

func writeBody(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func TestHelp(t *testing.T) {
	r := runCLI(t, nil, false, "list", "--help")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"--bucket", "--status", "--offset", "--limit", "--all", "--output",
		"PENDING", "COMPLETED_WITH_ERRORS", "SUSPENDED", "1..1000",
		"MIXPEEK_API_KEY", "MIXPEEK_NAMESPACE", "MIXPEEK_BASE_URL", "https://api.mixpeek.com",
		"jsonl", "--max-retries", "--max-retry-delay", "--verbose", "Retry-After",
		"Exit status:", "0    success", "1    other failure", "2    usage error", "3    authentication",
		"4    not found", "5    server error or server unreachable", "130  interrupted", "Stdout closed early by its reader (| head) ends the command with status 0",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestTaskStatusesMatchContract(t *testing.T) {
	seen := map[client.TaskStatus]bool{}
	for _, s := range batches.TaskStatuses() {
		if cs := client.TaskStatus(s); !cs.Valid() || seen[cs] {
			t.Errorf("status %q invalid or repeated", s)
		}
		seen[client.TaskStatus(s)] = true
	}
	// The generated enum of openapi.yaml: every value, once.
	if len(seen) != 13 || client.TaskStatus("BOGUS").Valid() {
		t.Fatalf("%d statuses", len(seen))
	}
}

func TestUsageErrorsSendNothing(t *testing.T) {
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 200, "application/json", `{"results":[],"total_count":0}`)
	})
	env := fakeEnv(url)
	noKey := fakeEnv(url)
	delete(noKey, "MIXPEEK_API_KEY")
	noNS := fakeEnv(url)
	noNS["MIXPEEK_NAMESPACE"] = ""
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"bad status", env, []string{"list", "--bucket", "bkt_demo", "--status", "DONE"}, []string{`--status "DONE"`, "PENDING", "COMPLETED_WITH_ERRORS", "SUSPENDED"}},
		{"limit zero", env, []string{"list", "--bucket", "bkt_demo", "--limit", "0"}, []string{"--limit must be between 1 and 1000, got 0"}},
		{"limit too big", env, []string{"list", "--bucket", "bkt_demo", "--limit", "1001"}, []string{"error: listBatches: limit 1001 is more than 1000"}},
		{"limit not a number", env, []string{"list", "--bucket", "bkt_demo", "--limit", "ten"}, []string{"--limit"}},
		{"negative offset", env, []string{"list", "--bucket", "bkt_demo", "--offset=-1"}, []string{"error: listBatches: offset -1 is negative; it must be 0 or more"}},
		{"negative offset as a flag", env, []string{"list", "--bucket", "bkt_demo", "--offset", "-1"}, []string{"--offset"}},
		{"no bucket", env, []string{"list"}, []string{"--bucket"}},
		{"empty bucket", env, []string{"list", "--bucket", " "}, []string{"error: listBatches: the bucket identifier is empty"}},
		{"empty status", env, []string{"list", "--bucket", "bkt_demo", "--status", ""}, []string{`--status "" is not a batch status`}},
		{"empty collection", env, []string{"list", "--bucket", "bkt_demo", "--collection", ""}, []string{"--collection is empty"}},
		{"no command", env, nil, []string{"list"}},
		{"bad output", env, []string{"list", "--bucket", "bkt_demo", "-o", "yaml"}, []string{"--output", "table", "json"}},
		{"missing key", noKey, []string{"list", "--bucket", "bkt_demo"}, []string{"--api-key", "MIXPEEK_API_KEY"}},
		{"missing namespace", noNS, []string{"list", "--bucket", "bkt_demo"}, []string{"--namespace", "MIXPEEK_NAMESPACE"}},
		{"key with space", env, []string{"--api-key", "sk_test_a b", "list", "--bucket", "bkt_demo"}, []string{"error: --api-key / MIXPEEK_API_KEY: the API key contains a space at byte 10 of 11"}},
		{"base URL with /v1", env, []string{"--base-url", url + "/v1", "list", "--bucket", "bkt_demo"}, []string{`error: --base-url / MIXPEEK_BASE_URL: base URL "` + url + `/v1" ends in /v1`, `use "` + url + `"`}},
		{"base URL without scheme", env, []string{"--base-url", "127.0.0.1:8080", "list", "--bucket", "bkt_demo"}, []string{`error: --base-url / MIXPEEK_BASE_URL: base URL "127.0.0.1:8080"`}},
		{"base URL with query", env, []string{"--base-url", url + "?x=1", "list", "--bucket", "bkt_demo"}, []string{"--base-url / MIXPEEK_BASE_URL", "query"}},
		{"base URL with credentials", env, []string{"--base-url", "http://user:secretpw@127.0.0.1:1", "list", "--bucket", "bkt_demo"}, []string{"--base-url / MIXPEEK_BASE_URL", "user info is not allowed"}},
		{"empty base URL", env, []string{"--base-url", "", "list", "--bucket", "bkt_demo"}, []string{`--base-url / MIXPEEK_BASE_URL: base URL "": the scheme must be http or https`}},
		{"bad timeout", env, []string{"--timeout", "0s", "list", "--bucket", "bkt_demo"}, []string{"--timeout must be positive"}},
		{"negative timeout", env, []string{"--timeout=-1s", "list", "--bucket", "bkt_demo"}, []string{"--timeout: attempt timeout -1s is negative"}},
		{"negative retries", env, []string{"--max-retries=-1", "list", "--bucket", "bkt_demo"}, []string{"error: --max-retries: max retries -1 is negative"}},
		{"bad retry delay", env, []string{"--max-retry-delay", "0s", "list", "--bucket", "bkt_demo"}, []string{"error: --max-retry-delay: max retry delay 0s is not positive"}},
		{"bucket too long", env, []string{"list", "--bucket", strings.Repeat("b", 129)}, []string{"error: listBatches: the bucket identifier is 129 bytes long, more than 128"}},
		{"bad output", env, []string{"list", "--bucket", "bkt_demo", "-o", "csv"}, []string{"--output", "jsonl"}},
		// Dot-segments would send the request to another route.
		{"bucket ..", env, []string{"list", "--bucket", ".."}, []string{`the bucket identifier ".." is not a bucket`}},
		{"bucket .", env, []string{"list", "--bucket", ".", "--all"}, []string{`the bucket identifier "." is not a bucket`}},
		{"bucket with a control character", env, []string{"list", "--bucket", "bkt\x1b[2Jdemo"}, []string{`contains a control character at byte 4`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := n.Load()
			r := runCLI(t, tc.env, false, tc.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
			}
			hint := "run 'batches list --help' for usage"
			if len(tc.args) == 0 {
				hint = "run 'batches --help' for usage"
			}
			if !strings.HasSuffix(r.stderr, "\n"+hint+"\n") {
				t.Errorf("stderr %q does not end with %q", r.stderr, hint)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
			if strings.Contains(r.stderr, "secretpw") || strings.Contains(r.stderr, "sk_test_a b") {
				t.Errorf("stderr %q shows a secret", r.stderr)
			}
			if got := n.Load() - before; got != 0 {
				t.Errorf("%d requests sent, want none", got)
			}
		})
	}
}

// A flag wins over its variable even when it is empty: the client reads
// no setting of its own from the process's environment.
func TestEmptyFlagWinsOverTheEnvironment(t *testing.T) {
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 200, "application/json", `{"results":[],"total_count":0}`)
	})
	t.Setenv(batches.EnvAPIKey, "sk_test_process0000000000")
	t.Setenv(batches.EnvNamespace, "process")
	for flag, want := range map[string]string{"--api-key": "missing API key", "--namespace": "missing namespace"} {
		r := runCLI(t, fakeEnv(url), false, flag, "", "list", "--bucket", "bkt_demo")
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, "error: "+want) || n.Load() != 0 {
			t.Errorf("%s \"\": exit %d after %d requests, stderr %q", flag, r.code, n.Load(), r.stderr)
		}
	}
}

func TestValidationErrorLines(t *testing.T) {
	url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 422, "application/json", `{"detail":[
			{"loc":["body","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal","input":1001,"ctx":{"le":1000}},
			{"loc":["body","items",0],"msg":"Field required","type":"missing"}]}`)
	})
	r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo")
	want := "error: body.limit: Input should be less than or equal to 1000 (less_than_equal)\n" +
		"error: body.items.0: Field required (missing)\n"
	if r.code != exitFailure || r.stderr != want || r.stdout != "" {
		t.Fatalf("got exit %d, stdout %q, stderr %q; want exit 1 and stderr %q", r.code, r.stdout, r.stderr, want)
	}
}

func TestErrorResponseLine(t *testing.T) {
	url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 403, "application/json", `{"success":false,"status":403,"error":{"message":"Forbidden\u001b[31m","type":"ForbiddenError","details":null}}`)
	})
	r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo")
	if want := "error: Forbidden [31m (ForbiddenError, HTTP 403)\n"; r.code != exitAuth || r.stderr != want {
		t.Fatalf("got exit %d, stderr %q; want exit %d, %q", r.code, r.stderr, exitAuth, want)
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	page := "<html><head><title>502 Bad Gateway</title></head>\n<body>" + strings.Repeat("x", 500) + "</body></html>"
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 502, "text/html", page)
	})
	// A 502 is retried: 3 attempts by default.
	r := runCLI(t, fakeEnv(url), false, "--max-retry-delay", "1ms", "list", "--bucket", "bkt_demo")
	if r.code != exitUnavailable || n.Load() != 3 {
		t.Fatalf("exit %d after %d requests, want %d after 3", r.code, n.Load(), exitUnavailable)
	}
	want := "error: HTTP 502 Bad Gateway: " + clean(page[:200]) + "…\nerror: gave up after 3 attempts\n"
	if r.stderr != want {
		t.Fatalf("stderr %q, want %q", r.stderr, want)
	}
}

func TestNotAListBatchesResponse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		ct     string
		body   string
		code   int
		stderr string
	}{
		{"html 200", 200, "text/html", "<html>login</html>", exitFailure, "error: unexpected response, HTTP 200 OK: the response is not a ListBatchesResponse"},
		{"bad json", 200, "application/json", `{"results":[`, exitFailure, "error: unexpected response, HTTP 200 OK: "},
		{"empty body", 200, "application/json", "", exitFailure, "error: unexpected response, HTTP 200 OK: the response is not a ListBatchesResponse with results and total_count: empty body\n"},
		{"no total_count", 200, "application/json", `{"results":[]}`, exitFailure, "error: unexpected response, HTTP 200 OK: "},
		{"json error with wrong shape", 404, "application/json", `{"error":"nope"}`, exitNotFound, "error: HTTP 404 Not Found: {\"error\":\"nope\"}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeBody(w, tc.status, tc.ct, tc.body) })
			r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo")
			if r.code != tc.code || r.stdout != "" || !strings.HasPrefix(r.stderr, tc.stderr) {
				t.Fatalf("got exit %d, stdout %q, stderr %q; want exit %d, stderr starting %q", r.code, r.stdout, r.stderr, tc.code, tc.stderr)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	// Each attempt times out and is retried.
	r := runCLI(t, fakeEnv(url), false, "--timeout", "50ms", "--max-retries", "1", "--max-retry-delay", "1ms", "list", "--bucket", "bkt_demo")
	if r.code != exitUnavailable || !strings.Contains(r.stderr, "attempt timeout 50ms") || !strings.Contains(r.stderr, "2 attempts") || n.Load() != 2 {
		t.Fatalf("got exit %d after %d requests, stderr %q", r.code, n.Load(), r.stderr)
	}
}

// TestAllStopsOnRepeatedPages: a server that ignores the offset and claims
// more batches than it has must not make --all loop or print duplicates.
func TestAllStopsOnRepeatedPages(t *testing.T) {
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		results := []any{fakeBatch(1), fakeBatch(2), fakeBatch(3)}
		b, _ := json.Marshal(map[string]any{"results": results, "total_count": 1_000_000})
		writeBody(w, 200, "application/json", string(b))
	})
	for _, out := range []string{"json", "table", "jsonl"} {
		before := n.Load()
		r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo", "--all", "-o", out)
		// A part is not passed off as the whole: exit 1, nothing on stdout
		// but the lines -o jsonl streamed, and no retry of the second page.
		want := "error: listBatches: the page at offset 3 holds only batches already yielded and total_count (1000000) did not grow to explain it: the server ignores the offset (3 batches yielded)\n"
		if out == "jsonl" {
			want += "error: the listing is incomplete: 3 batches were written before the error\n"
		}
		if r.code != exitFailure || (r.stdout != "") != (out == "jsonl") || n.Load()-before != 2 || r.stderr != want {
			t.Errorf("-o %s: exit %d after %d requests, stdout %q, stderr %q", out, r.code, n.Load()-before, r.stdout, r.stderr)
		}
	}
}

// TestAllFailsOnEmptyPage: a total_count larger than what the pages hold
// fails the walk at the second empty page before it (the iterator asks for
// an empty page once more), as a part and not the whole: exit 1, nothing on
// stdout.
func TestAllFailsOnEmptyPage(t *testing.T) {
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		var req client.ListBatchesRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		results := []any{}
		var offset int64 // the client leaves out an offset of 0
		if req.Offset != nil {
			offset = *req.Offset
		}
		for i := offset; i < min(offset+int64(*req.Limit), 5); i++ {
			results = append(results, fakeBatch(int(i)))
		}
		b, _ := json.Marshal(map[string]any{"results": results, "total_count": 9})
		writeBody(w, 200, "application/json", string(b))
	})
	r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo", "--all", "--limit", "2", "-o", "json")
	// Pages at offsets 0, 2, 4 (one batch), 5 (empty) and 5 again.
	want := "error: listBatches: the page at offset 5 is empty twice, but total_count is 9: the server counts batches it does not return (5 batches yielded)\n"
	if r.code != exitFailure || r.stdout != "" || r.stderr != want || n.Load() != 5 {
		t.Fatalf("exit %d after %d requests, stdout %q, stderr %q", r.code, n.Load(), r.stdout, r.stderr)
	}
}

func TestRequestHeadersAndBody(t *testing.T) {
	var gotAuth, gotNS, gotBody, gotPath string
	url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotNS, gotPath = r.Header.Get("Authorization"), r.Header.Get("X-Namespace"), r.URL.Path
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		gotBody = buf.String()
		writeBody(w, 200, "application/json", `{"results":[],"total_count":0}`)
	})
	env := fakeEnv(url + "/")
	r := runCLI(t, env, true, "--namespace", "ns_abc123def456", "list", "--bucket", "bkt_demo", "--status", "completed", "--offset", "0", "--limit", "5")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if gotAuth != "Bearer sk_test_fake0000000000" || gotNS != "ns_abc123def456" || gotPath != "/v1/buckets/bkt_demo/batches/list" {
		t.Errorf("Authorization %q, X-Namespace %q, path %q", gotAuth, gotNS, gotPath)
	}
	// An offset of 0 is the API's default: the client leaves it out.
	if want := `{"limit":5,"status":"COMPLETED"}`; gotBody != want {
		t.Errorf("body %s, want %s", gotBody, want)
	}
	if r.stdout != "no batches\n" {
		t.Errorf("stdout %q", r.stdout)
	}

	// No flags: an empty body, the server's defaults.
	r = runCLI(t, env, false, "list", "--bucket", "bkt_demo")
	if r.code != 0 || gotBody != "{}" {
		t.Errorf("exit %d, body %s", r.code, gotBody)
	}
}

func TestTableCells(t *testing.T) {
	b := fakeBatch(1)
	b["error"] = "boom\x1b[2J\ttab " + strings.Repeat("long ", 20)
	c := fakeBatch(2)
	c["error_summary"] = map[string]int{"unsupported_format": 1, "timeout": 2}
	body, _ := json.Marshal(map[string]any{"results": []any{b, c}, "total_count": 2})
	url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 200, "application/json", string(body))
	})
	r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo", "-o", "table")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 || lines[3] != "showing 1-2 of 2" {
		t.Fatalf("table:\n%s", r.stdout)
	}
	if strings.ContainsAny(r.stdout, "\x1b\t") {
		t.Errorf("control characters in table:\n%q", r.stdout)
	}
	if !strings.Contains(lines[1], "boom [2J tab long") || !strings.HasSuffix(lines[1], "…") {
		t.Errorf("row 1 %q", lines[1])
	}
	if !strings.HasSuffix(lines[2], "timeout=2, unsupported_format=1") {
		t.Errorf("row 2 %q", lines[2])
	}
	if !strings.Contains(lines[1], "2025-06-01T11:59:00Z") {
		t.Errorf("row 1 %q lacks the RFC 3339 UTC time", lines[1])
	}
}

// The base URL is the client's rule: http or https and a host, with a
// path prefix if a proxy serves the API under one, not /v1.
func TestBaseURLIsTheClients(t *testing.T) {
	var path atomic.Value
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.Path)
		writeBody(w, 200, "application/json", `{"results":[],"total_count":0}`)
	})
	for in, want := range map[string]string{
		url:                         "/v1/buckets/bkt_demo/batches/list",
		url + "/":                   "/v1/buckets/bkt_demo/batches/list",
		" HTTP" + url[len("http"):]: "/v1/buckets/bkt_demo/batches/list",
		url + "/mixpeek":            "/mixpeek/v1/buckets/bkt_demo/batches/list",
		url + "/gw/mixpeek/":        "/gw/mixpeek/v1/buckets/bkt_demo/batches/list",
		url + "/v1/mixpeek":         "/v1/mixpeek/v1/buckets/bkt_demo/batches/list",
	} {
		r := runCLI(t, fakeEnv(url), false, "--base-url", in, "list", "--bucket", "bkt_demo")
		if r.code != exitOK || path.Load() != want {
			t.Errorf("--base-url %q: exit %d, stderr %q, sent to %v; want %s", in, r.code, r.stderr, path.Load(), want)
		}
	}
	before := n.Load()
	for _, in := range []string{"", url + "/v1", url + "/v1/", url + "/mixpeek/v1", "ftp://x", "http://", "http://h/#f", url + "?a=1", "127.0.0.1:8080"} {
		r := runCLI(t, fakeEnv(url), false, "--base-url", in, "list", "--bucket", "bkt_demo")
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, "error: --base-url / MIXPEEK_BASE_URL: base URL ") {
			t.Errorf("--base-url %q: exit %d, stderr %q", in, r.code, r.stderr)
		}
	}
	if n.Load() != before {
		t.Errorf("%d requests sent with a bad base URL", n.Load()-before)
	}
}

// A key the server echoes JSON-escaped (\u0026 for &) is not printed, in
// any of the error's lines.
func TestEchoedKeyIsNeverPrinted(t *testing.T) {
	const key = "sk_live_abc&def<ghi>jkl0123"
	url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200) // not a page: the body is shown
		json.NewEncoder(w).Encode(map[string]string{"echo": strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
	})
	env := fakeEnv(url)
	env["MIXPEEK_API_KEY"] = key
	r := runCLI(t, env, false, "list", "--bucket", "bkt_demo")
	if r.code != exitFailure || !strings.Contains(r.stderr, "[REDACTED]") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, form := range []string{key, `sk_live_abc\u0026def\u003cghi\u003ejkl0123`, "ghi"} {
		if strings.Contains(r.stderr, form) {
			t.Errorf("stderr shows the key as %q: %s", form, r.stderr)
		}
	}
}

// A base URL the server redirects with a change of method (http:// to
// https://, say) is reported with the location and the base URL to use;
// one request, exit status 1.
func TestRedirectToGETIsReported(t *testing.T) {
	target, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 405, "application/json", `{"detail":"Method Not Allowed"}`)
	})
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path, http.StatusMovedPermanently)
	})
	r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo")
	want := "error: HTTP 301 Moved Permanently: the server redirected POST to GET at " + target + "/v1/buckets/bkt_demo/batches/list (HTTP 301); " +
		"the client does not follow a redirect that drops the request's body: set the base URL to " + target + "\n"
	if r.code != exitFailure || r.stderr != want || n.Load() != 1 {
		t.Errorf("exit %d after %d requests, stderr\n%q, want\n%q", r.code, n.Load(), r.stderr, want)
	}
}

// Every kind of answer's error line names the request id the server
// sent, which leads to its log line.
func TestErrorLinesNameTheRequestID(t *testing.T) {
	for _, tc := range []struct {
		status int
		ct     string
		body   string
		want   string
	}{
		{404, "application/json", `{"success":false,"status":404,"error":{"message":"Bucket not found: bkt_demo","type":"NotFoundError","details":null}}`,
			"error: Bucket not found: bkt_demo (NotFoundError, HTTP 404, request id req_42)\n"},
		{422, "application/json", `{"detail":[{"loc":["body","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal"}]}`,
			"error: body.limit: Input should be less than or equal to 1000 (less_than_equal)\nerror: HTTP 422 Unprocessable Entity (request id req_42)\n"},
		{409, "text/html", "<html>conflict</html>", "error: HTTP 409 Conflict: <html>conflict</html> (request id req_42)\n"},
		{409, "text/plain", "", "error: HTTP 409 Conflict (empty body, request id req_42)\n"},
		{200, "application/json", `{"results":[]}`, "error: unexpected response, HTTP 200 OK: the response is not a ListBatchesResponse with results and total_count: {\"results\":[]} (request id req_42)\n"},
	} {
		url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "req_42")
			writeBody(w, tc.status, tc.ct, tc.body)
		})
		r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo")
		if r.stderr != tc.want {
			t.Errorf("HTTP %d: stderr %q\nwant %q", tc.status, r.stderr, tc.want)
		}
	}
}
