package batches_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

func TestNewRefusesBadOptions(t *testing.T) {
	t.Setenv(batches.EnvAPIKey, "")
	t.Setenv(batches.EnvNamespace, "")
	t.Setenv(batches.EnvBaseURL, "")
	for _, tc := range []struct {
		name string
		opt  batches.Option
		want string
	}{
		{"ftp scheme", batches.WithBaseURL("ftp://example.com"), `base URL "ftp://example.com": the scheme must be http or https`},
		{"no scheme", batches.WithBaseURL("api.mixpeek.com"), `base URL "api.mixpeek.com": the scheme must be http or https`},
		{"no host", batches.WithBaseURL("https://"), `base URL "https://": no host`},
		{"user info", batches.WithBaseURL("https://u:secret@example.com"), `base URL "https://u:xxxxx@example.com": user info is not allowed`},
		{"query", batches.WithBaseURL("https://example.com/?a=1"), `a query is not allowed`},
		{"fragment", batches.WithBaseURL("https://example.com/#x"), `a fragment is not allowed`},
		{"unparsable", batches.WithBaseURL("http://[::1"), `base URL "http://[::1"`},
		{"negative retries", batches.WithMaxRetries(-1), "max retries -1 is negative"},
		{"zero retry delay", batches.WithMaxRetryDelay(0), "max retry delay 0s is not positive"},
		{"negative attempt timeout", batches.WithAttemptTimeout(-time.Second), "attempt timeout -1s is negative"},
		{"nil HTTP client", batches.WithHTTPClient(nil), "WithHTTPClient(nil)"},
		{"nil logger", batches.WithLogger(nil), "WithLogger(nil)"},
		{"nil middleware", batches.WithMiddleware(nil), "WithMiddleware(nil)"},
		{"Authorization header", batches.WithHeader("authorization", "Bearer x"), "the Authorization header is set by the client"},
		{"X-Namespace header", batches.WithHeader("X-Namespace", "x"), "the X-Namespace header is set by the client"},
		{"bad header name", batches.WithHeader("X Trace", "1"), `"X Trace" is not a valid header name`},
		{"bad header value", batches.WithHeader("X-Trace", "a\r\nb"), "the value of header X-Trace contains characters"},
		{"empty key", batches.WithAPIKey(""), "the API key is empty"},
		{"key with space", batches.WithAPIKey("sk_test_abc def"), "the API key contains a space at byte 12 of 15"},
		{"key with newline", batches.WithAPIKey("sk_test_abc\n"), "the API key ends with a line break (LF)"},
		{"empty namespace", batches.WithNamespace(""), "the namespace is empty"},
		{"long namespace", batches.WithNamespace(strings.Repeat("n", 129)), "the namespace is 129 bytes long, more than 128"},
		{"nil option", nil, "a nil Option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := batches.New(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "batches: ") {
				t.Fatalf("New: %v, %v; want an error containing %q", c, err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// CheckOptions refuses what New refuses, with New's error, and reads no
// environment.
func TestCheckOptions(t *testing.T) {
	t.Setenv(batches.EnvBaseURL, "ftp://example.com")
	if _, err := batches.New(); err == nil {
		t.Fatal("New accepted an ftp base URL in the environment")
	}
	if err := batches.CheckOptions(); err != nil {
		t.Errorf("CheckOptions read the environment: %v", err)
	}
	good := []batches.Option{batches.WithAPIKey(testKey), batches.WithNamespace("production"), batches.WithBaseURL("http://127.0.0.1:8080/proxy/"), batches.WithMaxRetries(0)}
	if err := batches.CheckOptions(good...); err != nil {
		t.Errorf("CheckOptions(valid options): %v", err)
	}
	for _, bad := range []batches.Option{batches.WithBaseURL("http://127.0.0.1:8080/v1"), batches.WithAPIKey("sk_test abc"), batches.WithMaxRetryDelay(0), nil} {
		_, want := batches.New(append(slices.Clone(good), bad)...)
		if err := batches.CheckOptions(append(slices.Clone(good), bad)...); err == nil || want == nil || err.Error() != want.Error() {
			t.Errorf("CheckOptions: %v; New: %v", err, want)
		}
	}
}

func TestNewRefusesBadEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{batches.EnvBaseURL, "ftp://example.com", "MIXPEEK_BASE_URL: batches: base URL \"ftp://example.com\": the scheme must be http or https"},
		{batches.EnvAPIKey, "sk_test abc", "MIXPEEK_API_KEY: batches: the API key contains a space at byte 8 of 11"},
		{batches.EnvNamespace, strings.Repeat("n", 200), "MIXPEEK_NAMESPACE: batches: the namespace is 200 bytes long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.name, tc.value)
			if _, err := batches.New(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("New: %v; want %q", err, tc.want)
			}
			// An option that replaces the variable makes it harmless.
			opt := map[string]batches.Option{
				batches.EnvBaseURL:   batches.WithBaseURL("http://127.0.0.1:8080"),
				batches.EnvAPIKey:    batches.WithAPIKey(testKey),
				batches.EnvNamespace: batches.WithNamespace("production"),
			}[tc.name]
			if _, err := batches.New(opt); err != nil {
				t.Errorf("New with %s replaced: %v", tc.name, err)
			}
		})
	}
}

func TestMissingKeyOrNamespaceSendsNothing(t *testing.T) {
	t.Setenv(batches.EnvAPIKey, "")
	t.Setenv(batches.EnvNamespace, "")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) { t.Errorf("request sent: %s", r.URL) })
	c, err := batches.New(batches.WithBaseURL(f.srv.URL))
	if err != nil {
		t.Fatalf("New without a key: %v", err)
	}
	_, err = c.ListBatches(t.Context(), "bkt_demo", nil)
	if !errors.Is(err, batches.ErrNoAPIKey) || err.Error() != "batches: no API key: set MIXPEEK_API_KEY or use WithAPIKey" {
		t.Errorf("no key: %v", err)
	}
	_, err = c.ListBatches(t.Context(), "bkt_demo", nil, batches.WithAPIKey(testKey))
	if !errors.Is(err, batches.ErrNoNamespace) || err.Error() != "batches: no namespace: set MIXPEEK_NAMESPACE or use WithNamespace" {
		t.Errorf("no namespace: %v", err)
	}
	_, err = collect(c.AllBatches(t.Context(), "bkt_demo", nil))
	if !errors.Is(err, batches.ErrNoAPIKey) {
		t.Errorf("AllBatches without a key: %v", err)
	}
}

