package domain

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/mixpeekgo/batches"
)

// The limits of a batch, which every write of one checks ([CheckBatch] and
// [BatchRow], so the import, InsertBatches, the demo and any later write
// operation): they keep every page listable in bounded memory. Mixpeek's
// store caps a document at 16 MB; ours are far smaller, so that a page of
// batches.MaxLimit (1000) batches is at most MaxPageBytes (about 32 MiB),
// whichever batches it holds. The batches of Mixpeek's demo data are about
// 660 bytes each.
const (
	// MaxBatchBytes is the largest canonical JSON ([BatchJSON]) of a batch
	// when written: 32 KiB.
	MaxBatchBytes = 32 << 10
	// MaxStringBytes is the longest task_id, object id, collection id and
	// error_summary key, in bytes of UTF-8 (batch_id is at most 128, [CheckID]).
	MaxStringBytes = 256
	// MaxErrorBytes is the longest error, in bytes of UTF-8: 8 KiB.
	MaxErrorBytes = 8 << 10
	// MaxObjectIDs is the most object_ids of a batch.
	MaxObjectIDs = 1000
	// MaxCollectionIDs is the most collection_ids of a batch.
	MaxCollectionIDs = 100
	// MaxErrorSummaryKeys is the most error types in error_summary.
	MaxErrorSummaryKeys = 100
	// MaxMetadataBytes is the largest JSON of metadata, and of
	// internal_metadata: 16 KiB.
	MaxMetadataBytes = 16 << 10
	// MaxMetadataDepth is the deepest nesting of objects and arrays in
	// each free-form object of a batch (the object itself is depth 1):
	// metadata, internal_metadata, a tier task's performance, and the
	// metadata of an error of a tier task or of an extractor job.
	MaxMetadataDepth = 16
	// MaxBatchDepth is the deepest nesting of objects and arrays in a
	// batch's JSON, the batch itself depth 1: 32. The deepest the
	// contract's fields reach with free-form objects at MaxMetadataDepth
	// is 23 (tier_tasks[].extractor_jobs[].errors[].metadata); a client
	// decodes any of them (Go's encoding/json stops at 10,000 levels,
	// Python's json at about 1,000 by its recursion limit).
	MaxBatchDepth = 32
	// MaxTiers is the most tiers of a batch: total_tiers, tier_tasks, the
	// tiers of dag_tiers.
	MaxTiers = 32
	// MaxManifestKeyBytes is the longest manifest_key, in bytes of UTF-8:
	// the longest key S3 stores.
	MaxManifestKeyBytes = 1024

	// restatusGrowth is the most bytes a change of status can add to a
	// stored batch's JSON ([Admin.UpdateBatchStatus]): a longer status
	// (at most 21 characters, COMPLETED_WITH_ERRORS, for 5) and an
	// updated_at with more digits (at most 30 characters).
	restatusGrowth = 64

	// MaxPageBytes is the most bytes of a page's results array: 1000
	// batches of MaxBatchBytes (plus what a change of status may add),
	// the commas and brackets. SQLite (1,000,000,000 bytes a value) and
	// PostgreSQL (1 GB a text value) hold it as one value thirty times
	// over.
	MaxPageBytes = batches.MaxLimit*(MaxBatchBytes+restatusGrowth+1) + 1
)

