package batches_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// The waiters against servers of the tests' own, each case counting the
// requests: a wait ends where it should and polls no more than it should.
// Polls are 1 ms apart (PollBackoff); no test measures time. The schedule
// itself (the backoff, Retry-After) is checked in wait_internal_test.go.

// batchAt is a batch with status and current tier as the API sends it.
func batchAt(status string, tier int, extra string) string {
	return fmt.Sprintf(`{"batch_id":"btch_w","bucket_id":"bkt","status":%q,"current_tier":%d,"total_tiers":2,"error":%s,"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:0%dZ"}`,
		status, tier, extra, tier)
}

// script answers the nth request with answers[n-1] (status and body), the
// last one again after the end.
type answer struct {
	status int
	body   string
	header map[string]string
}

func scripted(t *testing.T, answers ...answer) *fake {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		a := answers[min(int(n), len(answers))-1]
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		writeJSON(w, a.status, a.body)
	})
}

func ok(body string) answer { return answer{status: 200, body: body} }

var fast = batches.PollBackoff(time.Millisecond, time.Millisecond)

func TestWaitBatchEnds(t *testing.T) {
	pending, inProgress := ok(batchAt("PENDING", 0, "null")), ok(batchAt("IN_PROGRESS", 1, "null"))
	apiError := func(status int) answer {
		return answer{status: status, body: errorBody(status, "SomeError", "no")}
	}
	for _, tc := range []struct {
		name     string
		answers  []answer
		opts     []batches.Option
		status   batches.TaskStatus // of the batch returned
		sentinel error              // nil: success
		requests int64
	}{
		{"completed", []answer{pending, inProgress, ok(batchAt("COMPLETED", 1, "null"))}, nil, "COMPLETED", nil, 3},
		{"completed with errors", []answer{pending, ok(batchAt("COMPLETED_WITH_ERRORS", 1, "null"))}, nil, "COMPLETED_WITH_ERRORS", nil, 2},
		{"failed", []answer{pending, ok(batchAt("FAILED", 1, `"tier 1 failed"`))}, nil, "FAILED", batches.ErrBatchFailed, 2},
		{"canceled", []answer{inProgress, ok(batchAt("CANCELED", 1, "null"))}, nil, "CANCELED", batches.ErrBatchCanceled, 2},
		{"draft", []answer{ok(batchAt("DRAFT", 0, "null"))}, nil, "DRAFT", batches.ErrBatchNotSubmitted, 1},
		{"404 mid-wait", []answer{pending, inProgress, apiError(404)}, nil, "IN_PROGRESS", batches.ErrNotFound, 3},
		{"401", []answer{apiError(401)}, nil, "", batches.ErrUnauthorized, 1},
		{"403 mid-wait", []answer{pending, apiError(403)}, nil, "PENDING", batches.ErrForbidden, 2},
		{"422", []answer{apiError(422)}, nil, "", batches.ErrValidation, 1},
		{"400", []answer{pending, apiError(400)}, nil, "PENDING", batches.ErrValidation, 2},
		// Each poll's call retries a 503 (2 retries); after 3 polls of 3
		// attempts the wait gives up.
		{"503s", []answer{pending, apiError(503)}, nil, "PENDING", nil, 1 + 3*3},
		// Two polls fail, the third gets an answer: the wait goes on.
		{"503s then completed", []answer{apiError(503), apiError(503), apiError(503), apiError(503), ok(batchAt("COMPLETED", 1, "null"))}, []batches.Option{batches.WithMaxRetries(1)}, "COMPLETED", nil, 5},
		{"a 2xx that is not a batch", []answer{pending, ok(`{"results":[]}`)}, nil, "PENDING", nil, 2},
		{"a 2xx with an empty body", []answer{pending, ok("")}, nil, "PENDING", nil, 2},
		// A server answering for another batch: never this batch's end.
		{"another batch", []answer{pending, ok(strings.Replace(batchAt("COMPLETED", 1, "null"), "btch_w", "btch_x", 1))}, nil, "PENDING", nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := scripted(t, tc.answers...)
			b, err := f.client(t, tc.opts...).WaitBatch(t.Context(), "bkt", "btch_w", fast)
			if n := f.n.Load(); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			if b.Status != tc.status {
				t.Errorf("batch %q, want %q", b.Status, tc.status)
			}
			var se *batches.StatusError
			var e *batches.Error
			switch {
			case strings.HasPrefix(tc.name, "503s") && tc.status == "PENDING":
				if !errors.As(err, &e) || e.StatusCode != 503 || len(e.Attempts) != 3 {
					t.Errorf("err %v", err)
				}
			case tc.name == "a 2xx that is not a batch":
				if !errors.As(err, &e) || e.StatusCode != 200 || e.Message != "the response is not a Batch: it has no batch_id" {
					t.Errorf("err %v", err)
				}
			case tc.name == "a 2xx with an empty body":
				if !errors.As(err, &e) || e.StatusCode != 200 || e.Message != "the response is not a Batch: empty body" {
					t.Errorf("err %v", err)
				}
			case tc.name == "another batch":
				if !errors.As(err, &e) || e.StatusCode != 200 || e.Message != `the response is batch "btch_x", not "btch_w": the server answered for another batch` {
					t.Errorf("err %v", err)
				}
			case tc.sentinel == nil:
				if err != nil {
					t.Errorf("err %v", err)
				}
			case !errors.Is(err, tc.sentinel):
				t.Errorf("err %v, want %v", err, tc.sentinel)
			case errors.As(err, &se):
				// The API answered: the batch is the value, the error
				// is no *Error.
				if errors.As(err, &e) || se.ID != "btch_w" || se.Status != tc.status {
					t.Errorf("err %#v", err)
				}
			case !errors.As(err, &e):
				t.Errorf("err %v is no *Error", err)
			}
		})
	}
}