func TestBadParamsRefusedBeforeSending(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) { t.Errorf("request sent: %s", r.URL) })
	c := f.client(t)
	for _, tc := range []struct {
		bucket string
		params *batches.ListBatchesParams
		want   string
	}{
		{"", nil, "batches: listBatches: the bucket identifier is empty"},
		{strings.Repeat("b", 129), nil, "batches: listBatches: the bucket identifier is 129 bytes long, more than 128"},
		{"bkt_demo", &batches.ListBatchesParams{Limit: 1001}, "batches: listBatches: limit 1001 is more than 1000"},
		{"bkt_demo", &batches.ListBatchesParams{Limit: -1}, "batches: listBatches: limit -1 is negative; it must be 1 to 1000"},
		{"bkt_demo", &batches.ListBatchesParams{Offset: -1}, "batches: listBatches: offset -1 is negative; it must be 0 or more"},
		// Dot-segments: resolved away, they would send the request to
		// another route (POST /v1/batches/list, /v1/buckets/batches/list).
		{"..", nil, `batches: listBatches: the bucket identifier ".." is not a bucket: in the URL path it would mean the current or parent directory`},
		{".", nil, `batches: listBatches: the bucket identifier "." is not a bucket: in the URL path it would mean the current or parent directory`},
		{"bkt_demo\n", nil, `batches: listBatches: the bucket identifier "bkt_demo\n" contains a control character at byte 9`},
		{"bkt\x00demo", nil, `batches: listBatches: the bucket identifier "bkt\x00demo" contains a control character at byte 4`},
	} {
		_, err := c.ListBatches(t.Context(), tc.bucket, tc.params)
		if !errors.Is(err, batches.ErrValidation) || err.Error() != tc.want {
			t.Errorf("ListBatches(%.10q, %+v): %v; want %q", tc.bucket, tc.params, err, tc.want)
		}
		_, err = collect(c.AllBatches(t.Context(), tc.bucket, tc.params))
		if !errors.Is(err, batches.ErrValidation) || err.Error() != tc.want {
			t.Errorf("AllBatches(%.10q, %+v): %v; want %q", tc.bucket, tc.params, err, tc.want)
		}
	}
	// A bad per-call option fails the call, not the client.
	if _, err := c.ListBatches(t.Context(), "bkt_demo", nil, batches.WithMaxRetries(-2)); err == nil || err.Error() != "batches: max retries -2 is negative" {
		t.Errorf("bad call option: %v", err)
	}
}

