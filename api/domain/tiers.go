package domain

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/mixpeekgo/batches"
)

// TierTask is the processing of one tier of a batch (openapi.yaml,
// components.schemas.TierTaskInfo, Mixpeek's TierTaskInfo). Like [Batch],
// its fields are declared in the order of their JSON names, as the
// generated server's TierTaskInfo, and every field is written: a nil
// pointer, map or SourceCollectionIDs as null, a nil ExtractorJobs or
// Errors as []. CollectionIDs alone is left out when empty: the contract
// allows no empty list there.
type TierTask struct {
	CeleryTaskID                *string            `json:"celery_task_id"`
	CollectionIDs               []string           `json:"collection_ids,omitempty"`
	CompletedAt                 *time.Time         `json:"completed_at"`
	DocumentsAfterSourceFilter  *int               `json:"documents_after_source_filter"`
	DocumentsMissingInputFields *int               `json:"documents_missing_input_fields"`
	DocumentsSubmittedToEngine  *int               `json:"documents_submitted_to_engine"`
	DocumentsWritten            *int               `json:"documents_written"`
	DurationMs                  *float64           `json:"duration_ms"`
	ErrorSummary                map[string]int     `json:"error_summary"`
	Errors                      []BatchError       `json:"errors"`
	ExtractorJobs               []ExtractorJob     `json:"extractor_jobs"`
	ParentTaskID                *string            `json:"parent_task_id"`
	Performance                 map[string]any     `json:"performance"` // free-form; numbers as json.Number keep their digits
	RayJobID                    *string            `json:"ray_job_id"`
	SourceCollectionIDs         []string           `json:"source_collection_ids"`
	SourceDocumentsFetched      *int               `json:"source_documents_fetched"`
	SourceType                  string             `json:"source_type"` // "bucket" (tier 0) or "collection"
	StartedAt                   *time.Time         `json:"started_at"`
	Status                      batches.TaskStatus `json:"status"`
	TaskID                      *string            `json:"task_id"`
	TierNum                     int                `json:"tier_num"` // 0 or more
}

// MarshalJSON writes t with every field (see [TierTask]).
func (t TierTask) MarshalJSON() ([]byte, error) {
	type plain TierTask // without MarshalJSON
	if t.Errors == nil {
		t.Errors = []BatchError{}
	}
	if t.ExtractorJobs == nil {
		t.ExtractorJobs = []ExtractorJob{}
	}
	return json.Marshal(plain(t))
}

// ExtractorJob is one extractor job of a tier (openapi.yaml,
// components.schemas.ExtractorJobInfo). Every field is written, a nil
// Errors as []; CollectionIDs alone is left out when empty.
type ExtractorJob struct {
	CeleryTaskID     *string            `json:"celery_task_id"`
	CollectionIDs    []string           `json:"collection_ids,omitempty"`
	CompletedAt      *time.Time         `json:"completed_at"`
	DocumentsWritten *int               `json:"documents_written"`
	DurationMs       *float64           `json:"duration_ms"`
	Error            *string            `json:"error"`
	Errors           []BatchError       `json:"errors"`
	ExtractorType    string             `json:"extractor_type"`
	RayJobID         *string            `json:"ray_job_id"`
	StartedAt        *time.Time         `json:"started_at"`
	Status           batches.TaskStatus `json:"status"`
}

// MarshalJSON writes j with every field (see [ExtractorJob]).
func (j ExtractorJob) MarshalJSON() ([]byte, error) {
	type plain ExtractorJob
	if j.Errors == nil {
		j.Errors = []BatchError{}
	}
	return json.Marshal(plain(j))
}

// BatchError is one error of a tier or an extractor job (openapi.yaml,
// components.schemas.BatchErrorDetail). Every field is written, a nil
// AffectedDocumentIDs as [] and a nil Metadata as {}; Timestamp alone is
// left out when nil.
type BatchError struct {
	AffectedCount       int                   `json:"affected_count"` // 1 or more
	AffectedDocumentIDs []string              `json:"affected_document_ids"`
	Component           *string               `json:"component"`
	ErrorType           batches.ErrorCategory `json:"error_type"`
	Message             string                `json:"message"`
	Metadata            map[string]any        `json:"metadata"` // free-form; numbers as json.Number keep their digits
	RecoverySuggestion  *string               `json:"recovery_suggestion"`
	Stage               *string               `json:"stage"`
	Timestamp           *time.Time            `json:"timestamp,omitempty"`
	Traceback           *string               `json:"traceback"`
}

// MarshalJSON writes e with every field (see [BatchError]).
func (e BatchError) MarshalJSON() ([]byte, error) {
	type plain BatchError
	if e.AffectedDocumentIDs == nil {
		e.AffectedDocumentIDs = []string{}
	}
	if e.Metadata == nil {
		e.Metadata = map[string]any{}
	}
	return json.Marshal(plain(e))
}

// checkTierTasks returns an error wrapping [ErrInvalid] when a tier task,
// or one of its extractor jobs or errors, breaks a rule of the contract
// that JSON alone does not: a negative tier_num, a status that is not a
// TaskStatus, an error_type that is not an ErrorCategory, an
// affected_count below 1.
func checkTierTasks(tasks []TierTask) error {
	checkErrors := func(where string, errs []BatchError) error {
		for k, e := range errs {
			switch {
			case !e.ErrorType.IsKnown():
				return fmt.Errorf("%w: %s.errors[%d].error_type %q is not an ErrorCategory", ErrInvalid, where, k, e.ErrorType)
			case e.AffectedCount < 1:
				return fmt.Errorf("%w: %s.errors[%d].affected_count %d is less than 1", ErrInvalid, where, k, e.AffectedCount)
			}
		}
		return nil
	}
	for i, t := range tasks {
		where := fmt.Sprintf("tier_tasks[%d]", i)
		switch {
		case t.TierNum < 0:
			return fmt.Errorf("%w: %s.tier_num %d is less than 0", ErrInvalid, where, t.TierNum)
		case !t.Status.IsKnown():
			return fmt.Errorf("%w: %s.status %q is not a TaskStatus", ErrInvalid, where, t.Status)
		}
		if err := checkErrors(where, t.Errors); err != nil {
			return err
		}
		for j, job := range t.ExtractorJobs {
			jw := fmt.Sprintf("%s.extractor_jobs[%d]", where, j)
			if !job.Status.IsKnown() {
				return fmt.Errorf("%w: %s.status %q is not a TaskStatus", ErrInvalid, jw, job.Status)
			}
			if err := checkErrors(jw, job.Errors); err != nil {
				return err
			}
		}
	}
	return nil
}
