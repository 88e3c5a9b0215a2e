package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// testBucketVersionFollowsEveryWrite: a bucket's version changes with every
// kind of write to its batches, the store's and raw SQL's, and with none
// to another bucket's; it never comes back to a value it had; an unknown
// bucket has none.
func testBucketVersionFollowsEveryWrite(t *testing.T, be Backend) {
	db, raw := be.OpenSQL(t)
	ctx := t.Context()
	vs, ok := db.(domain.BucketVersioner)
	if !ok {
		t.Fatalf("%T is no domain.BucketVersioner", db)
	}
	ns, b := newBucket(t, db, "bkt_v")
	other, err := db.CreateBucket(ctx, ns.ID, "other", "bkt_other")
	if err != nil {
		t.Fatal(err)
	}
	version := func(bucketID string) int64 {
		t.Helper()
		v, err := vs.BucketVersion(ctx, bucketID)
		if err != nil {
			t.Fatalf("BucketVersion(%s): %v", bucketID, err)
		}
		return v
	}
	if _, err := vs.BucketVersion(ctx, "bkt_missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("BucketVersion of an unknown bucket: %v, want ErrNotFound", err)
	}
	seen := map[int64]string{}
	last, otherV := version(b.ID), version(other.ID)
	seen[last] = "created"
	write := func(what string, f func() error) {
		t.Helper()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		v := version(b.ID)
		if earlier, ok := seen[v]; ok {
			t.Errorf("after %s: version %d, as after %s", what, v, earlier)
		}
		seen[v], last = what, v
		if got := version(other.ID); got != otherV {
			t.Errorf("after %s: the other bucket's version went from %d to %d", what, otherV, got)
		}
	}
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	write("InsertBatches", func() error {
		return db.InsertBatches(ctx, b.ID, []domain.Batch{
			batch("btch_v1", batches.TaskStatusPending, created),
			batch("btch_v2", batches.TaskStatusPending, created.Add(time.Second)),
		})
	})
	write("UpdateBatchStatus", func() error { return db.UpdateBatchStatus(ctx, "btch_v1", batches.TaskStatusCompleted) })
	s := domain.Scope{OrganizationID: ns.OrganizationID, NamespaceID: ns.ID, BucketID: b.ID}
	var id string
	write("CreateBatch", func() error {
		doc, err := db.CreateBatch(ctx, s, []string{"obj_1"})
		if err != nil {
			return err
		}
		var got struct {
			BatchID string `json:"batch_id"`
		}
		err = json.Unmarshal(doc, &got)
		id = got.BatchID
		return err
	})
	write("PatchBatch", func() error {
		_, err := db.PatchBatch(ctx, s, id, map[string]any{"k": "v"}, true)
		return err
	})
	write("raw UPDATE of doc alone", func() error {
		_, err := raw.ExecContext(ctx, `UPDATE batches SET doc = doc WHERE id = 'btch_v2'`)
		return err
	})
	write("raw DELETE", func() error {
		_, err := raw.ExecContext(ctx, `DELETE FROM batches WHERE id = 'btch_v2'`)
		return err
	})
	write("DeleteBatch", func() error { return db.DeleteBatch(ctx, "btch_v1") })
	write("RemoveBatch", func() error {
		_, err := db.RemoveBatch(ctx, s, id)
		return err
	})
	// A failed write changes nothing.
	if err := db.UpdateBatchStatus(ctx, "btch_missing", batches.TaskStatusFailed); !errors.Is(err, domain.ErrNotFound) {
		t.Fatal(err)
	}
	if got := version(b.ID); got != last {
		t.Errorf("a failed write changed the version from %d to %d", last, got)
	}
}