// asError checks that err is an *Error of status matching sentinel and no
// other sentinel.
func asError(t *testing.T, err error, status int, sentinel error) *batches.Error {
	t.Helper()
	var e *batches.Error
	if !errors.As(err, &e) {
		t.Fatalf("%T %v is not an *Error", err, err)
	}
	if e.StatusCode != status {
		t.Errorf("status %d, want %d: %v", e.StatusCode, status, err)
	}
	for _, s := range []error{batches.ErrUnauthorized, batches.ErrForbidden, batches.ErrNotFound, batches.ErrRateLimited, batches.ErrValidation} {
		if got := errors.Is(err, s); got != (s == sentinel) {
			t.Errorf("errors.Is(%v, %v) = %v", err, s, got)
		}
	}
	return e
}

func TestErrorSentinelsForEveryStatus(t *testing.T) {
	for _, tc := range []struct {
		status   int
		body     string
		sentinel error
		want     string
	}{
		{401, errorBody(401, "UnauthorizedError", "Invalid API key"), batches.ErrUnauthorized, "batches: listBatches: HTTP 401 UnauthorizedError: Invalid API key (request id req_1)"},
		{403, errorBody(403, "ForbiddenError", "Forbidden"), batches.ErrForbidden, "batches: listBatches: HTTP 403 ForbiddenError: Forbidden (request id req_1)"},
		// Not the API's own error (a route that does not exist): where it came from.
		{404, `{"detail":"Not Found"}`, batches.ErrNotFound, "batches: listBatches: POST /v1/buckets/bkt_demo/batches/list: HTTP 404: Not Found (request id req_1)"},
		{429, errorBody(429, "RateLimitError", "Too many requests"), batches.ErrRateLimited, "batches: listBatches: HTTP 429 RateLimitError: Too many requests (request id req_1, 3 attempts)"},
		{400, errorBody(400, "BadRequestError", "X-Namespace header must not be empty"), batches.ErrValidation, "batches: listBatches: HTTP 400 BadRequestError: X-Namespace header must not be empty (request id req_1)"},
		{422, `{"detail":[{"loc":["body","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal","input":1001,"ctx":{"le":1000}},{"loc":["body","items",0],"msg":"bad","type":"x","input":null}]}`,
			batches.ErrValidation, "batches: listBatches: HTTP 422: body.limit: Input should be less than or equal to 1000 (less_than_equal); body.items.0: bad (x) (request id req_1)"},
		{409, `{"success":false,"status":409,"error":{"message":"Conflict here","type":"ConflictError","details":["not an object"]}}`, nil, "batches: listBatches: HTTP 409 ConflictError: Conflict here (request id req_1)"},
		{405, errorBody(405, "MethodNotAllowedError", "Method Not Allowed"), nil, "batches: listBatches: HTTP 405 MethodNotAllowedError: Method Not Allowed (request id req_1)"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("X-Request-Id", "req_1")
				writeJSON(w, tc.status, tc.body)
			})
			_, err := f.client(t).ListBatches(t.Context(), "bkt_demo", nil)
			e := asError(t, err, tc.status, tc.sentinel)
			if err.Error() != tc.want {
				t.Errorf("reads\n%q, want\n%q", err, tc.want)
			}
			if e.RequestID != "req_1" || string(e.RawBody) != tc.body {
				t.Errorf("request id %q, body %s", e.RequestID, e.RawBody)
			}
			if wantTries := map[bool]int64{true: 3, false: 1}[tc.status == 429]; f.n.Load() != wantTries {
				t.Errorf("%d requests, want %d", f.n.Load(), wantTries)
			}
		})
	}
}

