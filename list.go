package batches

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"

	"github.com/mixpeekgo/batches/generated/client"
)

// Bounds of ListBatchesParams.Limit (openapi.yaml, ListBatchesRequest).
const (
	MaxLimit     = 1000 // the largest page
	DefaultLimit = 100  // the page size the API uses when Limit is 0
)

// maxBucketIdentifier is the contract's maxLength of bucket_identifier.
const maxBucketIdentifier = 128

// ListBatchesParams filters and pages List Batches (the body of the
// request, openapi.yaml ListBatchesRequest). The zero value asks for the
// first page of every batch.
type ListBatchesParams struct {
	// Status keeps only batches with this status; "" keeps every status.
	// It is sent as given: a status the server does not know answers 422.
	Status TaskStatus
	// Offset is the number of batches to skip, 0 or more.
	Offset int64
	// Limit is the page size, 1 to MaxLimit (1000); 0 leaves it to the API
	// (DefaultLimit, 100).
	Limit int
}

// check refuses parameters the API would refuse, before sending.
func (p *ListBatchesParams) check() error {
	if p.Offset < 0 {
		return &paramError{fmt.Sprintf("%s: offset %d is negative; it must be 0 or more", opListBatches, p.Offset)}
	}
	if p.Limit < 0 || p.Limit > MaxLimit {
		return &paramError{fmt.Sprintf("%s: limit %d is outside 1..%d (0 leaves it to the API, %d)", opListBatches, p.Limit, MaxLimit, DefaultLimit)}
	}
	return nil
}

// ListBatchesPage is one page of List Batches (openapi.yaml
// ListBatchesResponse).
type ListBatchesPage struct {
	Results    []Batch // the page, newest first (created_at, then batch_id, descending)
	TotalCount int64   // the number of all batches that match the filter, ignoring offset and limit
	Offset     int64   // the offset the page was asked for
}

// HasMore reports whether batches follow this page: it has results and
// they end before TotalCount.
func (p *ListBatchesPage) HasMore() bool {
	return len(p.Results) > 0 && p.Offset+int64(len(p.Results)) < p.TotalCount
}

// NextOffset is the offset of the page after this one.
func (p *ListBatchesPage) NextOffset() int64 { return p.Offset + int64(len(p.Results)) }

// ListBatches returns one page of the batches of a bucket, newest first
// (POST /v1/buckets/{bucket_identifier}/batches/list). params may be nil
// (the first page of every batch, as many as the API's default limit).
//
// It returns an error matching ErrValidation, without sending anything, for
// an empty bucket identifier or one over 128 bytes, a negative offset, or a
// limit outside 1..1000 (0 is the API's default); ErrNoAPIKey or
// ErrNoNamespace when the call has none; an *Error when the API answers
// with an error (after retries: the operation is a read, so connection
// errors, 408, 429, 500, 502, 503 and 504 are retried); and the connection
// or context error, wrapped, when no answer came.
func (c *Client) ListBatches(ctx context.Context, bucketIdentifier string, params *ListBatchesParams, opts ...Option) (*ListBatchesPage, error) {
	cfg, err := c.callConfig(opts)
	if err != nil {
		return nil, err
	}
	var p ListBatchesParams
	if params != nil {
		p = *params
	}
	if err := checkList(cfg, bucketIdentifier, &p); err != nil {
		return nil, err
	}
	return listPage(ctx, cfg, bucketIdentifier, p)
}

// checkList refuses, before sending, what List Batches would refuse.
func checkList(cfg config, bucket string, p *ListBatchesParams) error {
	if bucket == "" {
		return &paramError{opListBatches + ": the bucket identifier is empty"}
	}
	if len(bucket) > maxBucketIdentifier {
		return &paramError{fmt.Sprintf("%s: the bucket identifier is %d bytes long, more than %d", opListBatches, len(bucket), maxBucketIdentifier)}
	}
	if err := p.check(); err != nil {
		return err
	}
	if cfg.apiKey == "" {
		return ErrNoAPIKey
	}
	if cfg.namespace == "" {
		return ErrNoNamespace
	}
	return nil
}

