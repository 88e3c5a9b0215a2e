package batchestest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
)

// Faults for the next requests, in order, and for one path only.
func ExampleServer_Inject() {
	var t *testing.T // the test's *testing.T

	srv := batchestest.NewServer(t)
	srv.Inject(
		batchestest.RateLimited(2*time.Second),    // 429, Retry-After: 2 (longer than ClientMaxRetryDelay: not retried)
		batchestest.Status(http.StatusBadGateway), // 502 with an ErrorResponse body
		batchestest.Slow(200*time.Millisecond),    // then served, late
		batchestest.Drop(),                        // the connection closed, no answer
	)
	// A 500 for the next request to bkt_other only.
	srv.Inject(batchestest.Fault{Path: batchestest.ListPath("bkt_other"), Status: 500})
	// The next 3 requests answer 503 without Retry-After.
	srv.InjectN(3, batchestest.Status(http.StatusServiceUnavailable))

	// … run the code under test with srv.Client() …

	for _, a := range srv.Attempts() {
		t.Logf("%s %s: %d (fault %v)", a.Method, a.Path, a.Status, a.Fault != nil)
	}
}

// TestExample runs Example's test for real.
func TestExample(t *testing.T) {
	srv := batchestest.NewServer(t)
	want := 0
	for _, b := range srv.SeedBatches(srv.Bucket, 100) {
		if b.Status == batches.TaskStatusFailed {
			want++
		}
	}
	srv.Inject(batchestest.Unavailable(0))
	got, err := countFailed(context.Background(), srv.Client(), srv.Bucket)
	if err != nil || got != want || want == 0 || srv.Requests() != 2 {
		t.Fatalf("countFailed = %d, %v, want %d; %d requests", got, err, want, srv.Requests())
	}
}
