package batchestest_test

// Moved from the root's client_test.go: see batches_helpers_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

func TestEnvironmentDefaultsAndOptionsOverThem(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 3)
	t.Setenv(batches.EnvAPIKey, srv.APIKey)
	t.Setenv(batches.EnvNamespace, "production")
	t.Setenv(batches.EnvBaseURL, srv.URL)
	c, err := batches.New(batches.WithHTTPClient(checked(t)))
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.ListBatches(t.Context(), bk.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page.Results); !slices.Equal(got, bk.ids) || page.TotalCount != 3 {
		t.Fatalf("got %v of %d, want %v of 3", got, page.TotalCount, bk.ids)
	}

	// Options win over the environment.
	t.Setenv(batches.EnvNamespace, "no-such-namespace")
	t.Setenv(batches.EnvBaseURL, "http://127.0.0.1:1")
	c, err = batches.New(batches.WithHTTPClient(checked(t)), batches.WithBaseURL(srv.URL), batches.WithNamespace("production"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListBatches(t.Context(), bk.id, nil); err != nil {
		t.Fatal(err)
	}
}

// The package's ListBatches and AllBatches make a client from the
// environment and opts for each call; New's error is theirs.
func TestPackageFunctionsUseTheEnvironment(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 7)
	t.Setenv(batches.EnvAPIKey, srv.APIKey)
	t.Setenv(batches.EnvNamespace, "production")
	t.Setenv(batches.EnvBaseURL, srv.URL)
	page, err := batches.ListBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 3}, batches.WithHTTPClient(checked(t)))
	if err != nil || !slices.Equal(ids(page.Results), bk.ids[:3]) || page.TotalCount != 7 {
		t.Fatalf("ListBatches: %v, %v", page, err)
	}
	got, err := collect(batches.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 3}, batches.WithHTTPClient(checked(t))))
	if err != nil || !slices.Equal(got, bk.ids) {
		t.Fatalf("AllBatches: %v, %v", got, err)
	}

	// An invalid variable: New's error, nothing sent; an option replacing
	// it makes it harmless.
	t.Setenv(batches.EnvBaseURL, "ftp://example.com")
	want := `MIXPEEK_BASE_URL: batches: base URL "ftp://example.com": the scheme must be http or https`
	if page, err := batches.ListBatches(t.Context(), bk.id, nil); page != nil || err == nil || err.Error() != want {
		t.Errorf("ListBatches: %v, %v", page, err)
	}
	var errs []error
	for b, err := range batches.AllBatches(t.Context(), bk.id, nil) {
		if b.BatchID != "" {
			t.Errorf("a batch with the error: %+v", b)
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || errs[0] == nil || errs[0].Error() != want {
		t.Errorf("AllBatches: %v", errs)
	}
	got, err = collect(batches.AllBatches(t.Context(), bk.id, nil, batches.WithBaseURL(srv.URL)))
	if err != nil || !slices.Equal(got, bk.ids) {
		t.Errorf("with WithBaseURL: %v, %v", got, err)
	}
}

func TestListBatchesOnePage(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 30)
	c := srv.client(t)
	page, err := c.ListBatches(t.Context(), bk.id, &batches.ListBatchesParams{Offset: 5, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page.Results); !slices.Equal(got, bk.ids[5:15]) {
		t.Errorf("results %v, want %v", got, bk.ids[5:15])
	}
	if page.TotalCount != 30 || page.Offset != 5 || !page.HasMore() || page.NextOffset() != 15 {
		t.Errorf("total_count %d, offset %d, has more %v, next %d", page.TotalCount, page.Offset, page.HasMore(), page.NextOffset())
	}
	b := page.Results[0]
	if b.BucketID != bk.id || b.Type != batches.BatchTypeBucket || b.TotalTiers != 1 || len(b.ObjectIDs) != 1 ||
		b.CollectionIDs != nil || b.Error != nil || b.TaskID != nil || b.CurrentTier != nil || b.ErrorSummary != nil ||
		b.CreatedAt.IsZero() || !b.UpdatedAt.Equal(b.CreatedAt.Add(time.Second)) {
		t.Errorf("batch decoded as %+v", b)
	}
	// Encoding a Batch gives back the API's JSON.
	again, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var x, y any
	if err := json.Unmarshal(again, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.RawJSON(), &y); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(x) != fmt.Sprint(y) {
		t.Errorf("re-encoded %s\nreceived   %s", again, b.RawJSON())
	}

	// A status filter; the last page.
	page, err = c.ListBatches(t.Context(), bk.id, &batches.ListBatchesParams{Status: batches.TaskStatusFailed, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range page.Results {
		if b.Status != batches.TaskStatusFailed {
			t.Errorf("%s is %s", b.BatchID, b.Status)
		}
	}
	if want := 2; len(page.Results) != want || page.TotalCount != int64(want) || page.HasMore() {
		t.Errorf("%d FAILED of %d, has more %v; want %d", len(page.Results), page.TotalCount, page.HasMore(), want)
	}
}

// TestErrorsFromTheReferenceServer checks *Error and the sentinels on the
// answers of the real server.
func TestErrorsFromTheReferenceServer(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 1)

	_, err := srv.client(t, batches.WithAPIKey("sk_test_unknownunknownunknown")).ListBatches(t.Context(), bk.id, nil)
	e := asError(t, err, http.StatusUnauthorized, batches.ErrUnauthorized)
	if e.Type != "UnauthorizedError" || e.Message == "" || !strings.HasPrefix(e.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401: %+v", e)
	}
	if strings.Contains(err.Error(), "sk_test_unknown") {
		t.Errorf("the key is in the error: %v", err)
	}

	_, err = srv.client(t).ListBatches(t.Context(), "bkt_missing", nil)
	e = asError(t, err, http.StatusNotFound, batches.ErrNotFound)
	if e.Type != "NotFoundError" || e.Message != "Bucket not found: bkt_missing" ||
		e.Details["resource"] != "bucket" || e.Details["identifier"] != "bkt_missing" || len(e.Attempts) != 1 ||
		e.Method != "POST" || e.Path != "/v1/buckets/bkt_missing/batches/list" || e.Operation != "listBatches" {
		t.Errorf("404: %+v", e)
	}
	// Every answer of the server has a request id, which the error ends with.
	if !strings.HasPrefix(e.RequestID, "req_") {
		t.Errorf("404: request id %q", e.RequestID)
	}
	if want := "batches: listBatches: HTTP 404 NotFoundError: Bucket not found: bkt_missing (request id " + e.RequestID + ")"; err.Error() != want {
		t.Errorf("404 reads %q, want %q", err, want)
	}

	_, err = srv.client(t).ListBatches(t.Context(), bk.id, nil, batches.WithNamespace("staging"))
	asError(t, err, http.StatusNotFound, batches.ErrNotFound)

	// A status the server does not know: 422, not retried.
	_, err = srv.client(t).ListBatches(t.Context(), bk.id, &batches.ListBatchesParams{Status: "PAUSED"})
	e = asError(t, err, http.StatusUnprocessableEntity, batches.ErrValidation)
	if len(e.Detail) != 1 || e.Detail[0].Type != "enum" || fmt.Sprint(e.Detail[0].Loc) != "[body status]" ||
		e.Detail[0].Input != "PAUSED" || len(e.Attempts) != 1 {
		t.Errorf("422: %+v", e)
	}
	if !strings.HasPrefix(err.Error(), "batches: listBatches: HTTP 422: body.status: Input should be ") || !strings.HasSuffix(err.Error(), " (enum) (request id "+e.RequestID+")") {
		t.Errorf("422 reads %q", err)
	}
}

// A 503 with Mixpeek's JSON ErrorResponse is retried (stripe-go does not
// retry an error body it can decode), and the attempts are recorded.
func TestJSON503IsRetried(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 5)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n <= 2 {
			writeJSON(w, 503, errorBody(503, "ServiceUnavailableError", "Service Unavailable"))
			return
		}
		srv.toRef(t, w, r)
	})
	page, err := f.client(t).ListBatches(t.Context(), bk.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 5 || f.n.Load() != 3 {
		t.Errorf("%d results after %d requests", len(page.Results), f.n.Load())
	}

	// When retries run out, the last answer is the error, with every
	// attempt.
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		writeJSON(w, 503, errorBody(503, "ServiceUnavailableError", fmt.Sprint("Service Unavailable ", n)))
	})
	_, err = f.client(t, batches.WithMaxRetries(3)).ListBatches(t.Context(), bk.id, nil)
	e := asError(t, err, 503, nil)
	if e.Message != "Service Unavailable 4" || len(e.Attempts) != 4 || f.n.Load() != 4 {
		t.Fatalf("%v after %d requests: %+v", err, f.n.Load(), e.Attempts)
	}
	for i, a := range e.Attempts {
		if a.StatusCode != 503 || a.Err != nil || a.Delay < 0 || a.Delay > time.Millisecond || (i == 3 && a.Delay != 0) {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	if !strings.HasSuffix(err.Error(), "(4 attempts)") {
		t.Errorf("reads %q", err)
	}
}

func TestAttemptTimeoutIsRetriedCallerDeadlineIsNot(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 2)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 1 {
			io.Copy(io.Discard, r.Body) // so the server notices the client leave
			// Hang until the client gives up.
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		srv.toRef(t, w, r)
	})
	var logs bytes.Buffer
	page, err := f.client(t, batches.WithAttemptTimeout(100*time.Millisecond), batches.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))).
		ListBatches(t.Context(), bk.id, nil)
	if err != nil || len(page.Results) != 2 || f.n.Load() != 2 {
		t.Fatalf("%v after %d requests", err, f.n.Load())
	}
	if !strings.Contains(logs.String(), "attempt timeout 100ms") {
		t.Errorf("log does not name the attempt timeout:\n%s", logs.String())
	}

	// The caller's deadline bounds the call: not retried.
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = f.client(t, batches.WithAttemptTimeout(time.Minute)).ListBatches(ctx, bk.id, nil)
	if !errors.Is(err, context.DeadlineExceeded) || f.n.Load() != 1 {
		t.Fatalf("%v after %d requests", err, f.n.Load())
	}
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 4)
	// The server drops the connection of the first request, unanswered.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		srv.toRef(t, w, r)
	})
	page, err := f.client(t).ListBatches(t.Context(), bk.id, nil)
	if err != nil || len(page.Results) != 4 || f.n.Load() != 2 {
		t.Fatalf("%v after %d requests", err, f.n.Load())
	}

	// Nobody listens: every attempt fails; an *Error without a status
	// says how many, and unwraps to the connection error.
	f = newFake(t, func(http.ResponseWriter, *http.Request, int64) {})
	f.srv.Close()
	_, err = f.client(t).ListBatches(t.Context(), bk.id, nil)
	e := asError(t, err, 0, nil)
	want := fmt.Sprintf(`batches: listBatches: Post "%s/v1/buckets/%s/batches/list": dial tcp %s: connect: connection refused (3 attempts)`, f.srv.URL, bk.id, f.srv.Listener.Addr())
	var opErr *net.OpError
	if err.Error() != want || !errors.As(err, &opErr) || len(e.Attempts) != 3 || e.Header != nil || e.RawBody != nil {
		t.Fatalf("reads\n%q, want\n%q; %+v", err, want, e)
	}
}

