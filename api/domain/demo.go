package domain

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mixpeekgo/batches"
)

// Names of what [Admin.SeedDemo] creates.
const (
	DemoOrganizationName = "Demo"
	DemoNamespaceName    = "demo"
	DemoBucketID         = "bkt_demo"
	DemoBucketName       = "demo"
	// DemoBatchCount is the number of batches in the demo bucket.
	DemoBatchCount = 300
)

// DemoInfo is what [Admin.SeedDemo] created.
type DemoInfo struct {
	OrganizationID string // "org_…"
	NamespaceID    string // "ns_…"
	NamespaceName  string // "demo"
	BucketID       string // "bkt_demo"
	APIKey         string // the demo organization's API key, in clear
}

// DemoTenant returns the tenant of the demo ([Admin.SeedDemo]), with the
// API key apiKey ("" for a new one).
func DemoTenant(apiKey string) Tenant {
	return Tenant{
		Organization: DemoOrganizationName,
		Namespace:    DemoNamespaceName,
		BucketName:   DemoBucketName,
		BucketID:     DemoBucketID,
		APIKey:       apiKey,
	}
}

// Realistic values for the demo batches.
var (
	demoCollections = []string{"col_products01", "col_catalogimg", "col_supportdoc", "col_videos2025", "col_brandassets"}
	demoSources     = []string{"s3-sync", "s3-sync", "s3-sync", "nightly-import", "nightly-import", "api", "webhook", "manual-upload", "gcs-sync"}
	demoTriggers    = []string{"scheduler", "scheduler", "user:alice@acme.io", "user:bob@acme.io", "ci:catalog-pipeline"}
	demoPipelines   = []string{"catalog-enrichment-v2", "video-scenes-v1", "doc-chunking-v3"}
	demoFailures    = []string{
		"extractor timed out after 300s",
		"access denied reading s3://acme-media/uploads: check the bucket policy",
		"all objects failed: unsupported_format",
		"embedding service unavailable (HTTP 503) after 5 retries",
		"collection col_catalogimg was deleted while the batch was processing",
		"object limit exceeded: a batch holds at most 10000 objects",
	}
	demoErrorTypes = []string{"timeout", "unsupported_format", "download_failed", "extraction_error", "file_too_large"}
	demoUnknown    = "lost contact with the processing worker; the task status could not be determined"
)

// The shape of the demo: batches created over demoWindow before now, the
// demoRecent newest in the last 3 hours; only batches older than
// demoArchiveAge are archived.
const (
	demoWindow     = 90 * 24 * time.Hour
	demoRecent     = 10
	demoArchiveAge = 45 * 24 * time.Hour
)

// The statuses of the demo, drawn by weight (out of 1000). None is
// PENDING, IN_PROGRESS or PROCESSING: the demo's batches are history,
// which nothing processes (their tasks are not stored), and one shown in
// flight would stay so forever; the batches that move are those the demo
// submits (SubmitDemoBatches, batchesd's --demo-processing).
var (
	demoSettled = []struct {
		status batches.TaskStatus
		weight int
	}{
		{batches.TaskStatusCompleted, 660},
		{batches.TaskStatusCompletedWithErrors, 100},
		{batches.TaskStatusFailed, 80},
		{batches.TaskStatusCanceled, 40},
		{batches.TaskStatusSkipped, 25},
		{batches.TaskStatusArchived, 30},
		{batches.TaskStatusDraft, 25},
		{batches.TaskStatusActive, 15},
		{batches.TaskStatusSuspended, 15},
		{batches.TaskStatusUnknown, 10},
	}
)

// DemoBatches returns the 300 demo batches of [Admin.SeedDemo] for the
// bucket bucketID, in no order, created over the 90 days before now (UTC,
// nanoseconds kept), every UpdatedAt between its CreatedAt and now. Apart
// from the timestamps, which move with now, the result is the same on every
// call (a fixed random seed): most are COMPLETED; some FAILED (with an
// error), COMPLETED_WITH_ERRORS (with an error_summary), CANCELED, SKIPPED,
// DRAFT and so on; every TaskStatus occurs but PENDING, IN_PROGRESS and
// PROCESSING, which none has (nothing would move them). A few are COLLECTION
// batches with several tiers. Every batch but the drafts has a tier task a
// tier, whose statuses, times, counts and errors agree with the batch's
// (demoProcessing).
func DemoBatches(now time.Time, bucketID string) []Batch {
	g := demoRand{rng: rand.New(rand.NewPCG(20250604, 0x6d6978706565)), seen: map[string]bool{}}
	now = now.UTC()
	ages := g.ages()
	statuses := g.statuses(ages)
	out := make([]Batch, DemoBatchCount)
	for i := range out {
		out[i] = g.batch(i, statuses[i], now.Add(-ages[i]), ages[i])
		out[i].BucketID = bucketID
		demoProcessing(&out[i], i)
	}
	return out
}

