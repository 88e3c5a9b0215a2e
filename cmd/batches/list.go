package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/mixpeekgo/batches"
)

// list runs "batches list" with c, the client of the settings s.
func list(ctx context.Context, c *batches.Client, s settings, o listOptions, stdout, stderr io.Writer) int {
	params := &batches.ListBatchesParams{Status: o.status, CollectionID: o.collection, Offset: o.offset, Limit: o.limit}
	if o.all {
		return walkAll(ctx, c, s, o, params, stdout, stderr)
	}
	page, err := c.ListBatches(ctx, o.bucket, params)
	if err != nil {
		return fail(stderr, s, err)
	}
	switch o.format {
	case formatJSON:
		err = writePageJSON(stdout, page.Results, page.TotalCount)
	case formatJSONL:
		for _, b := range page.Results {
			if err = writeJSONLine(stdout, rawJSON(b)); err != nil {
				break
			}
		}
	default:
		err = writeTable(stdout, page.Results, o.offset, page.TotalCount)
	}
	if err != nil {
		return writeFailed(stderr, s, err)
	}
	return exitOK
}

// writeFailed reports a failed write of the output. A reader that went
// away (a closed pipe: batches list | head -1) is a normal end, as for
// other Unix filters: exit status 0 and nothing on stderr. main ignores
// SIGPIPE so that such a write returns EPIPE instead of killing the
// program.
func writeFailed(stderr io.Writer, s settings, err error) int {
	if brokenPipe(err) {
		return exitOK
	}
	return fail(stderr, s, fmt.Errorf("writing the output: %w", err))
}

// walkAll runs "batches list --all" over the client's iterator, whose page
// size is --limit or allPageSize. With -o jsonl each batch is written as it
// arrives; with json or table they are gathered and written only when
// every page has come, so that a part is never passed off as the whole.
func walkAll(ctx context.Context, c *batches.Client, s settings, o listOptions, params *batches.ListBatchesParams, stdout, stderr io.Writer) int {
	if params.Limit == 0 {
		params.Limit = allPageSize
	}
	var all []batches.Batch
	n := 0
	// The iterator ends with an error (batches.ErrInconsistentPage, exit
	// 1) rather than pass a part off as the whole when the server ignores
	// the offset or the limit, repeats pages, or counts batches it does not
	// return.
	for b, err := range c.AllBatches(ctx, o.bucket, params) {
		if err != nil {
			code := fail(stderr, s, err)
			if o.format == formatJSONL && n > 0 {
				fmt.Fprintf(stderr, "error: the listing is incomplete: %d batches were written before the error\n", n)
			}
			return code
		}
		n++
		if o.format == formatJSONL {
			if err := writeJSONLine(stdout, rawJSON(b)); err != nil {
				return writeFailed(stderr, s, err) // ends the walk
			}
			continue
		}
		all = append(all, b)
	}
	// Every page came: total_count is what a whole walk from --offset
	// counts, the offset and the batches after it.
	total := o.offset + int64(n)
	var err error
	switch o.format {
	case formatJSONL:
	case formatJSON:
		err = writePageJSON(stdout, all, total)
	default:
		err = writeTable(stdout, all, o.offset, total)
	}
	if err != nil {
		return writeFailed(stderr, s, err)
	}
	return exitOK
}

// fail prints err to stderr, one "error: " line per problem, and returns
// the exit status of its kind (see exitCode); a usage error ends with the
// hint to --help. The client keeps the API key out of its errors.
func fail(stderr io.Writer, s settings, err error) int {
	for _, l := range describe(err, s) {
		fmt.Fprintf(stderr, "error: %s\n", l)
	}
	code := exitCode(err)
	if code == exitUsage {
		fmt.Fprintln(stderr, usageHint(s.cmd))
	}
	return code
}

// describe is the lines that tell err.
func describe(err error, s settings) []string {
	var e *batches.Error
	switch {
	case errors.Is(err, context.Canceled):
		return []string{"interrupted"}
	case !errors.As(err, &e):
		return []string{strings.TrimPrefix(err.Error(), "batches: ")}
	}
	var lines []string
	switch {
	case e.StatusCode == 0: // no answer: the connection or timeout error
		lines = []string{e.Operation + ": " + clean(e.Message)}
	case e.Err != nil: // a redirect the client does not follow
		lines = []string{withRequestID(fmt.Sprintf("HTTP %s: %s", statusLine(e.StatusCode), clean(e.Message)), e)}
	case e.StatusCode >= 200 && e.StatusCode <= 299:
		line := fmt.Sprintf("unexpected response, HTTP %s: %s", statusLine(e.StatusCode), clean(e.Message))
		if body := snippet(e.RawBody); body != "" {
			line += ": " + body
		}
		lines = []string{withRequestID(line, e)}
	default:
		lines = describeAnswer(e)
	}
	if n := len(e.Attempts); n > 1 {
		lines = append(lines, fmt.Sprintf("gave up after %d attempts", n))
	}
	if e.RetryAfter > s.maxRetryDelay {
		lines = append(lines, fmt.Sprintf("the server asks to wait %v before trying again (Retry-After), more than --max-retry-delay %v: not retried", e.RetryAfter, s.maxRetryDelay))
	}
	return lines
}

// exitCode is the exit status for err (see the exit… constants).
func exitCode(err error) int {
	var (
		e      *batches.Error
		netErr net.Error
	)
	switch {
	case errors.As(err, &e) && e.StatusCode != 0: // an answer
		switch {
		case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
			return exitAuth
		case e.StatusCode == http.StatusNotFound:
			return exitNotFound
		case e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500:
			return exitUnavailable
		}
		return exitFailure
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, batches.ErrValidation):
		// Refused by the client before sending.
		return exitUsage
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return exitUnavailable
	}
	return exitFailure
}

// writePageJSON writes a ListBatchesResponse of batches, each as the server
// sent it, indented.
func writePageJSON(w io.Writer, bs []batches.Batch, total int64) error {
	raw := make([]json.RawMessage, len(bs))
	for i, b := range bs {
		raw[i] = rawJSON(b)
	}
	return writeJSON(w, struct {
		Results    []json.RawMessage `json:"results"`
		TotalCount int64             `json:"total_count"`
	}{raw, total})
}

// writeJSONLine writes raw (an object as the server sent it) on one line.
func writeJSONLine(w io.Writer, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// rawJSON is b as the server sent it, fields this CLI does not know
// included.
func rawJSON(b batches.Batch) json.RawMessage {
	data, err := rawOrMarshal(b.RawJSON(), b) // b is always decoded from JSON
	if err != nil {
		return json.RawMessage("null")
	}
	return data
}

// rawOrMarshal is raw, an answer as the server sent it, or v encoded when
// raw is nil (v was not decoded from JSON).
func rawOrMarshal(raw json.RawMessage, v any) (json.RawMessage, error) {
	if raw != nil {
		return raw, nil
	}
	return json.Marshal(v)
}

func statusLine(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}
