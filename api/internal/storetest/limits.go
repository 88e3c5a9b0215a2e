package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// The lifecycle at and over the limits of a batch: every operation and
// every step of processing, on batches imported with each limit reached
// (in every status) and on requests at and over each bound, either does
// what it is asked or refuses with a *domain.Error (400, 404): never
// another error, which the API answers 500. Every task and batch stored
// stays within its bound.

// limitString is a string of n bytes of c, as many as fit n: '<' and the
// control characters take 6 bytes each in JSON, the most any byte takes.
func limitString(prefix string, i int, c byte, n int) string {
	s := fmt.Sprintf("%s%d_", prefix, i)
	return s + strings.Repeat(string(c), max(n-len(s), 0))
}

// limitBatches returns batches that each reach one limit of a batch
// (fields as long, as many, or as escaped as a batch may hold them),
// within MaxBatchBytes, in status st, created at t0.
func limitBatches(t *testing.T, st batches.TaskStatus, t0 time.Time) map[string]domain.Batch {
	t.Helper()
	base := func(id string) domain.Batch {
		tid := "task_imported0001"
		return domain.Batch{BatchID: id, Status: st, Type: batches.BatchTypeBucket, TotalTiers: 1,
			ObjectIDs: []string{"obj_1"}, TaskID: &tid, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
	}
	out := map[string]domain.Batch{}
	add := func(name string, b domain.Batch) { out[name] = b }
	n := strings.ToLower(string(st))
	{ // 100 collection_ids of 250 bytes (the break-test's)
		b := base("btch_cols_" + n)
		for i := range domain.MaxCollectionIDs {
			b.CollectionIDs = append(b.CollectionIDs, limitString("col_", i, 'x', 250))
		}
		add("collections", b)
	}
	{ // 100 collection_ids that JSON escapes
		b := base("btch_colsesc_" + n)
		for i := range domain.MaxCollectionIDs {
			b.CollectionIDs = append(b.CollectionIDs, limitString("col_", i, '<', 48))
		}
		add("escaped collections", b)
	}
	{ // 1000 object ids
		b := base("btch_objs_" + n)
		b.ObjectIDs = nil
		for i := range domain.MaxObjectIDs {
			b.ObjectIDs = append(b.ObjectIDs, limitString("o", i, 'x', 25))
		}
		add("objects", b)
	}
	{ // object ids of 256 bytes, escaped, the first ones sampled
		b := base("btch_objsesc_" + n)
		b.ObjectIDs = nil
		for i := range 8 {
			b.ObjectIDs = append(b.ObjectIDs, limitString("o", i, '\x01', domain.MaxStringBytes))
		}
		add("escaped objects", b)
	}
	{ // a task id of 256 bytes that JSON escapes; an error of 8 KiB
		b := base("btch_task_" + n)
		tid := limitString("task_", 0, '&', domain.MaxStringBytes)
		b.TaskID = &tid
		e := strings.Repeat("e", domain.MaxErrorBytes)
		b.Error = &e
		add("task id and error", b)
	}
	{ // 16 KiB of metadata
		b := base("btch_meta_" + n)
		b.Metadata = map[string]any{"k": strings.Repeat("m", domain.MaxMetadataBytes-10)}
		add("metadata", b)
	}
	{ // 32 tiers: tier tasks with long task ids and collections, dag_tiers
		b := base("btch_tiers_" + n)
		b.TotalTiers = domain.MaxTiers
		for k := range domain.MaxTiers {
			col := limitString("c", k, 'x', 60)
			b.DagTiers = append(b.DagTiers, []string{col})
			b.CollectionIDs = append(b.CollectionIDs, col)
			tid := limitString("task_t", k, '<', 40) // 200 bytes of JSON
			tt := domain.TierTask{TierNum: k, Status: batches.TaskStatusCompleted, SourceType: "collection", TaskID: &tid, CollectionIDs: []string{col}}
			if k == 0 {
				tt.SourceType = "bucket"
			}
			if k == domain.MaxTiers-1 {
				tt.Status = batches.TaskStatusFailed
			}
			if st.IsActive() && k == domain.MaxTiers-1 {
				tt.Status = batches.TaskStatusInProgress
				tt.ExtractorJobs = []domain.ExtractorJob{{ExtractorType: "x", Status: batches.TaskStatusInProgress}}
			}
			b.TierTasks = append(b.TierTasks, tt)
		}
		add("tiers", b)
	}
	{ // tiers kept by a retry, whose imported task ids are long
		b := base("btch_kept_" + n)
		b.TotalTiers = 16
		for k := range b.TotalTiers {
			tid := limitString("task_k", k, '<', 150) // 900 bytes of JSON
			tt := domain.TierTask{TierNum: k, Status: batches.TaskStatusCompleted, SourceType: "collection", TaskID: &tid}
			if k == 0 {
				tt.SourceType = "bucket"
			}
			if k == b.TotalTiers-1 {
				tt.Status = batches.TaskStatusFailed
				if st.IsActive() {
					tt.Status = batches.TaskStatusInProgress
				}
			}
			b.TierTasks = append(b.TierTasks, tt)
		}
		add("kept tiers", b)
	}
	{ // 100 error_summary keys of 256 bytes
		b := base("btch_sum_" + n)
		b.ErrorSummary = map[string]int{}
		for i := range 100 {
			b.ErrorSummary[limitString("k", i, 'k', 200)] = 1
		}
		add("error summary", b)
	}
	for name, b := range out {
		l := domain.AsListed("bkt_l", b)
		if err := domain.CheckBatch(&l); err != nil {
			t.Fatalf("%s %s: %v", name, st, err)
		}
		doc, err := domain.BatchJSON(l)
		if err != nil || len(doc) > domain.MaxBatchBytes {
			t.Fatalf("%s %s: %d bytes, %v", name, st, len(doc), err)
		}
	}
	return out
}

// refusal fails the test unless err is nil or a *domain.Error (a 400 or
// 404 of the API), and says which.
func refusal(t *testing.T, what string, err error) string {
	t.Helper()
	if err == nil {
		return "ok"
	}
	var e *domain.Error
	if !errors.As(err, &e) || (e.Kind != domain.ErrInvalid && e.Kind != domain.ErrNotFound) {
		t.Errorf("%s: %v, which the API answers 500", what, err)
		return "500"
	}
	return e.Kind.Error()
}

func testLifecycleAtTheLimits(t *testing.T, be Backend) {
	ctx := t.Context()
	db, c, s := lifecycleDB(t, be, domain.Processing{Tiers: domain.MaxProcessingTiers, TierDuration: time.Hour}, river.Config{})
	t0 := time.Now().Add(-time.Hour).UTC()
	largest := 0 // the largest task stored
	stored := func(id string) {
		t.Helper()
		doc, err := db.GetBatch(ctx, s.BucketID, id, nil)
		if errors.Is(err, domain.ErrNotFound) {
			return
		}
		if err != nil || len(doc) > domain.MaxBatchBytes {
			t.Errorf("batch %s: %d bytes, %v", id, len(doc), err)
			return
		}
		b, err := domain.DecodeBatch(doc)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		if b.TaskID != nil {
			ids = append(ids, *b.TaskID)
		}
		for _, tt := range b.TierTasks {
			if tt.TaskID != nil {
				ids = append(ids, *tt.TaskID)
			}
		}
		for _, tid := range ids {
			if doc, err := db.GetTask(ctx, s.OrganizationID, tid, nil); err == nil {
				if len(doc) > domain.MaxTaskBytes {
					t.Errorf("task %s of %s: %d bytes", tid, id, len(doc))
				}
				largest = max(largest, len(doc))
			}
		}
	}
	// steer follows a batch being processed to its end as how says:
	// processing never fails for a batch's size.
	steer := func(what, id string, how domain.Steering) {
		t.Helper()
		if _, err := db.Steer(ctx, id, how); err != nil {
			t.Errorf("%s steered: %v", what, err)
		}
		stored(id)
	}
	ops := []struct {
		name string
		do   func(b domain.Batch) error
	}{
		{"patch", func(b domain.Batch) error {
			_, err := db.PatchBatch(ctx, s, b.BatchID, map[string]any{"k": strings.Repeat("<", domain.MaxMetadataBytes/6-10)}, true)
			return err
		}},
		{"add objects", func(b domain.Batch) error {
			_, err := db.AddObjects(ctx, s, b.BatchID, []string{limitString("new", 0, '<', domain.MaxStringBytes)})
			return err
		}},
		{"submit", func(b domain.Batch) error {
			_, err := db.SubmitBatch(ctx, s, b.BatchID, domain.SubmitOptions{})
			if err == nil {
				steer("submitted "+b.BatchID, b.BatchID, domain.CompleteWithErrors)
			}
			return err
		}},
		{"retry", func(b domain.Batch) error {
			_, _, err := db.RetryBatch(ctx, s, b.BatchID, domain.RetryOptions{Mode: "all", MaxRetryCount: 10})
			if err == nil {
				steer("retried "+b.BatchID, b.BatchID, domain.CompleteWithErrors)
			}
			return err
		}},
		{"retry every tier", func(b domain.Batch) error {
			tiers := make([]int, 0, 2*domain.MaxTiers)
			for k := range b.TotalTiers {
				tiers = append(tiers, k, k)
			}
			_, _, err := db.RetryBatch(ctx, s, b.BatchID, domain.RetryOptions{Mode: "all", TierNums: tiers, MaxRetryCount: 10})
			if err == nil {
				steer("retried "+b.BatchID, b.BatchID, domain.Complete)
			}
			return err
		}},
		{"cancel", func(b domain.Batch) error {
			_, err := db.CancelBatch(ctx, s, b.BatchID)
			return err
		}},
		{"kill", func(b domain.Batch) error {
			doc, err := db.GetBatch(ctx, s.BucketID, b.BatchID, nil)
			if err != nil {
				return err
			}
			if cur, _ := domain.DecodeBatch(doc); cur.TaskID != nil {
				_, _, err = db.KillTask(ctx, s.OrganizationID, *cur.TaskID)
			}
			return err
		}},
		{"delete", func(b domain.Batch) error {
			_, err := db.RemoveBatch(ctx, s, b.BatchID)
			return err
		}},
	}
	outcomes := map[string]int{}
	for _, st := range batches.TaskStatuses() {
		for name, b := range limitBatches(t, st, t0) {
			if err := db.InsertBatches(ctx, s.BucketID, []domain.Batch{b}); err != nil {
				outcomes[name+" "+string(st)+" import: "+refusal(t, "import", err)]++
				continue
			}
			for _, op := range ops {
				what := fmt.Sprintf("%s of %s %s (%s)", op.name, st, name, b.BatchID)
				outcomes[op.name+": "+refusal(t, what, op.do(b))]++
				stored(b.BatchID)
			}
		}
	}
	c.agree("the lifecycle at the limits")

	// New batches at and over the bounds of a request.
	long := func(c byte, n, k int) []string {
		ids := make([]string, k)
		for i := range ids {
			ids[i] = limitString("o", i, c, n)
		}
		return ids
	}
	for name, ids := range map[string][]string{
		"1000 ids":                long('x', 25, domain.MaxObjectIDs),
		"1001 ids":                long('x', 10, domain.MaxObjectIDs+1),
		"ids of 256 bytes":        long('x', domain.MaxStringBytes, 100),
		"ids of 257 bytes":        long('x', domain.MaxStringBytes+1, 1),
		"escaped ids":             long('<', domain.MaxStringBytes, 15),
		"more escaped ids":        long('\x1f', domain.MaxStringBytes, 40),
		"ids that do not fit":     long('x', 200, 200),
		"repeated ids":            {"a", "a"},
		"ids with a NUL":          {"a\x00"},
		"ids that are not UTF-8":  {"a\xff"},
		"the most of 25 bytes":    long('x', 25, 999),
		"one id of escaped bytes": long('&', domain.MaxStringBytes, 1),
	} {
		doc, err := db.CreateBatch(ctx, s, ids)
		if refusal(t, "create "+name, err) != "ok" {
			continue
		}
		b, _ := domain.DecodeBatch(doc)
		for _, op := range ops {
			refusal(t, fmt.Sprintf("%s of a new batch of %s", op.name, name), op.do(b))
			stored(b.BatchID)
		}
	}
	c.agree("new batches at the limits")
	t.Logf("outcomes: %v; the largest task %d bytes", outcomes, largest)
}
