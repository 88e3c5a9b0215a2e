package batches_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches"
)

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
