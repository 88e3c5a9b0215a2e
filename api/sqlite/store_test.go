package sqlite_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// seedList stores 57 batches in the bucket: created one second apart, with
// groups of three sharing a created_at (ties), statuses cycling over
// COMPLETED, FAILED, PENDING. It returns their ids in the expected order.
func seedList(t *testing.T, db *sqlite.DB, bucketID string) (all, failed []string) {
	t.Helper()
	base := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	statuses := []batches.TaskStatus{batches.TaskStatusCompleted, batches.TaskStatusFailed, batches.TaskStatusPending}
	var bs []domain.Batch
	for i := range 57 {
		// Ids are not in created_at order, so that the order is not an
		// accident of insertion or id.
		id := fmt.Sprintf("btch_%012d", (i*7919)%1000)
		b := batch(id, statuses[i%3], base.Add(time.Duration(i/3)*time.Second))
		bs = append(bs, b)
	}
	// Insert in a shuffled order.
	shuffled := slices.Clone(bs)
	for i := range shuffled {
		j := (i * 31) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	if err := db.InsertBatches(t.Context(), bucketID, shuffled); err != nil {
		t.Fatalf("InsertBatches: %v", err)
	}
	slices.SortFunc(bs, func(a, b domain.Batch) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.BatchID, a.BatchID)
	})
	for _, b := range bs {
		all = append(all, b.BatchID)
		if b.Status == batches.TaskStatusFailed {
			failed = append(failed, b.BatchID)
		}
	}
	return all, failed
}