func TestRetryPolicyStatuses(t *testing.T) {
	for status, retried := range map[int]bool{408: true, 429: true, 500: true, 502: true, 503: true, 504: true,
		400: false, 401: false, 403: false, 404: false, 409: false, 422: false, 501: false} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
			writeJSON(w, status, errorBody(status, "E", "e"))
		})
		_, err := f.client(t).ListBatches(t.Context(), "bkt_demo", nil)
		want := map[bool]int64{true: 3, false: 1}[retried]
		if f.n.Load() != want || err == nil {
			t.Errorf("HTTP %d: %d requests (want %d), %v", status, f.n.Load(), want, err)
		}
	}
}

// A Retry-After up to the max retry delay is waited out as given; a longer
// one ends the retries at once (an earlier attempt would fail again), the
// answer's *Error telling the wait.
func TestRetryAfterUpToTheCapIsWaitedBeyondItEndsTheRetries(t *testing.T) {
	t.Parallel() // one case waits 1 s, the shortest Retry-After there is
	// An hour from when the answer is written (the subtests before it wait,
	// and a loaded machine makes them wait longer).
	const inAnHour = "in an hour"
	for _, tc := range []struct {
		name, value string
		status      int
		max         time.Duration
		attempts    int           // 2: retried once; 1: not retried
		delay       time.Duration // the wait before the retry
		retryAfter  time.Duration // Error.RetryAfter
	}{
		{"zero seconds", "0", 429, time.Hour, 2, 0, 0},
		{"HTTP date past", "Sun, 06 Nov 1994 08:49:37 GMT", 503, time.Hour, 2, 0, 0},
		{"seconds at the cap", "1", 503, time.Second, 2, time.Second, time.Second},
		{"seconds past the cap", "1", 503, time.Second - time.Millisecond, 1, 0, time.Second},
		{"seconds past the cap, 429", "30", 429, 5 * time.Millisecond, 1, 0, 30 * time.Second},
		{"HTTP date past the cap", inAnHour, 429, 5 * time.Millisecond, 1, 0, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				v := tc.value
				if v == inAnHour {
					v = time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
				}
				w.Header().Set("Retry-After", v)
				writeJSON(w, tc.status, errorBody(tc.status, "E", "slow down"))
			})
			_, err := f.client(t, batches.WithMaxRetries(1), batches.WithMaxRetryDelay(tc.max)).ListBatches(t.Context(), "bkt_demo", nil)
			e := asError(t, err, tc.status, map[int]error{429: batches.ErrRateLimited}[tc.status])
			if len(e.Attempts) != tc.attempts || f.n.Load() != int64(tc.attempts) || e.Attempts[0].Delay != tc.delay {
				t.Errorf("%d requests, attempts %+v; want %d, the first waiting %v", f.n.Load(), e.Attempts, tc.attempts, tc.delay)
			}
			// An HTTP date is read a little after it was written.
			if e.RetryAfter > tc.retryAfter || e.RetryAfter < tc.retryAfter-2*time.Second {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter, tc.retryAfter)
			}
			if tc.retryAfter == 30*time.Second && err.Error() != "batches: listBatches: HTTP 429 E: slow down (retry after 30s)" {
				t.Errorf("reads %q", err)
			}
		})
	}
}

// A caller's cancellation ends the wait before a retry at once: the server
// asks for a 30 s wait, the caller cancels once the wait has begun.
func TestCancelStopsTheRetryWait(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, 503, errorBody(503, "ServiceUnavailableError", "Service Unavailable"))
	})
	var logs bytes.Buffer
	c := f.client(t, batches.WithMaxRetryDelay(time.Hour), batches.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))),
		batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
			resp, err := next(req)
			time.AfterFunc(10*time.Millisecond, cancel) // during the wait
			return resp, err
		}))
	_, err := c.ListBatches(ctx, "bkt_demo", nil)
	if !errors.Is(err, context.Canceled) || f.n.Load() != 1 {
		t.Fatalf("%v after %d requests; want context.Canceled after 1", err, f.n.Load())
	}
	if !strings.Contains(logs.String(), `"retry_in":30000000000`) {
		t.Errorf("the wait was not 30 s: %s", logs.String())
	}

	// A cancellation during an attempt is not retried either.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		io.Copy(io.Discard, r.Body) // so the server notices the client leave
		cancel()
		<-r.Context().Done()
	})
	_, err = f.client(t).ListBatches(ctx, "bkt_demo", nil)
	if !errors.Is(err, context.Canceled) || f.n.Load() != 1 {
		t.Fatalf("%v after %d requests; want context.Canceled after 1", err, f.n.Load())
	}
}

