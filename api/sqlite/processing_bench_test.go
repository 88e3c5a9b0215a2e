package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// BenchmarkListWhileProcessing lists a page of 100 of a bucket of 1,000
// batches, idle, and while the queue processes batches submitted without
// pause (tiers of a millisecond, ten workers): what processing costs a
// reader. SQLite's readers do not wait for its writer (WAL); the
// difference is the CPU the steps take.
func BenchmarkListWhileProcessing(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"),
		sqlite.WithProcessing(domain.Processing{TierDuration: time.Millisecond, NoFailures: true}),
		sqlite.WithQueue(river.Config{PollInterval: 50 * time.Millisecond, TestOnly: true}))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t, err := domain.CreateTenant(ctx, db, domain.Tenant{Organization: "Bench", Namespace: "bench", BucketName: "b", BucketID: "bkt_b"})
	if err != nil {
		b.Fatal(err)
	}
	var seed []domain.Batch
	for len(seed) < 1000 {
		for _, bt := range domain.DemoBatches(time.Now(), "bkt_b") {
			bt.BatchID = fmt.Sprintf("btch_seed%06d", len(seed))
			seed = append(seed, bt)
		}
	}
	if err := db.InsertBatches(ctx, "bkt_b", seed[:1000]); err != nil {
		b.Fatal(err)
	}
	s := domain.Scope{OrganizationID: t.Organization.ID, NamespaceID: t.Namespace.ID, BucketID: "bkt_b"}
	list := func(b *testing.B) {
		buf := make([]byte, 0, 1<<20)
		for b.Loop() {
			if _, _, err := db.ListBatches(ctx, domain.ListParams{BucketID: "bkt_b", Limit: 100}, buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("idle", list)
	b.Run("processing", func(b *testing.B) {
		if err := db.StartProcessing(ctx); err != nil {
			b.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := domain.SubmitDemoBatches(ctx, db, s, 1); err != nil {
					b.Error(err)
					return
				}
			}
		})
		list(b)
		close(stop)
		wg.Wait()
		stats, _ := db.QueueStats(ctx)
		b.ReportMetric(float64(stats.Steps["started"]+stats.Steps["completed"]), "steps")
		if err := db.StopProcessing(ctx); err != nil {
			b.Fatal(err)
		}
	})
}
