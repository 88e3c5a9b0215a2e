package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"go.yaml.in/yaml/v4"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/generated/server"
)

// The operator endpoints, metrics, request ids, compression and rate
// limits, through real HTTP on real databases.

// serveWith serves db with opts and returns its URL.
func serveWith(t *testing.T, f *fixture, opts ...api.Option) string {
	t.Helper()
	h, err := api.NewHandler(f.db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// get sends method to url with the headers h (name, value, …) and returns
// the answer, its body read.
func send(t *testing.T, method, url string, body string, h ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Add(h[i], h[i+1])
	}
	// No transport compression: the tests see the bytes as sent.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// list sends the fixture's tenant a's List Batches request with body and
// the extra headers h.
func list(t *testing.T, url string, f *fixture, body string, h ...string) (*http.Response, []byte) {
	t.Helper()
	return send(t, http.MethodPost, url+"/v1/buckets/bkt_a/batches/list", body,
		append([]string{"Authorization", "Bearer " + f.a.key, "X-Namespace", "production", "Content-Type", "application/json"}, h...)...)
}

func errorType(t *testing.T, body []byte) (int, string, string) {
	t.Helper()
	var e server.ErrorResponse
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an ErrorResponse: %v: %s", err, body)
	}
	return e.Status, e.Error.Type, e.Error.Message
}

func TestHealthAndReadiness(t *testing.T) { eachBackend(t, testHealthAndReadiness) }

func testHealthAndReadiness(t *testing.T, f *fixture) {
	url := serveWith(t, f)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, body := send(t, http.MethodGet, url+p, "")
		if resp.StatusCode != 200 || string(body) != `{"status":"ok"}`+"\n" || resp.Header.Get("Content-Type") != "application/json" ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d %q %v", p, resp.StatusCode, body, resp.Header)
		}
		if resp, _ := send(t, http.MethodHead, url+p, ""); resp.StatusCode != 200 {
			t.Errorf("HEAD %s: %d", p, resp.StatusCode)
		}
		resp, body = send(t, http.MethodPost, url+p, "")
		if status, typ, _ := errorType(t, body); resp.StatusCode != 405 || status != 405 || typ != api.TypeMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d %s %v", p, resp.StatusCode, body, resp.Header)
		}
	}
	// Other paths are still the API's 404.
	resp, body := send(t, http.MethodGet, url+"/healthzz", "")
	if _, typ, _ := errorType(t, body); resp.StatusCode != 404 || typ != api.TypeNotFound {
		t.Errorf("GET /healthzz: %d %s", resp.StatusCode, body)
	}
}

func TestReadinessFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		db, raw := b.OpenSQL(t)
		h, err := api.NewHandler(db)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)

		// A database missing a migration this build applies.
		if _, err := raw.Exec(`DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
			t.Fatal(err)
		}
		resp, body := send(t, http.MethodGet, srv.URL+"/readyz", "")
		status, typ, msg := errorType(t, body)
		if resp.StatusCode != 503 || status != 503 || typ != api.TypeServiceUnavailable ||
			!regexp.MustCompile(`^Not ready: database schema is behind: migrations applied up to version \d+, this server needs \d+$`).MatchString(msg) {
			t.Errorf("schema behind: %d %s", resp.StatusCode, body)
		}
		// The process still answers.
		if resp, _ := send(t, http.MethodGet, srv.URL+"/healthz", ""); resp.StatusCode != 200 {
			t.Errorf("/healthz: %d", resp.StatusCode)
		}

		// A database that does not answer: the reason shows nothing of it.
		db.Close()
		resp, body = send(t, http.MethodGet, srv.URL+"/readyz", "")
		if status, typ, msg := errorType(t, body); resp.StatusCode != 503 || status != 503 || typ != api.TypeServiceUnavailable ||
			msg != "Not ready: the database does not answer" {
			t.Errorf("closed database: %d %s", resp.StatusCode, body)
		}
	})
}

func TestContractAndDocsEndpoints(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	url := serveWith(t, f)

	// openapi.yaml byte for byte, and the same document as JSON.
	resp, y := send(t, http.MethodGet, url+"/openapi.yaml", "")
	if resp.StatusCode != 200 || !bytes.Equal(y, batches.OpenAPI()) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
		t.Errorf("/openapi.yaml: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(y))
	}
	resp, js := send(t, http.MethodGet, url+"/openapi.json", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(js), `"operationId":"listBatches"`) {
		t.Errorf("/openapi.json: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(js))
	}
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(y, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromYAML)
	b, _ := json.Marshal(fromJSON)
	if !bytes.Equal(a, b) || !strings.HasPrefix(string(js), `{"openapi":"3.0.3","info":{`) {
		t.Errorf("/openapi.json is not openapi.yaml: %.80s", js)
	}

	resp, page := send(t, http.MethodGet, url+"/docs", "")
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<div id="redoc">`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("/docs: %d %v", resp.StatusCode, resp.Header)
	}
	// Its script, revalidated by its ETag.
	resp, js = send(t, http.MethodGet, url+"/docs/redoc.standalone.js", "")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || len(js) < 1<<20 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || etag == "" {
		t.Errorf("/docs/redoc.standalone.js: %d %v, %d bytes", resp.StatusCode, resp.Header, len(js))
	}
	if resp, _ := send(t, http.MethodGet, url+"/docs/redoc.standalone.js", "", "If-None-Match", etag); resp.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	// Compressed once, not per request: a caller accepting gzip gets the
	// same bytes gzipped; one that does not, or refuses gzip, plain bytes.
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"gzip", true}, {"zstd, gzip;q=0.5", true}, {"*", true}, {"x-gzip", true}, {"GZIP;Q=1", true},
		{"", false}, {"identity", false}, {"gzip;q=0", false}, {"zstd", false}, {"*;q=0", false}, {"gzip;q=0, *", false},
	} {
		var h []string
		if tc.accept != "" {
			h = []string{"Accept-Encoding", tc.accept}
		}
		resp, got := send(t, http.MethodGet, url+"/docs/redoc.standalone.js", "", h...)
		ce := resp.Header.Get("Content-Encoding")
		if tc.gzip {
			if ce != "gzip" {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q, want gzip", tc.accept, ce)
				continue
			}
			zr, err := gzip.NewReader(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			if got, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		} else if ce != "" {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want none", tc.accept, ce)
		}
		if !bytes.Equal(got, js) || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: %d bytes (want %d), Vary %q", tc.accept, len(got), len(js), resp.Header.Get("Vary"))
		}
	}
	if resp, body := send(t, http.MethodGet, url+"/docs/nope.js", ""); resp.StatusCode != 404 {
		t.Errorf("/docs/nope.js: %d %s", resp.StatusCode, body)
	}
	// /docs/ is sent to the page, by a relative location (a proxy's path
	// prefix holds), its query kept; a client that follows gets the page.
	for path, location := range map[string]string{"/docs/": "../docs", "/docs/?x=1": "../docs?x=1"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp, body := send(t, method, url+path, "")
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != location || len(body) != 0 {
				t.Errorf("%s %s: %d %v %q", method, path, resp.StatusCode, resp.Header, body)
			}
		}
	}
	if resp, err := http.Get(url + "/docs/"); err != nil || resp.StatusCode != 200 || resp.Request.URL.Path != "/docs" {
		t.Errorf("GET /docs/, followed: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, body := send(t, http.MethodPost, url+"/docs/", ""); resp.StatusCode != 405 {
		t.Errorf("POST /docs/: %d %s", resp.StatusCode, body)
	}
	// A browser at / is sent to the page; anyone else gets the API's 404.
	resp, _ = send(t, http.MethodGet, url+"/", "", "Accept", "text/html,application/xhtml+xml")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "docs" {
		t.Errorf("GET / from a browser: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, body := send(t, http.MethodGet, url+"/", "", "Accept", "application/json"); resp.StatusCode != 404 {
		t.Errorf("GET / for JSON: %d %s", resp.StatusCode, body)
	}

	// Without docs, all of them are unknown paths.
	url = serveWith(t, f, api.WithoutDocs())
	for _, p := range []string{"/docs", "/openapi.json", "/openapi.yaml"} {
		if resp, body := send(t, http.MethodGet, url+p, ""); resp.StatusCode != 404 {
			t.Errorf("WithoutDocs: GET %s: %d %s", p, resp.StatusCode, body)
		}
	}
}

// metricsText scrapes url's /metrics.
func metricsText(t *testing.T, url string) string {
	t.Helper()
	resp, body := send(t, http.MethodGet, url+"/metrics", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, resp.Header)
	}
	return string(body)
}

