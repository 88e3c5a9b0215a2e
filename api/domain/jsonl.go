package domain

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/mixpeekgo/batches"
)

// MaxImportLine is the longest line, in bytes, of the import format
// ([ReadBatches]).
const MaxImportLine = 16 << 20

// LineError is the error of [ReadBatches] and [Admin.ImportBatches] about
// one line of the input. Its message is "line N: " and what is wrong with
// that line.
type LineError struct {
	Line int   // 1-based line number in the input
	Err  error // what is wrong; may wrap ErrInvalid or ErrAlreadyExists
}

// Error returns "line N: " and the message of e.Err.
func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns e.Err.
func (e *LineError) Unwrap() error { return e.Err }

// Schema is the contract's schema of a batch as the import format checks
// lines against it: openapi.yaml's components.schemas.Batch, which
// api.BatchSchema returns (the server validates requests with the same
// document). The domain does not restate the contract; it is handed it.
type Schema interface {
	// Has reports whether the schema has the property name; a line's
	// fields it has not are dropped.
	Has(property string) bool
	// Check returns an error saying where and how obj, a decoded JSON
	// object (numbers as json.Number), breaks the schema.
	Check(obj map[string]any) error
}

// ReadBatches reads and checks every line of r, JSON Lines of Batch
// objects as the List Batches endpoint returns them, and returns the
// batches and, for each, its 1-based line number (blank lines are skipped
// but counted). It is the import format of [Admin.ImportBatches]:
//
//   - a UTF-8 byte order mark at the start, and "\r\n" line endings, are
//     read past;
//   - each line is one JSON object of at most MaxImportLine bytes, valid
//     UTF-8 without a \u escape of a lone UTF-16 surrogate ("\ud800",
//     which would be stored as U+FFFD), and nothing after it; no number in
//     it may be beyond float64;
//   - the fields it leaves out get Mixpeek's defaults (status DRAFT, type
//     BUCKET, total_tiers 1, object_ids [], metadata {}, tier_tasks [],
//     the nullable ones null), and so do those its tier tasks, their
//     extractor jobs and errors leave out (status PENDING, affected_count
//     1, the lists [], metadata {}, the nullable ones null; an unknown
//     collection_ids or timestamp stays left out); batch_id, created_at
//     and updated_at have none;
//   - fields schema does not have (a field newer than the contract) are
//     dropped, and so are those of tier tasks, extractor jobs and errors
//     that the contract does not have;
//   - the rest must match schema (the error says "does not match the
//     Batch schema" and where) and [CheckBatch] (updated_at not before
//     created_at, the limits of limits.go; the error names the field).
//
// Whole numbers may be written as 1.0 or 1e2 (outside the free-form
// objects, metadata, internal_metadata and performance, whose numbers are
// kept digit for digit, json.Number). An error about
// a line is a *[LineError] (wrapping [ErrInvalid], or [ErrAlreadyExists]
// for a batch_id repeated in r); other errors are those of r.
func ReadBatches(r io.Reader, schema Schema) ([]Batch, []int, error) {
	var (
		out   []Batch
		lines []int
		seen  = map[string]int{}
	)
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, errLineTooLong) {
			return nil, nil, &LineError{Line: n, Err: err}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("reading line %d: %w", n, err)
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(line)) > 0 {
			b, perr := parseBatch(schema, line)
			if perr != nil {
				return nil, nil, &LineError{Line: n, Err: perr}
			}
			if first, dup := seen[b.BatchID]; dup {
				return nil, nil, &LineError{Line: n, Err: fmt.Errorf("batch_id %q %w: repeats line %d", b.BatchID, ErrAlreadyExists, first)}
			}
			seen[b.BatchID] = n
			out = append(out, b)
			lines = append(lines, n)
		}
		if errors.Is(err, io.EOF) {
			return out, lines, nil
		}
	}
}

var errLineTooLong = fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxImportLine)

// readLine returns the next line of br without its line ending; err is
// io.EOF with the last line, errLineTooLong past MaxImportLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > MaxImportLine+2 { // +2: "\r\n"
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > MaxImportLine {
			return nil, errLineTooLong
		}
		return line, err
	}
}

// batchDefaults are the values Mixpeek's BatchModel gives fields a batch
// leaves out (status DRAFT, type BUCKET, total_tiers 1; the nullable ones
// null), so that batches exported from Mixpeek import whatever fields its
// serializer left out. batch_id, created_at and updated_at have no default:
// an import keeps them as given.
var batchDefaults = map[string]func() any{
	"bucket_id":      func() any { return "" }, // replaced by the target bucket
	"status":         func() any { return string(batches.TaskStatusDraft) },
	"type":           func() any { return string(batches.BatchTypeBucket) },
	"total_tiers":    func() any { return json.Number("1") },
	"object_ids":     func() any { return []any{} },
	"metadata":       func() any { return map[string]any{} },
	"collection_ids": func() any { return nil },
	"error":          func() any { return nil },
	"error_summary":  func() any { return nil },
	"task_id":        func() any { return nil },
	"current_tier":   func() any { return nil },
	// Mixpeek's fields that the contract gained in 2.0.0.
	"manifest_key":      func() any { return nil },
	"loaded_object_ids": func() any { return nil },
	"internal_metadata": func() any { return nil },
	"tier_tasks":        func() any { return []any{} },
	"dag_tiers":         func() any { return nil },
}