// checkLimits returns an error wrapping ErrInvalid, naming the field, when
// a field of b is over its limit, or updated_at is before created_at.
func checkLimits(b *Batch) error {
	if b.UpdatedAt.Before(b.CreatedAt) {
		return fmt.Errorf("%w: updated_at %s is before created_at %s", ErrInvalid,
			b.UpdatedAt.UTC().Format(time.RFC3339Nano), b.CreatedAt.UTC().Format(time.RFC3339Nano))
	}
	if b.TaskID != nil && len(*b.TaskID) > MaxStringBytes {
		return tooLong("task_id", len(*b.TaskID), MaxStringBytes)
	}
	if b.Error != nil && len(*b.Error) > MaxErrorBytes {
		return tooLong("error", len(*b.Error), MaxErrorBytes)
	}
	if err := checkStrings("object_ids", b.ObjectIDs, MaxObjectIDs); err != nil {
		return err
	}
	if err := checkStrings("collection_ids", b.CollectionIDs, MaxCollectionIDs); err != nil {
		return err
	}
	if err := checkStrings("loaded_object_ids", b.LoadedObjectIDs, MaxObjectIDs); err != nil {
		return err
	}
	if b.ManifestKey != nil && len(*b.ManifestKey) > MaxManifestKeyBytes {
		return tooLong("manifest_key", len(*b.ManifestKey), MaxManifestKeyBytes)
	}
	if b.TotalTiers > MaxTiers {
		return fmt.Errorf("%w: total_tiers %d is more than %d", ErrInvalid, b.TotalTiers, MaxTiers)
	}
	if len(b.TierTasks) > MaxTiers {
		return tooMany("tier_tasks", len(b.TierTasks), MaxTiers)
	}
	if len(b.DagTiers) > MaxTiers {
		return tooMany("dag_tiers", len(b.DagTiers), MaxTiers)
	}
	for i, tier := range b.DagTiers {
		if err := checkStrings("dag_tiers["+strconv.Itoa(i)+"]", tier, MaxCollectionIDs); err != nil {
			return err
		}
	}
	if len(b.ErrorSummary) > MaxErrorSummaryKeys {
		return tooMany("error_summary", len(b.ErrorSummary), MaxErrorSummaryKeys)
	}
	for k := range b.ErrorSummary {
		if len(k) > MaxStringBytes {
			return tooLong("a key of error_summary", len(k), MaxStringBytes)
		}
	}
	if err := checkObject("metadata", b.Metadata); err != nil {
		return err
	}
	if err := checkObject("internal_metadata", b.InternalMetadata); err != nil {
		return err
	}
	checkErrors := func(where string, errs []BatchError) error {
		for k, e := range errs {
			if err := checkObject(fmt.Sprintf("%s.errors[%d].metadata", where, k), e.Metadata); err != nil {
				return err
			}
		}
		return nil
	}
	for i, t := range b.TierTasks {
		where := fmt.Sprintf("tier_tasks[%d]", i)
		if err := checkObject(where+".performance", t.Performance); err != nil {
			return err
		}
		if err := checkErrors(where, t.Errors); err != nil {
			return err
		}
		for j, job := range t.ExtractorJobs {
			if err := checkErrors(fmt.Sprintf("%s.extractor_jobs[%d]", where, j), job.Errors); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkObject returns an error wrapping ErrInvalid when m, the free-form
// object field, is nested more than MaxMetadataDepth deep or longer than
// MaxMetadataBytes of JSON.
func checkObject(field string, m map[string]any) error {
	if m == nil {
		return nil
	}
	if d := depth(m); d > MaxMetadataDepth {
		return fmt.Errorf("%w: %s is nested %d deep, more than %d", ErrInvalid, field, d, MaxMetadataDepth)
	}
	if j, err := json.Marshal(m); err == nil && len(j) > MaxMetadataBytes {
		return fmt.Errorf("%w: %s is %d bytes of JSON, more than %d", ErrInvalid, field, len(j), MaxMetadataBytes)
	}
	return nil
}

func checkStrings(field string, ss []string, max int) error {
	if len(ss) > max {
		return tooMany(field, len(ss), max)
	}
	for i, s := range ss {
		if len(s) > MaxStringBytes {
			return tooLong(field+"["+strconv.Itoa(i)+"]", len(s), MaxStringBytes)
		}
	}
	return nil
}

func tooLong(field string, n, max int) error {
	return fmt.Errorf("%w: %s is %d bytes long, more than %d", ErrInvalid, field, n, max)
}

func tooMany(field string, n, max int) error {
	return fmt.Errorf("%w: %s has %d items, more than %d", ErrInvalid, field, n, max)
}

// depth is the nesting of v, decoded JSON: 0 for a scalar, 1 for an
// object or array of scalars. (Decoded JSON is at most 10,000 deep:
// encoding/json refuses more.)
func depth(v any) int {
	var walk func(v any, d int) int
	walk = func(v any, d int) int {
		deepest := d
		switch t := v.(type) {
		case map[string]any:
			for _, e := range t {
				deepest = max(deepest, walk(e, d+1))
			}
			return max(deepest, d+1)
		case []any:
			for _, e := range t {
				deepest = max(deepest, walk(e, d+1))
			}
			return max(deepest, d+1)
		}
		return d
	}
	return walk(v, 0)
}

// checkBatchBytes returns an error wrapping ErrInvalid when doc, a batch's
// canonical JSON, is over MaxBatchBytes or nested over MaxBatchDepth.
func checkBatchBytes(doc []byte) error {
	if len(doc) > MaxBatchBytes {
		return fmt.Errorf("%w: the batch is %d bytes of JSON, more than %d", ErrInvalid, len(doc), MaxBatchBytes)
	}
	if d := JSONDepth(doc); d > MaxBatchDepth {
		return fmt.Errorf("%w: the batch's JSON is nested %d deep, more than %d", ErrInvalid, d, MaxBatchDepth)
	}
	return nil
}

// JSONDepth is the deepest nesting of arrays and objects in b, valid JSON
// (a scalar is 0, [] and {} are 1).
func JSONDepth(b []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ']', '}':
			depth--
		}
	}
	return deepest
}

// checkEscapes returns an error wrapping ErrInvalid when line, valid JSON,
// holds a \u escape of half a UTF-16 surrogate pair without the other half
// (a lone surrogate, "\ud800x"): no UTF-8 string holds it, so a decoder
// would store U+FFFD in its place, silently.
func checkEscapes(line []byte) error {
	if at := loneSurrogate(line); at >= 0 {
		return fmt.Errorf("%w: %s at byte %d is half of a UTF-16 surrogate pair without the other half, which no UTF-8 text holds (it would be stored as U+FFFD)",
			ErrInvalid, line[at:at+6], at+1)
	}
	return nil
}

// loneSurrogate returns the offset of the first \u escape of doc, valid
// JSON, that is half a UTF-16 surrogate pair without the other half; -1
// when there is none.
func loneSurrogate(doc []byte) int {
	for i := 0; i < len(doc); i++ {
		if doc[i] != '\\' {
			continue
		}
		i++ // the escaped character; backslashes appear only in strings
		if i >= len(doc) || doc[i] != 'u' || i+4 >= len(doc) {
			continue
		}
		r, err := strconv.ParseUint(string(doc[i+1:i+5]), 16, 16)
		if err != nil {
			continue
		}
		switch {
		case r >= 0xD800 && r < 0xDC00: // high half: a low one must follow
			if j := i + 5; j+6 <= len(doc) && doc[j] == '\\' && doc[j+1] == 'u' {
				if lo, err := strconv.ParseUint(string(doc[j+2:j+6]), 16, 16); err == nil && lo >= 0xDC00 && lo < 0xE000 {
					i = j + 5
					continue
				}
			}
			return i - 1
		case r >= 0xDC00 && r < 0xE000:
			return i - 1
		}
		i += 4
	}
	return -1
}

// NotText returns the offset of the first thing in doc, valid JSON, that
// no UTF-8 text holds: bytes that are not UTF-8, or a \u escape of half a
// UTF-16 surrogate pair without the other half (what the import refuses
// too, [ReadBatches]); -1 when there is none. A JSON decoder would read
// either as U+FFFD, silently: two different ids would become the same.
// [NotTextAt] says what it is.
func NotText(doc []byte) int {
	if !utf8.Valid(doc) {
		for at := 0; at < len(doc); {
			r, n := utf8.DecodeRune(doc[at:])
			if r == utf8.RuneError && n <= 1 {
				return at
			}
			at += n
		}
	}
	return loneSurrogate(doc)
}

// NotTextAt describes what NotText found at the offset at of doc, and
// that offset, and returns its length in doc (the escape's 6 bytes, or
// the byte that is not UTF-8).
func NotTextAt(doc []byte, at int) (what string, n int) {
	if doc[at] == '\\' && at+6 <= len(doc) {
		return fmt.Sprintf("%s at byte %d is half of a UTF-16 surrogate pair without the other half, which no UTF-8 text holds", doc[at:at+6], at), 6
	}
	return fmt.Sprintf("invalid UTF-8 (byte 0x%02x) at byte %d", doc[at], at), 1
}
