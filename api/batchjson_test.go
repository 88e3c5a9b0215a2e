package api_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/generated/server"
)

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
	} {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(b); err != nil {
			t.Fatal(err)
		}
		got, err := api.BatchJSON(&b)
		if err != nil {
			t.Fatal(err)
		}
		if want := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
			t.Errorf("BatchJSON\n%s\nwant\n%s", got, want)
		}
	}
	if _, err := api.BatchJSON(&server.Batch{Metadata: map[string]any{"x": math.NaN()}}); err == nil {
		t.Error("BatchJSON of a NaN: no error")
	}
}