// The defaults of Mixpeek's TierTaskInfo, ExtractorJobInfo and
// BatchErrorDetail for the fields a tier task, job or error leaves out;
// their collection_ids and timestamp have none (no empty list, no time is
// right) and stay left out.
var (
	tierTaskDefaults = map[string]func() any{
		"task_id": nilValue, "status": func() any { return string(batches.TaskStatusPending) },
		"extractor_jobs": emptyList, "source_collection_ids": nilValue, "parent_task_id": nilValue,
		"started_at": nilValue, "completed_at": nilValue, "duration_ms": nilValue, "errors": emptyList,
		"error_summary": nilValue, "performance": nilValue, "ray_job_id": nilValue, "celery_task_id": nilValue,
		"source_documents_fetched": nilValue, "documents_after_source_filter": nilValue,
		"documents_missing_input_fields": nilValue, "documents_submitted_to_engine": nilValue,
		"documents_written": nilValue,
	}
	extractorJobDefaults = map[string]func() any{
		"ray_job_id": nilValue, "celery_task_id": nilValue, "status": func() any { return string(batches.TaskStatusPending) },
		"started_at": nilValue, "completed_at": nilValue, "duration_ms": nilValue, "documents_written": nilValue,
		"errors": emptyList, "error": nilValue,
	}
	batchErrorDefaults = map[string]func() any{
		"component": nilValue, "stage": nilValue, "traceback": nilValue, "affected_document_ids": emptyList,
		"affected_count": func() any { return json.Number("1") }, "recovery_suggestion": nilValue,
		"metadata": func() any { return map[string]any{} },
	}
)

func nilValue() any  { return nil }
func emptyList() any { return []any{} }

// applyDefaults sets the defaults of the fields obj, a batch, leaves out,
// and those of its tier tasks, their extractor jobs and errors (objects
// that are not are left for the schema to refuse).
func applyDefaults(obj map[string]any) {
	setDefaults(obj, batchDefaults)
	tasks, _ := obj["tier_tasks"].([]any)
	for _, t := range tasks {
		task, ok := t.(map[string]any)
		if !ok {
			continue
		}
		setDefaults(task, tierTaskDefaults)
		errorDefaults(task["errors"])
		jobs, _ := task["extractor_jobs"].([]any)
		for _, j := range jobs {
			if job, ok := j.(map[string]any); ok {
				setDefaults(job, extractorJobDefaults)
				errorDefaults(job["errors"])
			}
		}
	}
}

func errorDefaults(errs any) {
	list, _ := errs.([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			setDefaults(m, batchErrorDefaults)
		}
	}
}

func setDefaults(obj map[string]any, defaults map[string]func() any) {
	for k, def := range defaults {
		if _, ok := obj[k]; !ok {
			obj[k] = def()
		}
	}
}

// freeForm are the properties whose values are free-form objects: their
// numbers are kept as written.
var freeForm = map[string]bool{"metadata": true, "internal_metadata": true, "performance": true}

// checkNumbers refuses a number that no float64 holds (1e400), anywhere in
// v: a batch holding one could be listed by no client that decodes JSON
// numbers as float64, Go's and JavaScript's among them. Whole numbers
// outside the free-form objects (metadata, internal_metadata, performance)
// are rewritten in integer form, as JSON Schema counts 1.0 an integer:
// total_tiers, current_tier, error_summary counts, tier_num and the like
// then decode into Go integers.
func checkNumbers(v any, path string) error {
	return walkNumbers(v, path, false)
}

func walkNumbers(v any, path string, free bool) error {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			p := path + "/" + k
			if n, ok := e.(json.Number); ok && !free {
				if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
					t[k] = json.Number(strconv.FormatInt(int64(f), 10))
				}
			}
			if err := walkNumbers(t[k], p, free || freeForm[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range t {
			if n, ok := e.(json.Number); ok && !free {
				if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
					t[i] = json.Number(strconv.FormatInt(int64(f), 10))
				}
			}
			if err := walkNumbers(t[i], path+"/"+strconv.Itoa(i), free); err != nil {
				return err
			}
		}
	case json.Number:
		if _, err := t.Float64(); err != nil {
			return fmt.Errorf("%w: %s: number %s is out of range", ErrInvalid, path, t)
		}
	}
	return nil
}

// parseBatch checks one line (see ReadBatches) against schema and decodes
// it.
func parseBatch(schema Schema, line []byte) (Batch, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Batch{}, fmt.Errorf("%w: not JSON: %v", ErrInvalid, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Batch{}, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Batch{}, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	applyDefaults(obj)
	// Fields the contract does not know (newer than it) are dropped
	// before anything is checked; those of nested objects are dropped by
	// decoding.
	for k := range obj {
		if !schema.Has(k) {
			delete(obj, k)
		}
	}
	if !utf8.Valid(line) {
		return Batch{}, fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	if err := checkEscapes(line); err != nil { // limits.go
		return Batch{}, err
	}
	if err := checkNumbers(obj, ""); err != nil {
		return Batch{}, err
	}
	if err := schema.Check(obj); err != nil {
		return Batch{}, fmt.Errorf("%w: does not match the Batch schema: %v", ErrInvalid, err)
	}
	line, err := json.Marshal(obj) // json.Number is written back as sent
	if err != nil {
		return Batch{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var b Batch
	dec = json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber() // metadata numbers stay exact
	if err := dec.Decode(&b); err != nil {
		return Batch{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := CheckBatch(&b); err != nil {
		return Batch{}, err
	}
	return b, nil
}