// The messages of the three ends a StatusError tells.
func TestStatusErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   string
	}{
		{batchAt("FAILED", 1, `"tier 1 failed: \u001b[31mred"`), "batches: batch btch_w ended FAILED: tier 1 failed: \ufffd[31mred"},
		{batchAt("CANCELED", 1, "null"), "batches: batch btch_w ended CANCELED"},
		{batchAt("DRAFT", 0, "null"), "batches: batch btch_w is DRAFT: it was never submitted, so it will not change (SubmitBatch starts its processing)"},
	} {
		f := scripted(t, ok(tc.answer))
		_, err := f.client(t).WaitBatch(t.Context(), "bkt", "btch_w", fast)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

// A status the wait cannot follow is reported once a change, and polled
// on until it moves.
func TestWaitBatchUnknownStatus(t *testing.T) {
	f := scripted(t, ok(batchAt("PENDING", 0, "null")), ok(batchAt("REHYDRATING", 0, "null")), ok(batchAt("REHYDRATING", 0, "null")),
		ok(batchAt("SKIPPED", 0, "null")), ok(batchAt("IN_PROGRESS", 1, "null")), ok(batchAt("COMPLETED", 1, "null")))
	var reported []string
	var progress []batches.TaskStatus
	b, err := f.client(t).WaitBatch(t.Context(), "bkt", "btch_w", fast,
		batches.OnUnknownStatus(func(id string, s batches.TaskStatus) { reported = append(reported, id+" "+string(s)) }),
		batches.OnProgress(func(b batches.Batch) { progress = append(progress, b.Status) }))
	if err != nil || b.Status != batches.TaskStatusCompleted || f.n.Load() != 6 {
		t.Fatalf("%s, %v after %d requests", b.Status, err, f.n.Load())
	}
	if fmt.Sprint(reported) != "[btch_w REHYDRATING btch_w SKIPPED]" {
		t.Errorf("reported %v", reported)
	}
	// Progress once a change: the second REHYDRATING is the same batch.
	if fmt.Sprint(progress) != "[PENDING REHYDRATING SKIPPED IN_PROGRESS COMPLETED]" {
		t.Errorf("progress %v", progress)
	}
}

// The context's deadline ends a wait at once, in the middle of an hour's
// wait between polls: one request.
func TestWaitBatchDeadline(t *testing.T) {
	f := scripted(t, ok(batchAt("PENDING", 0, "null")))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	b, err := f.client(t).WaitBatch(ctx, "bkt", "btch_w", batches.PollBackoff(time.Hour, time.Hour))
	if !errors.Is(err, context.DeadlineExceeded) || b.Status != batches.TaskStatusPending || f.n.Load() != 1 {
		t.Fatalf("%s, %v after %d requests", b.Status, err, f.n.Load())
	}
	if want := "batches: waiting for batch btch_w (last seen PENDING): context deadline exceeded"; err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// A cancel ends a wait at once: during the wait between polls (the test
// cancels once the second poll is reported) and during a poll (the
// server cancels while it answers).
func TestWaitBatchCancel(t *testing.T) {
	f := scripted(t, ok(batchAt("PENDING", 0, "null")), ok(batchAt("IN_PROGRESS", 1, "null")))
	ctx, cancel := context.WithCancel(t.Context())
	polled := make(chan struct{})
	var once sync.Once
	go func() { <-polled; cancel() }()
	b, err := f.client(t).WaitBatch(ctx, "bkt", "btch_w", batches.PollBackoff(time.Millisecond, time.Hour),
		batches.OnProgress(func(b batches.Batch) {
			if b.Status == batches.TaskStatusInProgress {
				once.Do(func() { close(polled) })
			}
		}))
	if !errors.Is(err, context.Canceled) || b.Status != batches.TaskStatusInProgress || f.n.Load() != 2 {
		t.Fatalf("%s, %v after %d requests", b.Status, err, f.n.Load())
	}

	ctx, cancel = context.WithCancel(t.Context())
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 2 {
			cancel()
			<-r.Context().Done() // the client gives up the request
			return
		}
		writeJSON(w, 200, batchAt("PENDING", 0, "null"))
	})
	b, err = f.client(t).WaitBatch(ctx, "bkt", "btch_w", fast)
	var e *batches.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.StatusCode != 0 || b.Status != batches.TaskStatusPending || f.n.Load() != 2 {
		t.Fatalf("%s, %v after %d requests", b.Status, err, f.n.Load())
	}
}

