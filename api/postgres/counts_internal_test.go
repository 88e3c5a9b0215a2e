package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/storage"
	"github.com/mixpeekgo/batches/generated/server"
)

var allStatuses = []server.TaskStatus{
	server.TaskStatusPENDING, server.TaskStatusINPROGRESS, server.TaskStatusPROCESSING,
	server.TaskStatusCOMPLETED, server.TaskStatusCOMPLETEDWITHERRORS, server.TaskStatusFAILED,
	server.TaskStatusCANCELED, server.TaskStatusUNKNOWN, server.TaskStatusSKIPPED,
	server.TaskStatusDRAFT, server.TaskStatusACTIVE, server.TaskStatusARCHIVED,
	server.TaskStatusSUSPENDED,
}

// countKey is one (bucket, status) pair.
type countKey struct{ bucket, status string }

// storedCounts returns batch_counts without its zero rows.
func storedCounts(t *testing.T, db *DB) map[countKey]int64 {
	t.Helper()
	return queryCounts(t, db, `SELECT bucket_id, status, n FROM batch_counts WHERE n <> 0`)
}

// countedCounts counts the rows of batches.
func countedCounts(t *testing.T, db *DB) map[countKey]int64 {
	t.Helper()
	return queryCounts(t, db, `SELECT bucket_id, status, count(*) FROM batches GROUP BY bucket_id, status`)
}

func queryCounts(t *testing.T, db *DB, sql string) map[countKey]int64 {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), sql)
	if err != nil {
		t.Fatal(err)
	}
	m := map[countKey]int64{}
	var k countKey
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&k.bucket, &k.status, &n}, func() error {
		m[k] = n
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// writer does random writes on batches of its own (ids with its prefix)
// over the shared buckets, and keeps what it expects stored.
type writer struct {
	db      *DB
	rng     *rand.Rand
	prefix  string
	buckets []string
	next    int
	stored  map[string]countKey // batch id → its bucket and status
}

func (w *writer) newBatches(n int) []server.Batch {
	out := make([]server.Batch, n)
	for i := range out {
		w.next++
		out[i] = batch(fmt.Sprintf("btch_%s%06d", w.prefix, w.next), allStatuses[w.rng.IntN(len(allStatuses))],
			time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(w.rng.IntN(1e6))*time.Second))
	}
	return out
}

func (w *writer) anyStored() (string, bool) {
	for id := range w.stored { // map order is random enough
		return id, true
	}
	return "", false
}

// step does one random write and returns an error if the store did not do
// what it should.
func (w *writer) step(t *testing.T) error {
	ctx := t.Context()
	bucket := w.buckets[w.rng.IntN(len(w.buckets))]
	switch op := w.rng.IntN(10); {
	case op < 3: // insert
		bs := w.newBatches(1 + w.rng.IntN(20))
		if err := w.db.InsertBatches(ctx, bucket, bs); err != nil {
			return fmt.Errorf("InsertBatches: %w", err)
		}
		for _, b := range bs {
			w.stored[b.BatchId] = countKey{bucket, string(b.Status)}
		}
	case op < 4: // import
		bs := w.newBatches(1 + w.rng.IntN(20))
		var buf bytes.Buffer
		for _, b := range bs {
			line, err := json.Marshal(b)
			if err != nil {
				return err
			}
			buf.Write(append(line, '\n'))
		}
		if n, err := w.db.ImportBatches(ctx, bucket, &buf); err != nil || n != len(bs) {
			return fmt.Errorf("ImportBatches = %d, %w", n, err)
		}
		for _, b := range bs {
			w.stored[b.BatchId] = countKey{bucket, string(b.Status)}
		}
	case op < 5: // an insert that fails part way: nothing changes
		id, ok := w.anyStored()
		if !ok {
			return nil
		}
		bs := w.newBatches(5)
		bs[3].BatchId = id
		if err := w.db.InsertBatches(ctx, bucket, bs); !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("InsertBatches of a stored id = %v, want ErrAlreadyExists", err)
		}
	case op < 8: // status change
		id, ok := w.anyStored()
		if !ok {
			return nil
		}
		status := allStatuses[w.rng.IntN(len(allStatuses))]
		if err := w.db.UpdateBatchStatus(ctx, id, status); err != nil {
			return fmt.Errorf("UpdateBatchStatus: %w", err)
		}
		k := w.stored[id]
		k.status = string(status)
		w.stored[id] = k
	default: // delete
		id, ok := w.anyStored()
		if !ok {
			return nil
		}
		if err := w.db.DeleteBatch(ctx, id); err != nil {
			return fmt.Errorf("DeleteBatch: %w", err)
		}
		delete(w.stored, id)
	}
	return nil
}

