package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// The contract of the lifecycle on each backend: domain.Lifecycle's
// methods, the tasks' reads, steering, river's schema and its queue. The
// rules themselves are the domain's (its tests); here, that each backend
// stores what they decide, in one transaction, and that its counts follow.

// lifecycleDB opens a database whose batches are processed as p says,
// with the organization, namespace and bucket of s (bucket "bkt_l").
func lifecycleDB(t *testing.T, be Backend, p domain.Processing, q river.Config) (domain.DB, countsCheck, domain.Scope) {
	t.Helper()
	db, raw := be.OpenWith(t, p, q)
	ns, b := newBucket(t, db, "bkt_l")
	s := domain.Scope{OrganizationID: ns.OrganizationID, NamespaceID: ns.ID, BucketID: b.ID}
	return db, countsCheck{t: t, db: db, raw: raw, buckets: []string{b.ID}, be: be}, s
}

// agree fails the test unless the kept counts are the counted ones.
func (c countsCheck) agree(stage string) {
	c.t.Helper()
	if kept, counted := c.counts(); !maps.Equal(kept, counted) {
		c.t.Fatalf("%s: counts %v, COUNT(*) %v", stage, kept, counted)
	}
}

func decodeBatch(t *testing.T, doc []byte) domain.Batch {
	t.Helper()
	b, err := domain.DecodeBatch(doc)
	if err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	return b
}

func decodeTask(t *testing.T, doc []byte) domain.Task {
	t.Helper()
	var task domain.Task
	if err := json.Unmarshal(doc, &task); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	return task
}

// getBatch returns the stored JSON of the batch id of s's bucket.
func getBatch(t *testing.T, db domain.DB, s domain.Scope, id string) []byte {
	t.Helper()
	doc, err := db.GetBatch(t.Context(), s.BucketID, id, nil)
	if err != nil {
		t.Fatalf("get batch %s: %v", id, err)
	}
	return doc
}

func getTask(t *testing.T, db domain.DB, s domain.Scope, id string) domain.Task {
	t.Helper()
	doc, err := db.GetTask(t.Context(), s.OrganizationID, id, nil)
	if err != nil {
		t.Fatalf("get task %s: %v", id, err)
	}
	return decodeTask(t, doc)
}

// wantKind fails the test unless err is an *domain.Error of kind.
func wantKind(t *testing.T, err error, kind error) {
	t.Helper()
	var e *domain.Error
	if !errors.As(err, &e) || e.Kind != kind {
		t.Fatalf("error %v, want a domain.Error of kind %v", err, kind)
	}
}

