package batches

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
)

// TaskStatus is the processing status of a task or batch (openapi.yaml,
// components.schemas.TaskStatus). A value this package does not know (one a
// newer server added) decodes as is, is neither terminal nor active, and
// IsKnown reports false for it.
type TaskStatus string

// The statuses of openapi.yaml, in its order.
const (
	TaskStatusPending             TaskStatus = "PENDING"               // accepted, waiting to start
	TaskStatusInProgress          TaskStatus = "IN_PROGRESS"           // started
	TaskStatusProcessing          TaskStatus = "PROCESSING"            // being processed by the extractors
	TaskStatusCompleted           TaskStatus = "COMPLETED"             // finished successfully
	TaskStatusCompletedWithErrors TaskStatus = "COMPLETED_WITH_ERRORS" // finished; some objects failed (see Batch.ErrorSummary)
	TaskStatusFailed              TaskStatus = "FAILED"                // finished unsuccessfully (see Batch.Error)
	TaskStatusCanceled            TaskStatus = "CANCELED"              // stopped at a user's request
	TaskStatusUnknown             TaskStatus = "UNKNOWN"               // the status could not be determined
	TaskStatusSkipped             TaskStatus = "SKIPPED"               // not processed, nothing to do
	TaskStatusDraft               TaskStatus = "DRAFT"                 // created and not yet submitted
	TaskStatusActive              TaskStatus = "ACTIVE"                // a live resource in use
	TaskStatusArchived            TaskStatus = "ARCHIVED"              // kept, no longer in use
	TaskStatusSuspended           TaskStatus = "SUSPENDED"             // paused, may be resumed
)

// taskStatuses is every status of openapi.yaml, in its order
// (TestTypesMatchTheContract compares them).
var taskStatuses = [...]TaskStatus{
	TaskStatusPending, TaskStatusInProgress, TaskStatusProcessing,
	TaskStatusCompleted, TaskStatusCompletedWithErrors, TaskStatusFailed, TaskStatusCanceled,
	TaskStatusUnknown, TaskStatusSkipped, TaskStatusDraft,
	TaskStatusActive, TaskStatusArchived, TaskStatusSuspended,
}

// TaskStatuses returns every status of openapi.yaml, in its order, in a
// new slice.
func TaskStatuses() []TaskStatus {
	return slices.Clone(taskStatuses[:])
}

// IsKnown reports whether s is one of the statuses of openapi.yaml.
func (s TaskStatus) IsKnown() bool {
	return slices.Contains(taskStatuses[:], s)
}

// IsTerminal reports whether s never changes again:
// [TaskStatusCompleted], [TaskStatusCompletedWithErrors],
// [TaskStatusFailed] or [TaskStatusCanceled] (openapi.yaml, TaskStatus).
func (s TaskStatus) IsTerminal() bool {
	switch s {
	case TaskStatusCompleted, TaskStatusCompletedWithErrors, TaskStatusFailed, TaskStatusCanceled:
		return true
	}
	return false
}

// IsActive reports whether work is under way, so a caller waiting for the
// outcome should poll again (after PollInterval): [TaskStatusPending],
// [TaskStatusInProgress] or [TaskStatusProcessing] (openapi.yaml,
// TaskStatus).
func (s TaskStatus) IsActive() bool {
	switch s {
	case TaskStatusPending, TaskStatusInProgress, TaskStatusProcessing:
		return true
	}
	return false
}

// The polling schedule openapi.yaml gives for active statuses: 1 s, doubling
// up to 30 s.
const (
	PollIntervalMin = 1 * time.Second
	PollIntervalMax = 30 * time.Second
)

// PollInterval returns how long to wait before poll number attempt (0 for
// the first wait after the first look) while a status IsActive: the API's
// schedule, PollIntervalMin doubling with each attempt up to
// PollIntervalMax, less a random 0–20 % so that many pollers spread out.
// So attempt 0 waits 0.8–1 s, attempt 1 1.6–2 s, and attempt 5 and later
// 24–30 s. A negative attempt counts as 0.
// WaitBatch, WaitTask and WaitBatches wait so between polls.
func PollInterval(attempt int) time.Duration {
	return pollInterval(attempt, PollIntervalMin, PollIntervalMax)
}

// BatchType is what a batch processes (openapi.yaml,
// components.schemas.BatchType). Like TaskStatus, a value this package does
// not know decodes as is.
type BatchType string

// The batch types of openapi.yaml.
const (
	BatchTypeBucket     BatchType = "BUCKET"     // objects of a bucket
	BatchTypeCollection BatchType = "COLLECTION" // documents of collections (tiered processing)
)

