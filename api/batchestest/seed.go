package batchestest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// seedEpoch is the Server's seed clock at start: the first batch seeded
// with a zero CreatedAt is created a minute later, 2025-06-01T12:01:00Z.
var seedEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// seedTick is the time between two batches seeded by one Server.
const seedTick = time.Minute

// statusCycle gives the status of NewBatches' i-th batch, i modulo 20:
// mostly COMPLETED, as in a live bucket, and each of the 13 statuses of
// the contract once in every 20 batches, so that a filter on any status
// finds some.
var statusCycle = []batches.TaskStatus{
	batches.TaskStatusProcessing, batches.TaskStatusCompleted, batches.TaskStatusCompleted,
	batches.TaskStatusFailed, batches.TaskStatusCompleted, batches.TaskStatusCompletedWithErrors,
	batches.TaskStatusPending, batches.TaskStatusCompleted, batches.TaskStatusCanceled,
	batches.TaskStatusInProgress, batches.TaskStatusCompleted, batches.TaskStatusSkipped,
	batches.TaskStatusCompleted, batches.TaskStatusDraft, batches.TaskStatusArchived,
	batches.TaskStatusCompleted, batches.TaskStatusActive, batches.TaskStatusSuspended,
	batches.TaskStatusCompleted, batches.TaskStatusUnknown,
}

var (
	sources     = []string{"s3-sync", "nightly-import", "api", "webhook", "manual-upload"}
	collections = []string{"col_products01", "col_catalogimg", "col_supportdoc"}
	failures    = []string{
		"extractor timed out after 300s",
		"access denied reading s3://acme-media/uploads: check the bucket policy",
		"embedding service unavailable (HTTP 503) after 5 retries",
	}
	errorKinds = []string{"timeout", "unsupported_format", "download_failed"}
)

// NewBatches returns n realistic batches, newest first: the i-th (from 0)
// created i minutes before newest (in UTC) and updated some seconds after
// it was created (never after newest). Each has a new random id "btch_…",
// so batches of different calls never collide, and no BucketID (AddBatches
// sets it). Everything else follows from i alone:
//
//   - status: the i-th of a cycle of 20 that holds every TaskStatus once
//     and COMPLETED 8 times (i = 0 is PROCESSING, 1 COMPLETED, 3 FAILED, 5
//     COMPLETED_WITH_ERRORS, …);
//   - type COLLECTION with 3 tiers for every 10th (i = 9, 19, …), BUCKET
//     with 1 tier otherwise; collection_ids for those and every odd one;
//   - 1 to 8 object ids, 0 for a DRAFT;
//   - error for FAILED and UNKNOWN, error_summary for COMPLETED_WITH_ERRORS
//     (and every other FAILED), task_id for all but DRAFT and SKIPPED;
//   - metadata {"source": …} and, for every 4th, "priority": "high".
//
// Use the result as given or change fields before [Server.AddBatches].
func NewBatches(n int, newest time.Time) []batches.Batch {
	newest = newest.UTC()
	out := make([]batches.Batch, max(n, 0))
	for i := range out {
		out[i] = newBatch(i, newest.Add(-time.Duration(i)*seedTick), newest)
	}
	return out
}

func newBatch(i int, created, notAfter time.Time) batches.Batch {
	status := statusCycle[i%len(statusCycle)]
	b := batches.Batch{
		BatchID:    domain.NewID("btch_"),
		Status:     status,
		Type:       batches.BatchTypeBucket,
		TotalTiers: 1,
		TierTasks:  []batches.TierTask{}, // as listed: none, and [] on the wire
		CreatedAt:  created,
		Metadata:   map[string]any{"source": sources[i%len(sources)]},
	}
	if i%4 == 2 {
		b.Metadata["priority"] = "high"
	}
	objects := 1 + i%8
	if status == batches.TaskStatusDraft {
		objects = 0
	}
	b.ObjectIDs = make([]string, objects)
	for j := range b.ObjectIDs {
		b.ObjectIDs[j] = fmt.Sprintf("obj_%06d%06d", i, j)
	}
	if i%10 == 9 {
		b.Type = batches.BatchTypeCollection
		b.TotalTiers = 3
		tier := i % 3 // 0-based
		b.CurrentTier = &tier
	}
	if i%2 == 1 {
		b.CollectionIDs = []string{collections[i%len(collections)]}
	}
	if status != batches.TaskStatusDraft && status != batches.TaskStatusSkipped {
		task := fmt.Sprintf("task_%012d", i)
		b.TaskID = &task
	}
	switch status {
	case batches.TaskStatusFailed:
		msg := failures[i%len(failures)]
		b.Error = &msg
		if i%40 == 3 {
			b.ErrorSummary = map[string]int{errorKinds[i%len(errorKinds)]: objects}
		}
	case batches.TaskStatusCompletedWithErrors:
		b.ErrorSummary = map[string]int{errorKinds[i%len(errorKinds)]: 1 + i%max(objects-1, 1)}
	case batches.TaskStatusUnknown:
		msg := "lost contact with the processing worker"
		b.Error = &msg
	}
	b.UpdatedAt = created.Add(time.Duration(5+i%50) * time.Second)
	if b.UpdatedAt.After(notAfter) {
		b.UpdatedAt = notAfter
	}
	return b
}

