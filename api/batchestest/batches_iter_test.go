package batchestest_test

// Moved from the root's iter_test.go: see batches_helpers_test.go.

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// counter is a middleware that counts attempts and runs after(n) once the
// n-th answer is in, before the client sees it.
func counter(n *int, after func(n int)) batches.Option {
	return batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
		resp, err := next(req)
		*n++
		if after != nil {
			after(*n)
		}
		return resp, err
	})
}

func TestAllBatchesWalksEveryPageLazily(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 250)
	var n int
	c := srv.client(t, counter(&n, nil))
	got, err := collect(c.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 40}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, bk.ids) {
		t.Fatalf("got %d batches, want the %d in order", len(got), len(bk.ids))
	}
	if n != 7 { // 6 full pages and 10 more; the 7th reaches total_count
		t.Errorf("%d requests, want 7", n)
	}

	// The default page size (nil params), and an empty bucket.
	n = 0
	got, err = collect(c.AllBatches(t.Context(), bk.id, nil))
	if err != nil || !slices.Equal(got, bk.ids) || n != 3 {
		t.Errorf("nil params: %d batches, %v, %d requests", len(got), err, n)
	}
	empty := srv.newBucket(t, "", 0)
	n = 0
	got, err = collect(c.AllBatches(t.Context(), empty.id, nil))
	if err != nil || len(got) != 0 || n != 1 {
		t.Errorf("empty bucket: %v, %v, %d requests", got, err, n)
	}

	// Breaking out fetches no more pages.
	n = 0
	k := 0
	for _, err := range c.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		if k++; k == 5 {
			break
		}
	}
	if n != 2 {
		t.Errorf("%d requests for 5 batches in pages of 3", n)
	}
}

func TestAllBatchesResumesFromOffsetWithFilter(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 120)
	c := srv.client(t)
	got, err := collect(c.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Offset: 100, Limit: 7}))
	if err != nil || !slices.Equal(got, bk.ids[100:]) {
		t.Errorf("from offset 100: %v, %v; want %v", got, err, bk.ids[100:])
	}
	all, err := collect(c.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Status: batches.TaskStatusPending, Limit: 2}))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, id := range bk.ids { // statuses cycle through TaskStatuses() by creation order
		if batches.TaskStatuses()[(len(bk.ids)-1-i)%len(batches.TaskStatuses())] == batches.TaskStatusPending {
			want = append(want, id)
		}
	}
	if !slices.Equal(all, want) || len(want) != 10 {
		t.Errorf("PENDING: %v, want %v", all, want)
	}
}

// Batches created while the walk goes on push the rest to later offsets:
// each batch that was there is yielded once, none twice.
func TestAllBatchesUnderInserts(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 100)
	var n int
	c := srv.client(t, counter(&n, func(n int) {
		// Seven new batches, newer than any, after every page.
		srv.insert(t, bk.id, 7, time.Date(2026, 1, 1, n, 0, 0, 0, time.UTC))
	}))
	got, err := collect(c.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 10}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var originals []string
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s yielded twice", id)
		}
		seen[id] = true
		if slices.Contains(bk.ids, id) {
			originals = append(originals, id)
		}
	}
	if !slices.Equal(originals, bk.ids) {
		t.Errorf("yielded %d of the %d batches there at the start", len(originals), len(bk.ids))
	}
	if len(got) != len(originals) {
		t.Errorf("yielded %d batches created during the walk", len(got)-len(originals))
	}
}

// Batches deleted behind the walk pull the rest to earlier offsets; when
// total_count falls the walk steps back, so no batch that stays is missed.
func TestAllBatchesUnderDeletions(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 100)
	var n int
	var deleted []string
	c := srv.client(t, counter(&n, func(n int) {
		// After each page, five batches the walk has passed go away.
		if len(deleted) < 40 {
			ids := bk.ids[len(deleted) : len(deleted)+5]
			srv.deleteBatches(t, ids...)
			deleted = append(deleted, ids...)
		}
	}))
	got, err := collect(c.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 10}))
	if err != nil {
		t.Fatal(err)
	}
	if dup := len(got) - len(uniq(got)); dup != 0 {
		t.Errorf("%d batches yielded twice", dup)
	}
	for _, id := range bk.ids {
		if !slices.Contains(deleted, id) && !slices.Contains(got, id) {
			t.Errorf("missed %s, never deleted", id)
		}
	}
}

// Batches deleted ahead of the walk, many pages' worth at once, make it
// step back over pages it has yielded; those re-reads are not taken for a
// server that repeats pages.
func TestAllBatchesUnderADeletionOfManyPages(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 300)
	var n int
	c := srv.client(t, counter(&n, func(n int) {
		if n == 15 { // 150 yielded: 120 of those after offset 160 go
			srv.deleteBatches(t, bk.ids[160:280]...)
		}
	}))
	got, err := collect(c.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 10}))
	want := append(slices.Clone(bk.ids[:160]), bk.ids[280:]...)
	// 15 pages, the page at 150 dropped (total_count fell by 120: back to
	// 30), 12 re-reads up to 150, then 150 to 180.
	if err != nil || !slices.Equal(got, want) || n != 15+1+12+3 {
		t.Errorf("%d batches, %v, after %d requests", len(got), err, n)
	}
}

// Batches created a page's worth between pages fill each page with batches
// already yielded, which the growth of total_count explains: the walk goes
// on, and fails only when that lasts for more than 10 pages in a row (the
// bucket grows faster than the walk reads it).
func TestAllBatchesUnderInsertsOfAPage(t *testing.T) {
	srv := newRef(t)
	for _, pages := range []int{3, 100} {
		bk := srv.newBucket(t, "", 50)
		var n int
		c := srv.client(t, counter(&n, func(n int) {
			if n <= pages {
				srv.insert(t, bk.id, 10, time.Date(2026, 1, 1, n, 0, 0, 0, time.UTC))
			}
		}))
		got, err := collect(c.AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 10}))
		if pages == 3 {
			if err != nil || !slices.Equal(got, bk.ids) || n != 8 {
				t.Errorf("3 pages of inserts: %d batches, %v, after %d requests", len(got), err, n)
			}
			continue
		}
		if !errors.Is(err, batches.ErrInconsistentPage) || !slices.Equal(got, bk.ids[:10]) || n != 12 {
			t.Errorf("inserts without end: %d batches, %v, after %d requests", len(got), err, n)
		}
	}
}

// An error is yielded once and ends the walk.
func TestAllBatchesStopsAfterAnError(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 10)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 2 {
			w.Header().Set("X-Request-Id", "req_2")
			writeJSON(w, 404, errorBody(404, "NotFoundError", "Bucket not found: "+bk.id))
			return
		}
		srv.toRef(t, w, r)
	})
	var got []string
	var errs []error
	for b, err := range f.client(t).AllBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 4}) {
		if err != nil {
			if b.BatchID != "" {
				t.Errorf("a batch with the error: %+v", b)
			}
			errs = append(errs, err)
			continue // the walk must end by itself
		}
		got = append(got, b.BatchID)
	}
	if !slices.Equal(got, bk.ids[:4]) || len(errs) != 1 || !errors.Is(errs[0], batches.ErrNotFound) || f.n.Load() != 2 {
		t.Errorf("got %v, errors %v, after %d requests", got, errs, f.n.Load())
	}
	var e *batches.Error
	if errors.As(errs[0], &e) && e.RequestID != "req_2" {
		t.Errorf("request id %q", e.RequestID)
	}
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
