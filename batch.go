package batches

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/mixpeekgo/batches/generated/client"
)

// The operationIds of the batch lifecycle (openapi.yaml): an *Error's
// Operation, the first word of what a call refuses before sending, and the
// keys of retrySafe.
const (
	opCreateBatch = "createBatch"
	opGetBatch    = "getBatch"
	opPatchBatch  = "patchBatch"
	opDeleteBatch = "deleteBatch"
	opAddObjects  = "addObjectsToBatch"
	opSubmitBatch = "submitBatch"
	opCancelBatch = "cancelBatch"
	opRetryBatch  = "retryBatch"
)

// Bounds of the object ids of CreateBatch and AddObjects (openapi.yaml,
// ObjectIDs): a batch holds at most MaxObjectIDs objects.
const (
	MaxObjectIDs        = 1000
	maxObjectIDLength   = 256 // characters
	maxRetryCountOption = 10  // RetryBatchRequest.max_retry_count's maximum
)

// checkBatchPath refuses a bucket identifier or batch id that checkPathSegment
// refuses.
func checkBatchPath(op, bucket, batchID string) error {
	if err := checkPathSegment(op, "bucket identifier", "bucket", bucket); err != nil {
		return err
	}
	return checkPathSegment(op, "batch id", "batch", batchID)
}

// checkObjectIDs refuses what the contract's ObjectIDs refuses: no ids,
// more than MaxObjectIDs, an empty one or one over 256 characters, and an
// id given twice (which the API answers 400).
func checkObjectIDs(op string, ids []string) error {
	switch {
	case len(ids) == 0:
		return &paramError{op + ": no object ids: give 1 to " + fmt.Sprint(MaxObjectIDs)}
	case len(ids) > MaxObjectIDs:
		return &paramError{fmt.Sprintf("%s: %d object ids, more than %d", op, len(ids), MaxObjectIDs)}
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if id == "" {
			return &paramError{fmt.Sprintf("%s: object id %d is empty", op, i+1)}
		}
		if n := utf8.RuneCountInString(id); n > maxObjectIDLength {
			return &paramError{fmt.Sprintf("%s: object id %d is %d characters long, more than %d", op, i+1, n, maxObjectIDLength)}
		}
		if j, dup := seen[id]; dup {
			return &paramError{fmt.Sprintf("%s: object id %q is given twice (%d and %d)", op, id, j+1, i+1)}
		}
		seen[id] = i
	}
	return nil
}

// CreateBatch creates a batch of the bucket's objects objectIDs, in status
// DRAFT, and returns it (POST /v1/buckets/{bucket_identifier}/batches).
// Add more objects with AddObjects; start its processing with SubmitBatch.
//
// It returns, without sending anything, an error matching ErrValidation
// for a bucket identifier checkPathSegment refuses (empty, over 128 bytes,
// "." or "..", a control character), no object ids or more than
// MaxObjectIDs, an id empty or over 256 characters, or one given twice;
// ErrNoAPIKey, ErrNoNamespace or an option's error. Once sent, every
// failure is an *Error. It is not retried: a create sent again after it
// reached the server would make a second batch.
func (c *Client) CreateBatch(ctx context.Context, bucketIdentifier string, objectIDs []string, opts ...Option) (Batch, error) {
	cfg, err := c.prepare(opts, func() error {
		if err := checkPathSegment(opCreateBatch, "bucket identifier", "bucket", bucketIdentifier); err != nil {
			return err
		}
		return checkObjectIDs(opCreateBatch, objectIDs)
	})
	if err != nil {
		return Batch{}, err
	}
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		return w.CreateBatch(ctx, bucketIdentifier, &client.CreateBatchParams{XNamespace: cfg.namespace},
			client.CreateBatchRequest{ObjectIds: objectIDs})
	}
	return call(ctx, cfg, opCreateBatch, send, decodeBatch)
}

