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
	"strings"
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
//     BUCKET, total_tiers 1, object_ids [], metadata {}, the nullable
//     ones null); batch_id, created_at and updated_at have none;
//   - fields schema does not have (Mixpeek's tier_tasks, say) are
//     dropped;
//   - the rest must match schema (the error says "does not match the
//     Batch schema" and where) and [CheckBatch] (updated_at not before
//     created_at, the limits of limits.go; the error names the field).
//
// Whole numbers in the integer fields may be written as 1.0 or 1e2;
// metadata numbers are kept digit for digit (json.Number). An error about
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
}

func applyDefaults(obj map[string]any) {
	for k, def := range batchDefaults {
		if _, ok := obj[k]; !ok {
			obj[k] = def()
		}
	}
}

// checkNumbers refuses a number that no float64 holds (1e400), anywhere in
// v: a batch holding one could be listed by no client that decodes JSON
// numbers as float64, Go's and JavaScript's among them. Whole numbers in
// the integer fields (total_tiers, current_tier, error_summary counts) are
// rewritten in integer form, as JSON Schema counts 1.0 an integer.
func checkNumbers(v any, path string) error {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			p := path + "/" + k
			if n, ok := e.(json.Number); ok && (p == "/total_tiers" || p == "/current_tier" || strings.HasPrefix(p, "/error_summary/")) {
				if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
					t[k] = json.Number(strconv.FormatInt(int64(f), 10))
				}
			}
			if err := checkNumbers(t[k], p); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range t {
			if err := checkNumbers(e, path+"/"+strconv.Itoa(i)); err != nil {
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
	// Fields the contract does not know (Mixpeek's tier_tasks, say) are
	// dropped before anything is checked.
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