// A proxy's HTML 502: an *Error with the body as sent.
func TestHTMLErrorKeepsTheRawBody(t *testing.T) {
	html := "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body>\r\n</html>\r\n"
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, html)
	})
	_, err := f.client(t).ListBatches(t.Context(), "bkt_demo", nil)
	e := asError(t, err, 502, nil)
	if string(e.RawBody) != html || e.Message != "Bad Gateway" || e.Type != "" || len(e.Attempts) != 3 {
		t.Errorf("%+v", e)
	}
	want := "batches: listBatches: POST /v1/buckets/bkt_demo/batches/list: HTTP 502: Bad Gateway: <html> <head><title>502 Bad Gateway</title></head> <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body> </html> (3 attempts)"
	if err.Error() != want {
		t.Errorf("reads\n%q, want\n%q", err, want)
	}
}

func TestMalformedSuccessIsAnError(t *testing.T) {
	for _, body := range []string{`{"results":[]}`, `{"total_count":0}`, `[]`, `not json`, ""} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) { writeJSON(w, 200, body) })
		_, err := f.client(t).ListBatches(t.Context(), "bkt_demo", nil)
		e := asError(t, err, 200, nil)
		if !strings.HasPrefix(e.Message, "the response is not a ListBatchesResponse with results and total_count") || string(e.RawBody) != body {
			t.Errorf("%s: %v", body, err)
		}
	}
	// An empty body says so, rather than nothing after a colon.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) { writeJSON(w, 200, " \n") })
	c := f.client(t)
	_, err := c.ListBatches(t.Context(), "bkt_demo", nil)
	_, err2 := c.GetBatch(t.Context(), "bkt_demo", "btch_1")
	_, err3 := c.GetTask(t.Context(), "task_1")
	_, err4 := c.KillTask(t.Context(), "task_1")
	for i, want := range []string{"ListBatchesResponse with results and total_count", "Batch", "TaskResponse", "GenericDeleteResponse"} {
		if e := asError(t, []error{err, err2, err3, err4}[i], 200, nil); e.Message != "the response is not a "+want+": empty body" {
			t.Errorf("%q", e.Message)
		}
	}
	// An answer for another batch or task than the one asked for.
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if strings.HasPrefix(r.URL.Path, "/v1/tasks/") {
			writeJSON(w, 200, `{"task_id":"task_2","task_type":"api_buckets_batches_process","status":"PENDING"}`)
			return
		}
		writeJSON(w, 200, `{"batch_id":"btch_2","bucket_id":"bkt_demo","status":"PENDING"}`)
	})
	c = f.client(t)
	_, err = c.GetBatch(t.Context(), "bkt_demo", "btch_1")
	_, err2 = c.GetTask(t.Context(), "task_1")
	if e := asError(t, err, 200, nil); e.Message != `the response is batch "btch_2", not "btch_1": the server answered for another batch` || len(e.Attempts) != 1 {
		t.Errorf("%v", err)
	}
	if e := asError(t, err2, 200, nil); e.Message != `the response is task "task_2", not "task_1": the server answered for another task` || len(e.Attempts) != 1 {
		t.Errorf("%v", err2)
	}
}

func TestUnknownStatusDecodes(t *testing.T) {
	batch := `{"batch_id":"btch_new","bucket_id":"bkt_demo","status":"PAUSED_FOR_REVIEW","object_ids":[],"collection_ids":null,` +
		`"error":null,"error_summary":null,"type":"STREAM","task_id":null,"metadata":{},"current_tier":null,"total_tiers":1,` +
		`"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:00Z","priority":5}`
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		writeJSON(w, 200, `{"results":[`+batch+`],"total_count":1}`)
	})
	page, err := f.client(t).ListBatches(t.Context(), "bkt_demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := page.Results[0]
	if b.Status != "PAUSED_FOR_REVIEW" || b.Status.IsKnown() || b.Status.IsTerminal() || b.Status.IsActive() || b.Type != "STREAM" {
		t.Errorf("%+v", b)
	}
	if string(b.RawJSON()) != batch {
		t.Errorf("raw %s", b.RawJSON())
	}
}

