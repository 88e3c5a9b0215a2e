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

// BenchmarkWaitBatches measures a round of WaitBatches over 10,000
// batches that stay PENDING, against the real handler on SQLite: an
// op is one round (one walk of List Batches, pages of 1000, down to the
// oldest batch waited for), and the requests a round makes are reported.
// "newer" adds 5,000 batches created after them, which each walk reads
// too; older batches are never read.
//
//	go test ./api/batchestest -run '^$' -bench WaitBatches -benchtime 20x
func BenchmarkWaitBatches(b *testing.B) {
	for _, bc := range []struct {
		name  string
		newer int
	}{{"10000", 0}, {"10000+5000newer", 5000}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := batchestest.NewServer(b)
			srv.SeedBatches(srv.Bucket, 3000) // older, never read
			waiting := batchestest.NewBatches(10000, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			ids := make([]string, len(waiting))
			for i := range waiting {
				waiting[i].Status = batches.TaskStatusPending
				ids[i] = waiting[i].BatchID
			}
			srv.AddBatches(srv.Bucket, waiting...)
			if bc.newer > 0 {
				srv.AddBatches(srv.Bucket, batchestest.NewBatches(bc.newer, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))...)
			}

			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			var rounds, lists, gets atomic.Int64
			count := batches.WithMiddleware(func(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
				if strings.HasSuffix(req.URL.Path, "/batches/list") {
					var body struct{ Offset int64 }
					if r, err := req.GetBody(); err == nil {
						data, _ := io.ReadAll(r)
						json.Unmarshal(data, &body)
					}
					if body.Offset == 0 && rounds.Add(1) > int64(b.N) {
						cancel() // the rounds measured are over
					}
					lists.Add(1)
				} else {
					gets.Add(1)
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
			b.ReportMetric(float64(lists.Load()-1)/n, "lists/round") // the last, canceled, began a round not measured
			b.ReportMetric(float64(gets.Load())/n, "gets/round")
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
