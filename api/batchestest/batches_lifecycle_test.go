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

	// WaitBatches of three: a GET each (they are few).
	n.Store(0)
	bs, err := c.WaitBatches(ctx, bucket, []string{"btch_done", "btch_fail", "btch_partial"}, fastWait)
	if !errors.Is(err, batches.ErrBatchFailed) || n.Load() != 3 || fmt.Sprint(statuses(bs)) != "[COMPLETED FAILED COMPLETED_WITH_ERRORS]" {
		t.Errorf("%v, %v after %d requests", statuses(bs), err, n.Load())
	}
	// Of more than MaxGetEach: one List for all of them (no GET).
	var many []batches.Batch
	ids := []string{"btch_done", "btch_fail", "btch_partial"}
	for i := range batches.MaxGetEach {
		many = append(many, batches.Batch{BatchID: fmt.Sprintf("btch_many%02d", i), Status: batches.TaskStatusCompleted, ObjectIDs: []string{"o"}, CreatedAt: at.Add(time.Duration(10+i) * time.Minute)})
		ids = append(ids, many[i].BatchID)
	}
	srv.AddBatches(bucket, many...)
	n.Store(0)
	bs, err = c.WaitBatches(ctx, bucket, ids, fastWait)
	if !errors.Is(err, batches.ErrBatchFailed) || n.Load() != 1 || len(bs) != 13 || fmt.Sprint(statuses(bs[:4])) != "[COMPLETED FAILED COMPLETED_WITH_ERRORS COMPLETED]" {
		t.Errorf("%v, %v after %d requests", statuses(bs), err, n.Load())
	}
	// An id that is not there: its GET's 404; among many, the walk, then
	// its GET's.
	n.Store(0)
	_, err = c.WaitBatches(ctx, bucket, []string{"btch_done", "btch_nope"}, fastWait)
	if e := asError(t, err, 404, batches.ErrNotFound); e.Operation != "getBatch" || n.Load() != 2 {
		t.Errorf("%v after %d requests", err, n.Load())
	}
	n.Store(0)
	_, err = c.WaitBatches(ctx, bucket, append(ids, "btch_nope"), fastWait)
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