func testLifecycleStored(t *testing.T, be Backend) {
	ctx := t.Context()
	db, c, s := lifecycleDB(t, be, domain.Processing{Tiers: 2, TierDuration: time.Hour}, river.Config{})

	doc, err := db.CreateBatch(ctx, s, []string{"obj_1", "obj_2"})
	if err != nil {
		t.Fatal(err)
	}
	b := decodeBatch(t, doc)
	if got := getBatch(t, db, s, b.BatchID); !bytes.Equal(got, doc) || b.Status != batches.TaskStatusDraft {
		t.Fatalf("created %s, stored %s", doc, got)
	}
	c.agree("create")
	if doc, err = db.AddObjects(ctx, s, b.BatchID, []string{"obj_3"}); err != nil || len(decodeBatch(t, doc).ObjectIDs) != 3 {
		t.Fatalf("add objects: %v %s", err, doc)
	}
	if doc, err = db.PatchBatch(ctx, s, b.BatchID, map[string]any{"owner": "me"}, true); err != nil || decodeBatch(t, doc).Metadata["owner"] != "me" {
		t.Fatalf("patch: %v %s", err, doc)
	}
	if !bytes.Equal(getBatch(t, db, s, b.BatchID), doc) {
		t.Fatalf("the patch is not stored")
	}
	c.agree("patch")

	taskDoc, err := db.SubmitBatch(ctx, s, b.BatchID, domain.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run := decodeTask(t, taskDoc)
	if got, _ := db.GetTask(ctx, s.OrganizationID, run.TaskID, nil); !bytes.Equal(got, taskDoc) || run.Status != batches.TaskStatusPending {
		t.Fatalf("submitted %s, stored %s", taskDoc, got)
	}
	c.agree("submit")

	// Forbidden: nothing changes, the batch's JSON and the counts alike.
	before := getBatch(t, db, s, b.BatchID)
	kept, _ := c.counts()
	_, err = db.SubmitBatch(ctx, s, b.BatchID, domain.SubmitOptions{})
	wantKind(t, err, domain.ErrInvalid)
	_, err = db.AddObjects(ctx, s, b.BatchID, []string{"obj_9"})
	wantKind(t, err, domain.ErrInvalid)
	_, _, err = db.RetryBatch(ctx, s, b.BatchID, domain.RetryOptions{MaxRetryCount: 3})
	wantKind(t, err, domain.ErrInvalid)
	if after, _ := c.counts(); !bytes.Equal(getBatch(t, db, s, b.BatchID), before) || !maps.Equal(after, kept) {
		t.Fatalf("a refused operation changed the batch or the counts")
	}

	// Another bucket's scope, another organization: not found.
	other := s
	other.BucketID = "bkt_other"
	_, err = db.CancelBatch(ctx, other, b.BatchID)
	wantKind(t, err, domain.ErrNotFound)
	if _, err := db.GetBatch(ctx, "bkt_other", b.BatchID, nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another bucket's batch: %v", err)
	}
	if _, err := db.GetTask(ctx, "org_other", run.TaskID, nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another organization's task: %v", err)
	}
	if killed, _, err := db.KillTask(ctx, "org_other", run.TaskID); killed || err != nil {
		t.Fatalf("another organization killed the task: %v %v", killed, err)
	}

	// Steered to its end: every step one transaction, the counts after each.
	steps, err := db.Steer(ctx, b.BatchID, domain.Complete)
	if err != nil || len(steps) != 4 {
		t.Fatalf("steer: %v, %d steps", err, len(steps))
	}
	c.agree("processed")
	done := decodeBatch(t, getBatch(t, db, s, b.BatchID))
	if done.Status != batches.TaskStatusCompleted || getTask(t, db, s, run.TaskID).Status != batches.TaskStatusCompleted {
		t.Fatalf("after steering: %s", done.Status)
	}
	for _, tt := range done.TierTasks {
		if tt.TaskID == nil || getTask(t, db, s, *tt.TaskID).Status != batches.TaskStatusCompleted {
			t.Fatalf("tier %d: %+v", tt.TierNum, tt)
		}
	}
	if _, err := db.Steer(ctx, b.BatchID, domain.Advance); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("steering a batch at its end: %v", err)
	}

	// Fail, retry as a new task (the old one kept), complete.
	doc, _ = db.CreateBatch(ctx, s, []string{"obj_a"})
	f := decodeBatch(t, doc)
	taskDoc, _ = db.SubmitBatch(ctx, s, f.BatchID, domain.SubmitOptions{})
	failedRun := decodeTask(t, taskDoc)
	if _, err := db.Steer(ctx, f.BatchID, domain.Fail); err != nil {
		t.Fatal(err)
	}
	failedDoc, _ := db.GetTask(ctx, s.OrganizationID, failedRun.TaskID, nil)
	r, retryDoc, err := db.RetryBatch(ctx, s, f.BatchID, domain.RetryOptions{MaxRetryCount: 3})
	if err != nil || r.Task.TaskID == failedRun.TaskID || decodeTask(t, retryDoc).Status != batches.TaskStatusPending {
		t.Fatalf("retry: %v %+v", err, r)
	}
	if again, _ := db.GetTask(ctx, s.OrganizationID, failedRun.TaskID, nil); !bytes.Equal(again, failedDoc) {
		t.Fatalf("the failed task changed: %s, was %s", again, failedDoc)
	}
	if _, err := db.Steer(ctx, f.BatchID, domain.Complete); err != nil {
		t.Fatal(err)
	}
	if st := decodeBatch(t, getBatch(t, db, s, f.BatchID)).Status; st != batches.TaskStatusCompleted {
		t.Fatalf("after the retry: %s", st)
	}
	c.agree("retried")

	// Cancel in progress; kill a tier's task; delete a batch being processed.
	doc, _ = db.CreateBatch(ctx, s, []string{"obj_x"})
	x := decodeBatch(t, doc)
	_, _ = db.SubmitBatch(ctx, s, x.BatchID, domain.SubmitOptions{})
	if _, err := db.Steer(ctx, x.BatchID, domain.Advance); err != nil {
		t.Fatal(err)
	}
	taskDoc, err = db.CancelBatch(ctx, s, x.BatchID)
	if err != nil || decodeTask(t, taskDoc).Status != batches.TaskStatusCanceled {
		t.Fatalf("cancel: %v %s", err, taskDoc)
	}
	xb := decodeBatch(t, getBatch(t, db, s, x.BatchID))
	if xb.Status != batches.TaskStatusCanceled || getTask(t, db, s, *xb.TierTasks[0].TaskID).Status != batches.TaskStatusCanceled {
		t.Fatalf("canceled: %+v", xb)
	}
	if killed, _, err := db.KillTask(ctx, s.OrganizationID, *xb.TaskID); killed || err != nil {
		t.Fatalf("killing a canceled task: %v %v", killed, err)
	}
	c.agree("canceled")

	doc, _ = db.CreateBatch(ctx, s, []string{"obj_k"})
	k := decodeBatch(t, doc)
	_, _ = db.SubmitBatch(ctx, s, k.BatchID, domain.SubmitOptions{})
	_, _ = db.Steer(ctx, k.BatchID, domain.Advance)
	kb := decodeBatch(t, getBatch(t, db, s, k.BatchID))
	if killed, batchID, err := db.KillTask(ctx, s.OrganizationID, *kb.TierTasks[0].TaskID); !killed || batchID != k.BatchID || err != nil {
		t.Fatalf("kill a tier's task: %v %s %v", killed, batchID, err)
	}
	if st := decodeBatch(t, getBatch(t, db, s, k.BatchID)).Status; st != batches.TaskStatusCanceled {
		t.Fatalf("killed: %s", st)
	}

	doc, _ = db.CreateBatch(ctx, s, []string{"obj_d"})
	d := decodeBatch(t, doc)
	taskDoc, _ = db.SubmitBatch(ctx, s, d.BatchID, domain.SubmitOptions{})
	if canceled, err := db.RemoveBatch(ctx, s, d.BatchID); !canceled || err != nil {
		t.Fatalf("delete: %v %v", canceled, err)
	}
	if _, err := db.GetBatch(ctx, s.BucketID, d.BatchID, nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("deleted batch: %v", err)
	}
	if st := getTask(t, db, s, decodeTask(t, taskDoc).TaskID).Status; st != batches.TaskStatusCanceled {
		t.Fatalf("the deleted batch's task is %s", st)
	}
	// Its queued step finds nothing to do.
	if _, err := db.Steer(ctx, d.BatchID, domain.Advance); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("steering a deleted batch: %v", err)
	}
	c.agree("deleted")
}

