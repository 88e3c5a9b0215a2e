package batchestest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
)

func TestClientListsTheSeededBatches(t *testing.T) {
	srv := batchestest.NewServer(t, batchestest.WithContractCheck())
	want := srv.SeedBatches(srv.Bucket, 250)
	c := srv.Client()
	ctx := context.Background()

	page, err := c.ListBatches(ctx, srv.Bucket, &batches.ListBatchesParams{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 250 {
		t.Errorf("total_count %d", page.TotalCount)
	}
	sameJSON(t, "first page", page.Results, want[:10])

	var got []batches.Batch
	for b, err := range c.AllBatches(ctx, srv.Bucket, &batches.ListBatchesParams{Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	sameJSON(t, "every batch", got, want)
	if n := srv.RequestsFor(batchestest.ListPath(srv.Bucket)); n != 1+3 {
		t.Errorf("%d requests, want 1 page and 3 pages of 100", n)
	}
}

// TestClientRetriesFaults: each fault the client retries costs one attempt
// and the call still succeeds; with more faults than retries the call
// fails with the last answer.
func TestClientRetriesFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault batchestest.Fault
	}{
		{"429 with Retry-After: 0", batchestest.RateLimited(0)},
		{"500", batchestest.Status(http.StatusInternalServerError)},
		{"503 with Retry-After: 0", batchestest.Unavailable(0)},
		{"503", batchestest.Status(http.StatusServiceUnavailable)},
		{"dropped connection", batchestest.Drop()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := batchestest.NewServer(t)
			srv.SeedBatches(srv.Bucket, 3)
			srv.InjectN(batches.DefaultMaxRetries, tc.fault)
			page, err := srv.Client().ListBatches(context.Background(), srv.Bucket, nil)
			if err != nil {
				t.Fatal(err)
			}
			if page.TotalCount != 3 || srv.Requests() != batches.DefaultMaxRetries+1 || srv.PendingFaults() != 0 {
				t.Errorf("total_count %d after %d requests, %d faults pending", page.TotalCount, srv.Requests(), srv.PendingFaults())
			}
		})
	}

	srv := batchestest.NewServer(t)
	srv.InjectN(5, batchestest.RateLimited(0))
	_, err := srv.Client(batches.WithMaxRetries(3)).ListBatches(context.Background(), srv.Bucket, nil)
	var e *batches.Error
	if !errors.As(err, &e) || !errors.Is(err, batches.ErrRateLimited) || e.Type != "TooManyRequestsError" || len(e.Attempts) != 4 {
		t.Fatalf("got %v, want a 429 *Error after 4 attempts", err)
	}
	for i, a := range e.Attempts[:3] {
		if a.StatusCode != 429 || a.Delay > batchestest.ClientMaxRetryDelay {
			t.Errorf("attempt %d: %+v", i, a)
		}
	}
	if srv.Requests() != 4 || srv.PendingFaults() != 1 {
		t.Errorf("%d requests, %d faults pending", srv.Requests(), srv.PendingFaults())
	}

	// A Retry-After longer than the client's max retry delay: no retry
	// before the server's time, the wait on the error.
	srv = batchestest.NewServer(t)
	srv.Inject(batchestest.RateLimited(30*time.Second), batchestest.Unavailable(2*time.Second))
	for _, want := range []time.Duration{30 * time.Second, 2 * time.Second} {
		_, err = srv.Client().ListBatches(context.Background(), srv.Bucket, nil)
		if !errors.As(err, &e) || e.RetryAfter != want || len(e.Attempts) != 1 {
			t.Errorf("got %v, want an *Error after 1 attempt with RetryAfter %v", err, want)
		}
	}
	if srv.Requests() != 2 || srv.PendingFaults() != 0 {
		t.Errorf("%d requests, %d faults pending", srv.Requests(), srv.PendingFaults())
	}
}

func TestClientAttemptTimeoutAndSlowAnswers(t *testing.T) {
	srv := batchestest.NewServer(t)
	srv.SeedBatches(srv.Bucket, 1)
	srv.Inject(batchestest.Slow(time.Hour))
	c := srv.Client(batches.WithAttemptTimeout(100 * time.Millisecond))
	page, err := c.ListBatches(context.Background(), srv.Bucket, nil)
	if err != nil || page.TotalCount != 1 {
		t.Fatalf("got %v, %v; want the retry after the attempt timeout to succeed", page, err)
	}
	if a := srv.Attempts(); len(a) != 2 || a[0].Status != 0 || a[1].Status != 200 {
		t.Errorf("attempts %+v", a)
	}
}

func TestClientOptionsWin(t *testing.T) {
	srv := batchestest.NewServer(t)
	srv.AddNamespace("other")
	b := srv.AddBucket("other", "bkt_other")
	srv.SeedBatches(b, 2)
	page, err := srv.Client(batches.WithNamespace("other")).ListBatches(context.Background(), b, nil)
	if err != nil || page.TotalCount != 2 {
		t.Fatalf("got %v, %v", page, err)
	}
	srv.Inject(batchestest.Status(503))
	_, err = srv.Client(batches.WithMaxRetries(0)).ListBatches(context.Background(), srv.Bucket, nil)
	if e := (*batches.Error)(nil); !errors.As(err, &e) || e.StatusCode != 503 || srv.PendingFaults() != 0 {
		t.Fatalf("got %v, want 503 without a retry", err)
	}
	if got := fails(t, func(ft testing.TB) {
		batchestest.NewServer(ft).Client(batches.WithMaxRetries(-1))
	}); len(got) != 1 {
		t.Errorf("a refused option failed with %q", got)
	}
}
