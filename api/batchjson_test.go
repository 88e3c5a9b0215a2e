package api_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// valueOf returns *p, or the zero value for nil.
func valueOf[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// viaJSON converts from into a value of type T through encoding/json: the
// same fields, by JSON name. Numbers are kept as written.
func viaJSON[T any](t testing.TB, from any) T {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// asDomain returns the generated server's b as the domain's Batch, field
// for field (the tier tasks through their JSON): a nil pointer to a
// collection is null, a pointer to a nil one an empty one (as the stores
// read server.Batch before the domain had its own).
func asDomain(t testing.TB, b server.Batch) domain.Batch {
	d := domain.Batch{
		BatchID: valueOf(b.BatchId), BucketID: b.BucketId, CreatedAt: valueOf(b.CreatedAt), CurrentTier: b.CurrentTier,
		Error: b.Error, Metadata: valueOf(b.Metadata), ObjectIDs: valueOf(b.ObjectIds), Status: batches.TaskStatus(valueOf(b.Status)),
		TaskID: b.TaskId, TotalTiers: valueOf(b.TotalTiers), Type: batches.BatchType(valueOf(b.Type)), UpdatedAt: valueOf(b.UpdatedAt),
		ManifestKey: b.ManifestKey,
	}
	emptyIfNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	if b.CollectionIds != nil {
		d.CollectionIDs = emptyIfNil(*b.CollectionIds)
	}
	if b.LoadedObjectIds != nil {
		d.LoadedObjectIDs = emptyIfNil(*b.LoadedObjectIds)
	}
	if b.DagTiers != nil {
		d.DagTiers = *b.DagTiers
		if d.DagTiers == nil {
			d.DagTiers = [][]string{}
		}
	}
	if b.ErrorSummary != nil {
		d.ErrorSummary = *b.ErrorSummary
		if d.ErrorSummary == nil {
			d.ErrorSummary = map[string]int{}
		}
	}
	if b.InternalMetadata != nil {
		d.InternalMetadata = *b.InternalMetadata
		if d.InternalMetadata == nil {
			d.InternalMetadata = map[string]any{}
		}
	}
	if b.TierTasks != nil {
		d.TierTasks = viaJSON[[]domain.TierTask](t, *b.TierTasks)
	}
	return d
}

// asServer returns b as the generated server's Batch, through its
// canonical JSON: every field set.
func asServer(t testing.TB, b domain.Batch) server.Batch {
	t.Helper()
	doc, err := domain.BatchJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return viaJSON[server.Batch](t, json.RawMessage(doc))
}

// TestDomainBatchIsTheGeneratedOne: the domain's Batch, TierTask,
// ExtractorJob and BatchError have the JSON names of the generated
// server's Batch, TierTaskInfo, ExtractorJobInfo and BatchErrorDetail, in
// the same order and with the same options, so that encoding/json writes
// them alike.
func TestDomainBatchIsTheGeneratedOne(t *testing.T) {
	names := func(typ reflect.Type) []string {
		var out []string
		for f := range typ.Fields() {
			out = append(out, f.Tag.Get("json"))
		}
		return out
	}
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[domain.Batch](), reflect.TypeFor[server.Batch]()},
		{reflect.TypeFor[domain.TierTask](), reflect.TypeFor[server.TierTaskInfo]()},
		{reflect.TypeFor[domain.ExtractorJob](), reflect.TypeFor[server.ExtractorJobInfo]()},
		{reflect.TypeFor[domain.BatchError](), reflect.TypeFor[server.BatchErrorDetail]()},
	} {
		got, want := names(pair[0]), names(pair[1])
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v has the JSON fields\n%v\nthe generated %v\n%v", pair[0], got, pair[1], want)
		}
	}
}