func TestRequestHeaders(t *testing.T) {
	uaPattern := regexp.MustCompile(`^mixpeek-batches-go/` + regexp.QuoteMeta(batches.Version) + ` \(github\.com/mixpeekgo/batches; ` +
		regexp.QuoteMeta(runtime.Version()) + `; ` + runtime.GOOS + `/` + runtime.GOARCH + `\)$`)
	var got http.Header
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		got = r.Header.Clone()
		writeJSON(w, 200, `{"results":[],"total_count":0}`)
	})
	if _, err := f.client(t, batches.WithHeader("X-Trace", "abc")).ListBatches(t.Context(), "bkt_demo", nil); err != nil {
		t.Fatal(err)
	}
	if ua := got.Get("User-Agent"); !uaPattern.MatchString(ua) {
		t.Errorf("User-Agent %q does not match %s", ua, uaPattern)
	}
	if got.Get("Authorization") != "Bearer "+testKey || got.Get("X-Namespace") != "production" ||
		got.Get("Content-Type") != "application/json" || got.Get("Accept") != "application/json" || got.Get("X-Trace") != "abc" {
		t.Errorf("headers %v", got)
	}
	if _, err := f.client(t, batches.WithHeader("User-Agent", "my-app/2")).ListBatches(t.Context(), "bkt_demo", nil); err != nil {
		t.Fatal(err)
	}
	if ua := got.Get("User-Agent"); ua != "my-app/2" {
		t.Errorf("User-Agent %q", ua)
	}
}

// Each attempt records the request id its answer carried, and its log
// line shows it (the API key redacted, should the server echo it there).
func TestAttemptsCarryTheRequestID(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("X-Request-Id", fmt.Sprintf("req_%d", n))
		if n == 2 {
			w.Header().Set("X-Request-Id", "req_"+testKey)
		}
		writeJSON(w, 503, errorBody(503, "ServiceUnavailableError", "down"))
	})
	var logs bytes.Buffer
	_, err := f.client(t, batches.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))).ListBatches(t.Context(), "bkt_demo", nil)
	e := asError(t, err, 503, nil)
	var ids []string
	for _, a := range e.Attempts {
		ids = append(ids, a.RequestID)
	}
	if fmt.Sprint(ids) != "[req_1 req_[REDACTED] req_3]" || e.RequestID != "req_3" {
		t.Errorf("attempts' request ids %v, the error's %q", ids, e.RequestID)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	for i, l := range lines {
		if want := "request_id=" + ids[i]; len(lines) != 3 || !strings.Contains(l, want) || strings.Contains(l, testKey) {
			t.Errorf("log line %d %q lacks %s", i+1, l, want)
		}
	}
}

// One log line per attempt, without the key or the Authorization header,
// and no key in error strings even when the server echoes it.
func TestLoggingAndErrorsNeverShowTheKey(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 1 {
			writeJSON(w, 503, errorBody(503, "ServiceUnavailableError", "down"))
			return
		}
		writeJSON(w, 401, errorBody(401, "UnauthorizedError", "Invalid API key "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
	})
	var logs bytes.Buffer
	_, err := f.client(t, batches.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))).
		ListBatches(t.Context(), "bkt_demo", nil)
	e := asError(t, err, 401, batches.ErrUnauthorized)
	if e.Message != "Invalid API key [REDACTED]" {
		t.Errorf("message %q", e.Message)
	}
	for _, s := range []string{err.Error(), string(e.RawBody), logs.String(), fmt.Sprintf("%+v", e)} {
		if strings.Contains(s, testKey) || strings.Contains(s, testKey[8:]) || strings.Contains(s, "Bearer") || strings.Contains(s, "Authorization") {
			t.Errorf("shows the key: %s", s)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), logs.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		wantStatus, wantLevel := []float64{503, 401}[i], []string{"WARN", "INFO"}[i]
		if rec["method"] != "POST" || rec["path"] != "/v1/buckets/bkt_demo/batches/list" || rec["status"] != wantStatus ||
			rec["attempt"] != float64(i+1) || rec["level"] != wantLevel || rec["duration"] == nil {
			t.Errorf("line %d: %s", i+1, line)
		}
	}
}