// AddBatches stores bs in the bucket (an id: s.Bucket or what AddBucket
// returned), all of them or, on any error, none, and returns them as List
// Batches answers them: in the order given, BucketID set to bucket, times
// in UTC, a nil ObjectIDs or TierTasks as [] and a nil Metadata as {}, metadata numbers
// as float64 (as JSON decodes them). The Batches returned were not decoded
// from the server, so their RawJSON is nil: compare them with listed ones
// field by field (or by their json.Marshal), not with reflect.DeepEqual.
//
// Zero fields get Mixpeek's defaults: BatchID a new "btch_…", Status DRAFT,
// Type BUCKET, TotalTiers 1; a zero CreatedAt the next tick of the Server's
// seed clock, one minute after the newest batch seeded before on this
// Server (the first is 2025-06-01T12:01:00Z), so batches added later list
// first; a zero UpdatedAt its CreatedAt.
//
// It fails the test when the bucket does not exist, a BatchID is already
// stored (batch ids are unique across buckets) or repeated, or a batch is
// invalid (Status or Type outside the contract's enums, TotalTiers below 1,
// a time outside the years 1678 to 2261, metadata JSON cannot encode).
func (s *Server) AddBatches(bucket string, bs ...batches.Batch) []batches.Batch {
	s.t.Helper()
	out := make([]batches.Batch, len(bs))
	rows := make([]domain.Batch, len(bs))
	s.mu.Lock()
	clock := s.clock
	for i, b := range bs {
		if b.BatchID == "" {
			b.BatchID = domain.NewID("btch_")
		}
		if b.Status == "" {
			b.Status = batches.TaskStatusDraft
		}
		if b.Type == "" {
			b.Type = batches.BatchTypeBucket
		}
		if b.TotalTiers == 0 {
			b.TotalTiers = 1
		}
		if b.CreatedAt.IsZero() {
			clock = clock.Add(seedTick)
			b.CreatedAt = clock
		} else if b.CreatedAt.After(clock) {
			clock = b.CreatedAt
		}
		if b.UpdatedAt.IsZero() {
			b.UpdatedAt = b.CreatedAt
		}
		b, row, err := listed(bucket, b)
		if err != nil {
			s.mu.Unlock()
			s.t.Fatalf("batchestest: AddBatches: batch %d (%q): %v", i, b.BatchID, err)
		}
		out[i], rows[i] = b, row
	}
	s.mu.Unlock()
	if err := s.db.InsertBatches(context.Background(), bucket, rows); err != nil {
		s.t.Fatalf("batchestest: AddBatches(%q): %v", bucket, err)
	}
	s.mu.Lock()
	if clock.After(s.clock) {
		s.clock = clock
	}
	s.mu.Unlock()
	return out
}

// SeedBatches stores n batches of [NewBatches] in the bucket and returns
// them as List Batches answers them (see AddBatches), newest first: they
// take the next n ticks of the Server's seed clock (minutes apart), so a
// bucket seeded once lists exactly the result, and batches seeded later
// list first. It fails the test as AddBatches does.
func (s *Server) SeedBatches(bucket string, n int) []batches.Batch {
	s.t.Helper()
	s.mu.Lock()
	newest := s.clock.Add(time.Duration(max(n, 0)) * seedTick)
	s.mu.Unlock()
	return s.AddBatches(bucket, NewBatches(n, newest)...)
}

// listed returns b as the server lists it from bucket, and the row to store
// for it.
func listed(bucket string, b batches.Batch) (batches.Batch, domain.Batch, error) {
	b.BucketID = bucket
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	if b.ObjectIDs == nil {
		b.ObjectIDs = []string{}
	}
	if b.TierTasks == nil {
		b.TierTasks = []batches.TierTask{}
	}
	meta, err := json.Marshal(b.Metadata)
	if err != nil {
		return b, domain.Batch{}, fmt.Errorf("metadata: %w", err)
	}
	b.Metadata = nil
	if err := json.Unmarshal(meta, &b.Metadata); err != nil {
		return b, domain.Batch{}, fmt.Errorf("metadata: %w", err)
	}
	if b.Metadata == nil {
		b.Metadata = map[string]any{}
	}
	// The client's and the server's types come from one schema: the JSON
	// of one is the other's.
	data, err := json.Marshal(b)
	if err != nil {
		return b, domain.Batch{}, err
	}
	var row domain.Batch
	if err := json.Unmarshal(data, &row); err != nil {
		return b, domain.Batch{}, err
	}
	return b, row, nil
}
