package sqlite_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
)

func TestSeedDemo(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	before := time.Now()

	info, ok, err := db.SeedDemo(ctx, "sk_test_demo_key_0001")
	if err != nil || !ok {
		t.Fatalf("SeedDemo = %+v, %v, %v", info, ok, err)
	}
	if info.BucketID != "bkt_demo" || info.NamespaceName != "demo" || info.APIKey != "sk_test_demo_key_0001" ||
		!strings.HasPrefix(info.OrganizationID, "org_") || !strings.HasPrefix(info.NamespaceID, "ns_") {
		t.Errorf("DemoInfo %+v", info)
	}

	// The demo is reachable the way the server reaches it.
	org, err := db.OrganizationForKey(ctx, domain.HashKey(info.APIKey))
	if err != nil || org.ID != info.OrganizationID || org.Name != "Demo" {
		t.Fatalf("OrganizationForKey: %+v, %v", org, err)
	}
	ns, bucket, err := db.ResolveBucket(ctx, org.ID, "demo", "demo")
	if err != nil || ns.ID != info.NamespaceID || bucket.ID != "bkt_demo" {
		t.Fatalf("ResolveBucket: %+v, %+v, %v", ns, bucket, err)
	}

	all, total := listAll(t, db, "bkt_demo", nil, 1000)
	if total != domain.DemoBatchCount || len(all) != domain.DemoBatchCount {
		t.Fatalf("%d batches (total %d), want %d", len(all), total, domain.DemoBatchCount)
	}
	counts := map[batches.TaskStatus]int{}
	collections := 0
	for _, b := range all {
		counts[b.Status]++
		if b.CreatedAt.Before(before.Add(-91*24*time.Hour)) || b.CreatedAt.After(time.Now()) ||
			b.UpdatedAt.Before(b.CreatedAt) || b.UpdatedAt.After(time.Now()) {
			t.Errorf("%s: created %v, updated %v", b.BatchID, b.CreatedAt, b.UpdatedAt)
		}
		if !strings.HasPrefix(b.BatchID, "btch_") || len(b.BatchID) != 17 || b.BucketID != "bkt_demo" || b.TotalTiers < 1 {
			t.Errorf("batch %+v", b)
		}
		for _, o := range b.ObjectIDs {
			if !strings.HasPrefix(o, "obj_") {
				t.Errorf("%s: object id %q", b.BatchID, o)
			}
		}
		switch b.Status {
		case batches.TaskStatusFailed:
			if b.Error == nil || *b.Error == "" {
				t.Errorf("FAILED %s without error", b.BatchID)
			}
		case batches.TaskStatusCompletedWithErrors:
			if b.ErrorSummary == nil || len(b.ErrorSummary) == 0 {
				t.Errorf("COMPLETED_WITH_ERRORS %s without error_summary", b.BatchID)
			}
		case batches.TaskStatusDraft:
			if b.TaskID != nil {
				t.Errorf("DRAFT %s with a task", b.BatchID)
			}
		case batches.TaskStatusCompleted, batches.TaskStatusCanceled:
			if b.TaskID == nil || !strings.HasPrefix(*b.TaskID, "task_") {
				t.Errorf("%s %s without a task", b.Status, b.BatchID)
			}
		}
		if b.Type == batches.BatchTypeCollection {
			collections++
			if b.TotalTiers < 2 || b.CollectionIDs == nil || len(b.CollectionIDs) == 0 {
				t.Errorf("COLLECTION batch %+v", b)
			}
		}
	}
	for _, s := range batches.TaskStatuses() {
		if counts[s] == 0 && !s.IsActive() {
			t.Errorf("no %s batch (counts %v)", s, counts)
		}
		if counts[s] > 0 && s.IsActive() {
			t.Errorf("%d %s batches, which nothing moves (counts %v)", counts[s], s, counts)
		}
	}
	if counts[batches.TaskStatusCompleted] < domain.DemoBatchCount/2 {
		t.Errorf("only %d COMPLETED batches", counts[batches.TaskStatusCompleted])
	}
	if collections == 0 {
		t.Error("no COLLECTION batch")
	}
	t.Logf("status counts: %v; %d COLLECTION", counts, collections)

	// Counting with a filter agrees.
	failed := batches.TaskStatusFailed
	if _, n, err := storetest.ListPage(ctx, db, domain.ListParams{BucketID: "bkt_demo", Status: &failed, Limit: 1}); err != nil || n != int64(counts[failed]) {
		t.Errorf("FAILED count %d, %v; want %d", n, err, counts[failed])
	}

	// A second call does nothing.
	info2, ok, err := db.SeedDemo(ctx, "")
	if err != nil || ok || info2 != (domain.DemoInfo{}) {
		t.Errorf("second SeedDemo = %+v, %v, %v", info2, ok, err)
	}
	if _, total := listAll(t, db, "bkt_demo", nil, 1000); total != domain.DemoBatchCount {
		t.Errorf("second SeedDemo changed the batches: %d", total)
	}
}

func TestSeedDemoGeneratesKeyAndSkipsNonEmpty(t *testing.T) {
	db, _ := openTemp(t)
	info, ok, err := db.SeedDemo(t.Context(), "")
	if err != nil || !ok || !strings.HasPrefix(info.APIKey, "sk_live_") || len(info.APIKey) != 48 {
		t.Fatalf("SeedDemo = %+v, %v, %v", info, ok, err)
	}

	other, _ := openTemp(t)
	if _, err := other.CreateOrganization(t.Context(), "Acme"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := other.SeedDemo(t.Context(), ""); ok || err != nil {
		t.Errorf("SeedDemo on a database with an organization = %v, %v", ok, err)
	}
}

func TestDemoBatchesDeterministic(t *testing.T) {
	now := time.Now()
	a, b := domain.DemoBatches(now, "bkt_demo"), domain.DemoBatches(now, "bkt_demo")
	if len(a) != domain.DemoBatchCount {
		t.Fatalf("%d batches", len(a))
	}
	for i := range a {
		if a[i].BatchID != b[i].BatchID || a[i].Status != b[i].Status || !a[i].CreatedAt.Equal(b[i].CreatedAt) {
			t.Fatalf("batch %d differs", i)
		}
	}
}
