package domain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// TestDemoBatchesAreTheSame: the demo is the same batches on every call,
// given the same now: the SHA-256 of their JSON is the one pinned here (the
// README shows its ids). It changed once, deliberately, in contract 2.0.0:
// the batches gained Mixpeek's fields (tier_tasks, dag_tiers,
// manifest_key, loaded_object_ids, internal_metadata), current_tier became
// 0-based and is set for every processed batch, and the later tiers of
// COLLECTION batches write derived collections, which joined their
// collection_ids; ids, statuses, objects, errors, metadata and times are
// those of before. It changed again, deliberately, in contract 2.2.0: the
// ten newest were PENDING, IN_PROGRESS or PROCESSING forever (their tasks
// are not stored, nothing moves them), and are now drawn as the others,
// so that no batch of the history is shown in flight; the draws after
// them moved too.
func TestDemoBatchesAreTheSame(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 123, time.FixedZone("X", 3600))
	bs := domain.DemoBatches(now, "bkt_demo")
	data, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	const want = "42c46cbc6b926713e6ea270ddf39413b8d08011f67e602c4432309366da496b3"
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
		if !seen[s] && !s.IsActive() {
			t.Errorf("no %s batch", s)
		}
		if seen[s] && s.IsActive() {
			t.Errorf("a %s batch: nothing would ever move it", s)
		}
	}
}

// TestDemoTierTasksFollowTheBatch: every demo batch but a draft has one
// tier task a tier, in order, linked to the one before, reading what the
// tier before wrote, with statuses that agree with the batch's; its
// collection_ids are those of its DAG.
func TestDemoTierTasksFollowTheBatch(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, b := range domain.DemoBatches(now, "bkt_demo") {
		if b.Status == batches.TaskStatusDraft {
			if len(b.TierTasks) != 0 || b.CurrentTier != nil || b.ManifestKey != nil {
				t.Errorf("batch %d: a draft with tier tasks, a current tier or a manifest", i)
			}
			continue
		}
		if len(b.TierTasks) != b.TotalTiers || b.ManifestKey == nil || b.LoadedObjectIDs == nil || b.InternalMetadata == nil {
			t.Fatalf("batch %d (%s): %d tier tasks for %d tiers, manifest %v", i, b.Status, len(b.TierTasks), b.TotalTiers, b.ManifestKey)
		}
		var union []string
		for _, tier := range b.DagTiers {
			union = append(union, tier...)
		}
		if !slices.Equal(union, b.CollectionIDs) || (b.DagTiers != nil && len(b.DagTiers) != b.TotalTiers) {
			t.Errorf("batch %d: collection_ids %v, dag_tiers %v", i, b.CollectionIDs, b.DagTiers)
		}
		current := -1
		if b.CurrentTier != nil {
			current = *b.CurrentTier
		}
		counts := map[batches.TaskStatus]int{}
		for k, tt := range b.TierTasks {
			counts[tt.Status]++
			wantSource := "bucket"
			if k > 0 {
				wantSource = "collection"
			}
			if tt.TierNum != k || tt.SourceType != wantSource {
				t.Errorf("batch %d tier %d: tier_num %d, source_type %q", i, k, tt.TierNum, tt.SourceType)
			}
			started := tt.TaskID != nil
			if started != (k <= current && tt.Status != batches.TaskStatusSkipped) || started != (tt.StartedAt != nil) {
				t.Errorf("batch %d tier %d (%s, current %d): task %v, started %v", i, k, tt.Status, current, tt.TaskID, tt.StartedAt)
			}
			if k > 0 && started && (tt.ParentTaskID == nil || *tt.ParentTaskID != *b.TierTasks[k-1].TaskID) {
				t.Errorf("batch %d tier %d: parent %v", i, k, tt.ParentTaskID)
			}
			if k == 0 && started && *tt.TaskID != *b.TaskID {
				t.Errorf("batch %d: tier 0's task %s, the batch's %s", i, *tt.TaskID, *b.TaskID)
			}
			if k < current && tt.Status != batches.TaskStatusCompleted {
				t.Errorf("batch %d (%s) tier %d before the current %d is %s", i, b.Status, k, current, tt.Status)
			}
		}
		last := b.TierTasks[len(b.TierTasks)-1].Status
		switch b.Status {
		case batches.TaskStatusCompleted, batches.TaskStatusActive, batches.TaskStatusArchived:
			if counts[batches.TaskStatusCompleted] != b.TotalTiers {
				t.Errorf("batch %d (%s): tiers %v", i, b.Status, counts)
			}
		case batches.TaskStatusCompletedWithErrors:
			if last != b.Status || len(b.TierTasks[len(b.TierTasks)-1].Errors) == 0 {
				t.Errorf("batch %d (%s): last tier %s", i, b.Status, last)
			}
		case batches.TaskStatusFailed, batches.TaskStatusCanceled, batches.TaskStatusSuspended, batches.TaskStatusUnknown:
			if b.TierTasks[current].Status != b.Status {
				t.Errorf("batch %d (%s): current tier %d is %s", i, b.Status, current, b.TierTasks[current].Status)
			}
		case batches.TaskStatusInProgress, batches.TaskStatusProcessing:
			if b.TierTasks[current].Status != batches.TaskStatusInProgress {
				t.Errorf("batch %d (%s): current tier %d is %s", i, b.Status, current, b.TierTasks[current].Status)
			}
		case batches.TaskStatusPending, batches.TaskStatusSkipped:
			if counts[b.Status] != b.TotalTiers || current != -1 {
				t.Errorf("batch %d (%s): tiers %v, current %d", i, b.Status, counts, current)
			}
		}
	}
}
