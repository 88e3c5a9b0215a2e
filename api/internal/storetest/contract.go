package storetest

import (
	"bytes"
	"context"
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
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
)

// The Store and Admin contract, on every backend.

func newBucket(t *testing.T, db domain.DB, bucketID string) (domain.Namespace, domain.Bucket) {
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

func batch(id string, status batches.TaskStatus, created time.Time) domain.Batch {
	return domain.Batch{BatchID: id, Status: status, Type: batches.BatchTypeBucket, TotalTiers: 1, CreatedAt: created, UpdatedAt: created}
}

// testListOrder: newest first, then batch_id descending by its bytes
// (upper case before lower case, '_' between), to the nanosecond, whatever
// the database's collation; every page of every size agrees.
func testListOrder(t *testing.T, be Backend) {
	db := be.Open(t)
	_, b := newBucket(t, db, "bkt_order")
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ids := []string{"btch_a", "btch_A", "btch_b", "btch_B", "btch__", "btch_-", "btch_.", "btch_0", "btch_Z", "btch_z"}
	var bs []domain.Batch
	for i, id := range ids {
		bs = append(bs, batch(id, batches.TaskStatusCompleted, t0))                                              // a tie
		bs = append(bs, batch(fmt.Sprintf("btch_n%d", i), batches.TaskStatusFailed, t0.Add(time.Duration(i+1)))) // 1 ns apart
	}
	if err := db.InsertBatches(t.Context(), b.ID, bs); err != nil {
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
			page, total, err := ListPage(t.Context(), db, domain.ListParams{BucketID: b.ID, Offset: offset, Limit: limit})
			if err != nil || total != int64(len(want)) {
				t.Fatalf("ListBatches: total %d, %v", total, err)
			}
			if len(page) == 0 {
				break
			}
			for _, p := range page {
				got = append(got, p.BatchID)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: order\n got %v\nwant %v", limit, got, want)
		}
	}
}

// testImportKeepsEveryField: a line imported is listed as it was, but for
// bucket_id: nanoseconds, numbers digit for digit, nulls and empties.
func testImportKeepsEveryField(t *testing.T, be Backend) {
	lines := []string{
		`{"batch_id":"btch_c3","bucket_id":"bkt_elsewhere","collection_ids":["col_1","<x>"],"created_at":"2025-06-03T12:00:00.123456789Z","current_tier":2,"error":null,"error_summary":{"timeout":2,"b":1},"metadata":{"big":12345678901234567890,"f":1.50,"e":1e400,"nested":{"list":[1,2.5,"x\u0000y",null,true]},"html":"<&>"},"object_ids":["obj_1","obj_2"],"status":"COMPLETED_WITH_ERRORS","task_id":"task_9","total_tiers":3,"type":"COLLECTION","updated_at":"2025-06-03T12:04:31.000000001Z","manifest_key":"manifests/<x>/tier_0.parquet","loaded_object_ids":["obj_1"],"internal_metadata":{"job":"r1","n":1.50,"big":12345678901234567890},"dag_tiers":[["col_1"],["<x>"]],"tier_tasks":[{"tier_num":0,"task_id":"task_9","status":"COMPLETED","collection_ids":["col_1"],"extractor_jobs":[{"extractor_type":"image_extractor","collection_ids":["col_1"],"ray_job_id":"r1","celery_task_id":"c1","status":"COMPLETED","started_at":"2025-06-03T12:00:01.5Z","completed_at":"2025-06-03T12:01:01Z","duration_ms":59500.25,"documents_written":2,"errors":[],"error":null}],"source_type":"bucket","source_collection_ids":null,"parent_task_id":null,"started_at":"2025-06-03T12:00:01.5Z","completed_at":"2025-06-03T12:01:01Z","duration_ms":59500.25,"errors":[{"error_type":"network","message":"timed out <&>","component":"x","stage":null,"traceback":"line 1","timestamp":"2025-06-03T12:01:00Z","affected_document_ids":["obj_2"],"affected_count":1,"recovery_suggestion":null,"metadata":{"retry":1.0}}],"error_summary":{"timeout":1},"performance":{"rate":0.1},"ray_job_id":"r1","celery_task_id":"c1","source_documents_fetched":2,"documents_after_source_filter":2,"documents_missing_input_fields":0,"documents_submitted_to_engine":2,"documents_written":1},{"tier_num":1,"source_type":"collection","status":"PENDING","collection_ids":["<x>"],"source_collection_ids":["col_1"],"task_id":null,"extractor_jobs":[],"parent_task_id":null,"started_at":null,"completed_at":null,"duration_ms":null,"errors":[],"error_summary":null,"performance":null,"ray_job_id":null,"celery_task_id":null,"source_documents_fetched":null,"documents_after_source_filter":null,"documents_missing_input_fields":null,"documents_submitted_to_engine":null,"documents_written":null}]}`,
		`{"batch_id":"btch_b2","bucket_id":"bkt_order","collection_ids":[],"created_at":"2025-06-02T00:00:00+02:00","current_tier":null,"error":"timed out: \"x\"","error_summary":{},"metadata":{},"object_ids":[],"status":"FAILED","task_id":null,"total_tiers":1,"type":"BUCKET","updated_at":"2025-06-02T00:00:01.5Z"}`,
	}
	db := be.Open(t)
	_, b := newBucket(t, db, "bkt_imp")
	// 1e400 is refused: no float64 holds it.
	if _, err := db.ImportBatches(t.Context(), b.ID, strings.NewReader(lines[0]), api.BatchSchema()); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("import of 1e400 = %v, want ErrInvalid", err)
	}
	lines[0] = strings.Replace(lines[0], `"e":1e400,`, `"e":1e300,`, 1)
	if n, err := db.ImportBatches(t.Context(), b.ID, strings.NewReader(strings.Join(lines, "\n")), api.BatchSchema()); err != nil || n != 2 {
		t.Fatalf("ImportBatches = %d, %v", n, err)
	}
	page, total, err := ListPage(t.Context(), db, domain.ListParams{BucketID: b.ID, Limit: 10})
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
	// Mixpeek's fields, which the contract gained in 2.0.0, are listed
	// whether or not the line has them.
	for _, k := range []string{"manifest_key", "loaded_object_ids", "internal_metadata", "dag_tiers"} {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	if _, ok := m["tier_tasks"]; !ok {
		m["tier_tasks"] = []any{}
	}
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

// testStringsThatAreNotText: a lookup by a string that is not text finds
// nothing, and a batch carrying one is refused, alike on every backend
// (PostgreSQL's text cannot hold them).
func testStringsThatAreNotText(t *testing.T, be Backend) {
	db := be.Open(t)
	ns, b := newBucket(t, db, "bkt_text")
	ctx := t.Context()
	for _, s := range []string{"production\x00", "\xff", "main\x00", "bkt_text\x00x"} {
		if _, _, err := db.ResolveBucket(ctx, ns.OrganizationID, s, "main"); err != domain.ErrNamespaceNotFound {
			t.Errorf("ResolveBucket(namespace %q) = %v, want ErrNamespaceNotFound", s, err)
		}
		if got, _, err := db.ResolveBucket(ctx, ns.OrganizationID, "production", s); err != domain.ErrBucketNotFound || got != ns {
			t.Errorf("ResolveBucket(bucket %q) = %+v, %v; want %+v, ErrBucketNotFound", s, got, err, ns)
		}
		if _, _, err := db.ResolveBucket(ctx, s, "production", "main"); err != domain.ErrNamespaceNotFound {
			t.Errorf("ResolveBucket(organization %q) = %v, want ErrNamespaceNotFound", s, err)
		}
		if err := db.UpdateBatchStatus(ctx, s, batches.TaskStatusFailed); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("UpdateBatchStatus(%q) = %v, want ErrNotFound", s, err)
		}
		if err := db.DeleteBatch(ctx, s); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("DeleteBatch(%q) = %v, want ErrNotFound", s, err)
		}
		if _, total, err := db.ListBatches(ctx, domain.ListParams{BucketID: s, Limit: 1}, nil); err != nil || total != 0 {
			t.Errorf("ListBatches(bucket %q) = %d, %v; want 0, nil", s, total, err)
		}
		if _, err := db.CreateNamespace(ctx, ns.OrganizationID, s); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CreateNamespace(%q) = %v, want ErrInvalid", s, err)
		}
		if _, err := db.CreateNamespace(ctx, "org_"+s, "x"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("CreateNamespace in org %q = %v, want ErrNotFound", "org_"+s, err)
		}
		bt := batch("btch_t", batches.TaskStatusFailed, time.Now())
		bt.Error = &s
		if err := db.InsertBatches(ctx, b.ID, []domain.Batch{bt}); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("a batch with error %q = %v, want ErrInvalid", s, err)
		}
		bt.Error, bt.TaskID = nil, &s
		if err := db.InsertBatches(ctx, b.ID, []domain.Batch{bt}); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("a batch with task_id %q = %v, want ErrInvalid", s, err)
		}
	}
	if _, err := db.ImportBatches(ctx, "bkt_\x00", strings.NewReader(""), api.BatchSchema()); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("import into bkt_\\x00 = %v, want ErrNotFound", err)
	}
}