// TestCountsMatchCountAfterRandomWrites: after a random mix of inserts,
// imports, failed inserts, status changes and deletes by concurrent
// writers, then bulk updates, a move between buckets and a bulk delete in
// SQL, batch_counts holds exactly what COUNT(*) counts, and total_count
// says the same for every bucket and status.
func TestCountsMatchCountAfterRandomWrites(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	var buckets []string
	for _, id := range []string{"bkt_c1", "bkt_c2", "bkt_c3"} {
		buckets = append(buckets, bucket(t, db, id).ID)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	writers := make([]*writer, 4)
	errs := make([]error, len(writers))
	var wg sync.WaitGroup
	for i := range writers {
		writers[i] = &writer{db: db, rng: rand.New(rand.NewPCG(seed, uint64(i))), prefix: fmt.Sprintf("w%d", i),
			buckets: buckets, stored: map[string]countKey{}}
		wg.Go(func() {
			for range 60 {
				if err := writers[i].step(t); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[countKey]int64{}
	for _, w := range writers {
		for _, k := range w.stored {
			want[k]++
		}
	}
	check := func(stage string, want map[countKey]int64) {
		t.Helper()
		counted := countedCounts(t, db)
		if !maps.Equal(counted, want) {
			t.Fatalf("%s: COUNT(*) %v, want %v", stage, counted, want)
		}
		if stored := storedCounts(t, db); !maps.Equal(stored, counted) {
			t.Fatalf("%s: batch_counts %v, COUNT(*) %v", stage, stored, counted)
		}
		var negative int
		if err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM batch_counts WHERE n < 0`).Scan(&negative); err != nil || negative != 0 {
			t.Fatalf("%s: %d negative counts, %v", stage, negative, err)
		}
		for _, b := range buckets {
			var all int64
			for _, s := range allStatuses {
				all += counted[countKey{b, string(s)}]
				_, total, err := db.ListBatches(t.Context(), api.ListParams{BucketID: b, Status: &s, Limit: 1})
				if err != nil || total != counted[countKey{b, string(s)}] {
					t.Fatalf("%s: %s %s: total_count %d, %v; COUNT(*) %d", stage, b, s, total, err, counted[countKey{b, string(s)}])
				}
			}
			if _, total, err := db.ListBatches(t.Context(), api.ListParams{BucketID: b, Limit: 1}); err != nil || total != all {
				t.Fatalf("%s: %s: total_count %d, %v; COUNT(*) %d", stage, b, total, err, all)
			}
		}
	}
	check("after the random writes", want)

	// Writes the methods do not make, in SQL: the triggers see them all.
	for _, sql := range []string{
		`UPDATE batches SET status = 'ARCHIVED' WHERE bucket_id = 'bkt_c1' AND status IN ('COMPLETED', 'FAILED')`,
		`UPDATE batches SET bucket_id = 'bkt_c3' WHERE bucket_id = 'bkt_c2' AND status = 'PENDING'`,
		`UPDATE batches SET metadata = '{"x":1}'`,
		`DELETE FROM batches WHERE bucket_id = 'bkt_c3' AND status = 'DRAFT'`,
	} {
		if _, err := db.pool.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		check(sql, countedCounts(t, db))
	}
	if _, err := db.pool.Exec(t.Context(), `TRUNCATE batches`); err != nil {
		t.Fatal(err)
	}
	check("TRUNCATE", map[countKey]int64{})
}

func TestUpdateBatchStatusAndDeleteBatch(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	b := bucket(t, db, "bkt_u")
	created := time.Date(2025, 6, 1, 12, 0, 0, 5, time.UTC)
	bt := batch("btch_u1", server.TaskStatusPENDING, created)
	bt.Metadata = map[string]any{"big": json.Number("12345678901234567890")}
	if err := db.InsertBatches(t.Context(), b.ID, []server.Batch{bt}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := db.UpdateBatchStatus(t.Context(), "btch_u1", server.TaskStatusCOMPLETED); err != nil {
		t.Fatal(err)
	}
	page, total, err := db.ListBatches(t.Context(), api.ListParams{BucketID: b.ID, Limit: 10})
	if err != nil || total != 1 || len(page) != 1 {
		t.Fatalf("ListBatches: %v, %d, %v", page, total, err)
	}
	got := page[0]
	if got.Status != server.TaskStatusCOMPLETED || got.UpdatedAt.Before(before) || !got.CreatedAt.Equal(created) ||
		got.Metadata["big"] != json.Number("12345678901234567890") || got.ObjectIds[0] != "obj_btch_u1" {
		t.Errorf("after UpdateBatchStatus: %+v", got)
	}
	var status string
	var updated int64
	if err := db.pool.QueryRow(t.Context(), `SELECT status, updated_at FROM batches WHERE id = 'btch_u1'`).Scan(&status, &updated); err != nil ||
		status != "COMPLETED" || updated != got.UpdatedAt.UnixNano() {
		t.Errorf("columns: %s %d, %v; doc says %v", status, updated, err, got.UpdatedAt)
	}
	for _, id := range []string{"btch_nope", "btch_\x00", "\xff"} {
		if err := db.UpdateBatchStatus(t.Context(), id, server.TaskStatusFAILED); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("UpdateBatchStatus(%q) = %v, want ErrNotFound", id, err)
		}
		if err := db.DeleteBatch(t.Context(), id); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("DeleteBatch(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if err := db.UpdateBatchStatus(t.Context(), "btch_u1", "DONE"); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("UpdateBatchStatus to DONE = %v, want ErrInvalid", err)
	}
	if err := db.DeleteBatch(t.Context(), "btch_u1"); err != nil {
		t.Fatal(err)
	}
	if _, total, err := db.ListBatches(t.Context(), api.ListParams{BucketID: b.ID, Limit: 10}); err != nil || total != 0 {
		t.Errorf("after DeleteBatch: total %d, %v", total, err)
	}
	if err := db.DeleteBatch(t.Context(), "btch_u1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("second DeleteBatch = %v, want ErrNotFound", err)
	}
}
