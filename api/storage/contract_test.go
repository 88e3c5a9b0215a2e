package storage_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/api/storage"
	"github.com/mixpeekgo/batches/generated/server"
)

// The Store and Admin contract, on every backend.

func newBucket(t *testing.T, db storage.DB, bucketID string) (api.Namespace, api.Bucket) {
	t.Helper()
	ctx := t.Context()
	org, err := db.CreateOrganization(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := db.CreateNamespace(ctx, org.ID, "production")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateBucket(ctx, ns.ID, "main", bucketID)
	if err != nil {
		t.Fatal(err)
	}
	return ns, b
}

func batch(id string, status server.TaskStatus, created time.Time) server.Batch {
	return server.Batch{BatchId: id, Status: status, Type: server.BatchTypeBUCKET, TotalTiers: 1, CreatedAt: created, UpdatedAt: created}
}

// TestListOrder: newest first, then batch_id descending by its bytes
// (upper case before lower case, '_' between), to the nanosecond, whatever
// the database's collation; every page of every size agrees.
func TestListOrder(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, be storetest.Backend) {
		db := be.Open(t)
		_, b := newBucket(t, db, "bkt_order")
		t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		ids := []string{"btch_a", "btch_A", "btch_b", "btch_B", "btch__", "btch_-", "btch_.", "btch_0", "btch_Z", "btch_z"}
		var batches []server.Batch
		for i, id := range ids {
			batches = append(batches, batch(id, server.TaskStatusCOMPLETED, t0))                                              // a tie
			batches = append(batches, batch(fmt.Sprintf("btch_n%d", i), server.TaskStatusFAILED, t0.Add(time.Duration(i+1)))) // 1 ns apart
		}
		if err := db.InsertBatches(t.Context(), b.ID, batches); err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := len(ids) - 1; i >= 0; i-- {
			want = append(want, fmt.Sprintf("btch_n%d", i))
		}
		tied := slices.Clone(ids)
		slices.Sort(tied) // Go compares strings by bytes
		slices.Reverse(tied)
		want = append(want, tied...)
		for _, limit := range []int{1, 3, 7, 100} {
			var got []string
			for offset := int64(0); ; offset += int64(limit) {
				page, total, err := db.ListBatches(t.Context(), api.ListParams{BucketID: b.ID, Offset: offset, Limit: limit})
				if err != nil || total != int64(len(want)) {
					t.Fatalf("ListBatches: total %d, %v", total, err)
				}
				if len(page) == 0 {
					break
				}
				for _, p := range page {
					got = append(got, p.BatchId)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("limit %d: order\n got %v\nwant %v", limit, got, want)
			}
		}
	})
}

// TestImportKeepsEveryField: a line imported is listed as it was, but for
// bucket_id: nanoseconds, numbers digit for digit, nulls and empties.
func TestImportKeepsEveryField(t *testing.T) {
	t.Parallel()
	lines := []string{
		`{"batch_id":"btch_c3","bucket_id":"bkt_elsewhere","collection_ids":["col_1","<x>"],"created_at":"2025-06-03T12:00:00.123456789Z","current_tier":2,"error":null,"error_summary":{"timeout":2,"b":1},"metadata":{"big":12345678901234567890,"f":1.50,"e":1e400,"nested":{"list":[1,2.5,"x\u0000y",null,true]},"html":"<&>"},"object_ids":["obj_1","obj_2"],"status":"COMPLETED_WITH_ERRORS","task_id":"task_9","total_tiers":3,"type":"COLLECTION","updated_at":"2025-06-03T12:04:31.000000001Z"}`,
		`{"batch_id":"btch_b2","bucket_id":"bkt_order","collection_ids":[],"created_at":"2025-06-02T00:00:00+02:00","current_tier":null,"error":"timed out: \"x\"","error_summary":{},"metadata":{},"object_ids":[],"status":"FAILED","task_id":null,"total_tiers":1,"type":"BUCKET","updated_at":"2025-06-02T00:00:01.5Z"}`,
	}
	storetest.Run(t, func(t *testing.T, be storetest.Backend) {
		lines := slices.Clone(lines)
		db := be.Open(t)
		_, b := newBucket(t, db, "bkt_imp")
		// 1e400 is refused: no float64 holds it.
		if _, err := db.ImportBatches(t.Context(), b.ID, strings.NewReader(lines[0])); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("import of 1e400 = %v, want ErrInvalid", err)
		}
		lines[0] = strings.Replace(lines[0], `"e":1e400,`, `"e":1e300,`, 1)
		if n, err := db.ImportBatches(t.Context(), b.ID, strings.NewReader(strings.Join(lines, "\n"))); err != nil || n != 2 {
			t.Fatalf("ImportBatches = %d, %v", n, err)
		}
		page, total, err := db.ListBatches(t.Context(), api.ListParams{BucketID: b.ID, Limit: 10})
		if err != nil || total != 2 || len(page) != 2 {
			t.Fatalf("ListBatches: %d of %d, %v", len(page), total, err)
		}
		for i, want := range []string{lines[0], lines[1]} {
			got, err := json.Marshal(page[i])
			if err != nil {
				t.Fatal(err)
			}
			if g, w := canonical(t, got), canonical(t, []byte(want)); g != w {
				t.Errorf("batch %d:\n got %s\nwant %s", i, g, w)
			}
		}
	})
}