func TestBatchJSONIsWhatTheServerEncodes(t *testing.T) {
	p := func(s string) *string { return &s }
	i := func(n int) *int { return &n }
	f := func(x float64) *float64 { return &x }
	tm := func(x time.Time) *time.Time { return &x }
	status := func(s server.TaskStatus) *server.TaskStatus { return &s }
	typ := func(s server.BatchType) *server.BatchType { return &s }
	strs := func(s ...string) *[]string {
		if s == nil {
			s = []string{}
		}
		return &s
	}
	md := func(m map[string]any) *map[string]any { return &m }
	sum := map[string]int{"timeout": 2, "b": 1}
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 1, time.UTC)
	errDetail := server.BatchErrorDetail{AffectedCount: i(2), AffectedDocumentIds: strs("obj_1", "<o>"), Component: p("engine"),
		ErrorType: server.ErrorCategoryNetwork, Message: "timed out <&>", Metadata: md(map[string]any{"retry": json.Number("1.50")}),
		RecoverySuggestion: nil, Stage: p("embed"), Timestamp: tm(t0), Traceback: nil}
	full := []server.TierTaskInfo{{
		CeleryTaskId: p("c1"), CollectionIds: strs("col_1"), CompletedAt: tm(t0.Add(time.Minute)),
		DocumentsAfterSourceFilter: i(3), DocumentsMissingInputFields: i(0), DocumentsSubmittedToEngine: i(3), DocumentsWritten: i(1),
		DurationMs: f(60000.5), ErrorSummary: &sum, Errors: &[]server.BatchErrorDetail{errDetail},
		ExtractorJobs: &[]server.ExtractorJobInfo{{CeleryTaskId: nil, CollectionIds: strs("col_1"), CompletedAt: nil, DocumentsWritten: nil,
			DurationMs: nil, Error: p("x"), Errors: &[]server.BatchErrorDetail{}, ExtractorType: "image_extractor", RayJobId: p("r"),
			StartedAt: tm(t0), Status: status(server.TaskStatusFAILED)}},
		ParentTaskId: nil, Performance: md(map[string]any{"rate": 1.25}), RayJobId: p("r1"), SourceCollectionIds: nil,
		SourceDocumentsFetched: i(3), SourceType: "bucket", StartedAt: tm(t0), Status: status(server.TaskStatusCOMPLETED),
		TaskId: p("task_1"), TierNum: 0,
	}, {
		CeleryTaskId: nil, CompletedAt: nil, DurationMs: nil, ErrorSummary: nil, Errors: &[]server.BatchErrorDetail{},
		ExtractorJobs: &[]server.ExtractorJobInfo{}, Performance: nil, SourceCollectionIds: strs("col_1"), SourceType: "collection",
		Status: status(server.TaskStatusPENDING), TierNum: 1,
	}}
	for _, b := range []server.Batch{
		{BatchId: p("btch_1"), BucketId: "bkt_a", Status: status(server.TaskStatusPENDING), Type: typ(server.BatchTypeBUCKET),
			ObjectIds: strs(), Metadata: md(map[string]any{}), TotalTiers: i(1), TierTasks: &[]server.TierTaskInfo{},
			CreatedAt: tm(time.Date(2025, 6, 1, 12, 0, 0, 1, time.UTC)), UpdatedAt: tm(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))},
		{BatchId: p("btch_2"), BucketId: "bkt_a", Status: status(server.TaskStatusFAILED), Type: typ(server.BatchTypeCOLLECTION),
			ObjectIds: strs("obj_1", "<script>"), CollectionIds: strs("col_1"), Error: p("a <b> & c"), ErrorSummary: &sum,
			TaskId: p("task_1"), CurrentTier: i(2), TotalTiers: i(3), ManifestKey: p("m/<x>.parquet"), LoadedObjectIds: strs("obj_1"),
			InternalMetadata: md(map[string]any{"job": "r1", "n": json.Number("1E+2")}), DagTiers: &[][]string{{"col_1"}, {"col_2"}},
			TierTasks: &full,
			Metadata:  md(map[string]any{"z": json.Number("12345678901234567890"), "a": []any{1.5, "x\u2028", nil}, "n": map[string]any{}}),
			CreatedAt: tm(time.Date(1999, 1, 2, 3, 4, 5, 600000000, time.UTC)), UpdatedAt: tm(time.Date(2261, 12, 31, 0, 0, 0, 999999999, time.UTC))},
		{BatchId: p("btch_3"), BucketId: "bkt_a", Status: status(server.TaskStatusDRAFT), Type: typ(server.BatchTypeBUCKET),
			ObjectIds: strs(), CollectionIds: strs(), ErrorSummary: &map[string]int{}, Metadata: md(map[string]any{}), TotalTiers: i(1),
			LoadedObjectIds: strs(), InternalMetadata: md(map[string]any{}), DagTiers: &[][]string{}, TierTasks: &[]server.TierTaskInfo{},
			CreatedAt: tm(time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))), UpdatedAt: tm(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))},
	} {
		got, err := domain.BatchJSON(asDomain(t, b))
		if err != nil {
			t.Fatal(err)
		}
		// BatchJSON writes times in UTC, as stores keep them.
		b.CreatedAt, b.UpdatedAt = tm(b.CreatedAt.UTC()), tm(b.UpdatedAt.UTC())
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(b); err != nil {
			t.Fatal(err)
		}
		if want := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
			t.Errorf("BatchJSON\n%s\nwant\n%s", got, want)
		}
		// And back: the domain's Batch decoded from it encodes the same.
		var d domain.Batch
		dec := json.NewDecoder(bytes.NewReader(got))
		dec.UseNumber()
		if err := dec.Decode(&d); err != nil {
			t.Fatal(err)
		}
		if again, err := domain.BatchJSON(d); err != nil || !bytes.Equal(again, got) {
			t.Errorf("BatchJSON of the decoded batch\n%s (%v)\nwant\n%s", again, err, got)
		}
	}
	if _, err := domain.BatchJSON(domain.Batch{Metadata: map[string]any{"x": math.NaN()}}); err == nil {
		t.Error("BatchJSON of a NaN: no error")
	}
}
