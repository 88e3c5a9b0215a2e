package domain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// TestDemoBatchesAreTheSame: the demo is the same batches on every call
// and in every version, given the same now: the SHA-256 of their JSON is
// the one the demo has always had (the README shows its ids).
func TestDemoBatchesAreTheSame(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 123, time.FixedZone("X", 3600))
	bs := domain.DemoBatches(now, "bkt_demo")
	data, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	const want = "7d7470b85b0e6315000077c838ba9cc29138fd27fa0f229a6c66ec3f5616455b"
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
		t.Errorf("DemoBatches changed: SHA-256 %x, want %s", sum, want)
	}
	if len(bs) != domain.DemoBatchCount {
		t.Errorf("%d batches, want %d", len(bs), domain.DemoBatchCount)
	}
	seen := map[batches.TaskStatus]bool{}
	for i, b := range bs {
		seen[b.Status] = true
		if err := domain.CheckBatch(&b); err != nil {
			t.Errorf("batch %d: %v", i, err)
		}
		if b.CreatedAt.After(now) || b.UpdatedAt.Before(b.CreatedAt) || b.UpdatedAt.After(now) || now.Sub(b.CreatedAt) > 90*24*time.Hour {
			t.Errorf("batch %d: created %s, updated %s, now %s", i, b.CreatedAt, b.UpdatedAt, now)
		}
	}
	for _, s := range batches.TaskStatuses() {
		if !seen[s] {
			t.Errorf("no %s batch", s)
		}
	}
}