// GetBatch returns one batch of the bucket (GET
// /v1/buckets/{bucket_identifier}/batches/{batch_id}). A batch of another
// bucket or namespace is an *Error matching ErrNotFound, like one that
// does not exist; an answer whose batch_id is not batchID (a server, or a
// cache in front of it, answering for another batch) is an *Error of its
// 2xx status saying so. It is a read, retried as ListBatches is; to wait
// for a batch's outcome use WaitBatch.
//
// It returns, without sending anything, an error matching ErrValidation
// for a bucket identifier or batch id that checkPathSegment refuses, and
// ErrNoAPIKey, ErrNoNamespace or an option's error.
func (c *Client) GetBatch(ctx context.Context, bucketIdentifier, batchID string, opts ...Option) (Batch, error) {
	cfg, err := c.prepare(opts, func() error { return checkBatchPath(opGetBatch, bucketIdentifier, batchID) })
	if err != nil {
		return Batch{}, err
	}
	return getBatch(ctx, cfg, bucketIdentifier, batchID)
}

// getBatch is GetBatch's call with checked settings. An answer for
// another batch than batchID is not the answer: a 2xx *Error.
func getBatch(ctx context.Context, cfg config, bucket, batchID string) (Batch, error) {
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		return w.GetBatch(ctx, bucket, batchID, &client.GetBatchParams{XNamespace: cfg.namespace})
	}
	return call(ctx, cfg, opGetBatch, send, func(data []byte) (Batch, error) {
		b, err := decodeBatch(data)
		if err == nil && b.BatchID != batchID {
			return Batch{}, fmt.Errorf("the response is batch %q, not %q: the server answered for another batch", b.BatchID, batchID)
		}
		return b, err
	})
}

// UpdateBatch sets a batch's metadata, in any status, and returns the
// batch as stored (PATCH /v1/buckets/{bucket_identifier}/batches/{batch_id};
// metadata is all the API lets a client change). metadata replaces the
// batch's metadata as a whole, it is not merged; nil or empty clears it
// (sent as {}). It is retried as a read is: the same metadata sent again
// leaves the same batch.
//
// It returns, without sending anything, an error matching ErrValidation
// for a path parameter checkPathSegment refuses or metadata that does not
// encode as JSON (a channel, a NaN), and ErrNoAPIKey, ErrNoNamespace or an
// option's error. The API answers metadata over 16 KiB of JSON with a 400
// *Error.
func (c *Client) UpdateBatch(ctx context.Context, bucketIdentifier, batchID string, metadata map[string]any, opts ...Option) (Batch, error) {
	if metadata == nil {
		metadata = map[string]any{}
	}
	var body []byte // the PatchBatchRequest, encoded once
	cfg, err := c.prepare(opts, func() error {
		if err := checkBatchPath(opPatchBatch, bucketIdentifier, batchID); err != nil {
			return err
		}
		md, err := json.Marshal(metadata)
		if err != nil {
			return &paramError{fmt.Sprintf("%s: the metadata does not encode as JSON: %v", opPatchBatch, err)}
		}
		// What json.Marshal makes of client.PatchBatchRequest{Metadata: &metadata}.
		body = append(append([]byte(`{"metadata":`), md...), '}')
		return nil
	})
	if err != nil {
		return Batch{}, err
	}
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		// A bytes.Reader: the request's GetBody gives a retry the body again.
		return w.PatchBatchWithBody(ctx, bucketIdentifier, batchID, &client.PatchBatchParams{XNamespace: cfg.namespace},
			"application/json", bytes.NewReader(body))
	}
	return call(ctx, cfg, opPatchBatch, send, decodeBatch)
}

// DeleteBatch deletes a batch, in any status (DELETE
// /v1/buckets/{bucket_identifier}/batches/{batch_id}); one being processed
// is canceled first, and the answer's Message says so. It is not retried:
// sent again after it reached the server, it would answer 404 for the
// batch it deleted (a caller that got no answer can ask GetBatch: 404
// means it is gone).
//
// It returns, without sending anything, an error matching ErrValidation
// for a path parameter checkPathSegment refuses, and ErrNoAPIKey,
// ErrNoNamespace or an option's error.
func (c *Client) DeleteBatch(ctx context.Context, bucketIdentifier, batchID string, opts ...Option) (DeleteResult, error) {
	cfg, err := c.prepare(opts, func() error { return checkBatchPath(opDeleteBatch, bucketIdentifier, batchID) })
	if err != nil {
		return DeleteResult{}, err
	}
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		return w.DeleteBatch(ctx, bucketIdentifier, batchID, &client.DeleteBatchParams{XNamespace: cfg.namespace})
	}
	return call(ctx, cfg, opDeleteBatch, send, decodeDelete)
}