// A 429 with Retry-After is retried by the poll's call when it is within
// the max retry delay; the wait then goes on as usual.
func TestWaitBatchRetryAfter(t *testing.T) {
	f := scripted(t, answer{status: 429, body: errorBody(429, "TooManyRequestsError", "slow down"), header: map[string]string{"Retry-After": "1"}},
		ok(batchAt("COMPLETED", 1, "null")))
	b, err := f.client(t, batches.WithMaxRetryDelay(2*time.Second)).WaitBatch(t.Context(), "bkt", "btch_w", fast)
	if err != nil || b.Status != batches.TaskStatusCompleted || f.n.Load() != 2 {
		t.Fatalf("%s, %v after %d requests", b.Status, err, f.n.Load())
	}
}

// A connection that breaks is a failed poll: after the call's retries,
// the wait polls again, and gives up after MaxPollFailures.
func TestWaitBatchBrokenConnections(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 1 {
			writeJSON(w, 200, batchAt("PENDING", 0, "null"))
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	// A new connection a request: net/http sends a GET again by itself
	// when a connection it reused closes before answering.
	noReuse := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	b, err := f.client(t, batches.WithMaxRetries(0), batches.WithHTTPClient(noReuse)).WaitBatch(t.Context(), "bkt", "btch_w", fast, batches.MaxPollFailures(2))
	var e *batches.Error
	if !errors.As(err, &e) || e.StatusCode != 0 || b.Status != batches.TaskStatusPending || f.n.Load() != 3 {
		t.Fatalf("%s, %v after %d requests", b.Status, err, f.n.Load())
	}
}

// What WaitBatch refuses, it refuses before sending.
func TestWaitRefusesBeforeSending(t *testing.T) {
	f := scripted(t, ok(batchAt("PENDING", 0, "null")))
	c := f.client(t)
	ctx := t.Context()
	for _, tc := range []struct {
		opts []batches.WaitOption
		id   string
		want string
	}{
		{nil, "", "batches: getBatch: the batch id is empty"},
		{[]batches.WaitOption{batches.PollBackoff(0, time.Second)}, "b", "batches: PollBackoff(0s, 1s): want 0 < min <= max"},
		{[]batches.WaitOption{batches.PollBackoff(2*time.Second, time.Second)}, "b", "batches: PollBackoff(2s, 1s): want 0 < min <= max"},
		{[]batches.WaitOption{batches.MaxPollFailures(0)}, "b", "batches: MaxPollFailures(0): want 1 or more"},
		{[]batches.WaitOption{batches.OnProgress(nil)}, "b", "batches: OnProgress(nil)"},
		{[]batches.WaitOption{batches.OnTaskProgress(nil)}, "b", "batches: OnTaskProgress(nil)"},
		{[]batches.WaitOption{batches.OnUnknownStatus(nil)}, "b", "batches: OnUnknownStatus(nil)"},
		{[]batches.WaitOption{nil}, "b", "batches: a nil WaitOption"},
		{[]batches.WaitOption{batches.CallOptions(batches.WithMaxRetries(-1))}, "b", "batches: max retries -1 is negative"},
	} {
		_, err := c.WaitBatch(ctx, "bkt", tc.id, tc.opts...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
	if _, err := c.WaitTask(ctx, ".."); !errors.Is(err, batches.ErrValidation) {
		t.Errorf("WaitTask(..): %v", err)
	}
	if _, err := c.WaitBatches(ctx, "bkt", []string{"a", ""}); err == nil || err.Error() != "batches: getBatch: the batch id is empty" {
		t.Errorf("WaitBatches: %v", err)
	}
	if bs, err := c.WaitBatches(ctx, "bkt", nil); bs == nil || len(bs) != 0 || err != nil {
		t.Errorf("WaitBatches of none: %v, %v", bs, err)
	}
	if n := f.n.Load(); n != 0 {
		t.Errorf("%d requests", n)
	}
}

// CallOptions apply to the wait's calls: another namespace.
func TestWaitCallOptions(t *testing.T) {
	var namespaces []string
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		namespaces = append(namespaces, r.Header.Get("X-Namespace"))
		writeJSON(w, 200, batchAt("COMPLETED", 1, "null"))
	})
	if _, err := f.client(t).WaitBatch(t.Context(), "bkt", "btch_w", batches.CallOptions(batches.WithNamespace("other"))); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(namespaces) != "[other]" {
		t.Errorf("namespaces %v", namespaces)
	}
}

func taskAt(status, errText string) string {
	return fmt.Sprintf(`{"task_id":"task_w","task_type":"api_buckets_batches_process","status":%q,"inputs":null,"outputs":null,"additional_data":null,"error":%s}`, status, errText)
}

func TestWaitTask(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []answer
		status   batches.TaskStatus
		sentinel error
		requests int64
	}{
		{"completed", []answer{ok(taskAt("PENDING", "null")), ok(taskAt("IN_PROGRESS", "null")), ok(taskAt("COMPLETED", "null"))}, "COMPLETED", nil, 3},
		{"failed", []answer{ok(taskAt("IN_PROGRESS", "null")), ok(taskAt("FAILED", `"boom"`))}, "FAILED", batches.ErrTaskFailed, 2},
		{"canceled", []answer{ok(taskAt("CANCELED", "null"))}, "CANCELED", batches.ErrTaskCanceled, 1},
		{"404", []answer{ok(taskAt("PENDING", "null")), {status: 404, body: errorBody(404, "NotFoundError", "Task not found")}}, "PENDING", batches.ErrNotFound, 2},
		{"draft is polled on", []answer{ok(taskAt("DRAFT", "null")), ok(taskAt("COMPLETED", "null"))}, "COMPLETED", nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := scripted(t, tc.answers...)
			var reported, progress int
			task, err := f.client(t).WaitTask(t.Context(), "task_w", fast,
				batches.OnTaskProgress(func(batches.Task) { progress++ }),
				batches.OnUnknownStatus(func(string, batches.TaskStatus) { reported++ }))
			if task.Status != tc.status || f.n.Load() != tc.requests || (tc.sentinel == nil) != (err == nil) || (tc.sentinel != nil && !errors.Is(err, tc.sentinel)) {
				t.Errorf("%s, %v after %d requests", task.Status, err, f.n.Load())
			}
			if tc.name == "failed" && err.Error() != "batches: task task_w ended FAILED: boom" {
				t.Errorf("err %v", err)
			}
			if tc.name == "draft is polled on" && reported != 1 {
				t.Errorf("reported %d", reported)
			}
			if want := int(tc.requests); tc.name != "404" && progress != want {
				t.Errorf("progress %d, want %d", progress, want)
			}
		})
	}
}

