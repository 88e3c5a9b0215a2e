package sqlite

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/generated/server"
)

// TestCountsFollowEveryWrite applies a seeded random mix of inserts,
// imports, status changes and deletes (some of them failing, which must
// change nothing) across several buckets, and after each step checks
// batch_counts against COUNT(*), total_count against a model, and the doc
// of the batch written against its columns.
func TestCountsFollowEveryWrite(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "counts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var buckets []string
	for _, org := range []string{"Acme", "Globex"} {
		o, err := db.CreateOrganization(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		ns, err := db.CreateNamespace(ctx, o.ID, "production")
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"main", "archive"} {
			b, err := db.CreateBucket(ctx, ns.ID, name, "")
			if err != nil {
				t.Fatal(err)
			}
			buckets = append(buckets, b.ID)
		}
	}

	type row struct {
		bucket string
		status server.TaskStatus
	}
	model := map[string]row{}
	var live []string // ids in model, in insertion order
	rng := rand.New(rand.NewPCG(20251130, 7))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	next := 0
	newBatch := func() server.Batch {
		next++
		b := server.Batch{
			BatchId: fmt.Sprintf("btch_%06d", next), Status: allStatuses[rng.IntN(len(allStatuses))],
			Type: server.BatchTypeBUCKET, TotalTiers: 1, ObjectIds: []string{"obj_1"},
			Metadata:  map[string]any{"step": next, "note": "<&>"},
			CreatedAt: base.Add(time.Duration(rng.IntN(1000)) * time.Minute),
		}
		b.UpdatedAt = b.CreatedAt
		return b
	}
	pickLive := func() string {
		if len(live) == 0 || rng.IntN(10) == 0 {
			return "btch_unknown"
		}
		return live[rng.IntN(len(live))]
	}
	remove := func(id string) {
		delete(model, id)
		for i, l := range live {
			if l == id {
				live = append(live[:i], live[i+1:]...)
				return
			}
		}
	}

	var ops [4]int
	for step := range 160 {
		bucket := buckets[rng.IntN(len(buckets))]
		var written string
		switch op := rng.IntN(10); {
		case op < 3: // insert, failing on a repeated id one time in six
			batches := make([]server.Batch, 1+rng.IntN(4))
			for i := range batches {
				batches[i] = newBatch()
			}
			fail := len(live) > 0 && rng.IntN(6) == 0
			if fail {
				batches[len(batches)-1].BatchId = live[rng.IntN(len(live))]
			}
			err := db.InsertBatches(ctx, bucket, batches)
			if fail != errors.Is(err, ErrAlreadyExists) || !fail && err != nil {
				t.Fatalf("step %d: InsertBatches (fail %v): %v", step, fail, err)
			}
			if !fail {
				for _, b := range batches {
					model[b.BatchId] = row{bucket, b.Status}
					live = append(live, b.BatchId)
				}
				written = batches[0].BatchId
			}
			ops[0]++
		case op < 5: // import, failing on an invalid last line one time in six
			var lines []string
			var batches []server.Batch
			for range 1 + rng.IntN(3) {
				b := newBatch()
				batches = append(batches, b)
				doc, err := api.BatchJSON(&b)
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, string(doc))
			}
			fail := rng.IntN(6) == 0
			if fail {
				lines = append(lines, `{"batch_id":"btch_bad","status":"DONE"}`)
			}
			n, err := db.ImportBatches(ctx, bucket, strings.NewReader(strings.Join(lines, "\n")))
			if fail != errors.Is(err, ErrInvalid) || !fail && (err != nil || n != len(batches)) {
				t.Fatalf("step %d: ImportBatches (fail %v): %d, %v", step, fail, n, err)
			}
			if !fail {
				for _, b := range batches {
					model[b.BatchId] = row{bucket, b.Status}
					live = append(live, b.BatchId)
				}
				written = batches[0].BatchId
			}
			ops[1]++
		case op < 8: // status change, to the same status at times
			id := pickLive()
			status := allStatuses[rng.IntN(len(allStatuses))]
			err := db.UpdateBatchStatus(ctx, id, status)
			if _, ok := model[id]; !ok {
				if !errors.Is(err, api.ErrNotFound) {
					t.Fatalf("step %d: UpdateBatchStatus(%s) = %v, want ErrNotFound", step, id, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d: UpdateBatchStatus: %v", step, err)
			}
			model[id] = row{model[id].bucket, status}
			written = id
			ops[2]++
		default: // delete
			id := pickLive()
			err := db.DeleteBatch(ctx, id)
			if _, ok := model[id]; !ok {
				if !errors.Is(err, api.ErrNotFound) {
					t.Fatalf("step %d: DeleteBatch(%s) = %v, want ErrNotFound", step, id, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d: DeleteBatch: %v", step, err)
			}
			remove(id)
			ops[3]++
		}

		checkCounts(t, db.read)
		want := map[string]int64{}
		for _, r := range model {
			want[r.bucket]++
			want[r.bucket+"/"+string(r.status)]++
		}
		for _, b := range buckets {
			status := allStatuses[rng.IntN(len(allStatuses))]
			for key, s := range map[string]*server.TaskStatus{b: nil, b + "/" + string(status): &status} {
				if _, total, err := db.ListBatches(ctx, api.ListParams{BucketID: b, Status: s, Limit: 1}, nil); err != nil || total != want[key] {
					t.Fatalf("step %d: total_count of %s = %d, %v; want %d", step, key, total, err, want[key])
				}
			}
		}
		if written != "" {
			b, err := scanBatch(db.read.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, written))
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := api.BatchJSON(&b)
			if err != nil {
				t.Fatal(err)
			}
			var doc string
			if err := db.read.QueryRowContext(ctx, `SELECT doc FROM batches WHERE id = ?`, written).Scan(&doc); err != nil {
				t.Fatal(err)
			}
			if doc != string(fresh) || b.Status != model[written].status {
				t.Fatalf("step %d: %s has doc\n%s\nits columns give (status %s, want %s)\n%s", step, written, doc, b.Status, model[written].status, fresh)
			}
		}
	}
	for i, n := range ops {
		if n < 10 {
			t.Errorf("operation %d ran %d times only: the mix does not exercise it", i, n)
		}
	}
}
