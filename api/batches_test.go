package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// variedBatches are batches whose JSON has every kind of value the Batch
// schema allows: metadata numbers of every spelling, unicode, characters
// JSON escapes for HTML, control characters, nulls, nested values, empty and
// nil collections, timestamps in other zones and with nanoseconds.
func variedBatches() []server.Batch {
	zone := time.FixedZone("CEST", 2*3600)
	created := time.Date(2025, 6, 1, 12, 0, 0, 120000000, zone)
	bs := []server.Batch{
		{
			BatchId: "btch_html", Status: server.TaskStatusFAILED, Type: server.BatchTypeBUCKET,
			ObjectIds: []string{"obj_<a>&b"}, Error: ptr(`<script>alert("x & y")</script>`),
			ErrorSummary: &map[string]int{"a<b": 1, "timeout": 2}, TotalTiers: 1,
			Metadata: map[string]any{
				"html": "<b>bold</b> & more", "quote": `"q" \ back\slash`, "ctl": "tab\tnl\ncr\r\x01\x7f",
				"unicode": "héllo wörld — 日本語 🎉", "seps": "line\u2028para\u2029", "fffd": "\ufffd",
				"escaped": `\ufffd`, "null": nil, "bool": true, "<key>&": "v",
				"list": []any{1.5, "x", nil, false, map[string]any{"z": 1, "a": 2}, []any{}},
			},
			CreatedAt: created, UpdatedAt: created.Add(time.Nanosecond),
		},
		{
			BatchId: "btch_numbers", Status: server.TaskStatusCOMPLETED, Type: server.BatchTypeCOLLECTION,
			ObjectIds: []string{}, CollectionIds: &[]string{"col_1", "col_2"}, TaskId: ptr("task_1"),
			CurrentTier: ptr(2), TotalTiers: 3,
			Metadata: map[string]any{
				"int": 42, "neg": -7, "float": 1.25, "big": 1e21, "small": 1e-7, "huge": json.Number("12345678901234567890"),
				"exp": json.Number("1E+2"), "zero": 0.0, "negzero": math.Copysign(0, -1), "maxint": int64(math.MaxInt64),
				"pi": math.Pi, "tiny": 5e-324, "max": math.MaxFloat64,
			},
			CreatedAt: created.Add(time.Hour), UpdatedAt: created.Add(2 * time.Hour),
		},
		{
			// Nil everywhere a store writes an empty value.
			BatchId: "btch_nils", Status: server.TaskStatusDRAFT, Type: server.BatchTypeBUCKET, TotalTiers: 1,
			CollectionIds: new([]string), ErrorSummary: new(map[string]int),
			CreatedAt: created.Add(-time.Hour).UTC(), UpdatedAt: created.Add(-time.Hour).UTC(),
		},
	}
	for _, b := range domain.DemoBatches(created, "ignored") {
		bs = append(bs, asServer(b))
	}
	return bs
}

// asServedBefore is b as the server listed it before batches kept their
// JSON: decoded from its stored columns (timestamps in UTC, nil collections
// empty, metadata through JSON with numbers as json.Number).
func asServedBefore(t *testing.T, bucketID string, b server.Batch) server.Batch {
	t.Helper()
	b.BucketId = bucketID
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	if b.ObjectIds == nil {
		b.ObjectIds = []string{}
	}
	if b.CollectionIds != nil && *b.CollectionIds == nil {
		b.CollectionIds = &[]string{}
	}
	if b.ErrorSummary != nil && *b.ErrorSummary == nil {
		b.ErrorSummary = &map[string]int{}
	}
	raw, err := json.Marshal(b.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	md := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&md); err != nil {
		t.Fatal(err)
	}
	if md == nil {
		md = map[string]any{}
	}
	b.Metadata = md
	return b
}

// TestListBytesAsGenerated lists pages of varied batches over HTTP and
// compares every byte of each answer with what the generated strict
// response (json.Encoder over ListBatchesResponse) writes for the same page,
// as the server answered before it served stored JSON.
func TestListBytesAsGenerated(t *testing.T) { eachBackend(t, testListBytesAsGenerated) }

