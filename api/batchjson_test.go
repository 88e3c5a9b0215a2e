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

// asDomain returns bs as the domain's Batches, field for field: a nil
// pointer to a collection is null, a pointer to a nil one an empty one (as
// the stores read server.Batch before the domain had its own).
func asDomain(bs ...server.Batch) []domain.Batch {
	out := make([]domain.Batch, len(bs))
	for i, b := range bs {
		d := domain.Batch{
			BatchID: b.BatchId, BucketID: b.BucketId, CreatedAt: b.CreatedAt, CurrentTier: b.CurrentTier,
			Error: b.Error, Metadata: b.Metadata, ObjectIDs: b.ObjectIds, Status: batches.TaskStatus(b.Status),
			TaskID: b.TaskId, TotalTiers: b.TotalTiers, Type: batches.BatchType(b.Type), UpdatedAt: b.UpdatedAt,
		}
		if b.CollectionIds != nil {
			d.CollectionIDs = *b.CollectionIds
			if d.CollectionIDs == nil {
				d.CollectionIDs = []string{}
			}
		}
		if b.ErrorSummary != nil {
			d.ErrorSummary = *b.ErrorSummary
			if d.ErrorSummary == nil {
				d.ErrorSummary = map[string]int{}
			}
		}
		out[i] = d
	}
	return out
}

// asServer returns b as the generated server's Batch, field for field.
func asServer(b domain.Batch) server.Batch {
	s := server.Batch{
		BatchId: b.BatchID, BucketId: b.BucketID, CreatedAt: b.CreatedAt, CurrentTier: b.CurrentTier,
		Error: b.Error, Metadata: b.Metadata, ObjectIds: b.ObjectIDs, Status: server.TaskStatus(b.Status),
		TaskId: b.TaskID, TotalTiers: b.TotalTiers, Type: server.BatchType(b.Type), UpdatedAt: b.UpdatedAt,
	}
	if b.CollectionIDs != nil {
		c := b.CollectionIDs
		s.CollectionIds = &c
	}
	if b.ErrorSummary != nil {
		m := b.ErrorSummary
		s.ErrorSummary = &m
	}
	return s
}

// TestDomainBatchIsTheGeneratedOne: the domain's Batch has the JSON names
// of the generated server's, in the same order, so that encoding/json
// writes both alike.
func TestDomainBatchIsTheGeneratedOne(t *testing.T) {
	names := func(typ reflect.Type) []string {
		var out []string
		for f := range typ.Fields() {
			out = append(out, f.Tag.Get("json"))
		}
		return out
	}
	got, want := names(reflect.TypeFor[domain.Batch]()), names(reflect.TypeFor[server.Batch]())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("domain.Batch has the JSON fields\n%v\nthe generated Batch\n%v", got, want)
	}
}

func TestBatchJSONIsWhatTheServerEncodes(t *testing.T) {
	errText, task, tier := "a <b> & c", "task_1", 2
	cols := []string{"col_1"}
	sum := map[string]int{"timeout": 2, "b": 1}
	for _, b := range []server.Batch{
		{BatchId: "btch_1", BucketId: "bkt_a", Status: server.TaskStatusPENDING, Type: server.BatchTypeBUCKET,
			ObjectIds: []string{}, Metadata: map[string]any{}, TotalTiers: 1,
			CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 1, time.UTC), UpdatedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)},
		{BatchId: "btch_2", BucketId: "bkt_a", Status: server.TaskStatusFAILED, Type: server.BatchTypeCOLLECTION,
			ObjectIds: []string{"obj_1", "<script>"}, CollectionIds: &cols, Error: &errText, ErrorSummary: &sum,
			TaskId: &task, CurrentTier: &tier, TotalTiers: 3,
			Metadata:  map[string]any{"z": json.Number("12345678901234567890"), "a": []any{1.5, "x\u2028", nil}, "n": map[string]any{}},
			CreatedAt: time.Date(1999, 1, 2, 3, 4, 5, 600000000, time.UTC), UpdatedAt: time.Date(2261, 12, 31, 0, 0, 0, 999999999, time.UTC)},
		{BatchId: "btch_3", BucketId: "bkt_a", Status: server.TaskStatusDRAFT, Type: server.BatchTypeBUCKET,
			ObjectIds: []string{}, CollectionIds: &[]string{}, ErrorSummary: &map[string]int{}, Metadata: map[string]any{}, TotalTiers: 1,
			CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("X", 3600)), UpdatedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)},
	} {
		got, err := domain.BatchJSON(asDomain(b)[0])
		if err != nil {
			t.Fatal(err)
		}
		// BatchJSON writes times in UTC, as stores keep them.
		b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
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
