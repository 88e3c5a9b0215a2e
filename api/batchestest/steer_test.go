package batchestest_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/client"
)

// lifecycleClient is the generated client of srv, its key on every
// request.
func lifecycleClient(t *testing.T, srv *batchestest.Server) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(srv.URL, client.WithHTTPClient(srv.HTTPClient()),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+srv.APIKey)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// submitted creates and submits a batch, and returns its id and task id.
func submitted(t *testing.T, srv *batchestest.Server, c *client.ClientWithResponses) (string, string) {
	t.Helper()
	ctx := t.Context()
	ns := client.CreateBatchParams{XNamespace: srv.Namespace}
	created, err := c.CreateBatchWithResponse(ctx, srv.Bucket, &ns, client.CreateBatchJSONRequestBody{ObjectIds: []string{"obj_1", "obj_2"}})
	if err != nil || created.JSON200 == nil {
		t.Fatalf("create: %v %s", err, created.Body)
	}
	id := *created.JSON200.BatchId
	sub, err := c.SubmitBatchWithResponse(ctx, srv.Bucket, id, &client.SubmitBatchParams{XNamespace: srv.Namespace}, client.SubmitBatchJSONRequestBody{})
	if err != nil || sub.JSON200 == nil {
		t.Fatalf("submit: %v %s", err, sub.Body)
	}
	return id, sub.JSON200.TaskId
}

// poll reads the batch's status, and its task's, as a client polls them.
func poll(t *testing.T, srv *batchestest.Server, c *client.ClientWithResponses, id, taskID string) (batches.TaskStatus, batches.TaskStatus) {
	t.Helper()
	b, err := c.GetBatchWithResponse(t.Context(), srv.Bucket, id, &client.GetBatchParams{XNamespace: srv.Namespace})
	if err != nil || b.JSON200 == nil {
		t.Fatalf("get batch: %v %s", err, b.Body)
	}
	task, err := c.GetTaskWithResponse(t.Context(), taskID)
	if err != nil || task.JSON200 == nil {
		t.Fatalf("get task: %v %s", err, task.Body)
	}
	return batches.TaskStatus(*b.JSON200.Status), batches.TaskStatus(task.JSON200.Status)
}

// TestSteering: a submitted batch stays PENDING until the test steers it;
// each steering ends it as asked, at once, every exchange checked against
// the contract.
func TestSteering(t *testing.T) {
	srv := batchestest.NewServer(t, batchestest.WithContractCheck())
	c := lifecycleClient(t, srv)
	for _, tc := range []struct {
		steer func(string) batches.TaskStatus
		want  batches.TaskStatus
	}{
		{srv.CompleteBatch, batches.TaskStatusCompleted},
		{srv.FailBatch, batches.TaskStatusFailed},
		{srv.CompleteBatchWithErrors, batches.TaskStatusCompletedWithErrors},
	} {
		id, task := submitted(t, srv, c)
		if b, tk := poll(t, srv, c, id, task); b != batches.TaskStatusPending || tk != batches.TaskStatusPending {
			t.Fatalf("before steering: %s, task %s", b, tk)
		}
		if got := tc.steer(id); got != tc.want {
			t.Errorf("steered to %s, want %s", got, tc.want)
		}
		if b, tk := poll(t, srv, c, id, task); b != tc.want || tk != tc.want {
			t.Errorf("polled %s, task %s; want %s", b, tk, tc.want)
		}
	}
	id, task := submitted(t, srv, c)
	if got := srv.AdvanceBatch(id); got != batches.TaskStatusInProgress {
		t.Errorf("advanced to %s", got)
	}
	if b, _ := poll(t, srv, c, id, task); b != batches.TaskStatusInProgress {
		t.Errorf("polled %s after one step", b)
	}
}

// TestServerProcesses: WithProcessing makes the server process batches
// itself, to their end; WithClock dates what it does.
func TestServerProcesses(t *testing.T) {
	var clock atomic.Int64 // read by the server's goroutines
	clock.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	srv := batchestest.NewServer(t, batchestest.WithContractCheck(),
		batchestest.WithProcessing(domain.Processing{TierDuration: 5 * time.Millisecond, NoFailures: true}),
		batchestest.WithClock(func() time.Time { return time.Unix(0, clock.Load()).UTC() }))
	c := lifecycleClient(t, srv)
	id, task := submitted(t, srv, c)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// A frozen clock: the tiers' ends are never due. Move it on.
		clock.Add(int64(time.Second))
		b, tk := poll(t, srv, c, id, task)
		if b == batches.TaskStatusCompleted && tk == batches.TaskStatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not processed: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, err := c.GetBatchWithResponse(t.Context(), srv.Bucket, id, &client.GetBatchParams{XNamespace: srv.Namespace})
	if err != nil || got.JSON200 == nil {
		t.Fatal(err)
	}
	if created := *got.JSON200.CreatedAt; created.Before(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("created_at %s: not the fake clock's", created)
	}
}