// wantMetric checks that text has a sample of the series named exactly
// series (name{labels} as Prometheus writes it) whose value matches value,
// a regular expression.
func wantMetric(t *testing.T, text, series, value string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (` + value + `)$`)
	if !re.MatchString(text) {
		t.Errorf("no %s %s in:\n%s", series, value, grepLines(text, strings.SplitN(series, "{", 2)[0]))
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetrics(t *testing.T) { eachBackend(t, testMetrics) }

func testMetrics(t *testing.T, f *fixture) {
	url := serveWith(t, f)
	for range 3 {
		if resp, body := list(t, url, f, `{"limit":5}`); resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
	}
	send(t, http.MethodPost, url+"/v1/buckets/bkt_a/batches/list", `{}`, "X-Namespace", "production") // 401
	send(t, http.MethodGet, url+"/v1/nope", "")                                                       // 404 of the router
	send(t, http.MethodGet, url+"/healthz", "")
	text := metricsText(t, url)

	wantMetric(t, text, `batchesd_http_requests_total{code="200",operation="listBatches"}`, "3")
	wantMetric(t, text, `batchesd_http_requests_total{code="401",operation="listBatches"}`, "1")
	wantMetric(t, text, `batchesd_http_requests_total{code="404",operation="none"}`, "1")
	wantMetric(t, text, `batchesd_http_requests_total{code="200",operation="healthz"}`, "1")
	wantMetric(t, text, `batchesd_http_request_duration_seconds_count{operation="listBatches"}`, "4")
	wantMetric(t, text, `batchesd_http_request_duration_seconds_bucket{operation="listBatches",le="+Inf"}`, "4")
	wantMetric(t, text, `batchesd_http_requests_in_flight`, "1") // the scrape
	pools := map[string]string{storetest.SQLite.Name: "read", storetest.Postgres.Name: "main"}
	for name, pool := range pools {
		if !strings.Contains(text, `pool="`+pool+`"`) {
			continue
		}
		t.Logf("%s: pool %s", name, pool)
		wantMetric(t, text, `batchesd_db_connections{pool="`+pool+`",state="in_use"}`, `\d+`)
		wantMetric(t, text, `batchesd_db_connections{pool="`+pool+`",state="idle"}`, `\d+`)
		wantMetric(t, text, `batchesd_db_connections_max{pool="`+pool+`"}`, `[1-9]\d*`)
		wantMetric(t, text, `batchesd_db_waits_total{pool="`+pool+`"}`, `\d+`)
		wantMetric(t, text, `batchesd_db_wait_seconds_total{pool="`+pool+`"}`, `[0-9.e+-]+`)
	}
	if !strings.Contains(text, `pool="read"`) && !strings.Contains(text, `pool="main"`) {
		t.Errorf("no database pool metrics:\n%s", grepLines(text, "batchesd_db"))
	}
	if !regexp.MustCompile(`(?m)^go_build_info\{checksum="[^"]*",path="[^"]+",version="[^"]+"\} 1$`).MatchString(text) {
		t.Errorf("no build info:\n%s", grepLines(text, "batchesd_build"))
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(text, "\n"+name+" ") {
			t.Errorf("no %s", name)
		}
	}
	// No raw path is a label: the operation names the route.
	if strings.Contains(text, "/v1/") {
		t.Errorf("a path in the metrics:\n%s", grepLines(text, "batchesd_http"))
	}
}

