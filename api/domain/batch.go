package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mixpeekgo/batches"
)

// Batch is a batch of a bucket's objects as the server stores and lists it
// (openapi.yaml, components.schemas.Batch). The fields are declared in the
// order in which the API writes them (the JSON names sorted), so that
// encoding/json writes a Batch as the generated server writes its Batch;
// [BatchJSON] is that encoding.
//
// A nil CollectionIDs, DagTiers, ErrorSummary, InternalMetadata or
// LoadedObjectIDs is null, an empty non-nil one [] or {}; a nil ObjectIDs,
// Metadata or TierTasks is stored and listed as [], {} or []. Every field
// is always written (the tier tasks' too, see [TierTask]).
type Batch struct {
	BatchID          string             `json:"batch_id"`          // 1 to 128 characters of [A-Za-z0-9_.-]; "btch_" and 12 characters when generated
	BucketID         string             `json:"bucket_id"`         // the bucket the batch is stored in
	CollectionIDs    []string           `json:"collection_ids"`    // the collections the batch feeds (List Batches filters on them); nil for null
	CreatedAt        time.Time          `json:"created_at"`        // the list's sort key; years 1678 to 2261, nanoseconds kept
	CurrentTier      *int               `json:"current_tier"`      // the tier being processed, 0 or more; nil for null
	DagTiers         [][]string         `json:"dag_tiers"`         // the collections of each tier; nil for null
	Error            *string            `json:"error"`             // why the batch failed; nil for null
	ErrorSummary     map[string]int     `json:"error_summary"`     // failed objects by error type; nil for null
	InternalMetadata map[string]any     `json:"internal_metadata"` // the engine's; numbers as json.Number keep their digits; nil for null
	LoadedObjectIDs  []string           `json:"loaded_object_ids"` // the objects validated and loaded; nil for null
	ManifestKey      *string            `json:"manifest_key"`      // where the manifest is stored; nil for null
	Metadata         map[string]any     `json:"metadata"`          // free-form; numbers as json.Number keep their digits
	ObjectIDs        []string           `json:"object_ids"`        // the bucket objects in the batch
	Status           batches.TaskStatus `json:"status"`            // one of batches.TaskStatuses()
	TaskID           *string            `json:"task_id"`           // the task processing the batch; nil for null
	TierTasks        []TierTask         `json:"tier_tasks"`        // one a tier, once submitted
	TotalTiers       int                `json:"total_tiers"`       // 1 or more
	Type             batches.BatchType  `json:"type"`              // BUCKET or COLLECTION
	UpdatedAt        time.Time          `json:"updated_at"`        // when the batch last changed
}

// minTime and maxTime bound the timestamps a batch may have: those that
// nanoseconds since the Unix epoch in an int64 can hold, whole years only
// (1678 to 2261). Both backends store timestamps that way.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// BatchJSON returns the canonical JSON of b: the object a List Batches
// answer carries for it, byte for byte as the generated strict server's
// json.NewEncoder(w).Encode writes a batch in ListBatchesResponse.results
// (fields in the order of the JSON names, metadata keys sorted, <, > and &
// escaped as \u003c, \u003e and \u0026, no white space, no trailing
// newline). Stores keep it with each batch (written whenever the batch is)
// and answer pages from it, so that a page is served without decoding or
// encoding anything.
//
// b is read as a store keeps it: a nil ObjectIDs or TierTasks is written
// [], a nil Metadata {}; CreatedAt and UpdatedAt are written in UTC (RFC 3339 with up
// to 9 digits of fraction, trailing zeros dropped); BucketID as it is (set
// it to the bucket the batch is stored in first, see [AsListed]).
//
// It returns an error wrapping [ErrInvalidUTF8] when a string of b (a key
// or value of its metadata included) is not valid UTF-8, which JSON would
// silently turn into U+FFFD, and another error when encoding/json cannot
// encode a metadata value (NaN, ±Inf, a channel, a function).
func BatchJSON(b Batch) ([]byte, error) {
	if b.ObjectIDs == nil {
		b.ObjectIDs = []string{}
	}
	if b.Metadata == nil {
		b.Metadata = map[string]any{}
	}
	if b.TierTasks == nil {
		b.TierTasks = []TierTask{}
	}
	b.CreatedAt = b.CreatedAt.UTC()
	b.UpdatedAt = b.UpdatedAt.UTC()
	// json.Marshal escapes HTML as json.Encoder does by default.
	doc, err := json.Marshal(&b)
	if err != nil {
		return nil, fmt.Errorf("batch JSON: %w", err)
	}
	if hasReplacementEscape(doc) {
		return nil, fmt.Errorf("batch JSON: %w", ErrInvalidUTF8)
	}
	return doc, nil
}