// ErrorCategory is the category of a processing error (openapi.yaml,
// components.schemas.ErrorCategory), BatchErrorDetail.ErrorType. Like
// TaskStatus, a value this package does not know decodes as is.
type ErrorCategory string

// The error categories of openapi.yaml, in its order.
const (
	ErrorCategoryDependency     ErrorCategory = "dependency"     // a missing package or module
	ErrorCategoryAuthentication ErrorCategory = "authentication" // bad or missing credentials
	ErrorCategoryValidation     ErrorCategory = "validation"     // input or schema
	ErrorCategoryRuntime        ErrorCategory = "runtime"        // a failure while running
	ErrorCategoryNetwork        ErrorCategory = "network"        // timeouts, refused connections
	ErrorCategoryResource       ErrorCategory = "resource"       // memory, disk, quotas
)

// errorCategories is every category of openapi.yaml, in its order
// (TestTypesMatchTheContract compares them).
var errorCategories = [...]ErrorCategory{
	ErrorCategoryDependency, ErrorCategoryAuthentication, ErrorCategoryValidation,
	ErrorCategoryRuntime, ErrorCategoryNetwork, ErrorCategoryResource,
}

// ErrorCategories returns every category of openapi.yaml, in its order, in
// a new slice.
func ErrorCategories() []ErrorCategory { return slices.Clone(errorCategories[:]) }

// IsKnown reports whether c is one of the categories of openapi.yaml.
func (c ErrorCategory) IsKnown() bool { return slices.Contains(errorCategories[:], c) }

// Batch is a batch of a bucket's objects (openapi.yaml,
// components.schemas.Batch, Mixpeek's BatchModel). The JSON names are the
// API's; a field the API sends as null is nil here, so a Batch encodes back
// to the shape it was decoded from. RawJSON returns the object exactly as
// the server sent it, with any fields newer than this package.
type Batch struct {
	BatchID          string          `json:"batch_id"`          // "btch_" and 12 characters
	BucketID         string          `json:"bucket_id"`         // the bucket the batch belongs to
	Status           TaskStatus      `json:"status"`            // the processing status
	ObjectIDs        []string        `json:"object_ids"`        // the bucket objects in the batch
	CollectionIDs    []string        `json:"collection_ids"`    // the collections the batch feeds, in all its tiers; nil when null
	Error            *string         `json:"error"`             // why the batch failed; nil when null
	ErrorSummary     map[string]int  `json:"error_summary"`     // failed objects by error type; nil when null
	Type             BatchType       `json:"type"`              // BUCKET or COLLECTION
	ManifestKey      *string         `json:"manifest_key"`      // where the batch's manifest is stored; nil when null
	TaskID           *string         `json:"task_id"`           // the task processing the batch, once submitted; nil when null
	LoadedObjectIDs  []string        `json:"loaded_object_ids"` // the objects validated and loaded, once submitted; nil when null
	InternalMetadata map[string]any  `json:"internal_metadata"` // the engine's own metadata; nil when null
	Metadata         map[string]any  `json:"metadata"`          // free-form
	TierTasks        []TierTask      `json:"tier_tasks"`        // one a processing tier, once submitted
	CurrentTier      *int            `json:"current_tier"`      // the tier being processed, 0-based (the last one once done); nil when null
	TotalTiers       int             `json:"total_tiers"`       // the number of processing tiers, 1 or more
	DagTiers         [][]string      `json:"dag_tiers"`         // the collections of each tier, tier 0 first; nil when null
	CreatedAt        time.Time       `json:"created_at"`        // when the batch was created; RFC 3339 on the wire, the list's sort key
	UpdatedAt        time.Time       `json:"updated_at"`        // when the batch last changed; RFC 3339 on the wire
	raw              json.RawMessage // as received; nil for a Batch not decoded from JSON
}

