package batches_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// bucket is a server of the test's own holding n batches, newest first
// (batch i created i minutes before the first): List Batches (offset,
// limit, collection_id) and Get Batch. A round of WaitBatches is a walk
// from offset 0 (and the GETs of the batches it missed), or a GET of each
// batch: a list at offset 0, or a GET of a batch the round asked for
// already, starts the next round, whose statuses status gives.
type bucket struct {
	mu      sync.Mutex
	n       int
	round   int
	got     map[string]bool // the GETs of this round
	status  func(i, round int) string
	coll    func(i int) string
	deleted map[int]bool
	lists   []string // the body of each list request
	gets    []string // the id of each get
}

func (bk *bucket) batch(i int) map[string]any {
	ts := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Minute).Format(time.RFC3339)
	var colls []string
	if bk.coll != nil && bk.coll(i) != "" {
		colls = []string{bk.coll(i)}
	}
	return map[string]any{"batch_id": fmt.Sprintf("btch_%04d", i), "bucket_id": "bkt", "status": bk.status(i, bk.round),
		"collection_ids": colls, "created_at": ts, "updated_at": ts}
}

func (bk *bucket) serve(t *testing.T) *fake {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, _ int64) {
		bk.mu.Lock()
		defer bk.mu.Unlock()
		if r.Method == http.MethodGet {
			id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			bk.gets = append(bk.gets, id)
			if bk.got == nil || bk.got[id] {
				bk.round, bk.got = bk.round+1, map[string]bool{}
			}
			bk.got[id] = true
			var i int
			if _, err := fmt.Sscanf(id, "btch_%d", &i); err != nil || i >= bk.n || bk.deleted[i] {
				writeJSON(w, 404, errorBody(404, "NotFoundError", "Batch not found: "+id))
				return
			}
			data, _ := json.Marshal(bk.batch(i))
			writeJSON(w, 200, string(data))
			return
		}
		var req struct {
			Offset       int    `json:"offset"`
			Limit        int    `json:"limit"`
			CollectionID string `json:"collection_id"`
		}
		var body strings.Builder
		json.NewDecoder(r.Body).Decode(&req)
		fmt.Fprintf(&body, "offset=%d limit=%d collection=%s", req.Offset, req.Limit, req.CollectionID)
		bk.lists = append(bk.lists, body.String())
		if req.Offset == 0 {
			bk.round, bk.got = bk.round+1, map[string]bool{}
		}
		var match []map[string]any
		for i := range bk.n {
			if !bk.deleted[i] && (req.CollectionID == "" || bk.coll != nil && bk.coll(i) == req.CollectionID) {
				match = append(match, bk.batch(i))
			}
		}
		page := match[min(req.Offset, len(match)):min(req.Offset+req.Limit, len(match))]
		data, _ := json.Marshal(map[string]any{"results": page, "total_count": len(match)})
		writeJSON(w, 200, string(data))
	})
}

func ids(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("btch_%04d", i))
	}
	return out
}

// 2500 batches waited for among 5000, under 1500 newer ones: the first
// round walks the list from the top down to the oldest (4 pages of 1000);
// the batches waited for all feed col_a, which 2500 of the 4000 walked
// feed: listing col_a alone saves a page, so the next rounds do (3 pages,
// then 2 once the older ones ended); once 5 are left, fewer than
// MaxGetEach, a GET each (two rounds). A FAILED one is in the joined
// error.
func TestWaitBatchesOneWalkARound(t *testing.T) {
	bk := &bucket{n: 5000, status: func(i, round int) string {
		switch {
		case round <= 1:
			return "PENDING"
		case round == 2 && i >= 3000:
			return "COMPLETED"
		case round == 2:
			return "IN_PROGRESS"
		case i == 2000:
			return "FAILED"
		case round == 3 && i < 1505:
			return "IN_PROGRESS"
		}
		return "COMPLETED"
	}, coll: func(i int) string {
		if i >= 1500 && i < 4000 {
			return "col_a"
		}
		return "col_b"
	}}
	f := bk.serve(t)
	progress := 0
	want := ids(1500, 4000)
	got, err := f.client(t).WaitBatches(t.Context(), "bkt", want, fast, batches.OnProgress(func(batches.Batch) { progress++ }))
	if !errors.Is(err, batches.ErrBatchFailed) || err.Error() != "batches: batch btch_2000 ended FAILED" {
		t.Fatalf("err %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d batches", len(got))
	}
	for i, b := range got {
		st := batches.TaskStatusCompleted
		if b.BatchID == "btch_2000" {
			st = batches.TaskStatusFailed
		}
		if b.BatchID != want[i] || b.Status != st {
			t.Fatalf("batch %d: %s %s", i, b.BatchID, b.Status)
		}
	}
	wantLists := []string{
		"offset=0 limit=1000 collection=", "offset=1000 limit=1000 collection=", "offset=2000 limit=1000 collection=", "offset=3000 limit=1000 collection=",
		"offset=0 limit=1000 collection=col_a", "offset=1000 limit=1000 collection=col_a", "offset=2000 limit=1000 collection=col_a",
		"offset=0 limit=1000 collection=col_a", "offset=1000 limit=1000 collection=col_a",
	}
	// (The first round of GETs follows the walk of round 3 at once: this
	// server still answers round 3's statuses.)
	if fmt.Sprint(bk.lists) != fmt.Sprint(wantLists) || fmt.Sprint(bk.gets) != fmt.Sprint(append(ids(1500, 1505), ids(1500, 1505)...)) {
		t.Errorf("lists %q\ngets %v", bk.lists, bk.gets)
	}
	if progress != 2500+2500+1495+5 {
		t.Errorf("%d progress calls", progress)
	}
}

