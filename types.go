package batches

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
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
func PollInterval(attempt int) time.Duration {
	d := PollIntervalMax
	if attempt < 0 {
		attempt = 0
	}
	if attempt < 5 { // 1 s << 5 = 32 s is past the cap
		d = min(PollIntervalMin<<attempt, PollIntervalMax)
	}
	return d - rand.N(d/5+1)
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

// Batch is a batch of a bucket's objects (openapi.yaml,
// components.schemas.Batch, Mixpeek's BatchModel). The JSON names are the
// API's; a field the API sends as null is nil here, so a Batch encodes back
// to the shape it was decoded from. RawJSON returns the object exactly as
// the server sent it, with any fields newer than this package.
type Batch struct {
	BatchID       string          `json:"batch_id"`       // "btch_" and 12 characters
	BucketID      string          `json:"bucket_id"`      // the bucket the batch belongs to
	Status        TaskStatus      `json:"status"`         // the processing status
	ObjectIDs     []string        `json:"object_ids"`     // the bucket objects in the batch
	CollectionIDs []string        `json:"collection_ids"` // the collections the batch feeds; nil when null
	Error         *string         `json:"error"`          // why the batch failed; nil when null
	ErrorSummary  map[string]int  `json:"error_summary"`  // failed objects by error type; nil when null
	Type          BatchType       `json:"type"`           // BUCKET or COLLECTION
	TaskID        *string         `json:"task_id"`        // the task processing the batch, once submitted; nil when null
	Metadata      map[string]any  `json:"metadata"`       // free-form
	CurrentTier   *int            `json:"current_tier"`   // the tier being processed, for tiered batches; nil when null
	TotalTiers    int             `json:"total_tiers"`    // the number of processing tiers, 1 or more
	CreatedAt     time.Time       `json:"created_at"`     // when the batch was created; RFC 3339 on the wire, the list's sort key
	UpdatedAt     time.Time       `json:"updated_at"`     // when the batch last changed; RFC 3339 on the wire
	raw           json.RawMessage // as received; nil for a Batch not decoded from JSON
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