// demoRand draws the demo's values, in a fixed order from a fixed seed.
type demoRand struct {
	rng  *rand.Rand
	seen map[string]bool // the ids drawn
}

// id returns a new id: prefix and 12 characters, as NewID's.
func (g *demoRand) id(prefix string) string {
	for {
		b := make([]byte, idLength)
		for i := range b {
			b[i] = idAlphabet[g.rng.IntN(len(idAlphabet))]
		}
		if s := prefix + string(b); !g.seen[s] {
			g.seen[s] = true
			return s
		}
	}
}

func (g *demoRand) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

// between returns a duration in [lo, hi), or lo when hi ≤ lo.
func (g *demoRand) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

// ages returns the age of each batch, newest first: the demoRecent first
// within the last 3 hours, the rest spread over the window, denser
// towards now.
func (g *demoRand) ages() []time.Duration {
	ages := make([]time.Duration, DemoBatchCount)
	for i := range ages {
		if i < demoRecent {
			ages[i] = g.between(20*time.Second, 3*time.Hour)
		} else {
			u := math.Pow(g.rng.Float64(), 1.3)
			ages[i] = 3*time.Hour + time.Duration(u*float64(demoWindow-3*time.Hour))
		}
	}
	return ages
}

// statuses returns the status of each batch: weighted settled ones
// (ARCHIVED only when old), then each status still missing, but the
// active ones, given to a COMPLETED batch.
func (g *demoRand) statuses(ages []time.Duration) []batches.TaskStatus {
	totalWeight := 0
	for _, w := range demoSettled {
		totalWeight += w.weight
	}
	statuses := make([]batches.TaskStatus, len(ages))
	present := map[batches.TaskStatus]bool{}
	for i := range statuses {
		r := g.rng.IntN(totalWeight)
		for _, w := range demoSettled {
			if r < w.weight {
				statuses[i] = w.status
				break
			}
			r -= w.weight
		}
		if statuses[i] == batches.TaskStatusArchived && ages[i] < demoArchiveAge {
			statuses[i] = batches.TaskStatusCompleted
		}
		present[statuses[i]] = true
	}
	for _, s := range batches.TaskStatuses() {
		if s.IsActive() {
			continue
		}
		for i := demoRecent; !present[s] && i < len(statuses); i++ {
			if statuses[i] == batches.TaskStatusCompleted && (s != batches.TaskStatusArchived || ages[i] >= demoArchiveAge) {
				statuses[i], present[s] = s, true
			}
		}
	}
	return statuses
}

// batch returns the i-th demo batch, of status, created at created, age
// before now.
func (g *demoRand) batch(i int, status batches.TaskStatus, created time.Time, age time.Duration) Batch {
	b := Batch{
		BatchID:    g.id("btch_"),
		Status:     status,
		Type:       batches.BatchTypeBucket,
		TotalTiers: 1,
		CreatedAt:  created,
		Metadata:   map[string]any{},
	}
	g.objects(&b)
	g.collections(&b, i)
	g.outcome(&b)
	g.metadata(&b)
	b.UpdatedAt = created.Add(min(g.sinceCreated(&b, age), age))
	return b
}

// objects gives b 1 or more objects, up to 250, most a few (a draft 0 to
// 3, a batch with errors at least 4).
func (g *demoRand) objects(b *Batch) {
	n := 1 + int(g.rng.ExpFloat64()*14)
	switch b.Status {
	case batches.TaskStatusDraft:
		n = g.rng.IntN(4)
	case batches.TaskStatusCompletedWithErrors:
		n = max(n, 4)
	}
	b.ObjectIDs = make([]string, min(n, 250))
	for j := range b.ObjectIDs {
		b.ObjectIDs[j] = g.id("obj_")
	}
}