func testListTasks(t *testing.T, be Backend) {
	ctx := t.Context()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Millisecond); return now }
	db, _, s := lifecycleDB(t, be, domain.Processing{Tiers: 1, Now: clock, NoFailures: true}, river.Config{})
	var want []string // newest first
	for i := range 5 {
		doc, err := db.CreateBatch(ctx, s, []string{fmt.Sprint("obj_", i)})
		if err != nil {
			t.Fatal(err)
		}
		taskDoc, err := db.SubmitBatch(ctx, s, decodeBatch(t, doc).BatchID, domain.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			steps, err := db.Steer(ctx, decodeBatch(t, doc).BatchID, domain.Complete)
			if err != nil {
				t.Fatal(err)
			}
			want = slices.Insert(want, 0, decodeTask(t, taskDoc).TaskID)
			_ = steps
			tier := decodeBatch(t, getBatch(t, db, s, decodeBatch(t, doc).BatchID)).TierTasks[0]
			want = slices.Insert(want, 0, *tier.TaskID)
			continue
		}
		want = slices.Insert(want, 0, decodeTask(t, taskDoc).TaskID)
	}
	page := func(p domain.TaskListParams) ([]string, *domain.TaskCursor, int64) {
		t.Helper()
		p.OrganizationID = s.OrganizationID
		out, next, total, err := db.ListTasks(ctx, p, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		var tasks []domain.Task
		if err := json.Unmarshal(out[1:], &tasks); err != nil || out[0] != 'x' {
			t.Fatalf("%v: %s", err, out)
		}
		var ids []string
		for _, task := range tasks {
			ids = append(ids, task.TaskID)
		}
		return ids, next, total
	}
	all, next, total := page(domain.TaskListParams{Limit: 100, CountTotal: true})
	if !slices.Equal(all, want) || next != nil || total != int64(len(want)) {
		t.Fatalf("all: %v next %v total %d; want %v", all, next, total, want)
	}
	// By cursor, two at a time.
	var walked []string
	p := domain.TaskListParams{Limit: 2}
	for {
		ids, next, total := page(p)
		if total != 0 {
			t.Fatalf("a total without CountTotal: %d", total)
		}
		walked = append(walked, ids...)
		if next == nil {
			break
		}
		p.After = next
	}
	if !slices.Equal(walked, want) {
		t.Fatalf("by cursor: %v, want %v", walked, want)
	}
	ids, _, _ := page(domain.TaskListParams{Limit: 2, Offset: 3})
	if !slices.Equal(ids, want[3:5]) {
		t.Fatalf("offset 3: %v", ids)
	}
	completed, run := batches.TaskStatusCompleted, domain.TaskTypeTierRun
	ids, _, total = page(domain.TaskListParams{Limit: 100, Status: &completed, Type: &run, CountTotal: true})
	if len(ids) != 3 || total != 3 {
		t.Fatalf("completed tier tasks: %v (%d)", ids, total)
	}
	// Another organization's: none.
	out, _, _, err := db.ListTasks(ctx, domain.TaskListParams{OrganizationID: "org_other", Limit: 10, CountTotal: true}, nil)
	if err != nil || string(out) != "[]" {
		t.Fatalf("another organization: %v %s", err, out)
	}
	if _, _, _, err := db.ListTasks(ctx, domain.TaskListParams{OrganizationID: s.OrganizationID}, nil); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("limit 0: %v", err)
	}
}

