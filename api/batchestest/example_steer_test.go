package batchestest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
)

// processObjects is the code under test: it makes a batch of objects,
// submits it and waits for its end.
func processObjects(ctx context.Context, c *batches.Client, bucket string, objects []string, opts ...batches.WaitOption) (batches.Batch, error) {
	b, err := c.CreateBatch(ctx, bucket, objects)
	if err != nil {
		return b, err
	}
	if _, err := c.SubmitBatch(ctx, bucket, b.BatchID); err != nil {
		return b, err
	}
	return c.WaitBatch(ctx, bucket, b.BatchID, opts...)
}

// A WaitBatch loop tested in milliseconds: the Server processes nothing by
// itself (without WithProcessing), and each poll steers the batch a step
// on (AdvanceBatch), or to the end the test wants (CompleteBatch,
// FailBatch, CompleteBatchWithErrors).
func ExampleServer_AdvanceBatch() {
	var t *testing.T // the test's *testing.T

	srv := batchestest.NewServer(t)
	b, err := processObjects(context.Background(), srv.Client(), srv.Bucket, []string{"obj_1", "obj_2"},
		batches.PollBackoff(time.Millisecond, time.Millisecond), // the test's schedule, not the API's seconds
		batches.OnProgress(func(b batches.Batch) {
			if b.Status.IsActive() {
				srv.AdvanceBatch(b.BatchID) // a tier starts, or ends as the server draws it
			}
		}))
	if err != nil && !errors.Is(err, batches.ErrBatchFailed) {
		t.Fatal(err)
	}
	t.Logf("%s ended %s", b.BatchID, b.Status)
}
