package batchestest_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// The lifecycle's methods and the waiters against the real handler, every
// exchange checked against openapi.yaml (checked: apitest).

// counting is a client option counting the requests of a client.
func counting(n *atomic.Int64) batches.Option {
	return batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
		n.Add(1)
		return next(req)
	})
}

var fastWait = batches.PollBackoff(time.Millisecond, time.Millisecond)

func TestGetBatchOnTheRealHandler(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 3)
	other := srv.newBucket(t, "", 1)
	elsewhere := srv.newBucket(t, "elsewhere", 1)
	c := srv.client(t)
	b, err := c.GetBatch(t.Context(), bk.id, bk.ids[1])
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.ListBatches(t.Context(), bk.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.BatchID != bk.ids[1] || string(b.RawJSON()) != string(page.Results[1].RawJSON()) {
		t.Errorf("got %s\nlisted %s", b.RawJSON(), page.Results[1].RawJSON())
	}
	// Unknown, of another bucket, of another namespace: the same 404.
	var bodies []string
	for _, tc := range []struct{ bucket, id string }{{bk.id, "btch_nope"}, {bk.id, other.ids[0]}, {other.id, bk.ids[0]}, {bk.id, elsewhere.ids[0]}} {
		_, err := c.GetBatch(t.Context(), tc.bucket, tc.id)
		e := asError(t, err, 404, batches.ErrNotFound)
		bodies = append(bodies, strings.ReplaceAll(string(e.RawBody), tc.id, "ID"))
		if e.Operation != "getBatch" || e.Type != "NotFoundError" {
			t.Errorf("%+v", e)
		}
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] || bodies[2] != bodies[3] {
		t.Errorf("404s differ: %q", bodies)
	}
	_, err = c.GetBatch(t.Context(), bk.id, bk.ids[0], batches.WithAPIKey("sk_test_wrong0123456789"))
	asError(t, err, 401, batches.ErrUnauthorized)
	_, err = c.GetBatch(t.Context(), "bkt_nope", bk.ids[0])
	asError(t, err, 404, batches.ErrNotFound)
}

// The waiters over the real GET and List: terminal batches end the wait at
// the first poll, a DRAFT at once, an unknown id with the server's 404.
func TestWaitersOnTheRealHandler(t *testing.T) {
	srv := newRef(t)
	bucket := srv.AddBucket("", "bkt_wait")
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	failure := "tier 0: extractor timed out"
	srv.AddBatches(bucket,
		batches.Batch{BatchID: "btch_done", Status: batches.TaskStatusCompleted, ObjectIDs: []string{"o"}, CreatedAt: at},
		batches.Batch{BatchID: "btch_fail", Status: batches.TaskStatusFailed, Error: &failure, ObjectIDs: []string{"o"}, CreatedAt: at.Add(time.Minute)},
		batches.Batch{BatchID: "btch_draft", Status: batches.TaskStatusDraft, ObjectIDs: []string{"o"}, CreatedAt: at.Add(2 * time.Minute)},
		batches.Batch{BatchID: "btch_partial", Status: batches.TaskStatusCompletedWithErrors, ErrorSummary: map[string]int{"timeout": 1}, ObjectIDs: []string{"o"}, CreatedAt: at.Add(3 * time.Minute)},
	)
	var n atomic.Int64
	c := srv.client(t, counting(&n))
	ctx := t.Context()
	for _, tc := range []struct {
		id       string
		status   batches.TaskStatus
		sentinel error
	}{
		{"btch_done", batches.TaskStatusCompleted, nil},
		{"btch_partial", batches.TaskStatusCompletedWithErrors, nil},
		{"btch_fail", batches.TaskStatusFailed, batches.ErrBatchFailed},
		{"btch_draft", batches.TaskStatusDraft, batches.ErrBatchNotSubmitted},
	} {
		n.Store(0)
		b, err := c.WaitBatch(ctx, bucket, tc.id, fastWait)
		if b.Status != tc.status || n.Load() != 1 || (tc.sentinel == nil) != (err == nil) || (err != nil && !errors.Is(err, tc.sentinel)) {
			t.Errorf("%s: %s, %v after %d requests", tc.id, b.Status, err, n.Load())
		}
	}
	if _, err := c.WaitBatch(ctx, bucket, "btch_fail", fastWait); err.Error() != "batches: batch btch_fail ended FAILED: "+failure {
		t.Errorf("err %v", err)
	}
	n.Store(0)
	_, err := c.WaitBatch(ctx, bucket, "btch_nope", fastWait)
	asError(t, err, 404, batches.ErrNotFound)

	// WaitBatches: one List for the three that ended (no GET).
	n.Store(0)
	bs, err := c.WaitBatches(ctx, bucket, []string{"btch_done", "btch_fail", "btch_partial"}, fastWait)
	if !errors.Is(err, batches.ErrBatchFailed) || n.Load() != 1 || fmt.Sprint(statuses(bs)) != "[COMPLETED FAILED COMPLETED_WITH_ERRORS]" {
		t.Errorf("%v, %v after %d requests", statuses(bs), err, n.Load())
	}
	// An id that is not there: the walk, then its GET's 404.
	n.Store(0)
	_, err = c.WaitBatches(ctx, bucket, []string{"btch_done", "btch_nope"}, fastWait)
	if e := asError(t, err, 404, batches.ErrNotFound); e.Operation != "getBatch" || n.Load() != 2 {
		t.Errorf("%v after %d requests", err, n.Load())
	}
}

func statuses(bs []batches.Batch) []batches.TaskStatus {
	out := make([]batches.TaskStatus, len(bs))
	for i, b := range bs {
		out[i] = b.Status
	}
	return out
}