// 12 batches under 12,000 newer ones, all of the bucket feeding one
// collection (as on the reference server, where every batch of bucket b
// feeds col_b_t0): listing it alone would save nothing, so the first
// round walks the whole list down to them (13 pages); then 12 GETs a
// round, fewer requests than the walk. 2 batches: a GET each from the
// first round on.
func TestWaitBatchesGetEachWhenCheaper(t *testing.T) {
	bk := &bucket{n: 13000, status: func(i, round int) string {
		if round < 2 { // the walk, and the first round of GETs
			return "PENDING"
		}
		return "COMPLETED"
	}, coll: func(int) string { return "col_t0" }}
	f := bk.serve(t)
	if _, err := f.client(t).WaitBatches(t.Context(), "bkt", ids(12000, 12012), fast); err != nil {
		t.Fatal(err)
	}
	var wantLists []string
	for off := 0; off <= 12000; off += 1000 {
		wantLists = append(wantLists, fmt.Sprintf("offset=%d limit=1000 collection=", off))
	}
	if fmt.Sprint(bk.lists) != fmt.Sprint(wantLists) || fmt.Sprint(bk.gets) != fmt.Sprint(append(ids(12000, 12012), ids(12000, 12012)...)) {
		t.Errorf("lists %q\ngets %v", bk.lists, bk.gets)
	}

	// 2000 under 11,000: a walk a round, the whole list's (13 pages).
	bk = &bucket{n: 13000, status: func(i, round int) string {
		if round < 2 {
			return "PENDING"
		}
		return "COMPLETED"
	}, coll: func(int) string { return "col_t0" }}
	f = bk.serve(t)
	if _, err := f.client(t).WaitBatches(t.Context(), "bkt", ids(11000, 13000), fast); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(bk.lists) != fmt.Sprint(append(wantLists, wantLists...)) || len(bk.gets) != 0 {
		t.Errorf("lists %q\ngets %v", bk.lists, bk.gets)
	}

	bk = &bucket{n: 13000, status: func(i, round int) string {
		if round < 3 {
			return "PENDING"
		}
		return "COMPLETED"
	}}
	f = bk.serve(t)
	if _, err := f.client(t).WaitBatches(t.Context(), "bkt", []string{"btch_12998", "btch_12999"}, fast); err != nil {
		t.Fatal(err)
	}
	if len(bk.lists) != 0 || fmt.Sprint(bk.gets) != "[btch_12998 btch_12999 btch_12998 btch_12999 btch_12998 btch_12999]" {
		t.Errorf("lists %q\ngets %v", bk.lists, bk.gets)
	}
}

// A batch that feeds no collection leaves the others nothing in common:
// the walks list every batch (the batch first in ids counts like any).
func TestWaitBatchesNoCollectionInCommon(t *testing.T) {
	bk := &bucket{n: 5000, status: func(i, round int) string {
		if round < 3 {
			return "PENDING"
		}
		return "COMPLETED"
	}, coll: func(i int) string {
		switch {
		case i == 1500:
			return ""
		case i > 1500 && i < 4000:
			return "col_a"
		}
		return "col_b"
	}}
	f := bk.serve(t)
	if _, err := f.client(t).WaitBatches(t.Context(), "bkt", ids(1500, 4000), fast); err != nil {
		t.Fatal(err)
	}
	var walk []string
	for off := 0; off < 4000; off += 1000 {
		walk = append(walk, fmt.Sprintf("offset=%d limit=1000 collection=", off))
	}
	if fmt.Sprint(bk.lists) != fmt.Sprint(slices.Concat(walk, walk, walk)) || len(bk.gets) != 0 {
		t.Errorf("lists %q\ngets %v", bk.lists, bk.gets)
	}
}

