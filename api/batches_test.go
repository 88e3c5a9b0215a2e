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
// nil collections, timestamps in other zones and with nanoseconds, and the
// demo's tier tasks.
func variedBatches() []domain.Batch {
	zone := time.FixedZone("CEST", 2*3600)
	created := time.Date(2025, 6, 1, 12, 0, 0, 120000000, zone)
	bs := []domain.Batch{
		{
			BatchID: "btch_html", Status: batches.TaskStatusFailed, Type: batches.BatchTypeBucket,
			ObjectIDs: []string{"obj_<a>&b"}, Error: ptr(`<script>alert("x & y")</script>`),
			ErrorSummary: map[string]int{"a<b": 1, "timeout": 2}, TotalTiers: 1, ManifestKey: ptr("m/<a>&b"),
			Metadata: map[string]any{
				"html": "<b>bold</b> & more", "quote": `"q" \ back\slash`, "ctl": "tab\tnl\ncr\r\x01\x7f",
				"unicode": "héllo wörld — 日本語 🎉", "seps": "line\u2028para\u2029", "fffd": "\ufffd",
				"escaped": `\ufffd`, "null": nil, "bool": true, "<key>&": "v",
				"list": []any{1.5, "x", nil, false, map[string]any{"z": 1, "a": 2}, []any{}},
			},
			CreatedAt: created, UpdatedAt: created.Add(time.Nanosecond),
		},
		{
			BatchID: "btch_numbers", Status: batches.TaskStatusCompleted, Type: batches.BatchTypeCollection,
			ObjectIDs: []string{}, CollectionIDs: []string{"col_1", "col_2"}, TaskID: ptr("task_1"),
			CurrentTier: ptr(2), TotalTiers: 3, DagTiers: [][]string{{"col_1"}, {}, {"col_2"}},
			InternalMetadata: map[string]any{"huge": json.Number("12345678901234567890"), "exp": json.Number("1E+2")},
			Metadata: map[string]any{
				"int": 42, "neg": -7, "float": 1.25, "big": 1e21, "small": 1e-7, "huge": json.Number("12345678901234567890"),
				"exp": json.Number("1E+2"), "zero": 0.0, "negzero": math.Copysign(0, -1), "maxint": int64(math.MaxInt64),
				"pi": math.Pi, "tiny": 5e-324, "max": math.MaxFloat64,
			},
			CreatedAt: created.Add(time.Hour), UpdatedAt: created.Add(2 * time.Hour),
		},
		{
			// Nil everywhere a store writes an empty value.
			BatchID: "btch_nils", Status: batches.TaskStatusDraft, Type: batches.BatchTypeBucket, TotalTiers: 1,
			CollectionIDs: []string{}, ErrorSummary: map[string]int{}, LoadedObjectIDs: []string{}, InternalMetadata: map[string]any{},
			CreatedAt: created.Add(-time.Hour).UTC(), UpdatedAt: created.Add(-time.Hour).UTC(),
		},
	}
	return append(bs, domain.DemoBatches(created, "ignored")...)
}

// asListed is b as the server lists it from bucketID: timestamps in UTC,
// nil collections empty, metadata through JSON with numbers as
// json.Number.
func asListed(t *testing.T, bucketID string, b domain.Batch) domain.Batch {
	t.Helper()
	b = domain.AsListed(bucketID, b)
	var err error
	if b.Metadata, err = viaJSONNumbers(b.Metadata); err != nil {
		t.Fatal(err)
	}
	return b
}

func viaJSONNumbers(m map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	md := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&md); err != nil {
		return nil, err
	}
	if md == nil {
		md = map[string]any{}
	}
	return md, nil
}

// listedPage is a ListBatchesResponse with every field of every batch
// decoded (decodeStrict refuses a field the domain's Batch does not have).
type listedPage struct {
	Results    []domain.Batch `json:"results"`
	TotalCount int64          `json:"total_count"`
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
	if err := f.db.InsertBatches(ctx, bucket.ID, varied); err != nil {
		t.Fatal(err)
	}
	listed := make([]domain.Batch, len(varied))
	for i, b := range varied {
		listed[i] = asListed(t, bucket.ID, b)
	}
	slices.SortFunc(listed, func(a, b domain.Batch) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.BatchID, a.BatchID)
	})

	failed := batches.TaskStatusFailed
	for _, tc := range []struct {
		status        *batches.TaskStatus
		collection    string
		offset, limit int
	}{
		{nil, "", 0, 1000}, {nil, "", 0, 100}, {nil, "", 100, 100}, {nil, "", 290, 100}, {nil, "", 303, 10}, {nil, "", 5000, 10},
		{&failed, "", 0, 100}, {&failed, "", 3, 2},
		{nil, "col_products01", 0, 1000}, {nil, "col_products01", 5, 20}, {&failed, "col_catalogimg", 0, 100}, {nil, "col_none", 0, 10},
	} {
		var match []server.Batch
		for _, b := range listed {
			if (tc.status == nil || b.Status == *tc.status) && (tc.collection == "" || slices.Contains(b.CollectionIDs, tc.collection)) {
				match = append(match, asServer(t, b))
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
		if tc.collection != "" {
			body = strings.Replace(body, "{", fmt.Sprintf(`{"collection_id":%q,`, tc.collection), 1)
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
	if err := f.db.UpdateBatchStatus(ctx, first.BatchID, batches.TaskStatusCanceled); err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteBatch(ctx, second.BatchID); err != nil {
		t.Fatal(err)
	}
	ex := f.do(request{body: ptr(`{"limit":2}`)})
	page := decodeStrict[listedPage](t, ex.body)
	if ex.status != http.StatusOK || page.TotalCount != int64(len(f.a.batches)-1) || len(page.Results) != 2 {
		t.Fatalf("status %d, %d results of %d", ex.status, len(page.Results), page.TotalCount)
	}
	if got := page.Results[0]; got.BatchID != first.BatchID || got.Status != batches.TaskStatusCanceled || !got.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("first result %s %s updated %s; want %s CANCELED updated after %s", got.BatchID, got.Status, got.UpdatedAt, first.BatchID, first.UpdatedAt)
	}
	if got := page.Results[1].BatchID; got != f.a.batches[2].BatchID {
		t.Errorf("second result %s, want %s (%s was deleted)", got, f.a.batches[2].BatchID, second.BatchID)
	}
	canceled := 0
	for _, b := range f.a.batches[2:] {
		if b.Status == batches.TaskStatusCanceled {
			canceled++
		}
	}
	ex = f.do(request{body: ptr(`{"status":"CANCELED","limit":1}`)})
	page = decodeStrict[listedPage](t, ex.body)
	if page.TotalCount != int64(canceled+1) || len(page.Results) != 1 || page.Results[0].BatchID != first.BatchID {
		t.Errorf("CANCELED: %d results of %d; want %s first of %d", len(page.Results), page.TotalCount, first.BatchID, canceled+1)
	}
}