// testInsertReportsTheFirstWrongBatch: whatever is wrong with them, the
// first wrong batch is the one named, and nothing is stored.
func testInsertReportsTheFirstWrongBatch(t *testing.T, be Backend) {
	db := be.Open(t)
	_, b := newBucket(t, db, "bkt_first")
	ctx := t.Context()
	now := time.Now()
	if err := db.InsertBatches(ctx, b.ID, []domain.Batch{batch("btch_stored", batches.TaskStatusPending, now)}); err != nil {
		t.Fatal(err)
	}
	good := batch("btch_new", batches.TaskStatusPending, now)
	invalid := batch("btch_bad", "DONE", now)
	stored := batch("btch_stored", batches.TaskStatusPending, now)
	for _, tc := range []struct {
		batches []domain.Batch
		want    string
		is      error
	}{
		{[]domain.Batch{good, stored, invalid}, `batch 1 ("btch_stored")`, domain.ErrAlreadyExists},
		{[]domain.Batch{good, invalid, stored}, `batch 1 ("btch_bad")`, domain.ErrInvalid},
		{[]domain.Batch{good, good}, `batch 1 ("btch_new")`, domain.ErrAlreadyExists},
	} {
		err := db.InsertBatches(ctx, b.ID, tc.batches)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("InsertBatches = %v, want %v naming %s", err, tc.is, tc.want)
		}
	}
	if err := db.InsertBatches(ctx, "bkt_nope", []domain.Batch{good}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("InsertBatches into an unknown bucket = %v, want ErrNotFound", err)
	}
	if _, total, err := ListPage(ctx, db, domain.ListParams{BucketID: b.ID, Limit: 10}); err != nil || total != 1 {
		t.Errorf("after the failed inserts: total %d, %v; want 1", total, err)
	}
	for _, p := range []domain.ListParams{{BucketID: b.ID, Offset: -1, Limit: 1}, {BucketID: b.ID, Limit: 0}} {
		if _, _, err := ListPage(ctx, db, p); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ListBatches(%+v) = %v, want ErrInvalid", p, err)
		}
	}
}

