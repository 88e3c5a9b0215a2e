package batches_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
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
	bk := newBucket(t, "", 250)
	var n int
	c := refClient(t, counter(&n, nil))
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
	empty := newBucket(t, "", 0)
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
	bk := newBucket(t, "", 120)
	c := refClient(t)
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
	bk := newBucket(t, "", 100)
	var n int
	c := refClient(t, counter(&n, func(n int) {
		// Seven new batches, newer than any, after every page.
		insert(t, bk.id, 7, time.Date(2026, 1, 1, n, 0, 0, 0, time.UTC))
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
	bk := newBucket(t, "", 100)
	var n int
	var deleted []string
	c := refClient(t, counter(&n, func(n int) {
		// After each page, five batches the walk has passed go away.
		if len(deleted) < 40 {
			ids := bk.ids[len(deleted) : len(deleted)+5]
			deleteBatches(t, ids...)
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

// pageServer is a fake List Batches server over the batches btch_0 …
// btch_{len-1}, which answers each request with page(offset, limit, n)
// (n counts requests from 1): the ids of its results and its total_count.
func pageServer(t *testing.T, page func(offset, limit, n int64) (ids []int, total int64)) *fake {
	t.Helper()
	return newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		var req struct {
			Offset int64  `json:"offset"`
			Limit  *int64 `json:"limit"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Limit == nil {
			t.Errorf("request %d: body without a limit (%v)", n, err)
			writeJSON(w, 422, `{"detail":[]}`)
			return
		}
		ids, total := page(req.Offset, *req.Limit, n)
		items := make([]string, len(ids))
		for i, id := range ids {
			items[i] = fmt.Sprintf(`{"batch_id":"btch_%d","bucket_id":"bkt_demo","status":"COMPLETED","object_ids":[],"collection_ids":null,"error":null,"error_summary":null,"type":"BUCKET","task_id":null,"metadata":{},"current_tier":null,"total_tiers":1,"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:00Z"}`, id)
		}
		writeJSON(w, 200, fmt.Sprintf(`{"results":[%s],"total_count":%d}`, strings.Join(items, ","), total))
	})
}

// span is the ids from..to-1 (none when to <= from).
func span(from, to int64) []int {
	var ids []int
	for i := from; i < to; i++ {
		ids = append(ids, int(i))
	}
	return ids
}

// walkFake runs AllBatches over a fake server and returns the ids yielded,
// the error, and the number of requests.
func walkFake(t *testing.T, f *fake, params *batches.ListBatchesParams) ([]string, error, int64) {
	t.Helper()
	got, err := collect(f.client(t).AllBatches(t.Context(), "bkt_demo", params))
	return got, err, f.n.Load()
}

// Batches deleted ahead of the walk, many pages' worth at once, make it
// step back over pages it has yielded; those re-reads are not taken for a
// server that repeats pages.
func TestAllBatchesUnderADeletionOfManyPages(t *testing.T) {
	bk := newBucket(t, "", 300)
	var n int
	c := refClient(t, counter(&n, func(n int) {
		if n == 15 { // 150 yielded: 120 of those after offset 160 go
			deleteBatches(t, bk.ids[160:280]...)
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
	for _, pages := range []int{3, 100} {
		bk := newBucket(t, "", 50)
		var n int
		c := refClient(t, counter(&n, func(n int) {
			if n <= pages {
				insert(t, bk.id, 10, time.Date(2026, 1, 1, n, 0, 0, 0, time.UTC))
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

// A server that ignores the offset answers every page with the first: the
// walk stops at the second page with ErrInconsistentPage, whatever
// total_count claims, so the 10 batches yielded are never taken for the
// whole.
func TestAllBatchesFailsWhenTheServerIgnoresTheOffset(t *testing.T) {
	for _, total := range []int64{30, 1_000_000} {
		f := pageServer(t, func(_, _, _ int64) ([]int, int64) { return span(0, 10), total })
		got, err, n := walkFake(t, f, &batches.ListBatchesParams{Limit: 10})
		want := fmt.Sprintf("batches: listBatches: the page at offset 10 holds only batches already yielded and total_count (%d) did not grow to explain it: the server ignores the offset (10 batches yielded)", total)
		if !errors.Is(err, batches.ErrInconsistentPage) || err.Error() != want || len(got) != 10 || n != 2 {
			t.Errorf("total_count %d: %d batches, %v, after %d requests", total, len(got), err, n)
		}
		if errors.Is(err, batches.ErrValidation) {
			t.Errorf("%v matches ErrValidation", err)
		}
	}
}

// A server that repeats a page while total_count grows by a page each
// time explains every repeat; the walk gives up after 10 requests in a row
// that yield nothing new (12 requests: the first page and 11 repeats).
func TestAllBatchesFailsOnRepeatedPages(t *testing.T) {
	f := pageServer(t, func(_, _, n int64) ([]int, int64) { return span(0, 10), 20 + 10*n })
	got, err, n := walkFake(t, f, &batches.ListBatchesParams{Limit: 10})
	if !errors.Is(err, batches.ErrInconsistentPage) || len(got) != 10 || n != 12 ||
		!strings.Contains(err.Error(), "11 requests in a row, the last at offset 110, yielded no batch not yielded before (total_count 140, 10 batches yielded)") {
		t.Errorf("%d batches, %v, after %d requests", len(got), err, n)
	}
}

// A page of more results than the limit asked is an error before any of
// it is yielded; the limit is sent even when params leave it to the API.
func TestAllBatchesFailsOnAPageOverTheLimit(t *testing.T) {
	for _, tc := range []struct {
		limit int   // params.Limit
		sent  int64 // what the server must get
	}{{5, 5}, {0, batches.DefaultLimit}} {
		f := pageServer(t, func(offset, limit, _ int64) ([]int, int64) {
			if limit != tc.sent {
				t.Errorf("limit %d sent, want %d", limit, tc.sent)
			}
			return span(offset, offset+limit+1), 1000
		})
		got, err, n := walkFake(t, f, &batches.ListBatchesParams{Limit: tc.limit})
		want := fmt.Sprintf("batches: listBatches: the page at offset 0 holds %d batches, more than the limit of %d asked for: the server ignores the limit (0 batches yielded)", tc.sent+1, tc.sent)
		if !errors.Is(err, batches.ErrInconsistentPage) || err.Error() != want || len(got) != 0 || n != 1 {
			t.Errorf("limit %d: %d batches, %v, after %d requests", tc.limit, len(got), err, n)
		}
	}
}

// An empty page before total_count is asked for once more; empty again, the
// walk fails rather than end with part of what the server counts.
func TestAllBatchesFailsOnAnEmptyPageBeforeTotalCount(t *testing.T) {
	// 5 batches, total_count 9: pages at 0, 2, 4 (one batch), 5 (empty)
	// and 5 again.
	f := pageServer(t, func(offset, limit, _ int64) ([]int, int64) { return span(offset, min(offset+limit, 5)), 9 })
	got, err, n := walkFake(t, f, &batches.ListBatchesParams{Limit: 2})
	want := "batches: listBatches: the page at offset 5 is empty twice, but total_count is 9: the server counts batches it does not return (5 batches yielded)"
	if !errors.Is(err, batches.ErrInconsistentPage) || err.Error() != want || len(got) != 5 || n != 5 {
		t.Errorf("%d batches, %v, after %d requests", len(got), err, n)
	}
	// From an offset past the end, or on an empty bucket: a clean end.
	for _, offset := range []int64{0, 5, 7} {
		f := pageServer(t, func(int64, int64, int64) ([]int, int64) { return nil, min(offset, 5) })
		got, err, n := walkFake(t, f, &batches.ListBatchesParams{Offset: offset, Limit: 2})
		if err != nil || len(got) != 0 || n != 1 {
			t.Errorf("offset %d: %d batches, %v, after %d requests", offset, len(got), err, n)
		}
	}
}

// A server that counts and reads in two queries can answer an empty page
// with a count from before a deletion; asked again it counts less, and the
// walk steps back and ends with every batch that is left.
func TestAllBatchesAsksAnEmptyPageAgain(t *testing.T) {
	// 9 batches; the last 4 go while the page at 6 is read: that answer
	// is empty and still counts 9.
	size := int64(9)
	var offsets []int64
	f := pageServer(t, func(offset, limit, _ int64) ([]int, int64) {
		offsets = append(offsets, offset)
		if offset == 6 && size == 9 {
			size = 5
			return nil, 9
		}
		return span(offset, min(offset+limit, size)), size
	})
	got, err, n := walkFake(t, f, &batches.ListBatchesParams{Limit: 3})
	// 0, 3 (yields 0…5), 6 (empty, 9), 6 (empty, 5: a fall of 4, back to
	// 2), 2 (nothing new, and the end: 2 + 3 results reach total_count).
	if err != nil || !slices.Equal(got, []string{"btch_0", "btch_1", "btch_2", "btch_3", "btch_4", "btch_5"}) ||
		!slices.Equal(offsets, []int64{0, 3, 6, 6, 2}) || n != 5 {
		t.Errorf("%v, %v, offsets %v", got, err, offsets)
	}
}

// A server whose total_count goes up and down makes the walk step back
// again and again; the re-reads it allows for each step do not add up to
// a walk without end.
func TestAllBatchesBoundsStepsBack(t *testing.T) {
	// 20 batches; total_count says 20 to a page at offset 0 and 10 to the
	// page at 10, so the walk goes 0, 10 (a fall: back to 0), 0, 10, …
	f := pageServer(t, func(offset, limit, _ int64) ([]int, int64) {
		if offset == 0 {
			return span(0, 10), 20
		}
		return span(offset, min(offset+limit, 20)), 10
	})
	got, err, n := walkFake(t, f, &batches.ListBatchesParams{Limit: 10})
	// Each round trip is two requests that yield nothing and grants one
	// re-read: 10 + k < 2k first at k = 11 (the 23rd request).
	if !errors.Is(err, batches.ErrInconsistentPage) || len(got) != 10 || n != 23 {
		t.Errorf("%d batches, %v, after %d requests", len(got), err, n)
	}
}

// An error is yielded once and ends the walk.
func TestAllBatchesStopsAfterAnError(t *testing.T) {
	bk := newBucket(t, "", 10)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 2 {
			w.Header().Set("X-Request-Id", "req_2")
			writeJSON(w, 404, errorBody(404, "NotFoundError", "Bucket not found: "+bk.id))
			return
		}
		toRef(t, w, r)
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

// total_count smaller than the list: a short page past it is the end of
// the list, every batch of it yielded and nothing asked after; a full page
// past it may have more behind it, so the walk fails rather than stop.
func TestAllBatchesWhenTotalCountIsTooSmall(t *testing.T) {
	// 5 batches, total_count 3, pages of 10: one short page.
	f := pageServer(t, func(offset, limit, _ int64) ([]int, int64) { return span(offset, min(offset+limit, 5)), 3 })
	got, err, n := walkFake(t, f, &batches.ListBatchesParams{Limit: 10})
	if err != nil || !slices.Equal(got, []string{"btch_0", "btch_1", "btch_2", "btch_3", "btch_4"}) || n != 1 {
		t.Errorf("short page: %v, %v, after %d requests", got, err, n)
	}
	// 25 batches, total_count 3, pages of 10: a full first page.
	f = pageServer(t, func(offset, limit, _ int64) ([]int, int64) { return span(offset, min(offset+limit, 25)), 3 })
	got, err, n = walkFake(t, f, &batches.ListBatchesParams{Limit: 10})
	want := "batches: listBatches: the page at offset 0 is full (10 batches) and ends past total_count 3: the server counts fewer batches than it returns (0 batches yielded)"
	if !errors.Is(err, batches.ErrInconsistentPage) || err.Error() != want || len(got) != 0 || n != 1 {
		t.Errorf("full page: %v, %v, after %d requests", got, err, n)
	}
}

// A result that is null or has no batch_id is no batch: the page is an
// *Error naming the index, in ListBatches and AllBatches alike, and nothing
// of it is yielded.
func TestPageWithANullOrIDlessResultIsAnError(t *testing.T) {
	batch := func(id string) string {
		return `{"batch_id":"` + id + `","bucket_id":"bkt_demo","status":"COMPLETED","object_ids":[],"type":"BUCKET","metadata":{},"total_tiers":1,` +
			`"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:00Z"}`
	}
	for _, tc := range []struct{ results, want string }{
		{`[null,` + batch("") + `]`, "results[0] is null, not a batch"},
		{`[` + batch("btch_1") + `, null ]`, "results[1] is null, not a batch"},
		{`[` + batch("btch_1") + `,` + batch("") + `]`, "results[1] has no batch_id"},
		{`[` + batch("btch_1") + `,{"created_at":"yesterday"}]`, `results[1] is not a batch: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
		{`[` + batch("btch_1") + `,{}]`, "results[1] has no batch_id"},
		{`[` + batch("btch_1") + `,7]`, "results[1] is 7, not a batch"},
		{`[` + batch("btch_1") + `,["btch_2"]]`, `results[1] is ["btch_2"], not a batch`},
	} {
		body := `{"results":` + tc.results + `,"total_count":2}`
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) { writeJSON(w, 200, body) })
		_, err := f.client(t).ListBatches(t.Context(), "bkt_demo", nil)
		e := asError(t, err, 200, nil)
		wantErr := "batches: listBatches: POST /v1/buckets/bkt_demo/batches/list: HTTP 200: " + tc.want
		if e.Message != tc.want || err.Error() != wantErr || string(e.RawBody) != body || len(e.Attempts) != 1 {
			t.Errorf("ListBatches on %s:\n%v\nwant\n%s", tc.results, err, wantErr)
		}
		got, err := collect(f.client(t).AllBatches(t.Context(), "bkt_demo", nil))
		if len(got) != 0 || err == nil || err.Error() != wantErr {
			t.Errorf("AllBatches on %s: %v, %v", tc.results, got, err)
		}
	}
}

// ListBatches refuses a page longer than the limit it sent, as the
// iterator does; without a limit sent, any length goes.
func TestListBatchesRefusesAPageOverTheLimit(t *testing.T) {
	f := pageServer(t, func(offset, limit, _ int64) ([]int, int64) { return span(offset, offset+limit+1), 1000 })
	_, err := f.client(t).ListBatches(t.Context(), "bkt_demo", &batches.ListBatchesParams{Offset: 20, Limit: 5})
	want := "batches: listBatches: the page at offset 20 holds 6 batches, more than the limit of 5 asked for: the server ignores the limit"
	if !errors.Is(err, batches.ErrInconsistentPage) || err == nil || err.Error() != want {
		t.Errorf("%v, want %q", err, want)
	}
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		writeJSON(w, 200, `{"results":[],"total_count":0}`)
	})
	if page, err := f.client(t).ListBatches(t.Context(), "bkt_demo", nil); err != nil || len(page.Results) != 0 {
		t.Errorf("%v, %v", page, err)
	}
}
