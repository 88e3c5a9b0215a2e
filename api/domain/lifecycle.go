package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mixpeekgo/batches"
)

// The lifecycle of a batch, as pure functions on domain values: what each
// operation of the API and each step of the processing does to a batch and
// its tasks, and what it refuses. [NewLifecycle] runs them in the
// transactions of a backend (lifecycle_store.go); the backend only loads
// and saves rows.
//
//	create              → DRAFT (objects may be added)
//	submit  DRAFT       → PENDING, a new task (PENDING), one PENDING tier a tier
//	start tier k        → IN_PROGRESS, current_tier k, the tier IN_PROGRESS with a task of its own
//	finish tier k       → the tier COMPLETED, COMPLETED_WITH_ERRORS or FAILED; then
//	                      tier k+1 starts, or the batch ends: FAILED if a tier failed (the
//	                      later ones SKIPPED), else COMPLETED_WITH_ERRORS if a tier had
//	                      errors, else COMPLETED; its task ends alike
//	cancel  PENDING, IN_PROGRESS, PROCESSING → CANCELED, its task and unfinished tiers too
//	retry   FAILED, COMPLETED_WITH_ERRORS    → PENDING with a new task, from the first tier with errors
//
// A terminal task never changes; a batch changes from a terminal status
// only by a retry, which gives it a new task.

// Scope is where an operation of the API acts: the organization of the
// API key, and the namespace and bucket the request resolved (api's
// resolveBucket).
type Scope struct {
	OrganizationID, NamespaceID, BucketID string
}

// Job is one step of the processing of a batch, which a backend's queue
// runs at At ([Tx.Enqueue]).
type Job struct {
	BatchID string
	// TaskID is the processing task the step belongs to (the batch's
	// task_id when it was queued): a step of an earlier task does nothing.
	TaskID string
	// Tier is the tier the step starts or finishes.
	Tier int
	// Finish is false for the start of the tier, true for its end.
	Finish bool
	// At is when the step is due.
	At time.Time
}

// String names the step, for logs: "start tier 0 of btch_… (task_…)".
func (j Job) String() string {
	verb := "start"
	if j.Finish {
		verb = "finish"
	}
	return fmt.Sprintf("%s tier %d of %s (%s)", verb, j.Tier, j.BatchID, j.TaskID)
}

// Statuses in which an operation is allowed.
var (
	draftOnly      = []TaskStatus{batches.TaskStatusDraft}
	cancelable     = []TaskStatus{batches.TaskStatusPending, batches.TaskStatusInProgress, batches.TaskStatusProcessing}
	retryable      = []TaskStatus{batches.TaskStatusFailed, batches.TaskStatusCompletedWithErrors}
	processingNow  = []TaskStatus{batches.TaskStatusPending, batches.TaskStatusInProgress}
	tierWithErrors = []TaskStatus{batches.TaskStatusFailed, batches.TaskStatusCompletedWithErrors}
)

