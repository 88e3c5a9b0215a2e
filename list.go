package batches

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/mixpeekgo/batches/generated/client"
)

// Bounds of ListBatchesParams.Limit (openapi.yaml, ListBatchesRequest).
const (
	MaxLimit     = 1000 // the largest page
	DefaultLimit = 100  // the page size the API uses when none is sent (ListBatches with Limit 0); AllBatches sends it
)

// ListBatchesParams filters and pages List Batches (the body of the
// request, openapi.yaml ListBatchesRequest). The zero value asks for the
// first page of every batch.
type ListBatchesParams struct {
	// Status keeps only batches with this status; "" keeps every status.
	// It is sent as given: a status the server does not know answers 422.
	Status TaskStatus
	// CollectionID keeps only batches whose collection_ids hold this
	// collection id (Mixpeek's collection_id filter); "" keeps every batch.
	// With Status, both apply. At most 128 characters (the contract's
	// maxLength).
	CollectionID string
	// Offset is the number of batches to skip, 0 or more.
	Offset int64
	// Limit is the page size, 1 to MaxLimit; 0 leaves it to the API
	// (DefaultLimit), and AllBatches sends DefaultLimit.
	Limit int
}

// check refuses parameters the API would refuse, before sending.
func (p *ListBatchesParams) check() error {
	if p.Offset < 0 {
		return &paramError{fmt.Sprintf("%s: offset %d is negative; it must be 0 or more", opListBatches, p.Offset)}
	}
	if p.Limit < 0 {
		return &paramError{fmt.Sprintf("%s: limit %d is negative; it must be 1 to %d", opListBatches, p.Limit, MaxLimit)}
	}
	if p.Limit > MaxLimit {
		return &paramError{fmt.Sprintf("%s: limit %d is more than %d", opListBatches, p.Limit, MaxLimit)}
	}
	if n := utf8.RuneCountInString(p.CollectionID); n > maxIdentifier {
		return &paramError{fmt.Sprintf("%s: the collection id is %d characters long, more than %d", opListBatches, n, maxIdentifier)}
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
// they end before TotalCount. An empty page is the end even when
// TotalCount says more follow (a server that counts batches it does not
// return); AllBatches asks for such a page again, then fails with
// ErrInconsistentPage.
func (p *ListBatchesPage) HasMore() bool {
	return len(p.Results) > 0 && p.Offset+int64(len(p.Results)) < p.TotalCount
}

// NextOffset is the offset of the page after this one: Offset plus the
// number of results (openapi.yaml: a client pages by raising offset by the
// number of results).
func (p *ListBatchesPage) NextOffset() int64 { return p.Offset + int64(len(p.Results)) }

// ListBatches returns one page of the batches of a bucket, newest first
// (POST /v1/buckets/{bucket_identifier}/batches/list). bucketIdentifier is
// the bucket's id ("bkt_…") or name. params may be nil (the first page of
// every batch, as many as the API's default limit, DefaultLimit). opts
// override the client's settings for this call only.
//
// It returns, without sending anything, an invalid option's error; an error
// matching ErrValidation for a bucket identifier that is empty, over 128
// bytes (the contract's maxLength), "." or ".." (dot-segments, which a URL
// path resolves away, RFC 3986 section 5.2.4) or holds a control
// character, a negative offset, a collection id over 128 characters, or a
// limit outside 1..MaxLimit (0 is the
// API's default); ErrNoAPIKey or ErrNoNamespace when the call has none.
//
// Once the request is sent, every failure is an *Error, after the retries
// the operation allows (it is a read: connection errors, attempt timeouts,
// 408, 429, 500, 502, 503 and 504 are retried; a Retry-After longer than
// the max retry delay ends the retries): an answer of the API other than
// 2xx; a 2xx whose body is not a ListBatchesResponse with results and
// total_count, or has a result that is null, not a Batch or without a
// batch_id (Message names its index, e.g. "results[3] has no batch_id"); a
// redirect that would turn the POST into a GET (Message names the
// location); and no answer at all (StatusCode 0, the connection or context
// error in Err, so errors.Is(err, context.Canceled) holds). A page of more
// results than the limit sent is an error matching ErrInconsistentPage.
func (c *Client) ListBatches(ctx context.Context, bucketIdentifier string, params *ListBatchesParams, opts ...Option) (*ListBatchesPage, error) {
	p := valueOf(params)
	cfg, err := c.prepare(opts, func() error { return checkList(bucketIdentifier, p) })
	if err != nil {
		return nil, err
	}
	return listPage(ctx, cfg, bucketIdentifier, p)
}

// ListBatches returns one page of the batches of a bucket, as
// Client.ListBatches does, with a client made for this call by New(opts...):
// settings from $MIXPEEK_API_KEY, $MIXPEEK_NAMESPACE and $MIXPEEK_BASE_URL
// (https://api.mixpeek.com when unset), then opts. It is for scripts and
// one-off calls, as http.Get is over http.DefaultClient; connections are
// shared with every other default client (http.DefaultTransport). It returns
// New's error when a variable or option is invalid, and otherwise what
// Client.ListBatches returns. A program that makes calls with the same
// settings over and over makes one Client with New.
func ListBatches(ctx context.Context, bucketIdentifier string, params *ListBatchesParams, opts ...Option) (*ListBatchesPage, error) {
	c, err := New(opts...)
	if err != nil {
		return nil, err
	}
	return c.ListBatches(ctx, bucketIdentifier, params)
}

// valueOf is a copy of *params, or the zero value for nil.
func valueOf(params *ListBatchesParams) ListBatchesParams {
	if params == nil {
		return ListBatchesParams{}
	}
	return *params
}

// checkList refuses, before sending, what List Batches would refuse.
func checkList(bucket string, p ListBatchesParams) error {
	if err := checkPathSegment(opListBatches, "bucket identifier", "bucket", bucket); err != nil {
		return err
	}
	return p.check()
}

// listPage asks for one page with checked settings and parameters: a
// ListBatchesResponse whose every result is a batch with a batch_id, no
// more of them than p.Limit when one was sent.
func listPage(ctx context.Context, cfg config, bucket string, p ListBatchesParams) (*ListBatchesPage, error) {
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		return w.ListBatches(ctx, bucket, &client.ListBatchesParams{XNamespace: cfg.namespace}, p.request())
	}
	page, err := call(ctx, cfg, opListBatches, send, decodePage)
	if err != nil {
		return nil, err
	}
	if p.Limit > 0 && len(page.Results) > p.Limit {
		return nil, &pageError{op: opListBatches, msg: fmt.Sprintf("the page at offset %d holds %d batches, more than the limit of %d asked for: the server ignores the limit", p.Offset, len(page.Results), p.Limit)}
	}
	page.Offset = p.Offset
	return page, nil
}

// request is the body of List Batches for p: only what p sets (the API's
// defaults are status none, offset 0, limit DefaultLimit).
func (p ListBatchesParams) request() client.ListBatchesRequest {
	var body client.ListBatchesRequest
	if p.Status != "" {
		s := client.TaskStatus(p.Status)
		body.Status = &s
	}
	if p.CollectionID != "" {
		body.CollectionId = &p.CollectionID
	}
	if p.Offset != 0 {
		body.Offset = &p.Offset
	}
	if p.Limit != 0 {
		l := int32(p.Limit)
		body.Limit = &l
	}
	return body
}

// decodePage decodes a ListBatchesResponse, or says what is wrong with it:
// it is not one (results or total_count missing), or a result is null, is
// not a Batch, or has no batch_id. The page's Offset is left 0.
func decodePage(data []byte) (*ListBatchesPage, error) {
	const notPage = "the response is not a ListBatchesResponse with results and total_count"
	var shape struct {
		Results    *[]json.RawMessage `json:"results"`
		TotalCount *int64             `json:"total_count"`
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New(notPage + ": empty body")
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		return nil, errors.New(notPage + ": " + err.Error())
	}
	if shape.Results == nil || shape.TotalCount == nil {
		return nil, errors.New(notPage)
	}
	results := make([]Batch, len(*shape.Results))
	for i, raw := range *shape.Results {
		switch raw = bytes.TrimSpace(raw); {
		case string(raw) == "null":
			return nil, fmt.Errorf("results[%d] is null, not a batch", i)
		case raw[0] != '{':
			return nil, fmt.Errorf("results[%d] is %.20s, not a batch", i, raw)
		}
		// raw is the decoder's own copy: the batch keeps it as its RawJSON,
		// and the object is scanned once more, not twice.
		if err := results[i].decode(raw); err != nil {
			return nil, fmt.Errorf("results[%d] is not a batch: %v", i, err)
		}
		if results[i].BatchID == "" {
			return nil, fmt.Errorf("results[%d] has no batch_id", i)
		}
	}
	return &ListBatchesPage{Results: results, TotalCount: *shape.TotalCount}, nil
}
