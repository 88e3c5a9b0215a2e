package domain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mixpeekgo/batches"
)

// Realistic values for the processing of the demo batches.
var (
	// demoDerived are the collections the later tiers of COLLECTION
	// batches write, each read from the tier before.
	demoDerived = []string{"col_scenes01", "col_captions01", "col_faces01", "col_chunks01", "col_embeddings01"}
	// demoExtractors is the extractor of each collection.
	demoExtractors = map[string]string{
		"col_products01": "text_extractor", "col_catalogimg": "image_extractor", "col_supportdoc": "document_extractor",
		"col_videos2025": "video_extractor", "col_brandassets": "image_extractor", "col_scenes01": "scene_extractor",
		"col_captions01": "caption_extractor", "col_faces01": "face_identity_extractor", "col_chunks01": "text_extractor",
		"col_embeddings01": "embedding_extractor",
	}
	// demoFailureCategories is the category of each of demoFailures.
	demoFailureCategories = []batches.ErrorCategory{
		batches.ErrorCategoryNetwork, batches.ErrorCategoryAuthentication, batches.ErrorCategoryValidation,
		batches.ErrorCategoryNetwork, batches.ErrorCategoryResource, batches.ErrorCategoryValidation,
	}
	// demoErrorCategories is the category of each of demoErrorTypes.
	demoErrorCategories = map[string]batches.ErrorCategory{
		"timeout": batches.ErrorCategoryNetwork, "unsupported_format": batches.ErrorCategoryValidation,
		"download_failed": batches.ErrorCategoryNetwork, "extraction_error": batches.ErrorCategoryRuntime,
		"file_too_large": batches.ErrorCategoryResource,
	}
	demoSuggestions = map[batches.ErrorCategory]string{
		batches.ErrorCategoryNetwork:        "retry the batch; transient errors usually pass",
		batches.ErrorCategoryAuthentication: "check the storage credentials of the bucket",
		batches.ErrorCategoryValidation:     "convert the objects to a supported format",
		batches.ErrorCategoryResource:       "split the batch or raise the collection's limits",
		batches.ErrorCategoryRuntime:        "retry the batch; report the traceback if it fails again",
	}
)

// demoProcessing gives the demo batch b, the i-th, what its processing
// left: for every batch but a draft, its manifest, loaded objects, engine
// metadata and one tier task a tier, each with its extractor jobs, times,
// document counts and errors, their statuses following the batch's (tiers
// before the current one COMPLETED, the current one as the batch, the
// later ones PENDING); the DAG of its collections (dag_tiers, the later
// tiers of a COLLECTION batch writing derived collections, which join its
// collection_ids); and the current tier where its status implies one. Its
// draws come from a generator of its own, seeded with i, so that the
// batches' other values are those they have always had.
func demoProcessing(b *Batch, i int) {
	g := demoRand{rng: rand.New(rand.NewPCG(20251111, uint64(i))), seen: map[string]bool{}}
	if b.CollectionIDs != nil {
		b.DagTiers = [][]string{slices.Clone(b.CollectionIDs)}
		for k := 1; k < b.TotalTiers; k++ {
			derived := demoDerived[(i+k)%len(demoDerived)]
			b.DagTiers = append(b.DagTiers, []string{derived})
			b.CollectionIDs = append(b.CollectionIDs, derived)
		}
	}
	b.TierTasks = []TierTask{} // as listed
	switch b.Status {
	case batches.TaskStatusDraft:
		return
	case batches.TaskStatusPending, batches.TaskStatusSkipped:
	default:
		if b.CurrentTier == nil {
			tier := 0
			if b.Status.IsTerminal() || b.Status == batches.TaskStatusActive || b.Status == batches.TaskStatusArchived {
				tier = b.TotalTiers - 1
			}
			b.CurrentTier = &tier
		}
	}
	manifest := fmt.Sprintf("manifests/%s/%s/tier_0.parquet", b.BucketID, b.BatchID)
	b.ManifestKey = &manifest
	b.LoadedObjectIDs = slices.Clone(b.ObjectIDs)

	current := -1 // no tier has started
	if b.CurrentTier != nil {
		current = *b.CurrentTier
	}
	// The tiers that started share the time between the batch's creation
	// (after a short queue) and its last change.
	span := b.UpdatedAt.Sub(b.CreatedAt)
	queued := span / 20
	share := (span - queued) / time.Duration(max(current+1, 1))
	docs := len(b.ObjectIDs)
	var parent *string
	b.TierTasks = make([]TierTask, b.TotalTiers)
	for k := range b.TierTasks {
		t := TierTask{TierNum: k, SourceType: "bucket", Status: demoTierStatus(b.Status, k, current)}
		if k > 0 {
			t.SourceType = "collection"
		}
		if b.DagTiers != nil {
			t.CollectionIDs = slices.Clone(b.DagTiers[k])
			if k > 0 {
				t.SourceCollectionIDs = slices.Clone(b.DagTiers[k-1])
			}
		}
		if k > current || t.Status == batches.TaskStatusSkipped {
			b.TierTasks[k] = t // not started
			continue
		}
		task := g.id("task_")
		if k == 0 && b.TaskID != nil {
			task = *b.TaskID
		}
		t.TaskID, t.ParentTaskID = &task, parent
		parent = &task
		ray, celery := "raysubmit_"+g.token(16), g.uuid()
		t.RayJobID, t.CeleryTaskID = &ray, &celery
		started := b.CreatedAt.Add(queued + time.Duration(k)*share)
		t.StartedAt = &started
		missing := 0
		if docs > 8 && g.rng.IntN(4) == 0 {
			missing = 1 + g.rng.IntN(docs/8)
		}
		t.SourceDocumentsFetched, t.DocumentsAfterSourceFilter = ptrTo(docs), ptrTo(docs)
		t.DocumentsMissingInputFields, t.DocumentsSubmittedToEngine = ptrTo(missing), ptrTo(docs-missing)
		finished := t.Status != batches.TaskStatusInProgress && t.Status != batches.TaskStatusSuspended &&
			t.Status != batches.TaskStatusUnknown
		var completed time.Time
		if finished {
			completed = started.Add(share - share/10)
			t.CompletedAt, t.DurationMs = &completed, durationMs(started, completed)
		}
		t.Errors, t.ErrorSummary = g.tierErrors(b, t.Status, completed)
		failed := 0
		for _, n := range t.ErrorSummary {
			failed += n
		}
		written := max(docs-missing-failed, 0)
		if finished && t.Status != batches.TaskStatusFailed && t.Status != batches.TaskStatusCanceled {
			t.DocumentsWritten = &written
			t.Performance = map[string]any{
				"docs_per_second": math.Round(float64(written)/math.Max(completed.Sub(started).Seconds(), 0.001)*100) / 100,
				"peak_memory_mb":  256 + g.rng.IntN(1792),
				"gpu_seconds":     math.Round(g.rng.Float64()*float64(written)*40) / 10,
			}
		}
		for _, c := range t.CollectionIDs {
			job := ExtractorJob{
				ExtractorType: demoExtractors[c], CollectionIDs: []string{c}, Status: t.Status,
				StartedAt: t.StartedAt, CompletedAt: t.CompletedAt, DurationMs: t.DurationMs,
				Errors: t.Errors,
			}
			jobRay, jobCelery := "raysubmit_"+g.token(16), celery
			job.RayJobID, job.CeleryTaskID = &jobRay, &jobCelery
			if t.DocumentsWritten != nil {
				job.DocumentsWritten = t.DocumentsWritten
			}
			if t.Status == batches.TaskStatusFailed && b.Error != nil {
				job.Error = b.Error
			}
			t.ExtractorJobs = append(t.ExtractorJobs, job)
		}
		docs = written
		b.TierTasks[k] = t
	}
	b.InternalMetadata = map[string]any{"engine_version": "0.81.1"}
	if len(b.TierTasks) > 0 && b.TierTasks[0].RayJobID != nil {
		b.InternalMetadata["job_id"] = *b.TierTasks[0].RayJobID
	}
}