// testSeedDemoOnce: concurrent SeedDemo calls on an empty database seed it
// once.
func testSeedDemoOnce(t *testing.T, be Backend) {
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
	_, total, err := ListPage(t.Context(), db, domain.ListParams{BucketID: domain.DemoBucketID, Limit: 1})
	if err != nil || total != domain.DemoBatchCount {
		t.Errorf("demo bucket: total %d, %v", total, err)
	}
}

// testResolveBucket: a namespace and a bucket are found by id or by name,
// the id first, within the organization and the namespace only; the two
// ErrNotFound errors say which was not found.
func testResolveBucket(t *testing.T, be Backend) {
	db := be.Open(t)
	ctx := t.Context()
	type tenant struct {
		org domain.Organization
		ns  domain.Namespace
		b   domain.Bucket
		key string
	}
	newTenant := func(name string) tenant {
		t.Helper()
		org, err := db.CreateOrganization(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		ns, err := db.CreateNamespace(ctx, org.ID, "production")
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.CreateBucket(ctx, ns.ID, "main", "")
		if err != nil {
			t.Fatal(err)
		}
		key, err := db.CreateAPIKey(ctx, org.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		return tenant{org, ns, b, key}
	}
	a, b := newTenant("Acme"), newTenant("Globex")

	for _, ten := range []tenant{a, b} {
		for _, nsIdent := range []string{"production", ten.ns.ID} {
			for _, bucketIdent := range []string{"main", ten.b.ID} {
				ns, bk, err := db.ResolveBucket(ctx, ten.org.ID, nsIdent, bucketIdent)
				if err != nil || ns != ten.ns || bk != ten.b {
					t.Errorf("ResolveBucket(%s, %q, %q) = %+v, %+v, %v; want %+v, %+v", ten.org.ID, nsIdent, bucketIdent, ns, bk, err, ten.ns, ten.b)
				}
			}
		}
		// Keys resolve to their own organization.
		if org, err := db.OrganizationForKey(ctx, domain.HashKey(ten.key)); err != nil || org != ten.org {
			t.Errorf("OrganizationForKey = %+v, %v; want %+v", org, err, ten.org)
		}
	}
	// Another organization's namespace id, another namespace's bucket id.
	if _, _, err := db.ResolveBucket(ctx, a.org.ID, b.ns.ID, "main"); err != domain.ErrNamespaceNotFound {
		t.Errorf("namespace of another org's id = %v, want ErrNamespaceNotFound", err)
	}
	if ns, _, err := db.ResolveBucket(ctx, a.org.ID, "production", b.b.ID); err != domain.ErrBucketNotFound || ns != a.ns {
		t.Errorf("bucket of another namespace's id = %+v, %v; want %+v, ErrBucketNotFound", ns, err, a.ns)
	}
	for _, ident := range []string{"staging", "", "PRODUCTION", "MAIN"} {
		if _, _, err := db.ResolveBucket(ctx, a.org.ID, ident, "main"); err != domain.ErrNamespaceNotFound {
			t.Errorf("ResolveBucket(namespace %q) = %v, want ErrNamespaceNotFound", ident, err)
		}
		if _, _, err := db.ResolveBucket(ctx, a.org.ID, "production", ident); err != domain.ErrBucketNotFound {
			t.Errorf("ResolveBucket(bucket %q) = %v, want ErrBucketNotFound", ident, err)
		}
	}
	if _, _, err := db.ResolveBucket(ctx, "org_nonexistent", "production", "main"); err != domain.ErrNamespaceNotFound || !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("namespace of unknown org = %v, want ErrNamespaceNotFound", err)
	}
	if _, err := db.OrganizationForKey(ctx, domain.HashKey("sk_live_unknown")); err != domain.ErrNotFound {
		t.Errorf("OrganizationForKey of an unknown key = %v, want ErrNotFound", err)
	}

	// The id wins over a name: a namespace and a bucket named like
	// another one's id.
	b2, err := db.CreateBucket(ctx, a.ns.ID, a.b.ID+"-named", "")
	if err != nil {
		t.Fatal(err)
	}
	tricky, err := db.CreateBucket(ctx, a.ns.ID, b2.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := db.ResolveBucket(ctx, a.org.ID, a.ns.ID, b2.ID); err != nil || got != b2 {
		t.Errorf("bucket by id shadowed by name: %+v, %v (the named one is %s)", got, err, tricky.ID)
	}
	ns2, err := db.CreateNamespace(ctx, a.org.ID, "second")
	if err != nil {
		t.Fatal(err)
	}
	trickyNS, err := db.CreateNamespace(ctx, a.org.ID, ns2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateBucket(ctx, trickyNS.ID, "main", ""); err != nil {
		t.Fatal(err)
	}
	if got, _, err := db.ResolveBucket(ctx, a.org.ID, ns2.ID, "main"); err != domain.ErrBucketNotFound || got != ns2 {
		t.Errorf("namespace by id shadowed by name: %+v, %v (the named one is %s)", got, err, trickyNS.ID)
	}
	if got, _, err := db.ResolveBucket(ctx, a.org.ID, trickyNS.ID, "main"); err != nil || got != trickyNS {
		t.Errorf("namespace by its own id: %+v, %v", got, err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := db.ResolveBucket(canceled, a.org.ID, "production", "main"); !errors.Is(err, context.Canceled) {
		t.Errorf("ResolveBucket with a canceled context = %v", err)
	}
}

// testUpdateBatchStatusAndDeleteBatch: a status change rewrites the status
// and updated_at (now, never before created_at) and nothing else; a delete
// frees the id; unknown ids and bad statuses change nothing.
func testUpdateBatchStatusAndDeleteBatch(t *testing.T, be Backend) {
	db := be.Open(t)
	ctx := t.Context()
	_, b := newBucket(t, db, "bkt_u")
	created := time.Date(2025, 6, 1, 12, 0, 0, 5, time.FixedZone("CEST", 2*3600))
	full := batch("btch_u1", batches.TaskStatusPending, created)
	full.UpdatedAt = created.Add(time.Minute)
	full.ObjectIDs = []string{"obj_1"}
	full.Metadata = map[string]any{"big": json.Number("12345678901234567890"), "html": "<&>"}
	full.Error, full.ErrorSummary = ptr("boom"), map[string]int{"timeout": 2}
	future := batch("btch_future", batches.TaskStatusPending, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := db.InsertBatches(ctx, b.ID, []domain.Batch{full, future}); err != nil {
		t.Fatal(err)
	}
	before := list(t, db, b.ID)

	for _, tc := range []struct {
		id     string
		status batches.TaskStatus
		want   error
	}{
		{"btch_missing", batches.TaskStatusCompleted, domain.ErrNotFound},
		{"", batches.TaskStatusCompleted, domain.ErrNotFound},
		{"btch_u1", "DONE", domain.ErrInvalid},
		{"btch_u1", "", domain.ErrInvalid},
		{"btch_u1", "completed", domain.ErrInvalid},
	} {
		if err := db.UpdateBatchStatus(ctx, tc.id, tc.status); !errors.Is(err, tc.want) {
			t.Errorf("UpdateBatchStatus(%q, %q) = %v, want %v", tc.id, tc.status, err, tc.want)
		}
	}
	for _, id := range []string{"btch_missing", ""} {
		if err := db.DeleteBatch(ctx, id); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("DeleteBatch(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if got := list(t, db, b.ID); got != before {
		t.Fatalf("failed writes changed the bucket:\n%s\nwas\n%s", got, before)
	}

	now := time.Now()
	for _, id := range []string{"btch_u1", "btch_future"} {
		if err := db.UpdateBatchStatus(ctx, id, batches.TaskStatusCompleted); err != nil {
			t.Fatal(err)
		}
	}
	page, total, err := ListPage(ctx, db, domain.ListParams{BucketID: b.ID, Limit: 10})
	if err != nil || total != 2 || len(page) != 2 {
		t.Fatalf("ListBatches: %+v, %d, %v", page, total, err)
	}
	if got := page[0]; got.Status != batches.TaskStatusCompleted || !got.UpdatedAt.Equal(future.CreatedAt) {
		t.Errorf("a batch created in the future: status %s, updated_at %s; want COMPLETED, its created_at", got.Status, got.UpdatedAt)
	}
	got := page[1]
	if got.Status != batches.TaskStatusCompleted || got.UpdatedAt.Before(now) || got.UpdatedAt.After(time.Now()) || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("status %s, updated_at %v; want COMPLETED, between %v and now, in UTC", got.Status, got.UpdatedAt, now)
	}
	// Everything else is as it was, to the byte.
	want := domain.AsListed(b.ID, full)
	want.Status, want.UpdatedAt = got.Status, got.UpdatedAt
	wantDoc, err := domain.BatchJSON(want)
	if err != nil {
		t.Fatal(err)
	}
	if gotDoc, err := domain.BatchJSON(got); err != nil || !bytes.Equal(gotDoc, wantDoc) {
		t.Errorf("after UpdateBatchStatus:\n%s (%v)\nwant\n%s", gotDoc, err, wantDoc)
	}

	if err := db.DeleteBatch(ctx, "btch_u1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteBatch(ctx, "btch_u1"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("second DeleteBatch = %v, want ErrNotFound", err)
	}
	if err := db.UpdateBatchStatus(ctx, "btch_u1", batches.TaskStatusFailed); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("UpdateBatchStatus of a deleted batch = %v, want ErrNotFound", err)
	}
	if _, total, err := ListPage(ctx, db, domain.ListParams{BucketID: b.ID, Limit: 10}); err != nil || total != 1 {
		t.Errorf("after DeleteBatch: total %d, %v", total, err)
	}
	// The id is free again.
	if err := db.InsertBatches(ctx, b.ID, []domain.Batch{full}); err != nil {
		t.Errorf("InsertBatches of a deleted id: %v", err)
	}
}

// list returns the bucket's first page as ListBatches writes it.
func list(t *testing.T, db domain.DB, bucketID string) string {
	t.Helper()
	out, total, err := db.ListBatches(t.Context(), domain.ListParams{BucketID: bucketID, Limit: batches.MaxLimit}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s (total_count %d)", out, total)
}

func ptr[T any](v T) *T { return &v }

// testInsertBatchesErrors: every kind of batch the schema or the databases
// cannot hold is refused with ErrInvalid (and ErrInvalidUTF8 for bytes that
// are not UTF-8, wherever they are), a taken id with ErrAlreadyExists, an
// unknown bucket with ErrNotFound; and nothing is stored.
func testInsertBatchesErrors(t *testing.T, be Backend) {
	db := be.Open(t)
	ctx := t.Context()
	_, a := newBucket(t, db, "bkt_a")
	now := time.Now()
	good := batch("btch_good", batches.TaskStatusCompleted, now)
	if err := db.InsertBatches(ctx, "bkt_nonexistent", []domain.Batch{good}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown bucket: %v", err)
	}
	invalid := func(name string, change func(b *domain.Batch)) domain.Batch {
		b := batch("btch_"+name, batches.TaskStatusFailed, now)
		change(&b)
		return b
	}
	for _, tc := range []struct {
		bad  domain.Batch
		want []error
	}{
		{invalid("status", func(b *domain.Batch) { b.Status = "DONE" }), []error{domain.ErrInvalid}},
		{invalid("type", func(b *domain.Batch) { b.Type = "FOLDER" }), []error{domain.ErrInvalid}},
		{invalid("tiers", func(b *domain.Batch) { b.TotalTiers = 0 }), []error{domain.ErrInvalid}},
		{invalid("time", func(b *domain.Batch) { b.CreatedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }), []error{domain.ErrInvalid}},
		{invalid("", func(b *domain.Batch) { b.BatchID = "" }), []error{domain.ErrInvalid}},
		{good, []error{domain.ErrAlreadyExists}},
		{invalid("error", func(b *domain.Batch) { b.Error = ptr("bad \xff byte") }), []error{domain.ErrInvalid, domain.ErrInvalidUTF8}},
		{invalid("task", func(b *domain.Batch) { b.TaskID = ptr("task_\xff") }), []error{domain.ErrInvalid, domain.ErrInvalidUTF8}},
		{invalid("errornul", func(b *domain.Batch) { b.Error = ptr("nul \x00 byte") }), []error{domain.ErrInvalid}},
		{invalid("metavalue", func(b *domain.Batch) { b.Metadata = map[string]any{"k": []any{"ok", "\xfe"}} }), []error{domain.ErrInvalid, domain.ErrInvalidUTF8}},
		{invalid("metakey", func(b *domain.Batch) { b.Metadata = map[string]any{"\xc3(": 1} }), []error{domain.ErrInvalid, domain.ErrInvalidUTF8}},
		{invalid("object", func(b *domain.Batch) { b.ObjectIDs = []string{"obj_\xe2\x82"} }), []error{domain.ErrInvalid, domain.ErrInvalidUTF8}},
		{invalid("collection", func(b *domain.Batch) { b.CollectionIDs = []string{"col_\xff"} }), []error{domain.ErrInvalid, domain.ErrInvalidUTF8}},
		{invalid("summary", func(b *domain.Batch) { b.ErrorSummary = map[string]int{"time\xffout": 1} }), []error{domain.ErrInvalid, domain.ErrInvalidUTF8}},
		{invalid("nan", func(b *domain.Batch) { b.Metadata = map[string]any{"n": math.NaN()} }), []error{domain.ErrInvalid}},
		// The rules of contract 2.0.0: current_tier from 0, collection ids
		// stored as text, tier tasks as TierTaskInfo has them.
		{invalid("tier-1", func(b *domain.Batch) { b.CurrentTier = ptr(-1) }), []error{domain.ErrInvalid}},
		{invalid("colnul", func(b *domain.Batch) { b.CollectionIDs = []string{"col_\x00"} }), []error{domain.ErrInvalid}},
		{invalid("tiernum", func(b *domain.Batch) {
			b.TierTasks = []domain.TierTask{{TierNum: -1, SourceType: "bucket", Status: batches.TaskStatusPending}}
		}), []error{domain.ErrInvalid}},
		{invalid("tierstatus", func(b *domain.Batch) {
			b.TierTasks = []domain.TierTask{{SourceType: "bucket", Status: "DONE"}}
		}), []error{domain.ErrInvalid}},
		{invalid("jobstatus", func(b *domain.Batch) {
			b.TierTasks = []domain.TierTask{{SourceType: "bucket", Status: batches.TaskStatusPending,
				ExtractorJobs: []domain.ExtractorJob{{ExtractorType: "x"}}}}
		}), []error{domain.ErrInvalid}},
		{invalid("errtype", func(b *domain.Batch) {
			b.TierTasks = []domain.TierTask{{SourceType: "bucket", Status: batches.TaskStatusFailed,
				Errors: []domain.BatchError{{ErrorType: "timeout", Message: "m", AffectedCount: 1}}}}
		}), []error{domain.ErrInvalid}},
		{invalid("errcount", func(b *domain.Batch) {
			b.TierTasks = []domain.TierTask{{SourceType: "bucket", Status: batches.TaskStatusFailed,
				Errors: []domain.BatchError{{ErrorType: batches.ErrorCategoryRuntime, Message: "m"}}}}
		}), []error{domain.ErrInvalid}},
		{invalid("tierutf8", func(b *domain.Batch) {
			b.TierTasks = []domain.TierTask{{SourceType: "bucket\xff", Status: batches.TaskStatusPending}}
		}), []error{domain.ErrInvalid, domain.ErrInvalidUTF8}},
		{invalid("inf", func(b *domain.Batch) { b.Metadata = map[string]any{"n": []any{math.Inf(-1)}} }), []error{domain.ErrInvalid}},
	} {
		err := db.InsertBatches(ctx, a.ID, []domain.Batch{good, tc.bad})
		for _, want := range tc.want {
			if !errors.Is(err, want) {
				t.Errorf("InsertBatches(%q) = %v, want %v", tc.bad.BatchID, err, want)
			}
		}
	}
	if _, total, err := ListPage(ctx, db, domain.ListParams{BucketID: a.ID, Limit: 10}); err != nil || total != 0 {
		t.Errorf("failed inserts stored %d batches (%v)", total, err)
	}
	if err := db.InsertBatches(ctx, a.ID, []domain.Batch{good}); err != nil {
		t.Fatal(err)
	}
	// Batch ids are unique across buckets.
	other, err := db.CreateBucket(ctx, a.NamespaceID, "other", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.InsertBatches(ctx, other.ID, []domain.Batch{good}); !errors.Is(err, domain.ErrAlreadyExists) || !strings.Contains(err.Error(), a.ID) {
		t.Errorf("id of another bucket's batch: %v, want ErrAlreadyExists naming %s", err, a.ID)
	}
}

// testListByCollection: a collection filter keeps the batches whose
// collection_ids hold the collection (once, however often they hold it),
// alone or with a status filter, in the order and pages of the whole list,
// with total_count counting them all; another bucket's batches, batches
// without collections and an unknown collection are never listed, and the
// lists follow status changes and deletes.
func testListByCollection(t *testing.T, be Backend) {
	db := be.Open(t)
	ctx := t.Context()
	_, b := newBucket(t, db, "bkt_cols")
	other, err := db.CreateBucket(ctx, b.NamespaceID, "other", "bkt_cols_other")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sets := [][]string{nil, {}, {"col_a"}, {"col_b", "col_a"}, {"col_a", "col_a"}, {"col_b"}, {"col_<a>"}}
	statuses := []batches.TaskStatus{batches.TaskStatusCompleted, batches.TaskStatusFailed, batches.TaskStatusPending}
	var bs, others []domain.Batch
	for i := range 70 {
		x := batch(fmt.Sprintf("btch_c%03d", i), statuses[i%len(statuses)], t0.Add(time.Duration(i/2)*time.Second)) // ties in pairs
		x.CollectionIDs = sets[i%len(sets)]
		bs = append(bs, x)
		y := x
		y.BatchID = fmt.Sprintf("btch_o%03d", i)
		others = append(others, y)
	}
	if err := db.InsertBatches(ctx, b.ID, bs); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertBatches(ctx, other.ID, others); err != nil {
		t.Fatal(err)
	}
	// want lists the ids of bs holding collection (and of status), newest
	// first.
	want := func(collection string, status *batches.TaskStatus) []string {
		var ids []string
		for _, x := range bs {
			if slices.Contains(x.CollectionIDs, collection) && (status == nil || x.Status == *status) {
				ids = append(ids, x.BatchID)
			}
		}
		slices.SortFunc(ids, func(a, c string) int {
			ia, ic := slices.IndexFunc(bs, func(x domain.Batch) bool { return x.BatchID == a }), slices.IndexFunc(bs, func(x domain.Batch) bool { return x.BatchID == c })
			if d := bs[ic].CreatedAt.Compare(bs[ia].CreatedAt); d != 0 {
				return d
			}
			return strings.Compare(c, a)
		})
		return ids
	}
	check := func(stage string) {
		t.Helper()
		failed := batches.TaskStatusFailed
		for _, col := range []string{"col_a", "col_b", "col_<a>", "col_none", ""} {
			for _, status := range []*batches.TaskStatus{nil, &failed} {
				w := want(col, status)
				for _, page := range []struct{ offset, limit int }{{0, 1000}, {0, 3}, {3, 3}, {len(w) - 1, 5}, {len(w), 5}} {
					if page.offset < 0 {
						continue
					}
					got, total, err := ListPage(ctx, db, domain.ListParams{BucketID: b.ID, Status: status, CollectionID: &col, Offset: int64(page.offset), Limit: page.limit})
					if err != nil {
						t.Fatal(err)
					}
					var ids []string
					for _, x := range got {
						ids = append(ids, x.BatchID)
					}
					wantPage := w[min(page.offset, len(w)):min(page.offset+page.limit, len(w))]
					if total != int64(len(w)) || !slices.Equal(ids, wantPage) {
						t.Fatalf("%s: collection %q, status %v, offset %d, limit %d: %v of %d; want %v of %d",
							stage, col, status, page.offset, page.limit, ids, total, wantPage, len(w))
					}
				}
			}
		}
	}
	check("inserted")
	// A status change moves a batch between the counts of its
	// collections; a delete takes it out.
	for _, id := range []string{"btch_c002", "btch_c003", "btch_c004"} {
		if err := db.UpdateBatchStatus(ctx, id, batches.TaskStatusFailed); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(bs, func(x domain.Batch) bool { return x.BatchID == id })
		bs[i].Status = batches.TaskStatusFailed
	}
	for _, id := range []string{"btch_c010", "btch_c011"} {
		if err := db.DeleteBatch(ctx, id); err != nil {
			t.Fatal(err)
		}
		bs = slices.DeleteFunc(bs, func(x domain.Batch) bool { return x.BatchID == id })
	}
	check("after status changes and deletes")
}

// testTakenNamesCommit: what is taken already (the demo key registered
// again, a namespace's or a bucket's name or id, an API key) is reported as
// such, and the transaction that found it still commits: on PostgreSQL a
// unique violation would abort it, and RegisterDemoKey, which commits when
// the key is there already, failed with "commit unexpectedly resulted in
// rollback" on every start with BATCHESD_DEMO_API_KEY.
func testTakenNamesCommit(t *testing.T, be Backend) {
	db := be.Open(t)
	ctx := t.Context()
	const key = "sk_test_demo_key_123"
	info, seeded, err := db.SeedDemo(ctx, key)
	if err != nil || !seeded {
		t.Fatalf("SeedDemo: %v, seeded %v", err, seeded)
	}
	for i := range 3 {
		org, registered, err := db.RegisterDemoKey(ctx, key)
		if err != nil || registered || org != info.OrganizationID {
			t.Fatalf("RegisterDemoKey of the seeded key, %d: org %q registered %v err %v", i, org, registered, err)
		}
	}
	org, registered, err := db.RegisterDemoKey(ctx, "sk_test_another_demo_key")
	if err != nil || !registered || org != info.OrganizationID {
		t.Fatalf("RegisterDemoKey of a new key: org %q registered %v err %v", org, registered, err)
	}
	if _, registered, err := db.RegisterDemoKey(ctx, "sk_test_another_demo_key"); err != nil || registered {
		t.Fatalf("RegisterDemoKey again: registered %v err %v", registered, err)
	}
	if got, err := db.OrganizationForKey(ctx, domain.HashKey("sk_test_another_demo_key")); err != nil || got.ID != info.OrganizationID {
		t.Fatalf("the registered key: %+v, %v", got, err)
	}

	if _, err := db.CreateNamespace(ctx, info.OrganizationID, domain.DemoNamespaceName); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("CreateNamespace of a name taken: %v, want ErrAlreadyExists", err)
	}
	if _, err := db.CreateBucket(ctx, info.NamespaceID, "other", domain.DemoBucketID); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("CreateBucket of an id taken: %v, want ErrAlreadyExists", err)
	}
	if _, err := db.CreateBucket(ctx, info.NamespaceID, domain.DemoBucketName, ""); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("CreateBucket of a name taken: %v, want ErrAlreadyExists", err)
	}
	if _, err := db.CreateAPIKey(ctx, info.OrganizationID, key); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("CreateAPIKey of a key taken: %v, want ErrAlreadyExists", err)
	}
	// Each left the database as it was, and usable.
	if _, err := db.CreateNamespace(ctx, info.OrganizationID, "second"); err != nil {
		t.Fatal(err)
	}
}