// collections makes every 25th batch (the i-th) a COLLECTION batch feeding
// one or two collections in 2 to 4 tiers, the current one set by its
// status; half of the others feed one collection.
func (g *demoRand) collections(b *Batch, i int) {
	if i%25 != 7 {
		if g.rng.IntN(2) == 0 {
			b.CollectionIDs = []string{g.pick(demoCollections)}
		}
		return
	}
	b.Type = batches.BatchTypeCollection
	b.TotalTiers = 2 + g.rng.IntN(3)
	b.CollectionIDs = []string{g.pick(demoCollections)}
	if g.rng.IntN(2) == 0 {
		if c := g.pick(demoCollections); c != b.CollectionIDs[0] {
			b.CollectionIDs = append(b.CollectionIDs, c)
		}
	}
	// The tier being processed (0-based), or the last one once done;
	// demoProcessing sets it for the other statuses.
	switch b.Status {
	case batches.TaskStatusProcessing, batches.TaskStatusInProgress,
		batches.TaskStatusFailed, batches.TaskStatusCanceled, batches.TaskStatusSuspended:
		tier := g.rng.IntN(b.TotalTiers)
		b.CurrentTier = &tier
	case batches.TaskStatusCompleted, batches.TaskStatusCompletedWithErrors,
		batches.TaskStatusActive, batches.TaskStatusArchived:
		tier := b.TotalTiers - 1
		b.CurrentTier = &tier
	}
}

// outcome gives b a task unless it is a draft or skipped, and an error or
// an error summary as its status has.
func (g *demoRand) outcome(b *Batch) {
	if b.Status != batches.TaskStatusDraft && b.Status != batches.TaskStatusSkipped {
		task := g.id("task_")
		b.TaskID = &task
	}
	n := len(b.ObjectIDs)
	switch b.Status {
	case batches.TaskStatusFailed:
		msg := g.pick(demoFailures)
		b.Error = &msg
		if g.rng.IntN(2) == 0 {
			b.ErrorSummary = map[string]int{g.pick(demoErrorTypes): n}
		}
	case batches.TaskStatusCompletedWithErrors:
		failed := 1 + g.rng.IntN(max(1, n/3))
		b.ErrorSummary = map[string]int{}
		for failed > 0 {
			k := min(failed, 1+g.rng.IntN(failed))
			b.ErrorSummary[g.pick(demoErrorTypes)] += k
			failed -= k
		}
	case batches.TaskStatusUnknown:
		msg := demoUnknown
		b.Error = &msg
	}
}

// metadata gives 9 batches in 10 a source, and some a trigger, a pipeline
// (COLLECTION batches), a priority or a retry count (more often FAILED
// ones).
func (g *demoRand) metadata(b *Batch) {
	if g.rng.IntN(10) == 0 {
		return
	}
	b.Metadata["source"] = g.pick(demoSources)
	if g.rng.IntN(5) < 2 {
		b.Metadata["triggered_by"] = g.pick(demoTriggers)
	}
	if b.Type == batches.BatchTypeCollection {
		b.Metadata["pipeline"] = g.pick(demoPipelines)
	}
	if g.rng.IntN(6) == 0 {
		b.Metadata["priority"] = "high"
	}
	if b.Status == batches.TaskStatusFailed || g.rng.IntN(15) == 0 {
		b.Metadata["retry_count"] = g.rng.IntN(4)
	}
}

// sinceCreated returns how long after its creation b last changed (the
// caller caps it at its age): drafts are edited soon after creation,
// pending ones were just queued, running ones moved at some point since,
// settled ones took their processing time, archived ones were archived
// weeks later.
func (g *demoRand) sinceCreated(b *Batch, age time.Duration) time.Duration {
	processing := time.Duration(len(b.ObjectIDs))*g.between(2*time.Second, 12*time.Second) +
		time.Duration(b.TotalTiers)*g.between(15*time.Second, 90*time.Second)
	switch b.Status {
	case batches.TaskStatusDraft:
		return g.between(0, 10*time.Minute)
	case batches.TaskStatusPending:
		return g.between(0, 2*time.Second)
	case batches.TaskStatusProcessing, batches.TaskStatusInProgress:
		return g.between(0, age)
	case batches.TaskStatusArchived:
		return g.between(30*24*time.Hour, age)
	case batches.TaskStatusActive, batches.TaskStatusSuspended:
		return g.between(time.Hour, 72*time.Hour)
	case batches.TaskStatusCanceled, batches.TaskStatusFailed:
		return processing / time.Duration(1+g.rng.IntN(4))
	}
	return processing
}

// SubmitDemoBatches creates n batches of a few objects each in the bucket
// of s, and submits them, so that the demo shows batches being processed
// (their tiers take the processing's time): its first error, if any.
func SubmitDemoBatches(ctx context.Context, l Lifecycle, s Scope, n int) error {
	for i := range n {
		ids := make([]string, 2+i%4)
		for j := range ids {
			ids[j] = NewID("obj_")
		}
		doc, err := l.CreateBatch(ctx, s, ids)
		if err != nil {
			return err
		}
		b, err := DecodeBatch(doc)
		if err != nil {
			return err
		}
		if _, err := l.SubmitBatch(ctx, s, b.BatchID, SubmitOptions{IncludeProcessingHistory: true}); err != nil {
			return err
		}
	}
	return nil
}