// TierTask is the processing of one tier of a batch (openapi.yaml,
// components.schemas.TierTaskInfo, Mixpeek's TierTaskInfo): PENDING when
// scheduled, IN_PROGRESS once started, then COMPLETED or FAILED. A field
// the API sends as null, or leaves out, is nil (Status is "" when left
// out; Mixpeek's default is PENDING).
type TierTask struct {
	TierNum                     int                `json:"tier_num"`                       // 0-based; tier 0 reads the bucket's objects
	TaskID                      *string            `json:"task_id"`                        // the tier's task, once started
	Status                      TaskStatus         `json:"status"`                         // the tier's status
	CollectionIDs               []string           `json:"collection_ids"`                 // the collections the tier writes
	ExtractorJobs               []ExtractorJob     `json:"extractor_jobs"`                 // one a feature extractor type
	SourceType                  string             `json:"source_type"`                    // "bucket" (tier 0) or "collection"
	SourceCollectionIDs         []string           `json:"source_collection_ids"`          // the collections a later tier reads
	ParentTaskID                *string            `json:"parent_task_id"`                 // the task of the tier before
	StartedAt                   *time.Time         `json:"started_at"`                     // when the tier started
	CompletedAt                 *time.Time         `json:"completed_at"`                   // when it finished, successfully or not
	DurationMs                  *float64           `json:"duration_ms"`                    // how long it ran, in milliseconds
	Errors                      []BatchErrorDetail `json:"errors"`                         // what went wrong in the tier
	ErrorSummary                map[string]int     `json:"error_summary"`                  // failed documents by error type
	Performance                 map[string]any     `json:"performance"`                    // performance figures, once finished
	RayJobID                    *string            `json:"ray_job_id"`                     // the engine job
	CeleryTaskID                *string            `json:"celery_task_id"`                 // the worker task
	SourceDocumentsFetched      *int               `json:"source_documents_fetched"`       // documents read from the source
	DocumentsAfterSourceFilter  *int               `json:"documents_after_source_filter"`  // documents left after the source filters
	DocumentsMissingInputFields *int               `json:"documents_missing_input_fields"` // documents without the fields the extractors need
	DocumentsSubmittedToEngine  *int               `json:"documents_submitted_to_engine"`  // documents submitted to the engine
	DocumentsWritten            *int               `json:"documents_written"`              // documents written to the tier's collections
}

// ExtractorJob is one extractor job of a tier (openapi.yaml,
// components.schemas.ExtractorJobInfo); a tier completes when all of its
// jobs have.
type ExtractorJob struct {
	ExtractorType    string             `json:"extractor_type"`    // e.g. "image_extractor"
	CollectionIDs    []string           `json:"collection_ids"`    // the collections the job writes
	RayJobID         *string            `json:"ray_job_id"`        // the engine job
	CeleryTaskID     *string            `json:"celery_task_id"`    // the worker task that submitted it
	Status           TaskStatus         `json:"status"`            // the job's status
	StartedAt        *time.Time         `json:"started_at"`        // when it started
	CompletedAt      *time.Time         `json:"completed_at"`      // when it finished
	DurationMs       *float64           `json:"duration_ms"`       // how long it ran, in milliseconds
	DocumentsWritten *int               `json:"documents_written"` // documents it wrote
	Errors           []BatchErrorDetail `json:"errors"`            // what went wrong in it
	Error            *string            `json:"error"`             // a one-line error message, when it failed
}

// BatchErrorDetail is one error of a tier or an extractor job
// (openapi.yaml, components.schemas.BatchErrorDetail).
type BatchErrorDetail struct {
	ErrorType           ErrorCategory  `json:"error_type"`            // the category
	Message             string         `json:"message"`               // what went wrong, for people
	Component           *string        `json:"component"`             // the component that failed
	Stage               *string        `json:"stage"`                 // the processing stage that failed
	Traceback           *string        `json:"traceback"`             // the failure's traceback
	Timestamp           *time.Time     `json:"timestamp"`             // when it occurred
	AffectedDocumentIDs []string       `json:"affected_document_ids"` // the documents it affected
	AffectedCount       int            `json:"affected_count"`        // how many documents it affected (0 when left out; Mixpeek's default is 1)
	RecoverySuggestion  *string        `json:"recovery_suggestion"`   // what to do about it
	Metadata            map[string]any `json:"metadata"`              // more about it
}

// UnmarshalJSON decodes b from the API's JSON object and keeps the object
// for RawJSON. It returns encoding/json's error, leaving b unchanged, when
// data is not such an object (a field of the wrong type, a created_at that
// is not RFC 3339); unknown fields are no error.
func (b *Batch) UnmarshalJSON(data []byte) error {
	return b.decode(bytes.Clone(data))
}

// decode sets b from the JSON object data, which b keeps as its RawJSON:
// the caller gives it up.
func (b *Batch) decode(data []byte) error {
	type plain Batch // without UnmarshalJSON
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*b = Batch(p)
	b.raw = data
	return nil
}

// RawJSON returns the batch's JSON object exactly as the server sent it
// (nil for a Batch that was not decoded from JSON). The caller must not
// modify it.
func (b Batch) RawJSON() json.RawMessage { return b.raw }
