package batchestest_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
)

// TestExampleSteering runs the example's code for real, with each ending:
// the wait sees each step, polls once a step, and ends at the first poll
// after the end.
func TestExampleSteering(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steer    func(srv *batchestest.Server, id string) batches.TaskStatus
		status   batches.TaskStatus
		sentinel error
	}{
		{"complete", (*batchestest.Server).CompleteBatch, batches.TaskStatusCompleted, nil},
		{"fail", (*batchestest.Server).FailBatch, batches.TaskStatusFailed, batches.ErrBatchFailed},
		{"with errors", (*batchestest.Server).CompleteBatchWithErrors, batches.TaskStatusCompletedWithErrors, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := batchestest.NewServer(t, batchestest.WithContractCheck())
			var polls atomic.Int64
			start := time.Now()
			b, err := processObjects(t.Context(), srv.Client(), srv.Bucket, []string{"obj_1"},
				batches.PollBackoff(time.Millisecond, time.Millisecond),
				batches.OnProgress(func(b batches.Batch) {
					polls.Add(1)
					if b.Status.IsActive() {
						tc.steer(srv, b.BatchID)
					}
				}))
			if b.Status != tc.status || (tc.sentinel == nil) != (err == nil) || (err != nil && !errors.Is(err, tc.sentinel)) {
				t.Fatalf("%s, %v", b.Status, err)
			}
			// create, submit, a poll PENDING, a poll at the end.
			if polls.Load() != 2 || srv.Requests() != 4 {
				t.Errorf("%d changes seen, %d requests", polls.Load(), srv.Requests())
			}
			t.Logf("%s in %v", b.Status, time.Since(start).Round(time.Millisecond))
		})
	}
	t.Run("advance", func(t *testing.T) {
		srv := batchestest.NewServer(t, batchestest.WithContractCheck())
		var seen []batches.TaskStatus
		b, err := processObjects(t.Context(), srv.Client(), srv.Bucket, []string{"obj_1"},
			batches.PollBackoff(time.Millisecond, time.Millisecond),
			batches.OnProgress(func(b batches.Batch) {
				seen = append(seen, b.Status)
				if b.Status.IsActive() {
					srv.AdvanceBatch(b.BatchID)
				}
			}))
		if !b.Status.IsTerminal() || (err != nil && !errors.Is(err, batches.ErrBatchFailed)) || len(seen) < 3 || seen[0] != batches.TaskStatusPending {
			t.Fatalf("%s, %v; seen %v", b.Status, err, seen)
		}
		t.Logf("seen %v", seen)
	})
}