// listPage sends one checked List Batches request.
func listPage(ctx context.Context, cfg config, bucket string, p ListBatchesParams) (*ListBatchesPage, error) {
	body := client.ListBatchesRequest{}
	if p.Status != "" {
		s := client.TaskStatus(p.Status)
		body.Status = &s
	}
	if p.Offset != 0 {
		body.Offset = &p.Offset
	}
	if p.Limit != 0 {
		l := int32(p.Limit)
		body.Limit = &l
	}
	cl := &call{op: opListBatches}
	resp, err := wire(cfg).ListBatches(withCall(ctx, cl), bucket, &client.ListBatchesParams{XNamespace: cfg.namespace}, body)
	if err != nil {
		return nil, callError(cfg, cl, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body) // in memory already
	if err != nil {
		return nil, callError(cfg, cl, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newError(cl.op, resp.Request.Method, resp.Request.URL.EscapedPath(), resp, data, cl.Attempts(), cfg.apiKey)
	}
	var shape struct {
		Results    *[]Batch `json:"results"`
		TotalCount *int64   `json:"total_count"`
	}
	if err := json.Unmarshal(data, &shape); err != nil || shape.Results == nil || shape.TotalCount == nil {
		e := newError(cl.op, resp.Request.Method, resp.Request.URL.EscapedPath(), resp, data, cl.Attempts(), cfg.apiKey)
		e.Type, e.Message, e.Details, e.Detail = "", "the response is not a ListBatchesResponse with results and total_count", nil, nil
		if err != nil {
			e.Message += ": " + err.Error()
		}
		return nil, e
	}
	return &ListBatchesPage{Results: *shape.Results, TotalCount: *shape.TotalCount, Offset: p.Offset}, nil
}

// wire is the generated client for one call's settings: requests go
// through the retrying transport over cfg's HTTP client, with the headers
// of cfg.
func wire(cfg config) *client.Client {
	hc := *cfg.httpClient
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &transport{cfg: cfg, base: base}
	editor := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+cfg.apiKey)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		for name, values := range cfg.headers {
			req.Header[name] = append([]string(nil), values...)
		}
		return nil
	}
	// NewClient fails only for a base URL that does not parse, and New
	// checked it.
	c, err := client.NewClient(cfg.baseURL+"/", client.WithHTTPClient(&hc), client.WithRequestEditorFn(editor))
	if err != nil {
		panic(err)
	}
	return c
}

// callError wraps an error that left no answer with the operation and the
// number of attempts; errors.Is still finds the cause (context.Canceled,
// context.DeadlineExceeded, a *net.OpError, …).
func callError(cfg config, cl *call, err error) error {
	n := len(cl.Attempts())
	msg := redactString(err.Error(), cfg.apiKey)
	switch n {
	case 0, 1:
		return &wrapped{msg: fmt.Sprintf("batches: %s: %s", cl.op, msg), err: err}
	default:
		return &wrapped{msg: fmt.Sprintf("batches: %s: %d attempts: %s", cl.op, n, msg), err: err}
	}
}

// wrapped is an error with its own text (the cause's, redacted) that
// unwraps to the cause.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// AllBatches returns every batch of a bucket from params.Offset on, newest
// first, fetching pages of params.Limit (0: the API's default, 100) as the
// loop asks for them. params may be nil. For example:
//
//	for b, err := range c.AllBatches(ctx, "bkt_demo", nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(b.BatchID, b.Status)
//	}
//
// The walk raises the offset by the number of results of each page and
// ends when it reaches the page's total_count or a page is empty. Breaking
// out of the loop stops it without fetching more. An error (the ones
// ListBatches returns) is yielded once, with a zero Batch, and ends it.
//
// Offset paging over a list that changes while it is walked, and what this
// iterator does about it:
//
//   - A batch is never yielded twice in one walk: ids already yielded are
//     skipped (so memory grows with the number of batches walked, about 100
//     bytes each).
//   - Batches created during the walk sort first and push the rest to
//     later offsets; the walk sees the pushed ones again and skips them, so
//     every batch that existed when it started is still yielded. The new
//     ones are not.
//   - Batches deleted (or, with a Status filter, leaving that status) ahead
//     of the walk's offset pull the rest to earlier offsets, where a plain
//     walk would miss them. When total_count falls between two pages, the
//     walk steps back by the fall (never before params.Offset) and reads
//     again, skipping what it has yielded. A deletion matched by a creation
//     between the same two pages leaves total_count unchanged and cannot be
//     seen: one batch may then be missed per such pair.
//
// To resume an interrupted walk, pass Offset = the earlier Offset plus the
// number of batches yielded: batches created since then push the walk back
// (it repeats some, which a caller may skip by id), batches deleted pull it
// forward (it may miss some).
func (c *Client) AllBatches(ctx context.Context, bucketIdentifier string, params *ListBatchesParams, opts ...Option) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		cfg, err := c.callConfig(opts)
		if err != nil {
			yield(Batch{}, err)
			return
		}
		var p ListBatchesParams
		if params != nil {
			p = *params
		}
		if err := checkList(cfg, bucketIdentifier, &p); err != nil {
			yield(Batch{}, err)
			return
		}
		start := p.Offset
		seen := make(map[string]struct{})
		prevTotal := int64(-1)
		for {
			page, err := listPage(ctx, cfg, bucketIdentifier, p)
			if err != nil {
				yield(Batch{}, err)
				return
			}
			if prevTotal >= 0 && page.TotalCount < prevTotal {
				// Batches went away: some not yet yielded may have moved
				// before this page; read again from where they may be.
				back := max(start, p.Offset-(prevTotal-page.TotalCount))
				prevTotal = page.TotalCount
				if back < p.Offset {
					p.Offset = back
					continue
				}
			}
			prevTotal = page.TotalCount
			for _, b := range page.Results {
				if _, dup := seen[b.BatchID]; dup {
					continue
				}
				seen[b.BatchID] = struct{}{}
				if !yield(b, nil) {
					return
				}
			}
			if !page.HasMore() {
				return
			}
			p.Offset = page.NextOffset()
		}
	}
}