// demoTierStatus is the status of tier k of a batch of status s whose
// current tier is current (-1 when none has started).
func demoTierStatus(s batches.TaskStatus, k, current int) batches.TaskStatus {
	switch {
	case s == batches.TaskStatusSkipped:
		return batches.TaskStatusSkipped
	case k < current:
		return batches.TaskStatusCompleted
	case k > current:
		if s == batches.TaskStatusCanceled {
			return batches.TaskStatusCanceled
		}
		return batches.TaskStatusPending
	}
	switch s {
	case batches.TaskStatusProcessing, batches.TaskStatusInProgress:
		return batches.TaskStatusInProgress
	case batches.TaskStatusActive, batches.TaskStatusArchived:
		return batches.TaskStatusCompleted
	}
	return s // COMPLETED, COMPLETED_WITH_ERRORS, FAILED, CANCELED, SUSPENDED, UNKNOWN
}

// tierErrors returns the errors and error summary of a tier of status s of
// the batch b, finished at at: a FAILED tier's failure (b.Error), and the
// failures a COMPLETED_WITH_ERRORS tier counts in b.ErrorSummary.
func (g *demoRand) tierErrors(b *Batch, s batches.TaskStatus, at time.Time) ([]BatchError, map[string]int) {
	var (
		errs    []BatchError
		summary map[string]int
	)
	add := func(cat batches.ErrorCategory, msg string, n int) {
		n = max(n, 1)
		e := BatchError{ErrorType: cat, Message: msg, AffectedCount: n, Timestamp: &at,
			Metadata: map[string]any{"retry_count": g.rng.IntN(4)}}
		component, stage := "engine", "extraction"
		e.Component, e.Stage = &component, &stage
		if sug, ok := demoSuggestions[cat]; ok {
			e.RecoverySuggestion = &sug
		}
		e.AffectedDocumentIDs = slices.Clone(b.ObjectIDs[:min(n, len(b.ObjectIDs))])
		errs = append(errs, e)
	}
	switch s {
	case batches.TaskStatusFailed:
		msg := "the tier failed"
		if b.Error != nil {
			msg = *b.Error
		}
		cat := batches.ErrorCategoryRuntime
		if j := slices.Index(demoFailures, msg); j >= 0 {
			cat = demoFailureCategories[j]
		}
		add(cat, msg, len(b.ObjectIDs))
		if b.ErrorSummary != nil {
			summary = b.ErrorSummary
		}
	case batches.TaskStatusCompletedWithErrors:
		summary = b.ErrorSummary
		keys := make([]string, 0, len(summary))
		for k := range summary {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			noun := "objects"
			if summary[k] == 1 {
				noun = "object"
			}
			add(demoErrorCategories[k], fmt.Sprintf("%s: %d %s failed", k, summary[k], noun), summary[k])
		}
	}
	return errs, summary
}

// token returns n random characters of idAlphabet.
func (g *demoRand) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[g.rng.IntN(len(idAlphabet))]
	}
	return string(b)
}

// uuid returns a random UUID (version 4) in its usual form.
func (g *demoRand) uuid() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		case 14:
			b[i] = '4'
		case 19:
			b[i] = hex[8+g.rng.IntN(4)]
		default:
			b[i] = hex[g.rng.IntN(16)]
		}
	}
	return string(b)
}

func ptrTo[T any](v T) *T { return &v }