// An id not in the bucket: the first round walks the whole list, then
// asks for it (404), which ends the wait; among few ids, its GET of the
// first round does. One deleted after the first round: the walk stops
// past where it was, and its GET answers 404.
func TestWaitBatchesMissing(t *testing.T) {
	pending := func(int, int) string { return "PENDING" }
	bk := &bucket{n: 2500, status: pending}
	f := bk.serve(t)
	got, err := f.client(t).WaitBatches(t.Context(), "bkt", append(ids(10, 20), "btch_nope"), fast)
	var e *batches.Error
	if !errors.Is(err, batches.ErrNotFound) || !errors.As(err, &e) || e.Operation != "getBatch" {
		t.Fatalf("err %v", err)
	}
	if len(bk.lists) != 3 || fmt.Sprint(bk.gets) != "[btch_nope]" || got[0].Status != batches.TaskStatusPending || got[10].BatchID != "" {
		t.Errorf("lists %q, gets %v, batches %v", bk.lists, bk.gets, got)
	}

	bk = &bucket{n: 2500, status: pending}
	f = bk.serve(t)
	got, err = f.client(t).WaitBatches(t.Context(), "bkt", []string{"btch_0010", "btch_nope"}, fast)
	if !errors.Is(err, batches.ErrNotFound) {
		t.Fatalf("err %v", err)
	}
	if len(bk.lists) != 0 || fmt.Sprint(bk.gets) != "[btch_0010 btch_nope]" || got[0].Status != batches.TaskStatusPending || got[1].BatchID != "" {
		t.Errorf("lists %q, gets %v, batches %v", bk.lists, bk.gets, got)
	}

	bk = &bucket{n: 2500, status: pending, deleted: map[int]bool{}}
	f = bk.serve(t)
	_, err = f.client(t).WaitBatches(t.Context(), "bkt", ids(10, 30), fast,
		batches.OnProgress(func(b batches.Batch) {
			if b.BatchID == "btch_0020" {
				bk.mu.Lock()
				bk.deleted[20] = true
				bk.mu.Unlock()
			}
		}))
	if !errors.Is(err, batches.ErrNotFound) {
		t.Fatalf("err %v", err)
	}
	if len(bk.lists) != 2 || fmt.Sprint(bk.gets) != "[btch_0020]" {
		t.Errorf("lists %q, gets %v", bk.lists, bk.gets)
	}
}

// A DRAFT batch ends the wait at once; a status the wait cannot follow is
// reported and waited on.
func TestWaitBatchesDraftAndUnknown(t *testing.T) {
	bk := &bucket{n: 50, status: func(i, _ int) string {
		if i == 7 {
			return "DRAFT"
		}
		return "PENDING"
	}}
	f := bk.serve(t)
	got, err := f.client(t).WaitBatches(t.Context(), "bkt", ids(0, 20), fast)
	if !errors.Is(err, batches.ErrBatchNotSubmitted) || len(bk.lists) != 1 || got[7].Status != batches.TaskStatusDraft {
		t.Fatalf("err %v after %d lists", err, len(bk.lists))
	}
	// Among few, a GET each: the DRAFT one's ends the wait.
	bk.lists = nil
	got, err = f.client(t).WaitBatches(t.Context(), "bkt", ids(0, 10), fast)
	if !errors.Is(err, batches.ErrBatchNotSubmitted) || len(bk.lists) != 0 || len(bk.gets) != 8 || got[7].Status != batches.TaskStatusDraft {
		t.Fatalf("err %v after %d lists, %d gets", err, len(bk.lists), len(bk.gets))
	}

	bk = &bucket{n: 50, status: func(i, round int) string {
		if round < 3 && i == 3 {
			return "MIGRATING"
		}
		if round < 3 {
			return "PENDING"
		}
		return "COMPLETED"
	}}
	f = bk.serve(t)
	var reported []string
	_, err = f.client(t).WaitBatches(t.Context(), "bkt", append(ids(0, 15), "btch_0003"), fast,
		batches.OnUnknownStatus(func(id string, s batches.TaskStatus) { reported = append(reported, id+" "+string(s)) }))
	if err != nil || len(bk.lists) != 3 || fmt.Sprint(reported) != "[btch_0003 MIGRATING]" {
		t.Fatalf("err %v after %d lists, reported %v", err, len(bk.lists), reported)
	}
}

// A round whose walk fails after its retries is a failed poll: the wait
// gives up after MaxPollFailures of them in a row.
func TestWaitBatchesFailedRounds(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		writeJSON(w, 503, errorBody(503, "ServiceUnavailableError", "busy"))
	})
	_, err := f.client(t, batches.WithMaxRetries(1)).WaitBatches(t.Context(), "bkt", []string{"btch_0001"}, fast, batches.MaxPollFailures(2))
	var e *batches.Error
	if !errors.As(err, &e) || e.StatusCode != 503 || f.n.Load() != 4 {
		t.Fatalf("err %v after %d requests", err, f.n.Load())
	}
}