func TestRequestBodyIsReplayed(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 20)
	want := `{"limit":7,"offset":3,"status":"FAILED"}`
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		body, err := io.ReadAll(r.Body)
		if err != nil || string(body) != want {
			t.Errorf("attempt %d sent %q (%v), want %q", n, body, err, want)
		}
		if n <= 2 {
			writeJSON(w, 502, errorBody(502, "BadGatewayError", "Bad Gateway"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		srv.toRef(t, w, r)
	})
	page, err := f.client(t).ListBatches(t.Context(), bk.id, &batches.ListBatchesParams{Status: batches.TaskStatusFailed, Offset: 3, Limit: 7})
	if err != nil || f.n.Load() != 3 || page.TotalCount != 2 || len(page.Results) != 0 {
		t.Fatalf("%+v, %v after %d requests", page, err, f.n.Load())
	}
}

func TestPerCallOptionsOverride(t *testing.T) {
	srv := newRef(t)
	prod := srv.newBucket(t, "", 2)
	other := srv.newBucket(t, fmt.Sprint("staging-", time.Now().UnixNano()), 3)
	var sawTrace atomic.Value
	c := srv.client(t, batches.WithHeader("X-Trace", "client"), batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
		sawTrace.Store(req.Header.Get("X-Trace") + " " + req.Header.Get("X-Namespace"))
		return next(req)
	}))
	if _, err := c.ListBatches(t.Context(), prod.id, nil); err != nil {
		t.Fatal(err)
	}
	if got := sawTrace.Load(); got != "client production" {
		t.Errorf("sent %q", got)
	}
	ns := other.ns
	page, err := c.ListBatches(t.Context(), other.id, nil, batches.WithNamespace(ns), batches.WithHeader("X-Trace", "call"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page.Results); !slices.Equal(got, other.ids) {
		t.Errorf("got %v, want %v", got, other.ids)
	}
	if got := sawTrace.Load(); got != "call "+ns {
		t.Errorf("sent %q", got)
	}
	// The client's own settings are unchanged.
	if _, err := c.ListBatches(t.Context(), other.id, nil); !errors.Is(err, batches.ErrNotFound) {
		t.Errorf("the call's namespace stuck: %v", err)
	}
	if got := sawTrace.Load(); got != "client production" {
		t.Errorf("sent %q", got)
	}
}

