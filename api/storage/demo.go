package storage

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/mixpeekgo/batches/generated/server"
)

// Names of what a SeedDemo creates.
const (
	DemoOrganizationName = "Demo"
	DemoNamespaceName    = "demo"
	DemoBucketID         = "bkt_demo"
	DemoBucketName       = "demo"
	// DemoBatchCount is the number of batches in the demo bucket.
	DemoBatchCount = 300
)

// DemoInfo is what a SeedDemo created.
type DemoInfo struct {
	OrganizationID string // "org_…"
	NamespaceID    string // "ns_…"
	NamespaceName  string // "demo"
	BucketID       string // "bkt_demo"
	APIKey         string // the demo organization's API key, in clear
}

// demoSeed is the fixed seed of the demo batches.
const demoSeed = 20250604

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

// DemoBatches returns the 300 demo batches of a SeedDemo for the bucket
// bucketID, created over the 90 days before now (UTC, nanoseconds kept),
// every UpdatedAt between its CreatedAt and now. Apart from the timestamps,
// which move with now, the result is the same on every call.
func DemoBatches(now time.Time, bucketID string) []server.Batch {
	rng := rand.New(rand.NewPCG(demoSeed, 0x6d6978706565))
	now = now.UTC()
	const (
		window = 90 * 24 * time.Hour
		recent = 10 // the newest batches, still in flight
	)
	seen := map[string]bool{}
	id := func(prefix string) string {
		for {
			b := make([]byte, idLength)
			for i := range b {
				b[i] = idAlphabet[rng.IntN(len(idAlphabet))]
			}
			if s := prefix + string(b); !seen[s] {
				seen[s] = true
				return s
			}
		}
	}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	between := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}

	// Ages: the first few within the last 3 hours, the rest spread over
	// the window, denser towards now.
	ages := make([]time.Duration, DemoBatchCount)
	for i := range ages {
		if i < recent {
			ages[i] = between(20*time.Second, 3*time.Hour)
		} else {
			u := math.Pow(rng.Float64(), 1.3)
			ages[i] = 3*time.Hour + time.Duration(u*float64(window-3*time.Hour))
		}
	}

	// Statuses: in flight for the newest, weighted settled ones for the
	// rest, then each status still missing given to a COMPLETED batch.
	inFlight := []server.TaskStatus{server.TaskStatusPROCESSING, server.TaskStatusINPROGRESS, server.TaskStatusPENDING}
	settled := []struct {
		s server.TaskStatus
		w int
	}{
		{server.TaskStatusCOMPLETED, 660},
		{server.TaskStatusCOMPLETEDWITHERRORS, 100},
		{server.TaskStatusFAILED, 80},
		{server.TaskStatusCANCELED, 40},
		{server.TaskStatusSKIPPED, 25},
		{server.TaskStatusARCHIVED, 30},
		{server.TaskStatusDRAFT, 25},
		{server.TaskStatusACTIVE, 15},
		{server.TaskStatusSUSPENDED, 15},
		{server.TaskStatusUNKNOWN, 10},
	}
	totalWeight := 0
	for _, w := range settled {
		totalWeight += w.w
	}
	statuses := make([]server.TaskStatus, DemoBatchCount)
	present := map[server.TaskStatus]bool{}
	for i := range statuses {
		switch {
		case i < len(inFlight):
			statuses[i] = inFlight[i]
		case i < recent:
			statuses[i] = inFlight[rng.IntN(len(inFlight))]
		default:
			r := rng.IntN(totalWeight)
			for _, w := range settled {
				if r < w.w {
					statuses[i] = w.s
					break
				}
				r -= w.w
			}
			if statuses[i] == server.TaskStatusARCHIVED && ages[i] < 45*24*time.Hour {
				statuses[i] = server.TaskStatusCOMPLETED // only old batches get archived
			}
		}
		present[statuses[i]] = true
	}
	for _, s := range TaskStatuses() {
		for i := recent; !present[s] && i < DemoBatchCount; i++ {
			if statuses[i] == server.TaskStatusCOMPLETED && (s != server.TaskStatusARCHIVED || ages[i] >= 45*24*time.Hour) {
				statuses[i], present[s] = s, true
			}
		}
	}

	batches := make([]server.Batch, DemoBatchCount)
	for i := range batches {
		status, age := statuses[i], ages[i]
		b := server.Batch{
			BatchId:    id("btch_"),
			BucketId:   bucketID,
			Status:     status,
			Type:       server.BatchTypeBUCKET,
			TotalTiers: 1,
			CreatedAt:  now.Add(-age),
			Metadata:   map[string]any{},
		}

		// Objects.
		n := 1 + int(rng.ExpFloat64()*14)
		switch status {
		case server.TaskStatusDRAFT:
			n = rng.IntN(4) // a draft may be empty
		case server.TaskStatusCOMPLETEDWITHERRORS:
			n = max(n, 4)
		}
		n = min(n, 250)
		b.ObjectIds = make([]string, n)
		for j := range b.ObjectIds {
			b.ObjectIds[j] = id("obj_")
		}

		// Type, tiers and collections: every 25th batch feeds collections
		// in tiers; half of the others feed one collection.
		if i%25 == 7 {
			b.Type = server.BatchTypeCOLLECTION
			b.TotalTiers = 2 + rng.IntN(3)
			cols := []string{pick(demoCollections)}
			if rng.IntN(2) == 0 {
				if c := pick(demoCollections); c != cols[0] {
					cols = append(cols, c)
				}
			}
			b.CollectionIds = &cols
			var tier int
			switch status {
			case server.TaskStatusPROCESSING, server.TaskStatusINPROGRESS,
				server.TaskStatusFAILED, server.TaskStatusCANCELED, server.TaskStatusSUSPENDED:
				tier = 1 + rng.IntN(b.TotalTiers)
			case server.TaskStatusCOMPLETED, server.TaskStatusCOMPLETEDWITHERRORS,
				server.TaskStatusACTIVE, server.TaskStatusARCHIVED:
				tier = b.TotalTiers
			}
			if tier > 0 {
				b.CurrentTier = &tier
			}
		} else if rng.IntN(2) == 0 {
			cols := []string{pick(demoCollections)}
			b.CollectionIds = &cols
		}

		// Task, error and error summary.
		if status != server.TaskStatusDRAFT && status != server.TaskStatusSKIPPED {
			task := id("task_")
			b.TaskId = &task
		}
		switch status {
		case server.TaskStatusFAILED:
			msg := pick(demoFailures)
			b.Error = &msg
			if rng.IntN(2) == 0 {
				sum := map[string]int{pick(demoErrorTypes): n}
				b.ErrorSummary = &sum
			}
		case server.TaskStatusCOMPLETEDWITHERRORS:
			failed := 1 + rng.IntN(max(1, n/3))
			sum := map[string]int{}
			for failed > 0 {
				k := min(failed, 1+rng.IntN(failed))
				sum[pick(demoErrorTypes)] += k
				failed -= k
			}
			b.ErrorSummary = &sum
		case server.TaskStatusUNKNOWN:
			msg := demoUnknown
			b.Error = &msg
		}

		// Metadata.
		if rng.IntN(10) > 0 {
			b.Metadata["source"] = pick(demoSources)
			if rng.IntN(5) < 2 {
				b.Metadata["triggered_by"] = pick(demoTriggers)
			}
			if b.Type == server.BatchTypeCOLLECTION {
				b.Metadata["pipeline"] = pick(demoPipelines)
			}
			if rng.IntN(6) == 0 {
				b.Metadata["priority"] = "high"
			}
			if status == server.TaskStatusFAILED || rng.IntN(15) == 0 {
				b.Metadata["retry_count"] = rng.IntN(4)
			}
		}

		// Last change: drafts are edited soon after creation, pending ones
		// were just queued, running ones moved at some point since, settled
		// ones took their processing time, archived ones were archived
		// weeks later; never after now.
		var d time.Duration
		processing := time.Duration(n)*between(2*time.Second, 12*time.Second) + time.Duration(b.TotalTiers)*between(15*time.Second, 90*time.Second)
		switch status {
		case server.TaskStatusDRAFT:
			d = between(0, 10*time.Minute)
		case server.TaskStatusPENDING:
			d = between(0, 2*time.Second)
		case server.TaskStatusPROCESSING, server.TaskStatusINPROGRESS:
			d = between(0, age)
		case server.TaskStatusARCHIVED:
			d = between(30*24*time.Hour, age)
		case server.TaskStatusACTIVE, server.TaskStatusSUSPENDED:
			d = between(time.Hour, 72*time.Hour)
		case server.TaskStatusCANCELED, server.TaskStatusFAILED:
			d = processing / time.Duration(1+rng.IntN(4))
		default:
			d = processing
		}
		b.UpdatedAt = b.CreatedAt.Add(min(d, age))
		batches[i] = b
	}
	return batches
}