func testListBytesAsGenerated(t *testing.T, f *fixture) {
	ctx := t.Context()
	bucket, err := f.db.CreateBucket(ctx, f.a.namespace.ID, "varied", "bkt_varied")
	if err != nil {
		t.Fatal(err)
	}
	varied := variedBatches()
	if err := f.db.InsertBatches(ctx, bucket.ID, asDomain(varied...)); err != nil {
		t.Fatal(err)
	}
	listed := make([]server.Batch, len(varied))
	for i, b := range varied {
		listed[i] = asServedBefore(t, bucket.ID, b)
	}
	slices.SortFunc(listed, func(a, b server.Batch) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.BatchId, a.BatchId)
	})

	failed := server.TaskStatusFAILED
	for _, tc := range []struct {
		status        *server.TaskStatus
		offset, limit int
	}{
		{nil, 0, 1000}, {nil, 0, 100}, {nil, 100, 100}, {nil, 290, 100}, {nil, 303, 10}, {nil, 5000, 10},
		{&failed, 0, 100}, {&failed, 3, 2},
	} {
		var match []server.Batch
		for _, b := range listed {
			if tc.status == nil || b.Status == *tc.status {
				match = append(match, b)
			}
		}
		page := match[min(tc.offset, len(match)):min(tc.offset+tc.limit, len(match))]
		if page == nil {
			page = []server.Batch{}
		}
		want := httptest.NewRecorder()
		if err := (server.ListBatches200JSONResponse{Results: page, TotalCount: int64(len(match))}).VisitListBatchesResponse(want); err != nil {
			t.Fatal(err)
		}

		body := fmt.Sprintf(`{"offset":%d,"limit":%d}`, tc.offset, tc.limit)
		if tc.status != nil {
			body = fmt.Sprintf(`{"status":%q,"offset":%d,"limit":%d}`, *tc.status, tc.offset, tc.limit)
		}
		ex := f.do(request{path: "/v1/buckets/varied/batches/list", body: &body})
		if ex.status != http.StatusOK || !bytes.Equal(ex.body, want.Body.Bytes()) {
			t.Fatalf("%s: status %d, body\n%s\nthe generated response writes\n%s", body, ex.status, ex.body, want.Body)
		}
		if ct, cl := ex.header.Get("Content-Type"), ex.header.Get("Content-Length"); ct != "application/json" || cl != strconv.Itoa(len(ex.body)) {
			t.Errorf("%s: Content-Type %q, Content-Length %q for %d bytes", body, ct, cl, len(ex.body))
		}
	}
}

// TestListAfterStatusChangeAndDelete lists a bucket after batches change
// status and are deleted: the pages, their order and total_count follow.
func TestListAfterStatusChangeAndDelete(t *testing.T) {
	eachBackend(t, testListAfterStatusChangeAndDelete)
}

func testListAfterStatusChangeAndDelete(t *testing.T, f *fixture) {
	ctx := t.Context()
	first, second := f.a.batches[0], f.a.batches[1]
	if err := f.db.UpdateBatchStatus(ctx, first.BatchId, batches.TaskStatusCanceled); err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteBatch(ctx, second.BatchId); err != nil {
		t.Fatal(err)
	}
	ex := f.do(request{body: ptr(`{"limit":2}`)})
	page := decodeStrict[server.ListBatchesResponse](t, ex.body)
	if ex.status != http.StatusOK || page.TotalCount != int64(len(f.a.batches)-1) || len(page.Results) != 2 {
		t.Fatalf("status %d, %d results of %d", ex.status, len(page.Results), page.TotalCount)
	}
	if got := page.Results[0]; got.BatchId != first.BatchId || got.Status != server.TaskStatusCANCELED || !got.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("first result %s %s updated %s; want %s CANCELED updated after %s", got.BatchId, got.Status, got.UpdatedAt, first.BatchId, first.UpdatedAt)
	}
	if got := page.Results[1].BatchId; got != f.a.batches[2].BatchId {
		t.Errorf("second result %s, want %s (%s was deleted)", got, f.a.batches[2].BatchId, second.BatchId)
	}
	canceled := 0
	for _, b := range f.a.batches[2:] {
		if b.Status == server.TaskStatusCANCELED {
			canceled++
		}
	}
	ex = f.do(request{body: ptr(`{"status":"CANCELED","limit":1}`)})
	page = decodeStrict[server.ListBatchesResponse](t, ex.body)
	if page.TotalCount != int64(canceled+1) || len(page.Results) != 1 || page.Results[0].BatchId != first.BatchId {
		t.Errorf("CANCELED: %d results of %d; want %s first of %d", len(page.Results), page.TotalCount, first.BatchId, canceled+1)
	}
}