// Environment values are trimmed of surrounding whitespace (a key read from
// a secret file ends with a line break); whitespace inside is refused with
// a message that says where, never the key.
func TestEnvironmentIsTrimmedAndKeysCheckedPrecisely(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 2)
	t.Setenv(batches.EnvAPIKey, srv.APIKey+"\r\n")
	t.Setenv(batches.EnvNamespace, " production\n")
	t.Setenv(batches.EnvBaseURL, srv.URL+"/\n")
	c, err := batches.New(batches.WithHTTPClient(checked(t)))
	if err != nil {
		t.Fatal(err)
	}
	if page, err := c.ListBatches(t.Context(), bk.id, nil); err != nil || page.TotalCount != 2 {
		t.Fatalf("%v, %v", page, err)
	}

	for _, tc := range []struct{ key, want string }{
		{"sk_test_abc def0123456789", "batches: the API key contains a space at byte 12 of 25; API keys have none"},
		{"sk_test_abc\tdef", "batches: the API key contains a tab at byte 12 of 15; API keys have none"},
		{"sk_test_abc\x07def", "batches: the API key contains the control character 0x07 at byte 12 of 15; API keys have none"},
		{"sk_test_abc\n", "batches: the API key ends with a line break (LF): trim it (a key read from a file often ends with a line break)"},
		{"sk_test_abc\r\n", "batches: the API key ends with a carriage return (CR): trim it (a key read from a file often ends with a line break)"},
		{" sk_test_abc", "batches: the API key starts with a space: trim it"},
	} {
		if _, err := batches.New(batches.WithAPIKey(tc.key)); err == nil || err.Error() != tc.want {
			t.Errorf("WithAPIKey(%q): %v, want %q", tc.key, err, tc.want)
		}
	}
	t.Setenv(batches.EnvAPIKey, "\tsk_test_abc def\n")
	if _, err := batches.New(); err == nil || err.Error() != "MIXPEEK_API_KEY: batches: the API key contains a space at byte 12 of 15; API keys have none" {
		t.Errorf("inner space in the environment: %v", err)
	}
}
