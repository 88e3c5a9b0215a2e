package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mixpeekgo/batches/generated/client"
)

// userAgent is sent with every request.
const userAgent = "mixpeek-batches-cli/1"

// maxResponseBytes bounds what is read of one response: a page of 1000
// batches is far smaller.
const maxResponseBytes = 64 << 20

// newClient returns the generated client for cfg; every request it sends
// carries the API key and the namespace.
func newClient(cfg config) (*client.ClientWithResponses, error) {
	auth := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+cfg.apiKey)
		req.Header.Set("X-Namespace", cfg.namespace)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		return nil
	}
	return client.NewClientWithResponses(cfg.baseURL,
		client.WithHTTPClient(&http.Client{Timeout: cfg.timeout}),
		client.WithRequestEditorFn(auth),
	)
}

// page is one answer of List Batches.
type page struct {
	body    []byte            // the response body as sent
	results []client.Batch    // decoded
	raw     []json.RawMessage // results[i] as sent
	total   int64             // total_count
}

// apiError is a failed request, described in one or more lines.
type apiError struct{ lines []string }

func (e *apiError) Error() string { return strings.Join(e.lines, "; ") }

// fetchPage asks for one page.
func fetchPage(ctx context.Context, c *client.ClientWithResponses, cfg config, bucket string, req client.ListBatchesRequest) (*page, error) {
	rsp, err := c.ListBatches(ctx, bucket, &client.ListBatchesParams{XNamespace: cfg.namespace}, req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(rsp.Body, maxResponseBytes+1))
	_ = rsp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the response (HTTP %s): %w", statusLine(rsp), err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("the response (HTTP %s) is larger than %d bytes", statusLine(rsp), maxResponseBytes)
	}
	if rsp.StatusCode < 200 || rsp.StatusCode > 299 {
		return nil, &apiError{lines: describeError(rsp, data)}
	}

	rsp.Body = io.NopCloser(bytes.NewReader(data))
	res, err := client.ParseListBatchesResult(rsp)
	if err != nil || res.JSON200 == nil {
		why := "it is not JSON (Content-Type " + quoteOrNone(rsp.Header.Get("Content-Type")) + ")"
		if err != nil {
			why = err.Error()
		}
		return nil, &apiError{lines: []string{fmt.Sprintf("unexpected response, HTTP %s: %s: %s", statusLine(rsp), why, snippet(data))}}
	}
	var shape struct {
		Results    []json.RawMessage `json:"results"`
		TotalCount *int64            `json:"total_count"`
	}
	if err := json.Unmarshal(data, &shape); err != nil || shape.Results == nil || shape.TotalCount == nil ||
		len(shape.Results) != len(res.JSON200.Results) {
		return nil, &apiError{lines: []string{fmt.Sprintf("unexpected response, HTTP %s: not a ListBatchesResponse with results and total_count: %s", statusLine(rsp), snippet(data))}}
	}
	return &page{body: data, results: res.JSON200.Results, raw: shape.Results, total: *shape.TotalCount}, nil
}

// list runs "batches list" with checked settings.
func list(ctx context.Context, cfg config, o listOptions, stdout, stderr io.Writer) int {
	c, err := newClient(cfg)
	if err != nil {
		return fail(stderr, cfg, err)
	}
	var start int64
	if o.offset != nil {
		start = *o.offset
	}
	req := client.ListBatchesRequest{Status: o.status, Offset: o.offset}
	if o.limit != nil {
		l := int32(*o.limit)
		req.Limit = &l
	}

	if !o.all {
		p, err := fetchPage(ctx, c, cfg, o.bucket, req)
		if err != nil {
			return fail(stderr, cfg, err)
		}
		if o.json {
			err = writeRawJSON(stdout, p.body)
		} else {
			err = writeTable(stdout, p.results, start, p.total)
		}
		if err != nil {
			return fail(stderr, cfg, fmt.Errorf("writing the output: %w", err))
		}
		return exitOK
	}

	all, total, err := walk(ctx, c, cfg, o.bucket, req, stderr)
	if err != nil {
		return fail(stderr, cfg, err)
	}
	if o.json {
		raw := make([]json.RawMessage, len(all))
		for i, b := range all {
			raw[i] = b.raw
		}
		err = writeJSON(stdout, struct {
			Results    []json.RawMessage `json:"results"`
			TotalCount int64             `json:"total_count"`
		}{raw, total})
	} else {
		bs := make([]client.Batch, len(all))
		for i, b := range all {
			bs[i] = b.batch
		}
		err = writeTable(stdout, bs, start, total)
	}
	if err != nil {
		return fail(stderr, cfg, fmt.Errorf("writing the output: %w", err))
	}
	return exitOK
}

// walked is one batch found by walk.
type walked struct {
	batch client.Batch
	raw   json.RawMessage
}

// walk fetches every page from req.Offset on: the offset grows by the
// number of results of each page until it reaches total_count or a page is
// empty. A batch id seen before is dropped (batches created while walking
// shift later pages), and a page that brings nothing new ends the walk, so
// a server that ignores the offset cannot make it loop forever. The page
// size is req.Limit, or allPageSize when unset. It returns the batches and
// the last total_count.
func walk(ctx context.Context, c *client.ClientWithResponses, cfg config, bucket string, req client.ListBatchesRequest, stderr io.Writer) ([]walked, int64, error) {
	var offset int64
	if req.Offset != nil {
		offset = *req.Offset
	}
	if req.Limit == nil {
		l := int32(allPageSize)
		req.Limit = &l
	}
	var (
		all   []walked
		total int64
		seen  = map[string]bool{}
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		off := offset
		req.Offset = &off
		p, err := fetchPage(ctx, c, cfg, bucket, req)
		if err != nil {
			return nil, 0, err
		}
		total = p.total
		if len(p.results) == 0 {
			break
		}
		added := 0
		for i, b := range p.results {
			if seen[b.BatchId] {
				continue
			}
			seen[b.BatchId] = true
			all = append(all, walked{batch: b, raw: p.raw[i]})
			added++
		}
		offset += int64(len(p.results))
		if offset >= total {
			break
		}
		if added == 0 {
			// Going on could loop for ever; stopping quietly would pass a
			// part for the whole.
			return nil, 0, fmt.Errorf("the page at offset %d holds only batches already listed (%d of %d fetched): the server does not page by offset", off, len(all), total)
		}
	}
	return all, total, nil
}

// fail prints err to stderr, one "error: " line per problem, and returns
// exit status 1. The API key is masked should anything echo it.
func fail(stderr io.Writer, cfg config, err error) int {
	var lines []string
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		lines = ae.lines
	case errors.Is(err, context.Canceled):
		lines = []string{"interrupted"}
	default:
		lines = []string{err.Error()}
	}
	for _, l := range lines {
		if len(cfg.apiKey) >= 8 {
			l = strings.ReplaceAll(l, cfg.apiKey, "[api key]")
		}
		fmt.Fprintf(stderr, "error: %s\n", l)
	}
	return exitFailure
}

func statusLine(rsp *http.Response) string {
	if t := http.StatusText(rsp.StatusCode); t != "" {
		return fmt.Sprintf("%d %s", rsp.StatusCode, t)
	}
	return fmt.Sprint(rsp.StatusCode)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return fmt.Sprintf("%q", s)
}