func TestMetricsOnAnotherHandler(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	m := api.NewMetrics()
	url := serveWith(t, f, api.WithMetrics(m), api.WithoutMetricsEndpoint())
	if resp, _ := send(t, http.MethodGet, url+"/metrics", ""); resp.StatusCode != 404 {
		t.Errorf("/metrics on the API's address: %d", resp.StatusCode)
	}
	list(t, url, f, `{"limit":1}`)
	ops := httptest.NewServer(api.NewOpsHandler(f.db, m, nil))
	t.Cleanup(ops.Close)
	text := metricsText(t, ops.URL)
	wantMetric(t, text, `batchesd_http_requests_total{code="200",operation="listBatches"}`, "1")
	// The API's address answered /metrics as a path it does not have.
	wantMetric(t, text, `batchesd_http_requests_total{code="404",operation="none"}`, "1")
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, _ := send(t, http.MethodGet, ops.URL+p, ""); resp.StatusCode != 200 {
			t.Errorf("ops %s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := send(t, http.MethodGet, ops.URL+"/docs", ""); resp.StatusCode != 404 {
		t.Errorf("ops /docs: %d", resp.StatusCode)
	}
}

// logLines is a JSON log to read back.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestRequestIDs(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	var logs logLines
	url := serveWith(t, f, api.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	idRe := regexp.MustCompile(`^req_[A-Z2-7]{26}$`)

	// A sane id is kept, on any answer.
	for _, id := range []string{"abc-123", "0b2f6a3e-4d1c-4f5e-9a7b-1c2d3e4f5a6b", "Root=1-5e1b4151-5ac6c58f:a/b+c=@", strings.Repeat("x", 128)} {
		if resp, _ := list(t, url, f, `{"limit":1}`, "X-Request-Id", id); resp.Header.Get("X-Request-Id") != id || resp.StatusCode != 200 {
			t.Errorf("%q: answered %d with id %q", id, resp.StatusCode, resp.Header.Get("X-Request-Id"))
		}
		if resp, _ := send(t, http.MethodGet, url+"/nope", "", "X-Request-Id", id); resp.Header.Get("X-Request-Id") != id {
			t.Errorf("404 for %q: id %q", id, resp.Header.Get("X-Request-Id"))
		}
	}
	// Anything else is replaced by a new one.
	for _, h := range [][]string{
		{},
		{"X-Request-Id", ""},
		{"X-Request-Id", "has space"},
		{"X-Request-Id", `quote"d`},
		{"X-Request-Id", "é"},
		{"X-Request-Id", strings.Repeat("x", 129)},
		{"X-Request-Id", "a", "X-Request-Id", "b"},
	} {
		resp, _ := list(t, url, f, `{"limit":1}`, h...)
		if got := resp.Header.Get("X-Request-Id"); !idRe.MatchString(got) {
			t.Errorf("%q: id %q, want a new one", h, got)
		}
	}
	// Each request's id is on its log line, with its operation.
	resp, _ := list(t, url, f, `{"limit":1}`, "X-Request-Id", "trace-42")
	_, _ = send(t, http.MethodGet, url+"/healthz", "", "X-Request-Id", "probe-1")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	seen := map[string]map[string]any{}
	for _, r := range logs.records(t) {
		id, _ := r["request_id"].(string)
		if id == "" {
			t.Errorf("a log line without request_id: %v", r)
		}
		seen[id] = r
	}
	if r := seen["trace-42"]; r == nil || r["operation"] != "listBatches" || r["status"] != float64(200) {
		t.Errorf("the line of trace-42: %v", r)
	}
	if r := seen["probe-1"]; r == nil || r["operation"] != "healthz" {
		t.Errorf("the line of probe-1: %v", r)
	}
}

// TestRequestIDEndToEnd: the client's error carries the server's request
// id, which is on the server's log line of that request.
func TestRequestIDEndToEnd(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	var logs logLines
	url := serveWith(t, f, api.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	c, err := batches.New(batches.WithBaseURL(url), batches.WithAPIKey(f.a.key), batches.WithNamespace("production"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListBatches(t.Context(), "bkt_missing", nil)
	var e *batches.Error
	if !errors.As(err, &e) || e.StatusCode != 404 || e.RequestID == "" || !strings.Contains(err.Error(), "(request id "+e.RequestID+")") {
		t.Fatalf("error %v (%#v)", err, e)
	}
	var found bool
	for _, r := range logs.records(t) {
		if r["request_id"] == e.RequestID {
			found = true
			if r["status"] != float64(404) || r["operation"] != "listBatches" || r["path"] != "/v1/buckets/bkt_missing/batches/list" {
				t.Errorf("the log line of %s: %v", e.RequestID, r)
			}
		}
	}
	if !found {
		t.Errorf("no log line has request id %s", e.RequestID)
	}
	// An id the caller sends is the one in the error and the log.
	_, err = c.ListBatches(t.Context(), "bkt_missing", nil, batches.WithHeader("X-Request-Id", "mine-1"))
	if !errors.As(err, &e) || e.RequestID != "mine-1" {
		t.Errorf("with X-Request-Id mine-1: %v", err)
	}
}

func TestCompression(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	plainURL := serveWith(t, f)
	resp, plain := list(t, plainURL, f, `{"limit":200}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	autoURL := serveWith(t, f, api.WithCompression(api.CompressionAuto))
	gzipURL := serveWith(t, f, api.WithCompression(api.CompressionGzip))
	for _, tc := range []struct {
		url, accept, want string
	}{
		{autoURL, "gzip", "gzip"},
		{autoURL, "zstd", "zstd"},
		{autoURL, "gzip, zstd", "zstd"},
		{autoURL, "br", ""},
		{autoURL, "", ""},
		{autoURL, "gzip;q=0", ""},
		{gzipURL, "zstd", ""},
		{gzipURL, "gzip, zstd", "gzip"},
		{plainURL, "gzip, zstd", ""},
	} {
		var h []string
		if tc.accept != "" {
			h = []string{"Accept-Encoding", tc.accept}
		}
		resp, body := list(t, tc.url, f, `{"limit":200}`, h...)
		enc := resp.Header.Get("Content-Encoding")
		if resp.StatusCode != 200 || enc != tc.want {
			t.Errorf("Accept-Encoding %q: %d, Content-Encoding %q, want %q", tc.accept, resp.StatusCode, enc, tc.want)
			continue
		}
		if tc.url == autoURL && !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: no Vary: %v", tc.accept, resp.Header)
		}
		got := decode(t, enc, body)
		if !bytes.Equal(got, plain) {
			t.Errorf("Accept-Encoding %q: %d bytes decode to %d, not the %d of the plain answer", tc.accept, len(body), len(got), len(plain))
		}
		if enc != "" {
			t.Logf("%s: %d bytes for %d", enc, len(body), len(plain))
			if len(body) >= len(plain)/3 {
				t.Errorf("%s: %d bytes for %d", enc, len(body), len(plain))
			}
		} else if resp.Header.Get("Content-Length") != strconv.Itoa(len(plain)) {
			t.Errorf("Accept-Encoding %q: Content-Length %q", tc.accept, resp.Header.Get("Content-Length"))
		}
	}
	// A small answer (an error) is not worth compressing.
	resp, _ = send(t, http.MethodPost, autoURL+"/v1/buckets/bkt_a/batches/list", `{}`, "Accept-Encoding", "gzip")
	if resp.StatusCode != 401 || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("401: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if _, err := api.NewHandler(f.db, api.WithCompression("brotli")); err == nil {
		t.Error("WithCompression(brotli) accepted")
	}
}

func decode(t *testing.T, enc string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestClientCompression: the client asks for gzip and reads it, over Go's
// transport and over any other; asked not to, it gets the plain answer.
func TestClientCompression(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	url := serveWith(t, f, api.WithCompression(api.CompressionAuto))
	type seen struct{ acceptEncoding, contentEncoding string }
	var got []seen
	var mu sync.Mutex
	// A RoundTripper that is not an *http.Transport, over one that never
	// compresses by itself, records what went and came.
	base := &http.Transport{DisableCompression: true}
	t.Cleanup(base.CloseIdleConnections)
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if err == nil {
			mu.Lock()
			got = append(got, seen{r.Header.Get("Accept-Encoding"), resp.Header.Get("Content-Encoding")})
			mu.Unlock()
		}
		return resp, err
	})
	for _, tc := range []struct {
		name string
		opts []batches.Option
		want seen
	}{
		{"Go's transport", nil, seen{"gzip", ""}}, // recorded by nobody: checked below
		{"another transport", []batches.Option{batches.WithHTTPClient(&http.Client{Transport: rt})}, seen{"gzip", "gzip"}},
		{"identity asked", []batches.Option{batches.WithHTTPClient(&http.Client{Transport: rt}), batches.WithHeader("Accept-Encoding", "identity")}, seen{"identity", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			var uncompressed []bool
			opts := append([]batches.Option{batches.WithBaseURL(url), batches.WithAPIKey(f.a.key), batches.WithNamespace("production"),
				batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
					resp, err := next(req)
					if err == nil {
						uncompressed = append(uncompressed, resp.Uncompressed)
						if resp.Header.Get("Content-Encoding") != "" {
							t.Errorf("the middleware sees Content-Encoding %q", resp.Header.Get("Content-Encoding"))
						}
					}
					return resp, err
				})}, tc.opts...)
			c, err := batches.New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			page, err := c.ListBatches(t.Context(), "bkt_a", &batches.ListBatchesParams{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Results) != 200 || page.Results[0].BatchID != f.a.batches[0].BatchID {
				t.Errorf("%d results, first %s", len(page.Results), page.Results[0].BatchID)
			}
			wantUncompressed := tc.want.acceptEncoding == "gzip"
			if len(uncompressed) != 1 || uncompressed[0] != wantUncompressed {
				t.Errorf("Uncompressed %v, want %v", uncompressed, wantUncompressed)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.opts != nil && (len(got) != 1 || got[0] != tc.want) {
				t.Errorf("sent and received %+v, want %+v", got, tc.want)
			}
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRateLimit(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	url := serveWith(t, f, api.WithRateLimit(api.RateLimit{PerSecond: 1, Burst: 2}))

	var statuses []int
	var last *http.Response
	var lastBody []byte
	for range 3 {
		last, lastBody = list(t, url, f, `{"limit":1}`)
		statuses = append(statuses, last.StatusCode)
	}
	if statuses[0] != 200 || statuses[1] != 200 || statuses[2] != 429 {
		t.Fatalf("a burst of 3 at 1/s, burst 2: %v", statuses)
	}
	status, typ, msg := errorType(t, lastBody)
	ra, err := strconv.Atoi(last.Header.Get("Retry-After"))
	if status != 429 || typ != api.TypeTooManyRequests || err != nil || ra < 1 || ra > 2 || !strings.Contains(msg, "1 request a second") {
		t.Errorf("429: Retry-After %q, %s", last.Header.Get("Retry-After"), lastBody)
	}
	want := fmt.Sprintf(`{"error":{"details":{"burst":2,"limit_per_second":1,"retry_after_seconds":%d},"message":"Too many requests: this API key may make 1 request a second (bursts of 2); retry after %d s","type":"TooManyRequestsError"},"status":429,"success":false}`+"\n", ra, ra)
	if string(lastBody) != want {
		t.Errorf("429 body\n%s\nwant\n%s", lastBody, want)
	}
	// Per key: another organization's key is not limited by a's use.
	b := func() (*http.Response, []byte) {
		return send(t, http.MethodPost, url+"/v1/buckets/bkt_b/batches/list", `{"limit":1}`,
			"Authorization", "Bearer "+f.b.key, "X-Namespace", "production", "Content-Type", "application/json")
	}
	if resp, body := b(); resp.StatusCode != 200 {
		t.Errorf("another key: %d %s", resp.StatusCode, body)
	}
	// Not limited: the operator endpoints, and requests without a valid key
	// (refused before they count).
	for range 5 {
		if resp, _ := send(t, http.MethodGet, url+"/healthz", ""); resp.StatusCode != 200 {
			t.Errorf("/healthz: %d", resp.StatusCode)
		}
		if resp, _ := send(t, http.MethodPost, url+"/v1/buckets/bkt_a/batches/list", `{}`, "Authorization", "Bearer sk_test_nobodynobodynobody"); resp.StatusCode != 401 {
			t.Errorf("unknown key: %d", resp.StatusCode)
		}
	}

	// The client waits Retry-After out and its retry succeeds.
	var attempts []int
	c, err := batches.New(batches.WithBaseURL(url), batches.WithAPIKey(f.a.key), batches.WithNamespace("production"),
		batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
			resp, err := next(req)
			if err == nil {
				attempts = append(attempts, resp.StatusCode)
			}
			return resp, err
		}))
	if err != nil {
		t.Fatal(err)
	}
	// Use up what is left of the bucket, then call.
	for {
		if resp, _ := list(t, url, f, `{"limit":1}`); resp.StatusCode == 429 {
			break
		}
	}
	page, err := c.ListBatches(t.Context(), "bkt_a", &batches.ListBatchesParams{Limit: 3})
	if err != nil || len(page.Results) != 3 {
		t.Fatalf("the client's call: %v", err)
	}
	if len(attempts) < 2 || attempts[0] != 429 || attempts[len(attempts)-1] != 200 {
		t.Errorf("attempts %v, want a 429 then a 200", attempts)
	}

	for _, rl := range []api.RateLimit{{PerSecond: -1, Burst: 1}, {PerSecond: 1, Burst: 0}} {
		if _, err := api.NewHandler(f.db, api.WithRateLimit(rl)); err == nil {
			t.Errorf("%+v accepted", rl)
		}
	}
}