// riverSchema is what the backends tell of river's schema.
type riverSchema interface {
	RiverMigrationsApplied(ctx context.Context) (bool, []string, error)
}

// testRiverSchemaComplete: river's own migrator finds its schema complete
// after the backend's migrations (goose's, one a river version).
func testRiverSchemaComplete(t *testing.T, be Backend) {
	db := be.Open(t)
	rs, ok := db.(riverSchema)
	if !ok {
		t.Fatalf("%T does not tell river's schema", db)
	}
	applied, messages, err := rs.RiverMigrationsApplied(t.Context())
	if err != nil || !applied {
		t.Fatalf("river's schema is not complete: %v %v", messages, err)
	}
}

// testProcessingRuns: the queue's workers process submitted batches to
// their end, each tier's start and end once; stopped, they leave the
// rest queued.
func testProcessingRuns(t *testing.T, be Backend) {
	ctx := t.Context()
	db, c, s := lifecycleDB(t, be, domain.Processing{Tiers: 3, TierDuration: 5 * time.Millisecond, FailureRatio: 0.3, ErrorRatio: 0.3},
		river.Config{PollInterval: 50 * time.Millisecond, TestOnly: true})
	var ids []string
	for i := range 12 {
		doc, err := db.CreateBatch(ctx, s, []string{fmt.Sprint("obj_", i), "obj_x"})
		if err != nil {
			t.Fatal(err)
		}
		id := decodeBatch(t, doc).BatchID
		if _, err := db.SubmitBatch(ctx, s, id, domain.SubmitOptions{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := db.StartProcessing(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.StopProcessing(context.Background())
	statuses := WaitTerminal(t, db, s.BucketID, ids, time.Minute)
	c.agree("processed")
	seen := map[batches.TaskStatus]int{}
	for id, st := range statuses {
		seen[st]++
		b := decodeBatch(t, getBatch(t, db, s, id))
		if getTask(t, db, s, *b.TaskID).Status != st {
			t.Errorf("batch %s is %s, its task not", id, st)
		}
	}
	if seen[batches.TaskStatusCompleted]+seen[batches.TaskStatusFailed]+seen[batches.TaskStatusCompletedWithErrors] != len(ids) {
		t.Errorf("ends %v", seen)
	}
	qs, ok := db.(domain.QueueStatser)
	if !ok {
		t.Fatalf("%T reports no queue stats", db)
	}
	stats, err := qs.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ends := stats.Steps["completed"] + stats.Steps["completed_with_errors"] + stats.Steps["failed"]
	if stats.Steps["started"] != ends || ends < int64(len(ids)) || stats.Steps["error"] != 0 {
		t.Errorf("steps %v", stats.Steps)
	}
}

// WaitTerminal polls the batches ids of the bucket bucketID until each is
// terminal, and returns their statuses; it fails t after within (a bound
// on a test that would otherwise hang, not a measure).
func WaitTerminal(t testing.TB, db domain.Store, bucketID string, ids []string, within time.Duration) map[string]batches.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	out := map[string]batches.TaskStatus{}
	for len(out) < len(ids) {
		for _, id := range ids {
			if _, done := out[id]; done {
				continue
			}
			doc, err := db.GetBatch(t.Context(), bucketID, id, nil)
			if err != nil {
				t.Fatalf("get batch %s: %v", id, err)
			}
			b, err := domain.DecodeBatch(doc)
			if err != nil {
				t.Fatal(err)
			}
			if b.Status.IsTerminal() {
				out[id] = b.Status
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d batches still not terminal after %s", len(ids)-len(out), len(ids), within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return out
}

// testAdminLists: the administration's lists hold what was created, keys
// by id and prefix; a revoked key authenticates nothing.
func testAdminLists(t *testing.T, be Backend) {
	ctx := t.Context()
	db := be.Open(t)
	ns, b := newBucket(t, db, "bkt_x")
	key, err := db.CreateAPIKey(ctx, ns.OrganizationID, "")
	if err != nil {
		t.Fatal(err)
	}
	orgs, err := db.ListOrganizations(ctx)
	if err != nil || len(orgs) != 1 || orgs[0].ID != ns.OrganizationID {
		t.Fatalf("organizations %v %v", orgs, err)
	}
	// An organization or namespace that does not exist is not found (the
	// commands say so and exit 1), not an empty list.
	if nss, err := db.ListNamespaces(ctx, "org_none"); !errors.Is(err, domain.ErrNotFound) || len(nss) != 0 {
		t.Fatalf("the namespaces of an organization that does not exist: %v %v", nss, err)
	}
	if keys, err := db.ListAPIKeys(ctx, "org_none"); !errors.Is(err, domain.ErrNotFound) || len(keys) != 0 {
		t.Fatalf("the keys of an organization that does not exist: %v %v", keys, err)
	}
	if bs, err := db.ListBuckets(ctx, "ns_none"); !errors.Is(err, domain.ErrNotFound) || len(bs) != 0 {
		t.Fatalf("the buckets of a namespace that does not exist: %v %v", bs, err)
	}
	empty, err := db.CreateOrganization(ctx, "Empty")
	if err != nil {
		t.Fatal(err)
	}
	if nss, err := db.ListNamespaces(ctx, empty.ID); err != nil || len(nss) != 0 {
		t.Fatalf("the namespaces of an organization that has none: %v %v", nss, err)
	}
	if nss, err := db.ListNamespaces(ctx, ""); err != nil || len(nss) != 1 || nss[0] != ns {
		t.Fatalf("namespaces %v %v", nss, err)
	}
	if bs, err := db.ListBuckets(ctx, ns.ID); err != nil || len(bs) != 1 || bs[0] != b {
		t.Fatalf("buckets %v %v", bs, err)
	}
	keys, err := db.ListAPIKeys(ctx, ns.OrganizationID)
	if err != nil || len(keys) != 1 || keys[0].ID != domain.KeyID(domain.HashKey(key)) || keys[0].Prefix != domain.KeyPrefix(key) || keys[0].RevokedAt != nil {
		t.Fatalf("keys %+v %v", keys, err)
	}
	if err := db.RevokeAPIKey(ctx, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OrganizationForKey(ctx, domain.HashKey(key)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a revoked key: %v", err)
	}
	if keys, _ := db.ListAPIKeys(ctx, ""); keys[0].RevokedAt == nil {
		t.Fatalf("the revoked key is listed valid")
	}
	if err := db.RevokeAPIKey(ctx, "key_000000000000"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("an unknown key id: %v", err)
	}
	if err := db.RevokeAPIKey(ctx, key); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("a key for an id: %v", err)
	}
}
