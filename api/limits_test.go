package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// TestLifecycleInputsAtTheBound: what a new user's break-test answered
// 500 for, now answered as the contract says, with the exact status and
// body: a retry with a long tier_nums (422 too_long; 400 for tiers the
// batch does not have; repeats counted once), and cancel and delete of a
// batch imported in flight with 100 collection ids of 250 bytes (200:
// its task keeps a sample of them).
func TestLifecycleInputsAtTheBound(t *testing.T) { eachBackend(t, testLifecycleInputsAtTheBound) }

func testLifecycleInputsAtTheBound(t *testing.T, f *fixture) {
	ctx := t.Context()
	// A FAILED batch with 5 tiers.
	b := f.create("obj_1", "obj_2")
	f.submit(b.BatchID)
	f.steer(b.BatchID, domain.Fail)

	long := make([]int, 3700)
	body, _ := json.Marshal(map[string]any{"tier_nums": long})
	wantValidation(t, f.call(http.MethodPost, bkt+"/"+b.BatchID+"/retry", string(body), false),
		`{"ctx":{"actual_length":3700,"field_type":"List","input_omitted":"the value sent is not repeated: it is over 4096 bytes or nested over 32 deep","max_length":32},"input":null,"loc":["body","tier_nums"],"msg":"List should have at most 32 items after validation, not 3700","type":"too_long"}`)
	body, _ = json.Marshal(map[string]any{"tier_nums": long[:33]})
	wantValidation(t, f.call(http.MethodPost, bkt+"/"+b.BatchID+"/retry", string(body), false),
		`{"ctx":{"actual_length":33,"field_type":"List","max_length":32},"input":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"loc":["body","tier_nums"],"msg":"List should have at most 32 items after validation, not 33","type":"too_long"}`)
	wantError(t, f.call(http.MethodPost, bkt+"/"+b.BatchID+"/retry", `{"tier_nums":[0,0,2]}`, true), 400,
		fmt.Sprintf(`{"error":{"details":{"field":"tier_nums","identifier":%q,"index":2,"resource":"batch","total_tiers":2},"message":"tier_nums[2] is 2: batch %s has tiers 0 to 1","type":"BadRequestError"},"status":400,"success":false}`, b.BatchID, b.BatchID))
	// 32 repeats of the tier that failed: one tier, stored once.
	var failed int
	got, _ := f.getBatch(b.BatchID)
	for k, tt := range got.TierTasks {
		if tt.Status == batches.TaskStatusFailed {
			failed = k
		}
	}
	repeats := slices.Repeat([]int{failed}, 32)
	body, _ = json.Marshal(map[string]any{"tier_nums": repeats})
	r, _ := ok[map[string]any](f, http.MethodPost, bkt+"/"+b.BatchID+"/retry", string(body))
	if data, _ := r["additional_data"].(map[string]any); fmt.Sprint(data["tier_nums"]) != fmt.Sprintf("[%d]", failed) {
		t.Errorf("the retry's tier_nums: %v", data["tier_nums"])
	}

	// Imported in flight, 100 collection ids of 250 bytes, in each
	// active status: cancel and delete answer 200, the task keeping the
	// first collection ids that fit 512 bytes of JSON, and their count.
	cols := make([]string, domain.MaxCollectionIDs)
	for i := range cols {
		cols[i] = fmt.Sprintf("col_%03d_", i) + strings.Repeat("x", 242)
	}
	now := time.Now().UTC()
	var imported []domain.Batch
	for _, st := range []batches.TaskStatus{batches.TaskStatusPending, batches.TaskStatusInProgress, batches.TaskStatusProcessing} {
		for _, op := range []string{"cancel", "delete"} {
			imported = append(imported, domain.Batch{BatchID: "btch_" + op + "_" + strings.ToLower(string(st)), Status: st,
				Type: batches.BatchTypeBucket, TotalTiers: 1, ObjectIDs: []string{"obj_1"}, CollectionIDs: cols,
				CreatedAt: now, UpdatedAt: now})
		}
	}
	if err := f.db.InsertBatches(ctx, f.a.bucket.ID, imported); err != nil {
		t.Fatal(err)
	}
	for _, ib := range imported {
		if strings.HasPrefix(ib.BatchID, "btch_cancel") {
			task, ex := ok[domain.Task](f, http.MethodPost, bkt+"/"+ib.BatchID+"/cancel", "")
			data := task.AdditionalData
			sample, _ := data["collection_ids"].([]any)
			if task.Status != batches.TaskStatusCanceled || len(ex.body) > domain.MaxTaskBytes || fmt.Sprint(data["collection_count"]) != "100" ||
				len(sample) != 2 || sample[0] != cols[0] || sample[1] != cols[1] || data["batch_id"] != ib.BatchID {
				t.Errorf("cancel of %s: %s", ib.BatchID, ex.body)
			}
			if got, _ := f.getBatch(ib.BatchID); got.Status != batches.TaskStatusCanceled || got.TaskID == nil || *got.TaskID != task.TaskID {
				t.Errorf("%s after cancel: %s %v", ib.BatchID, got.Status, got.TaskID)
			}
			continue
		}
		_, ex := ok[map[string]any](f, http.MethodDelete, bkt+"/"+ib.BatchID, "")
		if want := `{"message":"Batch ` + ib.BatchID + ` canceled and deleted","success":true}` + "\n"; string(ex.body) != want {
			t.Errorf("delete of %s: %s, want %s", ib.BatchID, ex.body, want)
		}
	}
}