// canonical re-encodes a JSON object with bucket_id bkt_imp, times in UTC
// and sorted keys, numbers as written.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	m["bucket_id"] = "bkt_imp"
	for _, k := range []string{"created_at", "updated_at"} {
		tm, err := time.Parse(time.RFC3339Nano, m[k].(string))
		if err != nil {
			t.Fatal(err)
		}
		m[k] = tm.UTC().Format(time.RFC3339Nano)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestStringsThatAreNotText: a lookup by a string that is not text finds
// nothing, and a batch carrying one is refused, alike on every backend
// (PostgreSQL's text cannot hold them).
func TestStringsThatAreNotText(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, be storetest.Backend) {
		db := be.Open(t)
		ns, b := newBucket(t, db, "bkt_text")
		ctx := t.Context()
		for _, s := range []string{"production\x00", "\xff", "main\x00", "bkt_text\x00x"} {
			if _, err := db.Namespace(ctx, ns.OrganizationID, s); !errors.Is(err, api.ErrNotFound) {
				t.Errorf("Namespace(%q) = %v, want ErrNotFound", s, err)
			}
			if _, err := db.Bucket(ctx, ns.ID, s); !errors.Is(err, api.ErrNotFound) {
				t.Errorf("Bucket(%q) = %v, want ErrNotFound", s, err)
			}
			if _, err := db.CreateNamespace(ctx, ns.OrganizationID, s); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("CreateNamespace(%q) = %v, want ErrInvalid", s, err)
			}
			if _, err := db.CreateNamespace(ctx, "org_"+s, "x"); !errors.Is(err, api.ErrNotFound) {
				t.Errorf("CreateNamespace in org %q = %v, want ErrNotFound", "org_"+s, err)
			}
			bt := batch("btch_t", server.TaskStatusFAILED, time.Now())
			bt.Error = &s
			if err := db.InsertBatches(ctx, b.ID, []server.Batch{bt}); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("a batch with error %q = %v, want ErrInvalid", s, err)
			}
			bt.Error, bt.TaskId = nil, &s
			if err := db.InsertBatches(ctx, b.ID, []server.Batch{bt}); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("a batch with task_id %q = %v, want ErrInvalid", s, err)
			}
		}
		if _, err := db.ImportBatches(ctx, "bkt_\x00", strings.NewReader("")); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("import into bkt_\\x00 = %v, want ErrNotFound", err)
		}
	})
}

// TestInsertReportsTheFirstWrongBatch: whatever is wrong with them, the
// first wrong batch is the one named, and nothing is stored.
func TestInsertReportsTheFirstWrongBatch(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, be storetest.Backend) {
		db := be.Open(t)
		_, b := newBucket(t, db, "bkt_first")
		ctx := t.Context()
		now := time.Now()
		if err := db.InsertBatches(ctx, b.ID, []server.Batch{batch("btch_stored", server.TaskStatusPENDING, now)}); err != nil {
			t.Fatal(err)
		}
		good := batch("btch_new", server.TaskStatusPENDING, now)
		invalid := batch("btch_bad", "DONE", now)
		stored := batch("btch_stored", server.TaskStatusPENDING, now)
		for _, tc := range []struct {
			batches []server.Batch
			want    string
			is      error
		}{
			{[]server.Batch{good, stored, invalid}, `batch 1 ("btch_stored")`, storage.ErrAlreadyExists},
			{[]server.Batch{good, invalid, stored}, `batch 1 ("btch_bad")`, storage.ErrInvalid},
			{[]server.Batch{good, good}, `batch 1 ("btch_new")`, storage.ErrAlreadyExists},
		} {
			err := db.InsertBatches(ctx, b.ID, tc.batches)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("InsertBatches = %v, want %v naming %s", err, tc.is, tc.want)
			}
		}
		if err := db.InsertBatches(ctx, "bkt_nope", []server.Batch{good}); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("InsertBatches into an unknown bucket = %v, want ErrNotFound", err)
		}
		if _, total, err := db.ListBatches(ctx, api.ListParams{BucketID: b.ID, Limit: 10}); err != nil || total != 1 {
			t.Errorf("after the failed inserts: total %d, %v; want 1", total, err)
		}
		for _, p := range []api.ListParams{{BucketID: b.ID, Offset: -1, Limit: 1}, {BucketID: b.ID, Limit: 0}} {
			if _, _, err := db.ListBatches(ctx, p); !errors.Is(err, storage.ErrInvalid) {
				t.Errorf("ListBatches(%+v) = %v, want ErrInvalid", p, err)
			}
		}
	})
}

// TestSeedDemoOnce: concurrent SeedDemo calls on an empty database seed it
// once.
func TestSeedDemoOnce(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, be storetest.Backend) {
		db := be.Open(t)
		var wg sync.WaitGroup
		seeded := make([]bool, 4)
		errs := make([]error, len(seeded))
		for i := range seeded {
			wg.Go(func() { _, seeded[i], errs[i] = db.SeedDemo(t.Context(), "") })
		}
		wg.Wait()
		n := 0
		for i := range seeded {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if seeded[i] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d SeedDemo calls seeded, want 1", n)
		}
		_, total, err := db.ListBatches(t.Context(), api.ListParams{BucketID: storage.DemoBucketID, Limit: 1})
		if err != nil || total != storage.DemoBatchCount {
			t.Errorf("demo bucket: total %d, %v", total, err)
		}
	})
}