// AddObjects adds objects to a batch in status DRAFT and returns the batch
// (POST …/batches/{batch_id}/objects). A batch in another status, or an
// id already in it, is a 400 *Error matching ErrValidation whose Details
// name them. It is not retried: sent again after it reached the server,
// it would answer 400 for the ids it added.
//
// It returns, without sending anything, an error matching ErrValidation
// as CreateBatch does for the ids, or for a path parameter
// checkPathSegment refuses; ErrNoAPIKey, ErrNoNamespace or an option's
// error.
func (c *Client) AddObjects(ctx context.Context, bucketIdentifier, batchID string, objectIDs []string, opts ...Option) (Batch, error) {
	cfg, err := c.prepare(opts, func() error {
		if err := checkBatchPath(opAddObjects, bucketIdentifier, batchID); err != nil {
			return err
		}
		return checkObjectIDs(opAddObjects, objectIDs)
	})
	if err != nil {
		return Batch{}, err
	}
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		return w.AddObjectsToBatch(ctx, bucketIdentifier, batchID, &client.AddObjectsToBatchParams{XNamespace: cfg.namespace},
			client.AddObjectsToBatchRequest{ObjectIds: objectIDs})
	}
	return call(ctx, cfg, opAddObjects, send, decodeBatch)
}

// SubmitBatch submits a batch in status DRAFT, holding objects, for
// processing, and returns its new task, PENDING (POST
// …/batches/{batch_id}/submit). The batch then goes PENDING, IN_PROGRESS
// tier by tier, and ends COMPLETED, COMPLETED_WITH_ERRORS or FAILED:
// WaitBatch follows it, WaitTask follows the task. A batch in another
// status (submitted already) is a 400 *Error matching ErrValidation. It is
// not retried: sent again after it reached the server it would answer 400
// (a caller that got no answer can ask GetBatch: a status past DRAFT means
// it was submitted).
//
// It returns, without sending anything, an error matching ErrValidation
// for a path parameter checkPathSegment refuses, and ErrNoAPIKey,
// ErrNoNamespace or an option's error.
func (c *Client) SubmitBatch(ctx context.Context, bucketIdentifier, batchID string, opts ...Option) (Task, error) {
	cfg, err := c.prepare(opts, func() error { return checkBatchPath(opSubmitBatch, bucketIdentifier, batchID) })
	if err != nil {
		return Task{}, err
	}
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		return w.SubmitBatch(ctx, bucketIdentifier, batchID, &client.SubmitBatchParams{XNamespace: cfg.namespace},
			client.SubmitBatchRequest{})
	}
	return call(ctx, cfg, opSubmitBatch, send, decodeTask)
}

// CancelBatch cancels a batch being processed (PENDING, IN_PROGRESS or
// PROCESSING) and returns its task, CANCELED (POST
// …/batches/{batch_id}/cancel): the batch and its tiers not yet finished
// become CANCELED. A batch in another status (DRAFT, or one that ended) is
// a 400 *Error matching ErrValidation. It is not retried: the cancel of a
// batch canceled already answers 400, so a retry after a lost answer would
// turn its success into an error. KillTask of the batch's TaskID cancels
// it too, and is retried, being idempotent.
//
// It returns, without sending anything, an error matching ErrValidation
// for a path parameter checkPathSegment refuses, and ErrNoAPIKey,
// ErrNoNamespace or an option's error.
func (c *Client) CancelBatch(ctx context.Context, bucketIdentifier, batchID string, opts ...Option) (Task, error) {
	cfg, err := c.prepare(opts, func() error { return checkBatchPath(opCancelBatch, bucketIdentifier, batchID) })
	if err != nil {
		return Task{}, err
	}
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		return w.CancelBatch(ctx, bucketIdentifier, batchID, &client.CancelBatchParams{XNamespace: cfg.namespace})
	}
	return call(ctx, cfg, opCancelBatch, send, decodeTask)
}

