package batchestest_test

// This file is one example shown whole (pkgsite and godoc show the file
// when it holds a single example and no test): the code under test,
// countFailed, comes with it. TestExample, in example_test.go, runs it.

import (
	"context"
	"testing"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
)

// countFailed is the code under test: a user's function over the client.
func countFailed(ctx context.Context, c *batches.Client, bucket string) (int, error) {
	n := 0
	for b, err := range c.AllBatches(ctx, bucket, &batches.ListBatchesParams{Status: batches.TaskStatusFailed}) {
		if err != nil {
			return 0, err
		}
		if b.Status == batches.TaskStatusFailed {
			n++
		}
	}
	return n, nil
}

// A test of a user's own code, countFailed, against the real server: seed
// batches, make the server fail the first request with 503, and check both
// the result and that the client retried once. In a test file this is the
// body of func TestCountFailed(t *testing.T).
func Example() {
	var t *testing.T // the test's *testing.T

	srv := batchestest.NewServer(t)
	seeded := srv.SeedBatches(srv.Bucket, 100)
	want := 0
	for _, b := range seeded {
		if b.Status == batches.TaskStatusFailed {
			want++
		}
	}

	srv.Inject(batchestest.Unavailable(0)) // the first request answers 503, Retry-After: 0
	got, err := countFailed(context.Background(), srv.Client(), srv.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("countFailed = %d, want %d", got, want)
	}
	if n := srv.Requests(); n != 2 {
		t.Errorf("%d requests, want 2: the 503 and its retry", n)
	}
}