// A server that accepts requests and never answers ends a wait: each
// attempt of a poll is bounded by PollTimeout, retried by the poll's call,
// then the poll fails, and MaxPollFailures failed polls end the wait.
// Each waiter, counting the requests: 2 polls of 2 attempts.
func TestWaitPollTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		select { // never answers while the wait runs
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c := f.client(t, batches.WithMaxRetries(1))
	opts := []batches.WaitOption{fast, batches.PollTimeout(20 * time.Millisecond), batches.MaxPollFailures(2)}
	for _, tc := range []struct {
		name string
		wait func() error
	}{
		{"WaitBatch", func() error { _, err := c.WaitBatch(t.Context(), "bkt", "btch_w", opts...); return err }},
		{"WaitTask", func() error { _, err := c.WaitTask(t.Context(), "task_w", opts...); return err }},
		{"WaitBatches", func() error { _, err := c.WaitBatches(t.Context(), "bkt", ids(0, 50), opts...); return err }},
	} {
		before := f.n.Load()
		err := tc.wait()
		var e *batches.Error
		if !errors.As(err, &e) || e.StatusCode != 0 || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "poll timeout 20ms") {
			t.Errorf("%s: %v", tc.name, err)
		}
		if n := f.n.Load() - before; n != 4 {
			t.Errorf("%s: %d requests, want 4", tc.name, n)
		}
	}
}