// RetryMode is which failures RetryBatch processes again
// (RetryBatchRequest.retry_mode).
type RetryMode string

// The retry modes of openapi.yaml.
const (
	RetryTransientOnly RetryMode = "transient_only" // failures of transient errors (network, timeouts, rate limits); the API's default
	RetryAll           RetryMode = "all"            // every failure
)

// RetryParams are the options of RetryBatch (openapi.yaml,
// RetryBatchRequest); the zero value is the API's defaults.
type RetryParams struct {
	// Mode is RetryTransientOnly or RetryAll; "" leaves it to the API
	// (RetryTransientOnly).
	Mode RetryMode
	// TierNums are the tiers to retry from, 0-based; nil means every tier
	// with errors.
	TierNums []int
	// MaxRetryCount is how many retries the batch may have had before
	// this one, 1 to 10; 0 leaves it to the API (3).
	MaxRetryCount int
}

// check refuses what the API would refuse, before sending.
func (p RetryParams) check() error {
	if p.Mode != "" && p.Mode != RetryTransientOnly && p.Mode != RetryAll {
		return &paramError{fmt.Sprintf("%s: retry mode %q is not %q or %q", opRetryBatch, p.Mode, RetryTransientOnly, RetryAll)}
	}
	for _, n := range p.TierNums {
		if n < 0 {
			return &paramError{fmt.Sprintf("%s: tier %d is negative; tiers count from 0", opRetryBatch, n)}
		}
	}
	if p.MaxRetryCount < 0 || p.MaxRetryCount > maxRetryCountOption {
		return &paramError{fmt.Sprintf("%s: max retry count %d is not 1 to %d (0: the API's default)", opRetryBatch, p.MaxRetryCount, maxRetryCountOption)}
	}
	return nil
}

// request is the body of a retry: only what p sets.
func (p RetryParams) request() client.RetryBatchRequest {
	var body client.RetryBatchRequest
	if p.Mode != "" {
		m := client.RetryBatchRequestRetryMode(p.Mode)
		body.RetryMode = &m
	}
	if p.TierNums != nil {
		body.TierNums = &p.TierNums
	}
	if p.MaxRetryCount != 0 {
		n := int32(p.MaxRetryCount)
		body.MaxRetryCount = &n
	}
	return body
}

// RetryBatch processes again a batch that ended FAILED or
// COMPLETED_WITH_ERRORS, as a new task (POST …/batches/{batch_id}/retry):
// the batch takes the new task and goes PENDING; the task that failed
// keeps its status. params may be nil (the API's defaults). A batch in
// another status, a tier it does not have, or a batch retried
// MaxRetryCount times already is a 400 *Error matching ErrValidation. It
// is not retried: sent again after it reached the server, it would start
// a second retry or answer 400.
//
// It returns, without sending anything, an error matching ErrValidation
// for a path parameter checkPathSegment refuses, a Mode other than the
// two, a negative tier or a MaxRetryCount outside 0..10; ErrNoAPIKey,
// ErrNoNamespace or an option's error.
func (c *Client) RetryBatch(ctx context.Context, bucketIdentifier, batchID string, params *RetryParams, opts ...Option) (RetryResult, error) {
	var p RetryParams
	if params != nil {
		p = *params
	}
	cfg, err := c.prepare(opts, func() error {
		if err := checkBatchPath(opRetryBatch, bucketIdentifier, batchID); err != nil {
			return err
		}
		return p.check()
	})
	if err != nil {
		return RetryResult{}, err
	}
	send := func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error) {
		return w.RetryBatch(ctx, bucketIdentifier, batchID, &client.RetryBatchParams{XNamespace: cfg.namespace}, p.request())
	}
	return call(ctx, cfg, opRetryBatch, send, decodeRetry)
}