func TestListBatchesOrderPagingAndCount(t *testing.T) {
	db, _ := openTemp(t)
	ten := newTenant(t, db, "Acme", "production", "main")
	other := newTenant(t, db, "Other", "production", "main")
	want, wantFailed := seedList(t, db, ten.b.ID)
	// Batches of another bucket never show.
	if err := db.InsertBatches(t.Context(), other.b.ID, []domain.Batch{batch("btch_zzzzzzzzzzzz", batches.TaskStatusFailed, time.Now())}); err != nil {
		t.Fatal(err)
	}

	for _, limit := range []int{1, 2, 5, 10, 56, 57, 100, 1000} {
		got, total := listAll(t, db, ten.b.ID, nil, limit)
		if total != 57 {
			t.Errorf("limit %d: total_count %d, want 57", limit, total)
		}
		if !slices.Equal(ids(got), want) {
			t.Fatalf("limit %d: order\n got %v\nwant %v", limit, ids(got), want)
		}
		failed := batches.TaskStatusFailed
		got, total = listAll(t, db, ten.b.ID, &failed, limit)
		if total != int64(len(wantFailed)) || total != 19 {
			t.Errorf("limit %d: FAILED total_count %d, want %d", limit, total, len(wantFailed))
		}
		if !slices.Equal(ids(got), wantFailed) {
			t.Fatalf("limit %d: FAILED order\n got %v\nwant %v", limit, ids(got), wantFailed)
		}
	}

	// Ties on created_at are broken by batch_id descending.
	page, _, err := storetest.ListPage(t.Context(), db, domain.ListParams{BucketID: ten.b.ID, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !page[0].CreatedAt.Equal(page[2].CreatedAt) || !(page[0].BatchID > page[1].BatchID && page[1].BatchID > page[2].BatchID) {
		t.Errorf("first three (one created_at) not by id descending: %v", ids(page))
	}

	for _, tc := range []struct {
		offset   int64
		status   *batches.TaskStatus
		wantLen  int
		wantTot  int64
		wantHead string
	}{
		{offset: 50, wantLen: 7, wantTot: 57, wantHead: want[50]},
		{offset: 57, wantLen: 0, wantTot: 57},
		{offset: 1000, wantLen: 0, wantTot: 57},
		{offset: math.MaxInt64, wantLen: 0, wantTot: 57},
		{offset: math.MaxInt64 - 1, status: ptr(batches.TaskStatusFailed), wantLen: 0, wantTot: 19},
		{offset: 0, status: ptr(batches.TaskStatusSuspended), wantLen: 0, wantTot: 0},
	} {
		page, total, err := storetest.ListPage(t.Context(), db, domain.ListParams{BucketID: ten.b.ID, Status: tc.status, Offset: tc.offset, Limit: 10})
		if err != nil {
			t.Errorf("offset %d: %v", tc.offset, err)
			continue
		}
		if page == nil || len(page) != tc.wantLen || total != tc.wantTot {
			t.Errorf("offset %d status %v: %d batches (nil %v), total %d; want %d, %d", tc.offset, tc.status, len(page), page == nil, total, tc.wantLen, tc.wantTot)
		}
		if tc.wantHead != "" && len(page) > 0 && page[0].BatchID != tc.wantHead {
			t.Errorf("offset %d: first %s, want %s", tc.offset, page[0].BatchID, tc.wantHead)
		}
	}

	// An unknown bucket has no batches.
	page, total, err := storetest.ListPage(t.Context(), db, domain.ListParams{BucketID: "bkt_nope", Limit: 10})
	if err != nil || len(page) != 0 || total != 0 {
		t.Errorf("unknown bucket: %v, %d, %v", page, total, err)
	}
	// Bad parameters.
	for _, p := range []domain.ListParams{{BucketID: ten.b.ID, Limit: 0}, {BucketID: ten.b.ID, Limit: 10, Offset: -1}} {
		if _, _, err := db.ListBatches(t.Context(), p, nil); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ListBatches(%+v) = %v, want ErrInvalid", p, err)
		}
	}
}

func TestListBatchesFields(t *testing.T) {
	db, _ := openTemp(t)
	ten := newTenant(t, db, "Acme", "production", "main")
	created := time.Date(2025, 6, 1, 12, 0, 0, 999999999, time.FixedZone("CEST", 2*3600))
	bare := domain.Batch{ // nil slices and maps everywhere
		BatchID: "btch_bare", BucketID: "ignored", Status: batches.TaskStatusDraft, Type: batches.BatchTypeBucket,
		TotalTiers: 1, CreatedAt: created, UpdatedAt: created,
	}
	full := domain.Batch{
		BatchID: "btch_full", Status: batches.TaskStatusCompletedWithErrors, Type: batches.BatchTypeCollection,
		ObjectIDs: []string{"obj_a", "obj_b"}, CollectionIDs: []string{"col_1"}, Error: ptr("boom"),
		ErrorSummary: map[string]int{"timeout": 2}, TaskID: ptr("task_1"), CurrentTier: ptr(2), TotalTiers: 3,
		Metadata:  map[string]any{"source": "s3-sync", "n": json.Number("12345678901234567890"), "nested": map[string]any{"a": []any{1, "x"}}},
		CreatedAt: created.Add(-time.Nanosecond), UpdatedAt: created.Add(time.Hour + 1),
	}
	if err := db.InsertBatches(t.Context(), ten.b.ID, []domain.Batch{bare, full}); err != nil {
		t.Fatal(err)
	}
	page, _, err := storetest.ListPage(t.Context(), db, domain.ListParams{BucketID: ten.b.ID, Limit: 10})
	if err != nil || len(page) != 2 {
		t.Fatalf("ListBatches: %d, %v", len(page), err)
	}
	b := page[0]
	if b.BatchID != "btch_bare" || b.BucketID != ten.b.ID {
		t.Errorf("first: %s in %s", b.BatchID, b.BucketID)
	}
	if b.ObjectIDs == nil || len(b.ObjectIDs) != 0 || b.Metadata == nil || len(b.Metadata) != 0 {
		t.Errorf("bare: object_ids %#v, metadata %#v; want empty, non-nil", b.ObjectIDs, b.Metadata)
	}
	if b.CollectionIDs != nil || b.Error != nil || b.ErrorSummary != nil || b.TaskID != nil || b.CurrentTier != nil {
		t.Errorf("bare: nullable fields set: %+v", b)
	}
	if b.CreatedAt.Location() != time.UTC || !b.CreatedAt.Equal(created) || b.CreatedAt.Nanosecond() != 999999999 {
		t.Errorf("bare: created_at %v, want %v in UTC", b.CreatedAt, created)
	}
	f := page[1]
	if f.BatchID != "btch_full" || f.Status != full.Status || f.Type != full.Type || !slices.Equal(f.ObjectIDs, full.ObjectIDs) ||
		f.CollectionIDs == nil || !slices.Equal(f.CollectionIDs, full.CollectionIDs) || *f.Error != "boom" ||
		f.ErrorSummary["timeout"] != 2 || *f.TaskID != "task_1" || *f.CurrentTier != 2 || f.TotalTiers != 3 ||
		!f.CreatedAt.Equal(full.CreatedAt) || !f.UpdatedAt.Equal(full.UpdatedAt) {
		t.Errorf("full: got %+v", f)
	}
	if n := fmt.Sprint(f.Metadata["n"]); n != "12345678901234567890" {
		t.Errorf("metadata number %s, want 12345678901234567890", n)
	}
}

func TestAPIKeys(t *testing.T) {
	db, path := openTemp(t)
	ctx := t.Context()
	a := newTenant(t, db, "Acme", "production", "main")

	if !strings.HasPrefix(a.key, "sk_live_") || len(a.key) != len("sk_live_")+40 {
		t.Errorf("generated key %q", a.key)
	}
	for _, c := range a.key[len("sk_live_"):] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			t.Errorf("generated key %q has %q", a.key, c)
		}
	}
	if _, err := db.OrganizationForKey(ctx, domain.HashKey("sk_live_unknown")); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown key: %v, want ErrNotFound", err)
	}
	given, err := db.CreateAPIKey(ctx, a.org.ID, "sk_test_given1234567890")
	if err != nil || given != "sk_test_given1234567890" {
		t.Fatalf("CreateAPIKey(given) = %q, %v", given, err)
	}
	if org, err := db.OrganizationForKey(ctx, domain.HashKey(given)); err != nil || org != a.org {
		t.Errorf("given key: %+v, %v", org, err)
	}
	if _, err := db.CreateAPIKey(ctx, a.org.ID, given); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("duplicate key: %v, want ErrAlreadyExists", err)
	} else if strings.Contains(err.Error(), given) {
		t.Errorf("error %q reveals the key", err)
	}
	if _, err := db.CreateAPIKey(ctx, "org_nonexistent", ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("key of unknown org: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"with space in a long key", "tab\tkey-of-a-good-length", strings.Repeat("k", 129), "sk_test_short"} {
		if _, err := db.CreateAPIKey(ctx, a.org.ID, bad); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CreateAPIKey(%q) = %v, want ErrInvalid", bad, err)
		}
	}

	// Only the hash is stored: no column holds any of the key.
	raw := rawDB(t, path)
	h := domain.HashKey(given)
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE key_hash = ?`, h[:]).Scan(&n); err != nil || n != 1 {
		t.Fatalf("hash stored %d times: %v", n, err)
	}
	var dump string
	if err := raw.QueryRowContext(ctx, `SELECT group_concat(quote(key_hash) || organization_id || created_at || ifnull(revoked_at, '')) FROM api_keys`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump, given[:8]) || strings.Contains(dump, given[len(given)-8:]) {
		t.Errorf("api_keys holds part of the key: %s", dump)
	}

	// A revoked key no longer resolves.
	if _, err := raw.ExecContext(ctx, `UPDATE api_keys SET revoked_at = 1 WHERE key_hash = ?`, h[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OrganizationForKey(ctx, domain.HashKey(given)); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("revoked key: %v, want ErrNotFound", err)
	}
}

func TestCreateErrors(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	a := newTenant(t, db, "Acme", "production", "main")

	if !strings.HasPrefix(a.org.ID, "org_") || len(a.org.ID) != 16 ||
		!strings.HasPrefix(a.ns.ID, "ns_") || len(a.ns.ID) != 15 ||
		!strings.HasPrefix(a.b.ID, "bkt_") || len(a.b.ID) != 16 {
		t.Errorf("ids %s %s %s", a.org.ID, a.ns.ID, a.b.ID)
	}

	if _, err := db.CreateNamespace(ctx, "org_nonexistent", "x"); !errors.Is(err, domain.ErrNotFound) || !strings.Contains(err.Error(), "org_nonexistent") {
		t.Errorf("namespace of unknown org: %v", err)
	}
	if _, err := db.CreateNamespace(ctx, a.org.ID, "production"); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("taken namespace name: %v", err)
	}
	if _, err := db.CreateBucket(ctx, "ns_nonexistent", "x", ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("bucket of unknown namespace: %v", err)
	}
	if _, err := db.CreateBucket(ctx, a.ns.ID, "main", ""); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("taken bucket name: %v", err)
	}
	if _, err := db.CreateBucket(ctx, a.ns.ID, "other", a.b.ID); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("taken bucket id: %v", err)
	}
	if bk, err := db.CreateBucket(ctx, a.ns.ID, "given", "bkt_given"); err != nil || bk.ID != "bkt_given" {
		t.Errorf("given bucket id: %+v, %v", bk, err)
	}
	for _, bad := range []string{"", " lead", "trail ", "tab\there", strings.Repeat("é", 129)} {
		if _, err := db.CreateNamespace(ctx, a.org.ID, bad); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CreateNamespace(%q) = %v, want ErrInvalid", bad, err)
		}
		if _, err := db.CreateBucket(ctx, a.ns.ID, bad, ""); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CreateBucket(%q) = %v, want ErrInvalid", bad, err)
		}
		if _, err := db.CreateOrganization(ctx, bad); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CreateOrganization(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := db.CreateNamespace(ctx, a.org.ID, strings.Repeat("é", 128)); err != nil {
		t.Errorf("128-character name: %v", err)
	}
	for _, bad := range []string{"bkt/x", "bkt x", "bkt?x"} {
		if _, err := db.CreateBucket(ctx, a.ns.ID, "ok-"+domain.NewID(""), bad); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CreateBucket(id %q) = %v, want ErrInvalid", bad, err)
		}
	}
	// The same names in another organization are fine.
	newTenant(t, db, "Acme", "production", "main")
}

// TestConcurrentReadsAndWrites lists while batches are being inserted: every
// page must agree with its count (one snapshot).
func TestConcurrentReadsAndWrites(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	a := newTenant(t, db, "Acme", "production", "main")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range 40 {
			var bs []domain.Batch
			for j := range 5 {
				bs = append(bs, batch(fmt.Sprintf("btch_%03d_%d", i, j), batches.TaskStatusCompleted, base.Add(time.Duration(i*5+j)*time.Second)))
			}
			if err := db.InsertBatches(ctx, a.b.ID, bs); err != nil {
				t.Errorf("InsertBatches: %v", err)
				return
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				page, total, err := storetest.ListPage(ctx, db, domain.ListParams{BucketID: a.b.ID, Limit: 1000})
				if err != nil {
					t.Errorf("ListBatches: %v", err)
					return
				}
				if int64(len(page)) != total || total%5 != 0 {
					t.Errorf("page of %d, total %d", len(page), total)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, total, _ := storetest.ListPage(ctx, db, domain.ListParams{BucketID: a.b.ID, Limit: 1}); total != 200 {
		t.Errorf("total %d, want 200", total)
	}
}
