package batchestest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
)

// BenchmarkWaitBatches measures a round of WaitBatches over batches that
// stay PENDING, against the real handler on SQLite: an op is one round,
// and the requests a round makes are reported. "10000" is 10,000 batches
// waited for, one walk of List Batches a round (pages of 1000, down to the
// oldest batch waited for); "10000+5000newer" adds 5,000 batches created
// after them, which each walk reads too; "2old+15000newer" waits for 2
// batches under 15,000 newer ones, which a walk would read every round
// and a GetBatch each does not. Older batches are never read.
//
//	go test ./api/batchestest -run '^$' -bench WaitBatches -benchtime 20x
func BenchmarkWaitBatches(b *testing.B) {
	for _, bc := range []struct {
		name           string
		waiting, newer int
	}{{"10000", 10000, 0}, {"10000+5000newer", 10000, 5000}, {"2old+15000newer", 2, 15000}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := batchestest.NewServer(b)
			srv.SeedBatches(srv.Bucket, 3000) // older, never read
			waiting := batchestest.NewBatches(bc.waiting, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			ids := make([]string, len(waiting))
			// As on the reference server, every batch created through
			// the API feeds the first tier's collection of its bucket.
			tier0 := "col_" + srv.Bucket + "_t0"
			for i := range waiting {
				waiting[i].Status = batches.TaskStatusPending
				waiting[i].CollectionIDs = append(waiting[i].CollectionIDs, tier0)
				ids[i] = waiting[i].BatchID
			}
			srv.AddBatches(srv.Bucket, waiting...)
			if bc.newer > 0 {
				newer := batchestest.NewBatches(bc.newer, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
				for i := range newer {
					newer[i].CollectionIDs = append(newer[i].CollectionIDs, tier0)
				}
				srv.AddBatches(srv.Bucket, newer...)
			}

			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			var rounds, lists, gets atomic.Int64
			var lastPath atomic.Value
			count := batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
				// A round starts with a walk from the top, or with the
				// GET of the first batch waited for (which stays PENDING).
				start := false
				if strings.HasSuffix(req.URL.Path, "/batches/list") {
					var body struct{ Offset int64 }
					if r, err := req.GetBody(); err == nil {
						data, _ := io.ReadAll(r)
						json.Unmarshal(data, &body)
					}
					start = body.Offset == 0
					lists.Add(1)
				} else {
					start = strings.HasSuffix(req.URL.Path, "/"+ids[0])
					gets.Add(1)
				}
				lastPath.Store(req.URL.Path)
				if start && rounds.Add(1) > int64(b.N) {
					cancel() // the rounds measured are over
				}
				return next(req)
			})
			c := srv.Client()
			b.ResetTimer()
			_, err := c.WaitBatches(ctx, srv.Bucket, ids, batches.PollBackoff(time.Microsecond, time.Microsecond), batches.CallOptions(count))
			b.StopTimer()
			if !errors.Is(err, context.Canceled) {
				b.Fatalf("WaitBatches: %v", err)
			}
			n := float64(b.N)
			// The last request, canceled, began a round not measured.
			l, g := lists.Load(), gets.Load()
			if strings.HasSuffix(lastPath.Load().(string), "/batches/list") {
				l--
			} else {
				g--
			}
			b.ReportMetric(float64(l)/n, "lists/round")
			b.ReportMetric(float64(g)/n, "gets/round")
		})
	}
}

// BenchmarkGetEach is what WaitBatches saves: a round of GetBatch for
// each of 10,000 batches (an op is a round).
func BenchmarkGetEach(b *testing.B) {
	srv := batchestest.NewServer(b)
	ids := make([]string, 0, 10000)
	for _, bt := range srv.SeedBatches(srv.Bucket, 10000) {
		ids = append(ids, bt.BatchID)
	}
	c := srv.Client()
	for b.Loop() {
		for _, id := range ids {
			if _, err := c.GetBatch(b.Context(), srv.Bucket, id); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(10000, "gets/round")
}