func TestMiddlewareSeesEveryAttemptInOrder(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if got := r.Header.Values("X-Order"); !slices.Equal(got, []string{"client", "call"}) {
			t.Errorf("attempt %d: X-Order %v", n, got)
		}
		writeJSON(w, 500, errorBody(500, "InternalServerError", "Internal Server Error"))
	})
	var seen []string
	mw := func(name string) batches.Middleware {
		return func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
			seen = append(seen, name)
			req.Header.Add("X-Order", name)
			return next(req)
		}
	}
	_, err := f.client(t, batches.WithMiddleware(mw("client"))).ListBatches(t.Context(), "bkt_demo", nil, batches.WithMiddleware(mw("call")))
	asError(t, err, 500, nil)
	if want := []string{"client", "call", "client", "call", "client", "call"}; !slices.Equal(seen, want) {
		t.Errorf("middleware ran %v, want %v", seen, want)
	}
}

func TestTaskStatus(t *testing.T) {
	terminal := []batches.TaskStatus{batches.TaskStatusCompleted, batches.TaskStatusCompletedWithErrors, batches.TaskStatusFailed, batches.TaskStatusCanceled}
	active := []batches.TaskStatus{batches.TaskStatusPending, batches.TaskStatusInProgress, batches.TaskStatusProcessing}
	for _, s := range batches.TaskStatuses() {
		if !s.IsKnown() || s.IsTerminal() != slices.Contains(terminal, s) || s.IsActive() != slices.Contains(active, s) {
			t.Errorf("%s: known %v, terminal %v, active %v", s, s.IsKnown(), s.IsTerminal(), s.IsActive())
		}
	}
	for attempt, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second} {
		for range 50 {
			if d := batches.PollInterval(attempt); d < want*8/10 || d > want {
				t.Errorf("PollInterval(%d) = %v, want %v less up to 20 %%", attempt, d, want)
			}
		}
	}
	if d := batches.PollInterval(-3); d < 800*time.Millisecond || d > time.Second {
		t.Errorf("PollInterval(-3) = %v", d)
	}
	if d := batches.PollInterval(1 << 40); d < 24*time.Second || d > 30*time.Second {
		t.Errorf("PollInterval(huge) = %v", d)
	}
}

// Any other bucket identifier is sent as one path segment, escaped: dots
// that are not a whole segment, percent signs, slashes.
func TestBucketIdentifierIsOnePathSegment(t *testing.T) {
	var got atomic.Value
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		got.Store(r.URL.EscapedPath())
		writeJSON(w, 200, `{"results":[],"total_count":0}`)
	})
	for bucket, want := range map[string]string{
		"...":       "/v1/buckets/.../batches/list",
		".bkt":      "/v1/buckets/.bkt/batches/list",
		"%2e%2e":    "/v1/buckets/%252e%252e/batches/list",
		"../admin":  "/v1/buckets/..%2Fadmin/batches/list",
		"my bucket": "/v1/buckets/my%20bucket/batches/list",
	} {
		if _, err := f.client(t).ListBatches(t.Context(), bucket, nil); err != nil {
			t.Errorf("%q: %v", bucket, err)
		}
		if p := got.Load(); p != want {
			t.Errorf("%q sent as %v, want %s", bucket, p, want)
		}
	}
}

// A base URL ending in /v1 would send /v1/v1/…: refused, with the URL to use.
func TestBaseURLEndingInV1IsRefused(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.mixpeek.com/v1":        `batches: base URL "https://api.mixpeek.com/v1" ends in /v1, which the API's paths start with already: use "https://api.mixpeek.com"`,
		"https://api.mixpeek.com/v1/":       `batches: base URL "https://api.mixpeek.com/v1/" ends in /v1, which the API's paths start with already: use "https://api.mixpeek.com"`,
		"http://127.0.0.1:8080/mixpeek/v1/": `batches: base URL "http://127.0.0.1:8080/mixpeek/v1/" ends in /v1, which the API's paths start with already: use "http://127.0.0.1:8080/mixpeek"`,
	} {
		if _, err := batches.New(batches.WithBaseURL(in)); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
	for _, ok := range []string{"https://api.mixpeek.com/v10", "https://api.mixpeek.com/v1x/", "https://gw.example.com/v1/mixpeek"} {
		if _, err := batches.New(batches.WithBaseURL(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
