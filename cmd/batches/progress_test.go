package main

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// progressBatches is n batches as a wait of n sees them in its first
// round: the first half PENDING, then IN_PROGRESS, one in ten COMPLETED.
func progressBatches(n int) []batches.Batch {
	bs := make([]batches.Batch, n)
	for i := range bs {
		st := batches.TaskStatusPending
		switch {
		case i%10 == 0:
			st = batches.TaskStatusCompleted
		case i >= n/2:
			st = batches.TaskStatusInProgress
		}
		bs[i] = batches.Batch{BatchID: fmt.Sprintf("btch_%06d", i), Status: st, TotalTiers: 2, CreatedAt: time.Unix(0, 0)}
	}
	return bs
}

// BenchmarkProgress is the bar of a wait for 10,000 batches on a
// terminal taking the 10,000 changes of one round (an op is the round).
//
//	go test ./cmd/batches -run '^$' -bench Progress
func BenchmarkProgress(b *testing.B) {
	bs := progressBatches(10000)
	for b.Loop() {
		p := newProgress(io.Discard, true, len(bs))
		for _, x := range bs {
			p.change(x)
		}
		p.stop()
	}
}