// notAllowed is the error of an operation (op: "submitted", "canceled", …)
// on a batch whose status does not allow it: 400 BadRequestError, naming
// the status and those that allow it.
func notAllowed(b *Batch, what string, allowed []TaskStatus) *Error {
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	which := names[0]
	if len(names) > 1 {
		which = strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	return &Error{
		Kind:    ErrInvalid,
		Message: fmt.Sprintf("Batch %s is %s: only a %s batch %s", b.BatchID, b.Status, which, what),
		Details: map[string]any{"resource": "batch", "identifier": b.BatchID, "status": string(b.Status), "allowed_statuses": names},
	}
}

// invalid is a 400 BadRequestError about a batch (about the request
// alone when the batch has no id yet: one being created).
func invalid(b *Batch, details map[string]any, format string, args ...any) *Error {
	d := map[string]any{}
	if b.BatchID != "" {
		d["resource"], d["identifier"] = "batch", b.BatchID
	}
	for k, v := range details {
		d[k] = v
	}
	return &Error{Kind: ErrInvalid, Message: fmt.Sprintf(format, args...), Details: d}
}

// NewDraft returns a new batch of the bucket bucketID holding objectIDs,
// in status DRAFT, with the collections and tiers of dag (Processing.DAG),
// created at now. It returns an *Error (400) when objectIDs breaks a rule
// of checkObjects.
func NewDraft(bucketID string, objectIDs []string, dag [][]string, now time.Time) (Batch, error) {
	now = now.UTC()
	b := Batch{
		BatchID: NewID("btch_"), BucketID: bucketID, Status: batches.TaskStatusDraft, Type: batches.BatchTypeBucket,
		Metadata: map[string]any{}, TierTasks: []TierTask{}, TotalTiers: len(dag), DagTiers: dag,
		CreatedAt: now, UpdatedAt: now,
	}
	for _, tier := range dag {
		b.CollectionIDs = append(b.CollectionIDs, tier...)
	}
	id := b.BatchID
	b.BatchID = "" // not one yet, for the errors
	if err := checkObjects(&b, objectIDs); err != nil {
		return Batch{}, err
	}
	b.BatchID = id
	b.ObjectIDs = slices.Clone(objectIDs)
	return b, nil
}

// AddObjects returns b with objectIDs added, at now: only to a DRAFT
// batch, by checkObjects's rules.
func AddObjects(b Batch, objectIDs []string, now time.Time) (Batch, error) {
	if b.Status != batches.TaskStatusDraft {
		return Batch{}, notAllowed(&b, "can have objects added", draftOnly)
	}
	if err := checkObjects(&b, objectIDs); err != nil {
		return Batch{}, err
	}
	b.ObjectIDs = append(slices.Clone(b.ObjectIDs), objectIDs...)
	b.UpdatedAt = later(b, now)
	return b, nil
}

// checkObjects returns an *Error (400) when objectIDs cannot join b's
// objects: an id that is not text, one longer than MaxStringBytes bytes,
// one repeated in objectIDs or already in b, or more than MaxObjectIDs in
// all. The contract checks the rest (1 or more ids, each 1 or more
// characters).
func checkObjects(b *Batch, objectIDs []string) error {
	seen := make(map[string]int, len(b.ObjectIDs)+len(objectIDs))
	for _, id := range b.ObjectIDs {
		seen[id] = -1
	}
	for i, id := range objectIDs {
		where := map[string]any{"field": "object_ids", "index": i}
		switch {
		case !IsText(id):
			return invalid(b, where, "object_ids[%d] is not text (it holds a NUL character or is not valid UTF-8)", i)
		case len(id) > MaxStringBytes:
			return invalid(b, where, "object_ids[%d] is %d bytes long, more than %d", i, len(id), MaxStringBytes)
		}
		where["object_id"] = id
		switch j, dup := seen[id]; {
		case dup && j < 0:
			return invalid(b, where, "Object %s is already in batch %s", id, b.BatchID)
		case dup:
			return invalid(b, where, "object_ids[%d] %s repeats object_ids[%d]", i, id, j)
		}
		seen[id] = i
	}
	if n := len(b.ObjectIDs) + len(objectIDs); n > MaxObjectIDs {
		return invalid(b, map[string]any{"field": "object_ids", "max_items": MaxObjectIDs},
			"Batch %s would hold %d objects, more than %d", b.BatchID, n, MaxObjectIDs)
	}
	return nil
}

// later is now, or b's created_at when now is before it: a batch is never
// updated before it was created.
func later(b Batch, now time.Time) time.Time {
	now = now.UTC()
	if now.Before(b.CreatedAt) {
		return b.CreatedAt
	}
	return now
}

// PatchMetadata returns b with its metadata set to metadata (nil means {})
// and whether that changed it; updated_at moves to now only when it did.
// A patch is allowed in every status.
func PatchMetadata(b Batch, metadata map[string]any, now time.Time) (Batch, bool) {
	if metadata == nil {
		metadata = map[string]any{}
	}
	if sameJSON(b.Metadata, metadata) {
		return b, false
	}
	b.Metadata = metadata
	b.UpdatedAt = later(b, now)
	return b, true
}

// sameJSON reports whether a and b have the same JSON.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// SubmitOptions are the options of a submission (SubmitBatchRequest).
type SubmitOptions struct {
	IncludeProcessingHistory bool
}

// Submit submits b, a DRAFT batch with objects, at now: it returns b
// PENDING with a new processing task (also returned, PENDING) and one
// PENDING tier a tier of its DAG (dag when b has none), and the job of its
// first step. Any other status, or a batch without objects, is an *Error
// (400).
func Submit(b Batch, s Scope, opts SubmitOptions, dag [][]string, now time.Time) (Batch, Task, Job, error) {
	if b.Status != batches.TaskStatusDraft {
		return Batch{}, Task{}, Job{}, notAllowed(&b, "can be submitted", draftOnly)
	}
	if len(b.ObjectIDs) == 0 {
		return Batch{}, Task{}, Job{}, invalid(&b, map[string]any{"field": "object_ids"},
			"Batch %s has no objects: add some before submitting it", b.BatchID)
	}
	if err := checkTiers(&b); err != nil {
		return Batch{}, Task{}, Job{}, err
	}
	if len(b.DagTiers) == 0 {
		b.DagTiers = dag
		b.TotalTiers = len(dag)
		b.CollectionIDs = nil
		for _, tier := range dag {
			b.CollectionIDs = append(b.CollectionIDs, tier...)
		}
	}
	now = later(b, now)
	manifest := "manifests/" + b.BucketID + "/" + b.BatchID + "/tier_0.parquet"
	b.ManifestKey = &manifest
	t := newRun(b, s, now, map[string]any{"include_processing_history": opts.IncludeProcessingHistory})
	b = pending(b, t.TaskID, 0, now)
	return b, t, Job{BatchID: b.BatchID, TaskID: t.TaskID, Tier: 0, At: now}, nil
}

// newRun returns a new processing task of b, PENDING, created at now, its
// additional_data Mixpeek's batch keys and extra. Of b's lists it keeps
// samples (sample): the first object ids, and the first collection ids
// with collection_count counting them all, so that the task stays within
// MaxTaskBytes whatever b holds within the limits of a batch.
func newRun(b Batch, s Scope, now time.Time, extra map[string]any) Task {
	data := map[string]any{
		"batch_id": b.BatchID, "bucket_id": b.BucketID, "namespace_id": s.NamespaceID,
		"collection_ids": sample(b.CollectionIDs, MaxCollectionIDs), "collection_count": len(b.CollectionIDs),
		"current_tier": nil, "total_tiers": b.TotalTiers,
		"object_count": len(b.ObjectIDs), "sample_object_ids": sample(b.ObjectIDs, sampleObjects),
	}
	for k, v := range extra {
		data[k] = v
	}
	return Task{
		TaskID: NewID("task_"), TaskType: TaskTypeBatchProcess, Status: batches.TaskStatusPending,
		Inputs: []any{b.BatchID}, AdditionalData: data,
		OrganizationID: s.OrganizationID, BatchID: b.BatchID, CreatedAt: now, UpdatedAt: now,
	}
}

// What a task keeps of its batch's lists (newRun, startTier): the first
// ids, at most sampleObjects object ids, and no more than sampleBytes of
// JSON a list, however long or escaped (a byte that JSON escapes takes 6)
// the ids are. With them a task stays within MaxTaskBytes
// (TestTaskBound), so that no operation or step fails for the size of
// its task.
const (
	sampleObjects = 5
	sampleBytes   = 512
)

// sample returns the first of ids, at most most of them, whose JSON list
// is at most sampleBytes; [] for none.
func sample(ids []string, most int) []string {
	out := []string{}
	size := 2 // []
	for _, id := range ids {
		if len(out) == most {
			break
		}
		j, err := json.Marshal(id)
		if err != nil || size+len(j)+1 > sampleBytes {
			break
		}
		size += len(j) + 1
		out = append(out, id)
	}
	return out
}

// checkTiers returns an *Error (400) when b has more tiers than a batch
// may have (MaxTiers): one imported before total_tiers was bounded, which
// the lifecycle does not make room for.
func checkTiers(b *Batch) error {
	if b.TotalTiers > MaxTiers || b.TotalTiers < 0 {
		return invalid(b, map[string]any{"field": "total_tiers", "max_tiers": MaxTiers},
			"Batch %s has %d tiers, more than %d: it cannot be processed", b.BatchID, b.TotalTiers, MaxTiers)
	}
	return nil
}

// pending returns b PENDING with the processing task taskID, from tier
// from: the tiers before it as they are, the others PENDING and not
// started; error, error_summary and current_tier cleared.
func pending(b Batch, taskID string, from int, now time.Time) Batch {
	b.Status = batches.TaskStatusPending
	b.TaskID = &taskID
	b.Error, b.ErrorSummary, b.CurrentTier = nil, nil, nil
	tiers := make([]TierTask, b.TotalTiers)
	for k := range tiers {
		if k < from && k < len(b.TierTasks) {
			tiers[k] = b.TierTasks[k]
			continue
		}
		tiers[k] = TierTask{TierNum: k, Status: batches.TaskStatusPending, SourceType: "bucket"}
		if k < len(b.DagTiers) {
			tiers[k].CollectionIDs = slices.Clone(b.DagTiers[k])
		}
		if k > 0 {
			tiers[k].SourceType = "collection"
			if k-1 < len(b.DagTiers) {
				tiers[k].SourceCollectionIDs = slices.Clone(b.DagTiers[k-1])
			}
		}
	}
	b.TierTasks = tiers
	b.UpdatedAt = now
	return b
}

// NextJob returns the step b's processing is waiting for, due at now:
// the end of the tier in progress, or the start of the first tier not
// started; false when b is not being processed (or its tiers are not
// those of its processing).
func NextJob(b Batch, now time.Time) (Job, bool) {
	if !slices.Contains(processingNow, b.Status) || b.TaskID == nil || len(b.TierTasks) != b.TotalTiers {
		return Job{}, false
	}
	for k, t := range b.TierTasks {
		switch t.Status {
		case batches.TaskStatusInProgress:
			return Job{BatchID: b.BatchID, TaskID: *b.TaskID, Tier: k, Finish: true, At: now}, true
		case batches.TaskStatusPending:
			return Job{BatchID: b.BatchID, TaskID: *b.TaskID, Tier: k, At: now}, true
		}
	}
	return Job{}, false
}

// due reports whether job is the step b waits for.
func due(b Batch, job Job) bool {
	next, ok := NextJob(b, job.At)
	return ok && next.TaskID == job.TaskID && next.Tier == job.Tier && next.Finish == job.Finish
}

// Step is what one step of the processing did.
type Step struct {
	// Applied is false for a step that was not due (a step of an earlier
	// task, of a batch canceled, deleted or moved on by steering): it
	// changed nothing.
	Applied bool
	// Job is the step.
	Job Job
	// TierStatus is the tier's status after the step (IN_PROGRESS after a
	// start; COMPLETED, COMPLETED_WITH_ERRORS or FAILED after an end).
	TierStatus TaskStatus
	// BatchStatus is the batch's status after the step.
	BatchStatus TaskStatus
	// Next is the step queued after it, if any.
	Next *Job
}

// startTier starts tier k of b, whose processing task is run, at now: b
// IN_PROGRESS at tier k, the tier IN_PROGRESS with a new task (returned)
// and its documents counted, run IN_PROGRESS; and the job of the tier's
// end, after its duration.
func startTier(p Processing, b Batch, run Task, k int, now time.Time) (Batch, Task, Task, Job) {
	now = later(b, now)
	b.Status = batches.TaskStatusInProgress
	b.CurrentTier = &k
	b.UpdatedAt = now
	b.TierTasks = slices.Clone(b.TierTasks)
	t := b.TierTasks[k]
	docs := len(b.ObjectIDs)
	if k > 0 {
		docs = 0
		if w := b.TierTasks[k-1].DocumentsWritten; w != nil {
			docs = *w
		}
	}
	task := Task{
		TaskID: NewID("task_"), TaskType: TaskTypeTierRun, Status: batches.TaskStatusInProgress,
		Inputs: []any{b.BatchID},
		AdditionalData: map[string]any{
			"batch_id": b.BatchID, "bucket_id": b.BucketID, "tier_num": k,
			"collection_ids": sample(t.CollectionIDs, MaxCollectionIDs), "collection_count": len(t.CollectionIDs),
			"source_type": t.SourceType, "parent_task_id": run.TaskID,
		},
		OrganizationID: run.OrganizationID, BatchID: b.BatchID, CreatedAt: now, UpdatedAt: now,
	}
	t.TaskID = &task.TaskID
	t.ParentTaskID = nil
	if k > 0 {
		t.ParentTaskID = b.TierTasks[k-1].TaskID
	}
	t.Status = batches.TaskStatusInProgress
	started := now
	t.StartedAt = &started
	ray, celery := "raysubmit_"+randomString(idAlphabet, 16), randomString(idAlphabet, 32)
	t.RayJobID, t.CeleryTaskID = &ray, &celery
	t.SourceDocumentsFetched, t.DocumentsAfterSourceFilter = ptrTo(docs), ptrTo(docs)
	t.DocumentsMissingInputFields, t.DocumentsSubmittedToEngine = ptrTo(0), ptrTo(docs)
	t.ExtractorJobs = nil
	for _, c := range t.CollectionIDs {
		job := ExtractorJob{ExtractorType: tierExtractors[k%len(tierExtractors)], CollectionIDs: []string{c},
			Status: batches.TaskStatusInProgress, StartedAt: &started, CeleryTaskID: &celery}
		jobRay := "raysubmit_" + randomString(idAlphabet, 16)
		job.RayJobID = &jobRay
		t.ExtractorJobs = append(t.ExtractorJobs, job)
	}
	b.TierTasks[k] = t

	run.Status = batches.TaskStatusInProgress
	run.AdditionalData = cloneMap(run.AdditionalData)
	run.AdditionalData["current_tier"] = k
	run.UpdatedAt = now
	return b, run, task, Job{BatchID: b.BatchID, TaskID: run.TaskID, Tier: k, Finish: true, At: now.Add(p.duration(run.TaskID, k))}
}

// tierExtractors is the extractor of each tier's collection, by tier.
var tierExtractors = []string{"image_extractor", "embedding_extractor", "caption_extractor", "face_identity_extractor", "text_extractor"}

// The failures the simulation makes: all transient, so that a retry may
// pass.
const (
	tierFailure     = "extractor timed out after 300s"
	tierFailureStep = "embedding"
	// affectedShown is the most affected_document_ids an error lists;
	// affected_count counts them all.
	affectedShown = 3
)

// finishTier ends tier k of b, whose processing task is run and the
// tier's task tier, at now, as o says; and returns the job of the next
// tier's start, if the batch goes on. How many objects fail, when some do,
// is drawn from the task (finishTierAt).
func finishTier(b Batch, run, tier Task, k int, o Outcome, now time.Time) (Batch, Task, Task, *Job) {
	return finishTierAt(b, run, tier, k, o, now, draw("failed", run.TaskID, strconv.Itoa(k)))
}

// finishTierAt is finishTier with the draw of how many objects fail given:
// frac in [0, 1), the most at frac near 1 (processedSize's worst case).
func finishTierAt(b Batch, run, tier Task, k int, o Outcome, now time.Time, frac float64) (Batch, Task, Task, *Job) {
	now = later(b, now)
	b.UpdatedAt = now
	b.TierTasks = slices.Clone(b.TierTasks)
	t := b.TierTasks[k]
	docs := 0
	if t.DocumentsSubmittedToEngine != nil {
		docs = *t.DocumentsSubmittedToEngine
	}
	if o == CompletedWithErrors && docs == 0 {
		o = Completed // nothing could fail
	}
	done := now
	t.CompletedAt = &done
	if t.StartedAt != nil {
		t.DurationMs = durationMs(*t.StartedAt, done)
	}
	retries := retryCount(b)
	failed, written := 0, docs
	var failure *string
	switch o {
	case Failed:
		t.Status = batches.TaskStatusFailed
		failed, written = max(docs, 1), 0
		msg := tierFailure
		failure = &msg
		t.Errors = []BatchError{tierError(b, batches.ErrorCategoryNetwork, msg, failed, retries, done)}
	case CompletedWithErrors:
		t.Status = batches.TaskStatusCompletedWithErrors
		failed = 1 + int(frac*float64(max(docs/4, 1)))
		failed = min(failed, docs)
		written = docs - failed
		noun := "objects"
		if failed == 1 {
			noun = "object"
		}
		t.Errors = []BatchError{tierError(b, batches.ErrorCategoryNetwork,
			fmt.Sprintf("%d %s failed to download: connection reset by the storage", failed, noun), failed, retries, done)}
	default:
		t.Status = batches.TaskStatusCompleted
		t.Errors = []BatchError{}
	}
	if failed > 0 {
		t.ErrorSummary = map[string]int{string(batches.ErrorCategoryNetwork): failed}
	}
	if o != Failed {
		t.DocumentsWritten = ptrTo(written)
		secs := math.Max(done.Sub(*t.StartedAt).Seconds(), 0.001)
		t.Performance = map[string]any{"docs_per_second": json.Number(strconv.FormatFloat(math.Round(float64(written)/secs*100)/100, 'f', -1, 64))}
	}
	t.ExtractorJobs = slices.Clone(t.ExtractorJobs)
	for j := range t.ExtractorJobs {
		job := &t.ExtractorJobs[j]
		job.Status, job.CompletedAt, job.DurationMs, job.Errors, job.Error = t.Status, t.CompletedAt, t.DurationMs, t.Errors, failure
		job.DocumentsWritten = t.DocumentsWritten
	}
	b.TierTasks[k] = t

	tier.Status = t.Status
	tier.Error = failure
	tier.Outputs = []any{map[string]any{"documents_written": written, "documents_failed": failed}}
	tier.UpdatedAt = now

	run.AdditionalData = cloneMap(run.AdditionalData)
	run.UpdatedAt = now
	if o != Failed && k+1 < b.TotalTiers {
		return b, run, tier, &Job{BatchID: b.BatchID, TaskID: run.TaskID, Tier: k + 1, At: now}
	}
	// The batch ends, with the status its tiers give it.
	status := batches.TaskStatusCompleted
	if o == Failed {
		status = batches.TaskStatusFailed
		b.Error = failure
		for j := k + 1; j < len(b.TierTasks); j++ {
			b.TierTasks[j].Status = batches.TaskStatusSkipped
		}
	}
	var outputs []any
	summary := map[string]int{}
	first := firstTier(run)
	for k, tt := range b.TierTasks {
		if tt.Status == batches.TaskStatusCompletedWithErrors && status == batches.TaskStatusCompleted {
			status = batches.TaskStatusCompletedWithErrors
		}
		for cat, n := range tt.ErrorSummary {
			summary[cat] += n
		}
		// The tiers this task ran: a retry's outputs leave out the tiers
		// it kept (their task ids, imported, may be long).
		if tt.Status != batches.TaskStatusSkipped && k >= first {
			out := map[string]any{"tier_num": tt.TierNum, "status": string(tt.Status), "task_id": tt.TaskID, "documents_written": tt.DocumentsWritten}
			outputs = append(outputs, out)
		}
	}
	b.Status = status
	if len(summary) > 0 {
		b.ErrorSummary = summary
	}
	run.Status = status
	run.Error = failure
	if status != batches.TaskStatusFailed {
		run.Outputs = outputs
	}
	return b, run, tier, nil
}

// firstTier is the first tier the processing task run runs: the first of
// its retried_tiers (a retry's), else 0.
func firstTier(run Task) int {
	tiers, _ := run.AdditionalData["retried_tiers"].([]any)
	if len(tiers) == 0 {
		if ints, ok := run.AdditionalData["retried_tiers"].([]int); ok && len(ints) > 0 {
			return ints[0]
		}
		return 0
	}
	switch v := tiers[0].(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil && n >= 0 && n < MaxTiers {
			return int(n)
		}
	case float64:
		if v >= 0 && v < MaxTiers {
			return int(v)
		}
	}
	return 0
}

// tierError is the error of a tier that affected n of b's documents.
func tierError(b Batch, cat batches.ErrorCategory, msg string, n, retries int, at time.Time) BatchError {
	component, stage, suggestion := "engine", tierFailureStep, "retry the batch; transient errors usually pass"
	return BatchError{
		ErrorType: cat, Message: msg, AffectedCount: max(n, 1), Timestamp: &at,
		AffectedDocumentIDs: slices.Clone(b.ObjectIDs[:min(n, affectedShown, len(b.ObjectIDs))]),
		Component:           &component, Stage: &stage, RecoverySuggestion: &suggestion,
		Metadata: map[string]any{"retry_count": retries},
	}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Cancel cancels b, being processed, at now: b CANCELED, and its tiers
// not finished; run, its processing task, and tiers, the tasks of its
// tiers in progress (by id), CANCELED too; it returns them. Any other
// status is an *Error (400).
func Cancel(b Batch, run Task, tiers map[string]Task, now time.Time) (Batch, []Task, error) {
	if !slices.Contains(cancelable, b.Status) {
		return Batch{}, nil, notAllowed(&b, "can be canceled", cancelable)
	}
	now = later(b, now)
	b.Status = batches.TaskStatusCanceled
	b.UpdatedAt = now
	b.TierTasks = slices.Clone(b.TierTasks)
	var changed []Task
	for k := range b.TierTasks {
		t := &b.TierTasks[k]
		switch t.Status {
		case batches.TaskStatusInProgress:
			done := now
			t.CompletedAt = &done
			if t.StartedAt != nil {
				t.DurationMs = durationMs(*t.StartedAt, done)
			}
			t.ExtractorJobs = slices.Clone(t.ExtractorJobs)
			for j := range t.ExtractorJobs {
				t.ExtractorJobs[j].Status, t.ExtractorJobs[j].CompletedAt = batches.TaskStatusCanceled, &done
			}
			if t.TaskID != nil {
				if task, ok := tiers[*t.TaskID]; ok && !task.Status.IsTerminal() {
					task.Status, task.UpdatedAt = batches.TaskStatusCanceled, now
					changed = append(changed, task)
				}
			}
			fallthrough
		case batches.TaskStatusPending:
			t.Status = batches.TaskStatusCanceled
		}
	}
	if !run.Status.IsTerminal() {
		run.Status, run.UpdatedAt = batches.TaskStatusCanceled, now
	}
	return b, append([]Task{run}, changed...), nil
}

// RetryOptions are the options of a retry (RetryBatchRequest).
type RetryOptions struct {
	Mode          string // "transient_only" or "all"
	TierNums      []int  // the tiers to retry from; empty: every tier with errors
	MaxRetryCount int    // the retries b may have had before this one
}

// Retried is what a retry did.
type Retried struct {
	Batch Batch
	// Task is the retry's new processing task.
	Task Task
	// PreviousTaskID is the task that failed, nil when b had none;
	// PreviousStatus the status it keeps (the batch's before the retry).
	PreviousTaskID *string
	PreviousStatus TaskStatus
	// Tiers are the tiers processed again.
	Tiers []int
	// Count is the batch's retries, this one included.
	Count int
	Job   Job
}

// Retry retries b, FAILED or COMPLETED_WITH_ERRORS, at now: processing
// starts again, as a new task, at the first tier with errors (of
// opts.TierNums, when given), and runs every tier after it. Any other
// status, a tier number that is not a tier of b, tiers without errors, or
// a batch retried opts.MaxRetryCount times already, is an *Error (400).
func Retry(b Batch, s Scope, opts RetryOptions, now time.Time) (Retried, error) {
	if !slices.Contains(retryable, b.Status) {
		return Retried{}, notAllowed(&b, "can be retried", retryable)
	}
	if err := checkTiers(&b); err != nil {
		return Retried{}, err
	}
	count := retryCount(b)
	if count >= opts.MaxRetryCount {
		return Retried{}, invalid(&b, map[string]any{"retry_count": count, "max_retry_count": opts.MaxRetryCount},
			"Batch %s was retried %d times already, max_retry_count is %d", b.BatchID, count, opts.MaxRetryCount)
	}
	for i, k := range opts.TierNums {
		if k < 0 || k >= b.TotalTiers {
			return Retried{}, invalid(&b, map[string]any{"field": "tier_nums", "index": i, "total_tiers": b.TotalTiers},
				"tier_nums[%d] is %d: batch %s has tiers 0 to %d", i, k, b.BatchID, b.TotalTiers-1)
		}
	}
	opts.TierNums = distinct(opts.TierNums)
	from := -1
	if len(b.TierTasks) != b.TotalTiers {
		from = 0 // tiers the server did not record (an imported batch): all again
	} else {
		for k, t := range b.TierTasks {
			if slices.Contains(tierWithErrors, t.Status) && (len(opts.TierNums) == 0 || slices.Contains(opts.TierNums, k)) {
				from = k
				break
			}
		}
	}
	if from < 0 {
		if len(opts.TierNums) > 0 {
			return Retried{}, invalid(&b, map[string]any{"field": "tier_nums"},
				"tier_nums %v of batch %s have no errors to retry", opts.TierNums, b.BatchID)
		}
		from = 0 // a status set by hand: all again
	}
	now = later(b, now)
	status := b.Status
	var previous *string
	if b.TaskID != nil {
		id := *b.TaskID
		previous = &id
	}
	count++
	tiers := make([]int, 0, b.TotalTiers-from)
	for k := from; k < b.TotalTiers; k++ {
		tiers = append(tiers, k)
	}
	extra := map[string]any{"retry_of": previous, "retry_count": count, "retry_mode": opts.Mode,
		"tier_nums": nonNilInts(opts.TierNums), "retried_tiers": slices.Clone(tiers)}
	t := newRun(b, s, now, extra)
	b = pending(b, t.TaskID, from, now)
	b.InternalMetadata = cloneMap(b.InternalMetadata)
	b.InternalMetadata["retry_count"] = count
	return Retried{Batch: b, Task: t, PreviousTaskID: previous, PreviousStatus: status, Tiers: tiers, Count: count,
		Job: Job{BatchID: b.BatchID, TaskID: t.TaskID, Tier: from, At: now}}, nil
}

// distinct returns s without its repeats, in the order of their first
// occurrence.
func distinct(s []int) []int {
	var out []int
	seen := map[int]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func nonNilInts(s []int) []int {
	if s == nil {
		return []int{}
	}
	return slices.Clone(s)
}

// durationMs is a tier task's duration_ms, from its start to its end: the
// milliseconds between them, rounded to a tenth.
func durationMs(start, end time.Time) *float64 {
	ms := math.Round(float64(end.Sub(start))/float64(time.Millisecond)*10) / 10
	return &ms
}

// retryCount is the number of times b was retried:
// internal_metadata.retry_count, 0 when absent or not a number.
func retryCount(b Batch) int {
	switch v := b.InternalMetadata["retry_count"].(type) {
	case json.Number:
		n, err := v.Int64()
		if err == nil && n >= 0 && n <= math.MaxInt32 {
			return int(n)
		}
	case int:
		return v
	case float64:
		if v >= 0 && v <= math.MaxInt32 && v == math.Trunc(v) {
			return int(v)
		}
	}
	return 0
}

// Message is the message of a retry's answer.
func (r Retried) Message() string {
	msg := fmt.Sprintf("Retry started as a new task %s from tier %d", r.Task.TaskID, r.Tiers[0])
	if r.PreviousTaskID != nil {
		msg += fmt.Sprintf("; task %s stays %s", *r.PreviousTaskID, r.PreviousStatus)
	}
	return msg
}

// DecodeBatch returns the batch whose canonical JSON is doc, metadata
// numbers as json.Number.
func DecodeBatch(doc []byte) (Batch, error) {
	var b Batch
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return Batch{}, fmt.Errorf("stored doc: %w", err)
	}
	return b, nil
}

// checkedRow returns the row of b (BatchRow) after the checks every write
// of a batch makes (CheckBatch: the schema's rules and the limits); with
// room, the check that b, with the most its processing can add to it,
// stays within MaxBatchBytes, so that its processing never fails for its
// size. Errors are *Error (400), naming the batch.
func checkedRow(b Batch, room bool) ([]any, []byte, error) {
	return checkedNewRow(b, room, "Batch "+b.BatchID, b)
}

// checkedNewRow is checkedRow of b, a batch named name in errors about
// named (the batch itself, or one without an id for a new batch: "The
// batch").
func checkedNewRow(b Batch, room bool, name string, named Batch) ([]any, []byte, error) {
	l := AsListed(b.BucketID, b)
	if err := CheckBatch(&l); err != nil {
		return nil, nil, invalid(&named, nil, "%s cannot be stored: %s", name, reason(err))
	}
	row, err := BatchRow(b.BucketID, l)
	if err != nil {
		return nil, nil, invalid(&named, nil, "%s cannot be stored: %s", name, reason(err))
	}
	doc := []byte(row[len(row)-1].(string))
	if room {
		if n := processedSize(b); n > MaxBatchBytes {
			return nil, nil, invalid(&named, map[string]any{"max_bytes": MaxBatchBytes, "bytes": n},
				"%s would be %d bytes of JSON once processed, more than %d: hold fewer or shorter object ids, or less metadata",
				name, n, MaxBatchBytes)
		}
	}
	return row, doc, nil
}

// reason is err's message without the kind's prefix ("invalid argument: ").
func reason(err error) string {
	msg := err.Error()
	if p := ErrInvalid.Error() + ": "; len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}

// processedSize is the most bytes b's canonical JSON can have once
// processed, however its processing goes: b submitted (or retried from
// tier 0), then every tier finishing with errors but the last, which
// fails; or every tier with errors, as many objects failing as may (so
// each error lists the most affected_document_ids). Timestamps and counts
// take their longest forms.
func processedSize(b Batch) int {
	worst := func(lastFails bool) int {
		s := Scope{NamespaceID: "ns_000000000000"}
		w := b
		w.Status = batches.TaskStatusDraft
		w.InternalMetadata = cloneMap(b.InternalMetadata)
		w.InternalMetadata["retry_count"] = 99
		if w.DagTiers == nil {
			w.DagTiers = Processing{}.DAG(b.BucketID)
			w.TotalTiers = len(w.DagTiers)
		}
		if len(w.ObjectIDs) == 0 {
			return 0 // cannot be submitted
		}
		p := Processing{TierDuration: time.Hour}
		at := time.Date(2261, 12, 31, 23, 59, 59, 999999999, time.UTC).Add(-time.Duration(w.TotalTiers) * 3 * time.Hour)
		w, run, _, err := Submit(w, s, SubmitOptions{}, w.DagTiers, at)
		if err != nil {
			return 0
		}
		for k := 0; k < w.TotalTiers; k++ {
			var (
				tier Task
				end  Job
			)
			w, run, tier, end = startTier(p, w, run, k, at)
			o := CompletedWithErrors
			if lastFails && k == w.TotalTiers-1 {
				o = Failed
			}
			w, run, _, _ = finishTierAt(w, run, tier, k, o, end.At.Add(987654321), math.Nextafter(1, 0))
			at = end.At.Add(time.Second + 123456789)
		}
		doc, err := BatchJSON(AsListed(w.BucketID, w))
		if err != nil {
			return 0
		}
		return len(doc) + processedSlack
	}
	return max(worst(true), worst(false))
}

// checkCancelRoom returns an error wrapping ErrInvalid when b, a batch
// written in flight (PENDING, IN_PROGRESS, PROCESSING: one imported so),
// would pass MaxBatchBytes once canceled (with a task made for it, the
// completion times and durations of its tiers in progress): so that
// cancel, and kill of its task, never fail for its size (delete does not
// store it).
func checkCancelRoom(b Batch) error {
	if !b.Status.IsActive() {
		return nil
	}
	if n := canceledSize(b); n > MaxBatchBytes {
		return fmt.Errorf("%w: the batch would be %d bytes of JSON once canceled, more than %d: its tiers in progress gain their completion times", ErrInvalid, n, MaxBatchBytes)
	}
	return nil
}

// canceledSize is the most bytes b's canonical JSON can have once
// canceled: at the latest time with the longest timestamps, durations of
// the most digits.
func canceledSize(b Batch) int {
	at := time.Date(2261, 12, 31, 23, 59, 59, 999999999, time.UTC)
	run := newRun(b, Scope{NamespaceID: "ns_000000000000"}, at, nil)
	if b.TaskID == nil {
		b.TaskID = &run.TaskID
	}
	c, _, err := Cancel(b, run, nil, at)
	if err != nil {
		return 0
	}
	doc, err := BatchJSON(AsListed(c.BucketID, c))
	if err != nil {
		return 0
	}
	return len(doc) + processedSlack
}

// processedSlack covers what processedSize's worst case may not: longer
// durations and counts than it draws.
const processedSlack = 256

// mayBeProcessed reports whether b may yet be processed (again): it is
// not terminal, or it may be retried.
func mayBeProcessed(b Batch) bool {
	return !b.Status.IsTerminal() || slices.Contains(retryable, b.Status)
}