// By default each attempt of a wait has DefaultPollTimeout (the client's
// attempt timeout when shorter, or the wait's PollTimeout); calls other
// than the waiters' have none of their own.
func TestWaitPollTimeoutDefault(t *testing.T) {
	f := scripted(t, ok(batchAt("COMPLETED", 1, "null")))
	var left []time.Duration // the time each attempt had, as the middleware sees it (-1: no deadline)
	record := batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
		if dl, ok := req.Context().Deadline(); ok {
			left = append(left, time.Until(dl))
		} else {
			left = append(left, -1)
		}
		return next(req)
	})
	c := f.client(t, record)
	ctx := t.Context()
	if _, err := c.WaitBatch(ctx, "bkt", "btch_w"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitBatch(ctx, "bkt", "btch_w", batches.CallOptions(batches.WithAttemptTimeout(time.Second))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitBatch(ctx, "bkt", "btch_w", batches.CallOptions(batches.WithAttemptTimeout(time.Hour)), batches.PollTimeout(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitBatch(ctx, "bkt", "btch_w", batches.PollTimeout(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBatch(ctx, "bkt", "btch_w"); err != nil {
		t.Fatal(err)
	}
	bounds := []time.Duration{batches.DefaultPollTimeout, time.Second, time.Minute, -1, -1}
	if len(left) != len(bounds) {
		t.Fatalf("%d attempts", len(left))
	}
	for i, b := range bounds {
		// An attempt's deadline is its bound from when it started: a
		// little less is left by the time the middleware looks.
		if got := left[i]; (b < 0) != (got < 0) || got > b || (b > 0 && got < b/2) {
			t.Errorf("attempt %d had %v, want %v", i+1, got, b)
		}
	}
	if _, err := c.WaitBatch(ctx, "bkt", "btch_w", batches.PollTimeout(-time.Second)); err == nil || err.Error() != "batches: PollTimeout(-1s): want 0 or more" {
		t.Errorf("PollTimeout(-1s): %v", err)
	}
}