// Every method on the real handler, from a batch's creation to its
// deletion, with the errors each can get from it: success, the status
// that does not allow it (400, changing nothing), a batch or task that is
// not there (404), a wrong key (401).
func TestLifecycleMethodsOnTheRealHandler(t *testing.T) {
	srv := newRef(t)
	bucket := srv.AddBucket("", "bkt_life")
	var n atomic.Int64
	c := srv.client(t, counting(&n))
	ctx := t.Context()
	status := func(id string) batches.TaskStatus {
		t.Helper()
		b, err := c.GetBatch(ctx, bucket, id)
		if err != nil {
			t.Fatal(err)
		}
		return b.Status
	}

	b, err := c.CreateBatch(ctx, bucket, []string{"obj_1", "obj_2"})
	if err != nil || b.Status != batches.TaskStatusDraft || len(b.ObjectIDs) != 2 || b.BucketID != bucket || !strings.HasPrefix(b.BatchID, "btch_") {
		t.Fatalf("create: %+v, %v", b, err)
	}
	id := b.BatchID
	if b, err = c.UpdateBatch(ctx, bucket, id, map[string]any{"team": "data"}); err != nil || b.Metadata["team"] != "data" {
		t.Fatalf("update: %v, %v", b.Metadata, err)
	}
	if b, err = c.UpdateBatch(ctx, bucket, id, nil); err != nil || len(b.Metadata) != 0 {
		t.Fatalf("update nil: %v, %v", b.Metadata, err)
	}
	_, err = c.UpdateBatch(ctx, bucket, id, map[string]any{"big": strings.Repeat("x", 20<<10)})
	asError(t, err, 400, batches.ErrValidation)
	if b, err = c.AddObjects(ctx, bucket, id, []string{"obj_3"}); err != nil || len(b.ObjectIDs) != 3 {
		t.Fatalf("add: %v, %v", b.ObjectIDs, err)
	}
	_, err = c.AddObjects(ctx, bucket, id, []string{"obj_1"})
	if e := asError(t, err, 400, batches.ErrValidation); !strings.Contains(e.Message, "obj_1") {
		t.Errorf("add obj_1 again: %v", err)
	}
	_, err = c.CancelBatch(ctx, bucket, id) // a DRAFT is not being processed
	if e := asError(t, err, 400, batches.ErrValidation); e.Details["status"] != "DRAFT" {
		t.Errorf("cancel a draft: %v %v", err, e.Details)
	}
	_, err = c.RetryBatch(ctx, bucket, id, nil)
	asError(t, err, 400, batches.ErrValidation)

	task, err := c.SubmitBatch(ctx, bucket, id)
	if err != nil || task.Status != batches.TaskStatusPending || task.TaskType != batches.TaskTypeBatchProcess || status(id) != batches.TaskStatusPending {
		t.Fatalf("submit: %+v, %v", task, err)
	}
	_, err = c.SubmitBatch(ctx, bucket, id)
	asError(t, err, 400, batches.ErrValidation)
	_, err = c.AddObjects(ctx, bucket, id, []string{"obj_4"})
	asError(t, err, 400, batches.ErrValidation)
	if got, err := c.GetTask(ctx, task.TaskID); err != nil || got.TaskID != task.TaskID || got.Status != batches.TaskStatusPending {
		t.Fatalf("get task: %+v, %v", got, err)
	}

	// Steered: a tier starts, then fails; the waits end at the first poll.
	if st := srv.AdvanceBatch(id); st != batches.TaskStatusInProgress {
		t.Fatalf("advanced to %s", st)
	}
	srv.FailBatch(id)
	n.Store(0)
	b, err = c.WaitBatch(ctx, bucket, id, fastWait)
	if !errors.Is(err, batches.ErrBatchFailed) || b.Status != batches.TaskStatusFailed || b.Error == nil || n.Load() != 1 {
		t.Fatalf("wait: %s, %v after %d", b.Status, err, n.Load())
	}
	if got, err := c.WaitTask(ctx, task.TaskID, fastWait); !errors.Is(err, batches.ErrTaskFailed) || got.Error == nil {
		t.Fatalf("wait task: %+v, %v", got, err)
	}
	_, err = c.CancelBatch(ctx, bucket, id) // terminal
	asError(t, err, 400, batches.ErrValidation)
	_, err = c.RetryBatch(ctx, bucket, id, &batches.RetryParams{TierNums: []int{9}})
	asError(t, err, 400, batches.ErrValidation)

	r, err := c.RetryBatch(ctx, bucket, id, &batches.RetryParams{Mode: batches.RetryAll, MaxRetryCount: 2})
	if err != nil || r.Status != batches.TaskStatusPending || r.BatchID != id || r.PreviousTaskID == nil || *r.PreviousTaskID != task.TaskID || r.RetryCount != 1 || r.TaskID == task.TaskID {
		t.Fatalf("retry: %+v, %v", r, err)
	}
	if old, err := c.GetTask(ctx, task.TaskID); err != nil || old.Status != batches.TaskStatusFailed {
		t.Fatalf("the failed task: %+v, %v", old, err)
	}
	srv.CompleteBatch(id)
	if b, err = c.WaitBatch(ctx, bucket, id, fastWait); err != nil || b.Status != batches.TaskStatusCompleted {
		t.Fatalf("wait after retry: %s, %v", b.Status, err)
	}
	_, err = c.RetryBatch(ctx, bucket, id, nil) // COMPLETED
	asError(t, err, 400, batches.ErrValidation)

	// Cancel, and kill (idempotent: twice, and a task that is not there).
	other, err := c.CreateBatch(ctx, bucket, []string{"obj_9"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitBatch(ctx, bucket, other.BatchID); err != nil {
		t.Fatal(err)
	}
	if ct, err := c.CancelBatch(ctx, bucket, other.BatchID); err != nil || ct.Status != batches.TaskStatusCanceled {
		t.Fatalf("cancel: %+v, %v", ct, err)
	}
	if b, err := c.WaitBatch(ctx, bucket, other.BatchID, fastWait); !errors.Is(err, batches.ErrBatchCanceled) {
		t.Fatalf("wait canceled: %s, %v", b.Status, err)
	}
	third, _ := c.CreateBatch(ctx, bucket, []string{"obj_8"})
	t3, err := c.SubmitBatch(ctx, bucket, third.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if d, err := c.KillTask(ctx, t3.TaskID); err != nil || !d.Success {
			t.Fatalf("kill: %+v, %v", d, err)
		}
	}
	if d, err := c.KillTask(ctx, "task_nope"); err != nil || !d.Success {
		t.Fatalf("kill nothing: %+v, %v", d, err)
	}
	if st := status(third.BatchID); st != batches.TaskStatusCanceled {
		t.Errorf("killed batch %s", st)
	}

	// Tasks: four, newest first, across pages of 2; filtered by status.
	var got []string
	for tk, err := range c.AllTasks(ctx, &batches.ListTasksParams{Limit: 2, TaskType: batches.TaskTypeBatchProcess}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tk.TaskID)
	}
	if len(got) != 4 || got[0] != t3.TaskID || got[3] != task.TaskID {
		t.Errorf("all tasks %v", got)
	}
	page, err := c.ListTasks(ctx, &batches.ListTasksParams{Status: batches.TaskStatusFailed, TaskType: batches.TaskTypeBatchProcess, IncludeTotal: true})
	if err != nil || len(page.Results) != 1 || page.Results[0].TaskID != task.TaskID || page.Total == nil || *page.Total != 1 || page.NextCursor != "" {
		t.Errorf("failed tasks: %d, %v", len(page.Results), err)
	}

	// Delete, then the batch is gone.
	if d, err := c.DeleteBatch(ctx, bucket, id); err != nil || !d.Success || d.Message == "" {
		t.Fatalf("delete: %+v, %v", d, err)
	}
	_, err = c.DeleteBatch(ctx, bucket, id)
	asError(t, err, 404, batches.ErrNotFound)

	// Not there: each batch operation's 404; a wrong key's 401.
	wrong := batches.WithAPIKey("sk_test_wrong0123456789")
	calls := map[string]func(opts ...batches.Option) error{
		"create": func(o ...batches.Option) error {
			_, err := c.CreateBatch(ctx, "bkt_nope", []string{"o"}, o...)
			return err
		},
		"get":    func(o ...batches.Option) error { _, err := c.GetBatch(ctx, bucket, id, o...); return err },
		"update": func(o ...batches.Option) error { _, err := c.UpdateBatch(ctx, bucket, id, nil, o...); return err },
		"delete": func(o ...batches.Option) error { _, err := c.DeleteBatch(ctx, bucket, id, o...); return err },
		"add": func(o ...batches.Option) error {
			_, err := c.AddObjects(ctx, bucket, id, []string{"o"}, o...)
			return err
		},
		"submit": func(o ...batches.Option) error { _, err := c.SubmitBatch(ctx, bucket, id, o...); return err },
		"cancel": func(o ...batches.Option) error { _, err := c.CancelBatch(ctx, bucket, id, o...); return err },
		"retry":  func(o ...batches.Option) error { _, err := c.RetryBatch(ctx, bucket, id, nil, o...); return err },
		"task":   func(o ...batches.Option) error { _, err := c.GetTask(ctx, "task_nope", o...); return err },
		"tasks": func(o ...batches.Option) error {
			if len(o) == 0 {
				return &batches.Error{StatusCode: 404} // no 404 to get
			}
			_, err := c.ListTasks(ctx, nil, o...)
			return err
		},
		"kill": func(o ...batches.Option) error {
			if len(o) == 0 {
				return &batches.Error{StatusCode: 404} // idempotent: 200
			}
			_, err := c.KillTask(ctx, "task_nope", o...)
			return err
		},
	}
	for name, call := range calls {
		if e := asError(t, call(), 404, batches.ErrNotFound); name != "tasks" && name != "kill" && e.Type != "NotFoundError" {
			t.Errorf("%s: %+v", name, e)
		}
		asError(t, call(wrong), 401, batches.ErrUnauthorized)
	}
}