// hasReplacementEscape reports whether doc, written by encoding/json, holds
// the escape \ufffd: encoding/json writes it only for bytes that are not
// valid UTF-8 (a valid U+FFFD is written as is), and a backslash that is
// part of a string is written \\, so an escape is a backslash preceded by an
// even number of backslashes.
func hasReplacementEscape(doc []byte) bool {
	const esc = `\ufffd`
	for i := 0; ; {
		j := bytes.Index(doc[i:], []byte(esc))
		if j < 0 {
			return false
		}
		j += i
		k := j
		for k > 0 && doc[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return true
		}
		i = j + len(esc)
	}
}

// CheckBatch returns an error wrapping [ErrInvalid] when b cannot be
// stored: a BatchID that breaks [CheckID], a Status that is not a known
// TaskStatus or a Type that is not a BatchType of the contract, TotalTiers
// below 1, a CurrentTier below 0, an Error or TaskID that is not text
// ([IsText]; wrapping [ErrInvalidUTF8] too when it is not valid UTF-8), a
// collection id that is not text, a CreatedAt or UpdatedAt outside the
// years 1678 to 2261, an UpdatedAt before CreatedAt, a tier task that
// breaks the contract's rules (checkTierTasks), or a field over its limit
// (limits.go: MaxObjectIDs, …; the error names the field). The other
// strings are checked by [BatchJSON], the size of the whole batch
// (MaxBatchBytes) by [BatchRow].
func CheckBatch(b *Batch) error {
	if err := CheckID("batch_id", b.BatchID); err != nil {
		return err
	}
	switch {
	case !b.Status.IsKnown():
		return fmt.Errorf("%w: status %q is not a TaskStatus", ErrInvalid, b.Status)
	case b.Type != batches.BatchTypeBucket && b.Type != batches.BatchTypeCollection:
		return fmt.Errorf("%w: type %q is not a BatchType", ErrInvalid, b.Type)
	case b.TotalTiers < 1:
		return fmt.Errorf("%w: total_tiers %d is less than 1", ErrInvalid, b.TotalTiers)
	case b.CurrentTier != nil && *b.CurrentTier < 0:
		return fmt.Errorf("%w: current_tier %d is less than 0", ErrInvalid, *b.CurrentTier)
	}
	for i, c := range b.CollectionIDs {
		// Each is stored as text of its own, for List Batches' filter.
		switch {
		case !utf8.ValidString(c):
			return fmt.Errorf("%w: collection_ids[%d]: %w", ErrInvalid, i, ErrInvalidUTF8)
		case strings.ContainsRune(c, 0):
			return fmt.Errorf("%w: collection_ids[%d] holds a NUL character (U+0000), which a database text column cannot hold", ErrInvalid, i)
		}
	}
	if err := checkTierTasks(b.TierTasks); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		s    *string
	}{{"error", b.Error}, {"task_id", b.TaskID}} {
		switch {
		case f.s == nil:
		case !utf8.ValidString(*f.s):
			return fmt.Errorf("%w: %s: %w", ErrInvalid, f.name, ErrInvalidUTF8)
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
	return checkLimits(b) // limits.go
}

// AsListed returns b as List Batches serves it once stored in the bucket
// bucketID: BucketID is bucketID, CreatedAt and UpdatedAt are in UTC, a nil
// ObjectIDs or TierTasks is [] and a nil Metadata {}. b itself is not changed; the
// result shares b's slices and maps.
func AsListed(bucketID string, b Batch) Batch {
	b.BucketID = bucketID
	b.CreatedAt = b.CreatedAt.UTC()
	b.UpdatedAt = b.UpdatedAt.UTC()
	if b.ObjectIDs == nil {
		b.ObjectIDs = []string{}
	}
	if b.Metadata == nil {
		b.Metadata = map[string]any{}
	}
	if b.TierTasks == nil {
		b.TierTasks = []TierTask{}
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

// RenderDoc returns the canonical JSON ([BatchJSON]) of the batch whose
// stored JSON is doc: the same fields and values (metadata numbers digit
// for digit), every field of the contract written, in order. It is how a
// migration brings the docs of an older version to this one's; a doc that
// is already canonical comes back unchanged. It returns an error when doc
// is not a batch's JSON ("stored doc: …") and BatchJSON's error when the
// batch cannot be encoded.
func RenderDoc(doc []byte) ([]byte, error) {
	var b Batch
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("stored doc: %w", err)
	}
	return BatchJSON(b)
}

// restatus returns the canonical JSON ([BatchJSON]) of the batch whose
// stored canonical JSON is doc, with its status set to status and its
// updated_at to now in UTC, or to its created_at when now is before it; and
// that updated_at, for the updated_at column. Every other field is kept as
// doc has it, metadata numbers digit for digit. It is how
// [Admin.UpdateBatchStatus] rewrites a batch: the row's doc is the batch,
// as the doc guards of the migrations (00004) keep it matching the other
// columns.
//
// status is not checked. It returns an error when doc is not a batch's
// JSON ("stored doc: …") and BatchJSON's error when the batch cannot be
// encoded.
func restatus(doc []byte, status batches.TaskStatus, now time.Time) (newDoc []byte, updatedAt time.Time, err error) {
	var b Batch
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
	newDoc, err = BatchJSON(b)
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
// batch's canonical JSON ([BatchJSON]) in a string.
//
// b is not checked ([CheckBatch] does that). It returns an error wrapping
// [ErrInvalid] (and BatchJSON's error) when the batch has no canonical
// JSON or it is over MaxBatchBytes, and an error naming the column when
// one cannot be encoded.
func BatchRow(bucketID string, b Batch) ([]any, error) {
	l := AsListed(bucketID, b)
	doc, err := BatchJSON(l)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := checkBatchBytes(doc); err != nil {
		return nil, err
	}
	objectJSON, err := json.Marshal(l.ObjectIDs)
	if err != nil {
		return nil, fmt.Errorf("object_ids: %w", err)
	}
	metadataJSON, err := json.Marshal(l.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	var collectionJSON, summaryJSON any
	if l.CollectionIDs != nil {
		j, err := json.Marshal(l.CollectionIDs)
		if err != nil {
			return nil, fmt.Errorf("collection_ids: %w", err)
		}
		collectionJSON = string(j)
	}
	if l.ErrorSummary != nil {
		j, err := json.Marshal(l.ErrorSummary)
		if err != nil {
			return nil, fmt.Errorf("error_summary: %w", err)
		}
		summaryJSON = string(j)
	}
	return []any{
		l.BatchID, bucketID, string(l.Status), string(l.Type), string(objectJSON), collectionJSON, l.Error,
		summaryJSON, l.TaskID, string(metadataJSON), l.CurrentTier, l.TotalTiers,
		l.CreatedAt.UnixNano(), l.UpdatedAt.UnixNano(), string(doc),
	}, nil
}
