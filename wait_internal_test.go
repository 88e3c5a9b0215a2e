package batches

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The schedule of the waits, recorded instead of slept: the tests take no
// time and measure none.

// recordSleeps makes a wait record each wait between polls instead of
// sleeping it.
func recordSleeps(slept *[]time.Duration) WaitOption {
	return func(wc *waitConfig) error {
		wc.sleep = func(ctx context.Context, d time.Duration) error {
			*slept = append(*slept, d)
			return ctx.Err()
		}
		return nil
	}
}

// statusServer answers GET batch with the statuses in turn (the last one
// again after the end); a status "429/N" answers 429 with Retry-After N.
func statusServer(t *testing.T, statuses ...string) (*Client, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := statuses[min(int(n.Add(1)), len(statuses))-1]
		w.Header().Set("Content-Type", "application/json")
		var after int
		if _, err := fmt.Sscanf(s, "429/%d", &after); err == nil {
			w.Header().Set("Retry-After", fmt.Sprint(after))
			w.WriteHeader(429)
			fmt.Fprint(w, `{"success":false,"status":429,"error":{"message":"slow down","type":"TooManyRequestsError","details":null}}`)
			return
		}
		fmt.Fprintf(w, `{"batch_id":"btch_s","bucket_id":"bkt","status":%q,"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:00Z"}`, s)
	}))
	t.Cleanup(srv.Close)
	c, err := New(WithBaseURL(srv.URL), WithAPIKey("sk_test_0123456789abcdef"), WithNamespace("ns"), WithMaxRetryDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

// The API's schedule: 1 s doubling up to 30 s, less 0–20 %.
func TestWaitFollowsThePollSchedule(t *testing.T) {
	c, n := statusServer(t, "PENDING", "PENDING", "IN_PROGRESS", "IN_PROGRESS", "PROCESSING", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED")
	var slept []time.Duration
	b, err := c.WaitBatch(t.Context(), "bkt", "btch_s", recordSleeps(&slept))
	if err != nil || b.Status != TaskStatusCompleted || n.Load() != 9 {
		t.Fatalf("%s, %v after %d requests", b.Status, err, n.Load())
	}
	ceilings := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	if len(slept) != len(ceilings) {
		t.Fatalf("slept %v", slept)
	}
	for i, d := range slept {
		hi := ceilings[i] * time.Second
		if d > hi || d < hi-hi/5 {
			t.Errorf("wait %d: %v, want %v less 0-20%%", i+1, d, hi)
		}
	}
}

// A Retry-After longer than the max retry delay ends the call's retries;
// the wait then waits it out before the next poll, and a shorter one does
// not shorten the schedule.
func TestWaitHonoursRetryAfter(t *testing.T) {
	c, n := statusServer(t, "PENDING", "429/45", "429/1", "COMPLETED")
	var slept []time.Duration
	b, err := c.WaitBatch(t.Context(), "bkt", "btch_s", recordSleeps(&slept))
	if err != nil || b.Status != TaskStatusCompleted || n.Load() != 4 {
		t.Fatalf("%s, %v after %d requests", b.Status, err, n.Load())
	}
	if len(slept) != 3 || slept[0] > time.Second || slept[1] != 45*time.Second || slept[2] < 3200*time.Millisecond || slept[2] > 4*time.Second {
		t.Errorf("slept %v, want about 1s, 45s (Retry-After), about 4s", slept)
	}
}

// PollBackoff's bounds.
func TestPollBackoffBounds(t *testing.T) {
	c, _ := statusServer(t, "PENDING", "PENDING", "PENDING", "PENDING", "COMPLETED")
	var slept []time.Duration
	if _, err := c.WaitBatch(t.Context(), "bkt", "btch_s", PollBackoff(10*time.Millisecond, 25*time.Millisecond), recordSleeps(&slept)); err != nil {
		t.Fatal(err)
	}
	for i, hi := range []time.Duration{10, 20, 25, 25} {
		hi *= time.Millisecond
		if d := slept[i]; d > hi || d < hi-hi/5 {
			t.Errorf("wait %d: %v, want %v less 0-20%%", i+1, d, hi)
		}
	}
	for attempt := range 100 { // no overflow however long the wait
		if d := PollInterval(attempt); d < 24*time.Second && attempt >= 5 || d > 30*time.Second || d <= 0 {
			t.Errorf("PollInterval(%d) = %v", attempt, d)
		}
	}
}
