package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/generated/server"
)

// minTime and maxTime bound the timestamps a batch may have: those that
// nanoseconds since the Unix epoch in an int64 can hold, whole years only
// (1678 to 2261). Both backends store timestamps that way.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// CheckBatch returns an error wrapping ErrInvalid when b cannot be stored:
// a batch_id that is not 1 to 128 characters of [A-Za-z0-9_.-], a Status or
// Type outside the enums, TotalTiers below 1, an Error or TaskId that is not
// text ([IsText]; wrapping [api.ErrInvalidUTF8] too when it is not valid
// UTF-8), or a CreatedAt or UpdatedAt outside the years 1678 to 2261.
func CheckBatch(b *server.Batch) error {
	if err := CheckID("batch_id", b.BatchId); err != nil {
		return err
	}
	switch {
	case !b.Status.Valid():
		return fmt.Errorf("%w: status %q is not a TaskStatus", ErrInvalid, b.Status)
	case !b.Type.Valid():
		return fmt.Errorf("%w: type %q is not a BatchType", ErrInvalid, b.Type)
	case b.TotalTiers < 1:
		return fmt.Errorf("%w: total_tiers %d is less than 1", ErrInvalid, b.TotalTiers)
	}
	for _, f := range []struct {
		name string
		s    *string
	}{{"error", b.Error}, {"task_id", b.TaskId}} {
		switch {
		case f.s == nil:
		case !utf8.ValidString(*f.s):
			return fmt.Errorf("%w: %s: %w", ErrInvalid, f.name, api.ErrInvalidUTF8)
		case strings.ContainsRune(*f.s, 0):
			return fmt.Errorf("%w: %s holds a NUL character (U+0000), which a database text column cannot hold", ErrInvalid, f.name)
		}
	}
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"created_at", b.CreatedAt}, {"updated_at", b.UpdatedAt}} {
		if t.t.Before(minTime) || !t.t.Before(maxTime) {
			return fmt.Errorf("%w: %s %s is outside the years 1678 to 2261", ErrInvalid, t.name, t.t.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// AsListed returns b as List Batches serves it once stored in the bucket
// bucketID: BucketId is bucketID, CreatedAt and UpdatedAt are in UTC, a nil
// ObjectIds is [] and a nil Metadata {}, and a CollectionIds or ErrorSummary
// that points to nil points to an empty one. b itself is not changed; the
// result shares b's slices and maps.
func AsListed(bucketID string, b server.Batch) server.Batch {
	b.BucketId = bucketID
	b.CreatedAt = b.CreatedAt.UTC()
	b.UpdatedAt = b.UpdatedAt.UTC()
	if b.ObjectIds == nil {
		b.ObjectIds = []string{}
	}
	if b.Metadata == nil {
		b.Metadata = map[string]any{}
	}
	if b.CollectionIds != nil && *b.CollectionIds == nil {
		b.CollectionIds = &[]string{}
	}
	if b.ErrorSummary != nil && *b.ErrorSummary == nil {
		b.ErrorSummary = &map[string]int{}
	}
	return b
}

// IsText reports whether s is valid UTF-8 without NUL characters: what a
// text column holds in PostgreSQL (which refuses the others) and what SQLite
// gives back unchanged. Names, ids and the string fields of batches must be
// text; a lookup by a string that is not finds nothing.
func IsText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// TaskStatuses returns every TaskStatus of openapi.yaml's enum, in its
// order (PENDING first, SUSPENDED last), as a new slice each call.
func TaskStatuses() []server.TaskStatus {
	return []server.TaskStatus{
		server.TaskStatusPENDING, server.TaskStatusINPROGRESS, server.TaskStatusPROCESSING,
		server.TaskStatusCOMPLETED, server.TaskStatusCOMPLETEDWITHERRORS, server.TaskStatusFAILED,
		server.TaskStatusCANCELED, server.TaskStatusUNKNOWN, server.TaskStatusSKIPPED,
		server.TaskStatusDRAFT, server.TaskStatusACTIVE, server.TaskStatusARCHIVED,
		server.TaskStatusSUSPENDED,
	}
}

// Restatus returns the canonical JSON ([api.BatchJSON]) of the batch whose
// stored canonical JSON is doc, with its status set to status and its
// updated_at to now in UTC, or to its created_at when now is before it; and
// that updated_at, for the updated_at column. Every other field is kept as
// doc has it, metadata numbers digit for digit. It is how a backend's
// UpdateBatchStatus rewrites a batch: the row's doc is the batch, as the
// doc guards of the migrations (00004) keep it matching the other columns.
//
// status is not checked (callers refuse one that is not Valid first). It
// returns an error when doc is not a batch's JSON ("stored doc: …") and
// [api.BatchJSON]'s error when the batch cannot be encoded.
func Restatus(doc []byte, status server.TaskStatus, now time.Time) (newDoc []byte, updatedAt time.Time, err error) {
	var b server.Batch
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return nil, time.Time{}, fmt.Errorf("stored doc: %w", err)
	}
	b.Status = status
	b.UpdatedAt = now.UTC()
	if b.UpdatedAt.Before(b.CreatedAt) {
		b.UpdatedAt = b.CreatedAt
	}
	newDoc, err = api.BatchJSON(&b)
	if err != nil {
		return nil, time.Time{}, err
	}
	return newDoc, b.UpdatedAt, nil
}

// BatchColumns returns the columns of the batches table that both backends
// write for a batch, in the order of [BatchRow]'s values: id, bucket_id,
// status, type, object_ids, collection_ids, error, error_summary, task_id,
// metadata, current_tier, total_tiers, created_at, updated_at, doc. It
// returns a new slice each call.
func BatchColumns() []string {
	return []string{"id", "bucket_id", "status", "type", "object_ids", "collection_ids", "error",
		"error_summary", "task_id", "metadata", "current_tier", "total_tiers", "created_at", "updated_at", "doc"}
}

// BatchRow returns the values of [BatchColumns] for b stored in the bucket
// bucketID, as listed ([AsListed]), for an INSERT through database/sql or a
// COPY through pgx: the ids, status and type as string; object_ids,
// collection_ids, error_summary and metadata as their JSON in a string
// (collection_ids and error_summary nil, for NULL, when b's are nil);
// error, task_id and current_tier as b's *string and *int (a nil pointer is
// NULL in both drivers); total_tiers as an int; created_at and updated_at
// as nanoseconds since the Unix epoch (int64); and doc, last, as the
// batch's canonical JSON ([api.BatchJSON]) in a string.
//
// b is not checked ([CheckBatch] does that). It returns an error wrapping
// [ErrInvalid] (and api.BatchJSON's error) when the batch has no canonical
// JSON, and an error naming the column when one cannot be encoded.
func BatchRow(bucketID string, b server.Batch) ([]any, error) {
	l := AsListed(bucketID, b)
	doc, err := api.BatchJSON(&l)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	objectJSON, err := json.Marshal(l.ObjectIds)
	if err != nil {
		return nil, fmt.Errorf("object_ids: %w", err)
	}
	metadataJSON, err := json.Marshal(l.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	var collectionJSON, summaryJSON any
	if l.CollectionIds != nil {
		j, err := json.Marshal(*l.CollectionIds)
		if err != nil {
			return nil, fmt.Errorf("collection_ids: %w", err)
		}
		collectionJSON = string(j)
	}
	if l.ErrorSummary != nil {
		j, err := json.Marshal(*l.ErrorSummary)
		if err != nil {
			return nil, fmt.Errorf("error_summary: %w", err)
		}
		summaryJSON = string(j)
	}
	return []any{
		l.BatchId, bucketID, string(l.Status), string(l.Type), string(objectJSON), collectionJSON, l.Error,
		summaryJSON, l.TaskId, string(metadataJSON), l.CurrentTier, l.TotalTiers,
		l.CreatedAt.UnixNano(), l.UpdatedAt.UnixNano(), string(doc),
	}, nil
}
