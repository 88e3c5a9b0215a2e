package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/mixpeekgo/batches"
)

// errorWidth is the most characters of a batch's error the table shows.
const errorWidth = 48

// writeJSON writes v indented, without escaping <, > and &.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeTable writes batches as a table and a footer saying which of the
// total they are; offset is the number of batches before the first.
func writeTable(w io.Writer, bs []batches.Batch, offset, total int64) error {
	var buf bytes.Buffer
	if len(bs) > 0 {
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "BATCH ID\tSTATUS\tTYPE\tOBJECTS\tCREATED\tUPDATED\tERROR")
		for _, b := range bs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n",
				cell(b.BatchID), cell(string(b.Status)), cell(string(b.Type)), len(b.ObjectIDs),
				timeCell(b.CreatedAt), timeCell(b.UpdatedAt), errorCell(b))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&buf, "showing %d-%d of %d\n", offset+1, offset+int64(len(bs)), total)
	} else if total == 0 {
		fmt.Fprintln(&buf, "no batches")
	} else {
		fmt.Fprintf(&buf, "no batches at offset %d (total %d)\n", offset, total)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// cell is s safe for one table cell: no tabs, newlines or escapes.
func cell(s string) string {
	s = clean(s)
	if s == "" {
		return "-"
	}
	return s
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// errorCell is a batch's error, shortened: its error message, else its
// error summary ("timeout=2, unsupported_format=1"), else "-".
func errorCell(b batches.Batch) string {
	var s string
	switch {
	case b.Error != nil && strings.TrimSpace(*b.Error) != "":
		s = *b.Error
	case len(b.ErrorSummary) > 0:
		sum := b.ErrorSummary
		parts := make([]string, 0, len(sum))
		for _, k := range slices.Sorted(maps.Keys(sum)) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, sum[k]))
		}
		s = strings.Join(parts, ", ")
	}
	return shorten(cell(s), errorWidth)
}

// shorten cuts s to at most n characters, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
