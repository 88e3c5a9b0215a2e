package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// The operations on a bucket's batches.

// ListBatches answers one page of the bucket's batches: the request's
// status and collection filters, offset (default 0) and limit (default
// batches.DefaultLimit), which validation kept within the contract.
func (s *batchesServer) ListBatches(ctx context.Context, req server.ListBatchesRequestObject) (server.ListBatchesResponseObject, error) {
	_, bucket, err := s.resolveBucket(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	p := domain.ListParams{BucketID: bucket.ID, Limit: batches.DefaultLimit}
	if b := req.Body; b != nil {
		if b.Status != nil {
			status := batches.TaskStatus(*b.Status)
			p.Status = &status
		}
		p.CollectionID = b.CollectionId
		if b.Offset != nil {
			p.Offset = *b.Offset
		}
		if b.Limit != nil {
			p.Limit = int(*b.Limit)
		}
	}
	// The page as kept, or as another request is reading it, while the
	// bucket is unchanged (cache.go); else this request reads it.
	kept, finish, err := s.cached(ctx, keyOf(p))
	if err != nil {
		return nil, fmt.Errorf("listing batches: %w", err)
	}
	if kept != nil {
		return listPage{storedJSON{kept: kept, ctx: ctx, adm: s.adm}}, nil
	}
	var page []byte // the answer read, for the requests waiting for it
	defer func() { finish(page) }()
	reserved, err := s.adm.reservePage(ctx, bucket.Sizes.PageBound(p.Limit))
	if err != nil {
		return nil, err
	}
	buf := getBuffer()
	out := append((*buf)[:0], `{"results":`...)
	out, total, err := s.store.ListBatches(ctx, p, out)
	if err != nil {
		reserved.release(reserved.size())
		putBuffer(buf)
		return nil, fmt.Errorf("listing batches: %w", err)
	}
	out = append(out, `,"total_count":`...)
	out = strconv.AppendInt(out, total, 10)
	out = append(out, "}\n"...)
	*buf, page = out, out
	return listPage{storedJSON{buf: buf, ctx: ctx, adm: s.adm, reserved: reserved}}, nil
}

// cached returns the answer of key as kept, or as another request is
// reading it, while its bucket is unchanged (cache.go); else nil and
// finish, which the caller calls with the answer it read (nil for none),
// for the requests waiting for it. A bucket without a version (gone
// meanwhile) is read as without the cache.
func (s *batchesServer) cached(ctx context.Context, key pageKey) (kept []byte, finish func([]byte), err error) {
	finish = func([]byte) {}
	if s.pages == nil {
		return nil, finish, nil
	}
	kept, read, err := s.pages.page(ctx, key)
	switch {
	case err == nil && kept != nil:
		return kept, finish, nil
	case err == nil:
		return nil, func(b []byte) { s.pages.finish(key, read, b) }, nil
	case errors.Is(err, errNoVersion):
		return nil, finish, nil
	}
	return nil, nil, err
}

// listPage is the 200 answer of List Batches, a ListBatchesResponse.
type listPage struct{ storedJSON }

func (p listPage) VisitListBatchesResponse(w http.ResponseWriter) error { return p.write(w) }

// The lifecycle: each operation resolves the bucket (the one tenancy
// check), lets the store (domain.Lifecycle) change the batch, and answers
// what it stored.

// scope resolves the request's namespace and bucket among the key's
// organization's.
func (s *batchesServer) scope(ctx context.Context, namespace, bucket string) (domain.Scope, error) {
	ns, b, err := s.resolveBucket(ctx, namespace, bucket)
	if err != nil {
		return domain.Scope{}, err
	}
	org, _ := OrganizationFrom(ctx)
	return domain.Scope{OrganizationID: org.ID, NamespaceID: ns.ID, BucketID: b.ID}, nil
}

// CreateBatch creates a DRAFT batch of the request's objects.
func (s *batchesServer) CreateBatch(ctx context.Context, req server.CreateBatchRequestObject) (server.CreateBatchResponseObject, error) {
	sc, err := s.scope(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	doc, err := s.store.CreateBatch(ctx, sc, req.Body.ObjectIds)
	return s.reply(ctx, doc, err, "creating a batch")
}

// GetBatch answers one batch of the bucket, as stored.
func (s *batchesServer) GetBatch(ctx context.Context, req server.GetBatchRequestObject) (server.GetBatchResponseObject, error) {
	_, b, err := s.resolveBucket(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	// The batch as kept while its bucket is unchanged, as pages are.
	kept, finish, err := s.cached(ctx, pageKey{bucketID: b.ID, batch: req.BatchId})
	if err != nil {
		return nil, fmt.Errorf("getting a batch: %w", err)
	}
	if kept != nil {
		return stored{storedJSON{kept: kept, ctx: ctx, adm: s.adm}}, nil
	}
	var answer []byte
	defer func() { finish(answer) }()
	buf := getBuffer()
	out, err := s.store.GetBatch(ctx, b.ID, req.BatchId, (*buf)[:0])
	if err != nil {
		putBuffer(buf)
		if errors.Is(err, domain.ErrNotFound) {
			return nil, domain.NotFound("batch", req.BatchId)
		}
		return nil, fmt.Errorf("getting a batch: %w", err)
	}
	*buf = append(out, '\n')
	answer = *buf
	return stored{storedJSON{buf: buf, ctx: ctx, adm: s.adm}}, nil
}

// PatchBatch sets the batch's metadata: what the body's metadata holds,
// {} for null, nothing when the body has no metadata (the generated body
// type cannot tell null from absent; the validated body can).
func (s *batchesServer) PatchBatch(ctx context.Context, req server.PatchBatchRequestObject) (server.PatchBatchResponseObject, error) {
	sc, err := s.scope(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	body, _ := validatedBodyFrom(ctx).(map[string]any)
	raw, set := body["metadata"]
	metadata, _ := raw.(map[string]any)
	doc, err := s.store.PatchBatch(ctx, sc, req.BatchId, metadata, set)
	return s.reply(ctx, doc, err, "patching a batch")
}

// DeleteBatch deletes the batch, canceling it first when it is being
// processed.
func (s *batchesServer) DeleteBatch(ctx context.Context, req server.DeleteBatchRequestObject) (server.DeleteBatchResponseObject, error) {
	sc, err := s.scope(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	canceled, err := s.store.RemoveBatch(ctx, sc, req.BatchId)
	if err != nil {
		return nil, lifecycleError("deleting a batch", err)
	}
	msg := "Batch " + req.BatchId + " deleted"
	if canceled {
		msg = "Batch " + req.BatchId + " canceled and deleted"
	}
	ok := true
	return server.DeleteBatch200JSONResponse{Success: &ok, Message: &msg}, nil
}

// AddObjectsToBatch adds objects to a DRAFT batch.
func (s *batchesServer) AddObjectsToBatch(ctx context.Context, req server.AddObjectsToBatchRequestObject) (server.AddObjectsToBatchResponseObject, error) {
	sc, err := s.scope(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	doc, err := s.store.AddObjects(ctx, sc, req.BatchId, req.Body.ObjectIds)
	return s.reply(ctx, doc, err, "adding objects to a batch")
}

// SubmitBatch submits a DRAFT batch and answers its new task.
func (s *batchesServer) SubmitBatch(ctx context.Context, req server.SubmitBatchRequestObject) (server.SubmitBatchResponseObject, error) {
	sc, err := s.scope(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	opts := domain.SubmitOptions{IncludeProcessingHistory: true}
	if req.Body != nil && req.Body.IncludeProcessingHistory != nil {
		opts.IncludeProcessingHistory = *req.Body.IncludeProcessingHistory
	}
	doc, err := s.store.SubmitBatch(ctx, sc, req.BatchId, opts)
	return s.reply(ctx, doc, err, "submitting a batch")
}

// CancelBatch cancels a batch being processed and answers its task.
func (s *batchesServer) CancelBatch(ctx context.Context, req server.CancelBatchRequestObject) (server.CancelBatchResponseObject, error) {
	sc, err := s.scope(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	doc, err := s.store.CancelBatch(ctx, sc, req.BatchId)
	return s.reply(ctx, doc, err, "canceling a batch")
}

// RetryBatch retries a batch that failed, as a new task, and answers it
// with what the retry did.
func (s *batchesServer) RetryBatch(ctx context.Context, req server.RetryBatchRequestObject) (server.RetryBatchResponseObject, error) {
	sc, err := s.scope(ctx, req.Params.XNamespace, req.BucketIdentifier)
	if err != nil {
		return nil, err
	}
	opts := domain.RetryOptions{Mode: string(server.RetryBatchRequestRetryModeTransientOnly), MaxRetryCount: 3}
	if b := req.Body; b != nil {
		if b.RetryMode != nil {
			opts.Mode = string(*b.RetryMode)
		}
		if b.TierNums != nil {
			opts.TierNums = *b.TierNums
		}
		if b.MaxRetryCount != nil {
			opts.MaxRetryCount = int(*b.MaxRetryCount)
		}
	}
	r, doc, err := s.store.RetryBatch(ctx, sc, req.BatchId, opts)
	if err != nil {
		return nil, lifecycleError("retrying a batch", err)
	}
	var task server.TaskResponse
	if err := json.Unmarshal(doc, &task); err != nil {
		return nil, fmt.Errorf("retrying a batch: the new task: %w", err)
	}
	return retried{server.RetryBatchResponse{
		TaskId: task.TaskId, TaskType: task.TaskType, Status: task.Status, BatchId: req.BatchId,
		PreviousTaskId: r.PreviousTaskID, RetriedTiers: r.Tiers, RetryCount: r.Count, Message: r.Message(),
		AdditionalProperties: map[string]any{
			"inputs": task.Inputs, "outputs": task.Outputs, "additional_data": task.AdditionalData, "error": task.Error,
		},
	}}, nil
}

// retried is the 200 answer of a retry. The generated
// RetryBatch200JSONResponse, a type of its own, lacks the MarshalJSON of
// RetryBatchResponse, and would drop its additional properties (the rest
// of the new task): this encodes the RetryBatchResponse itself, as the
// generated server encodes answers.
type retried struct{ r server.RetryBatchResponse }

func (a retried) VisitRetryBatchResponse(w http.ResponseWriter) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(a.r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := buf.WriteTo(w)
	return err
}

// reply answers doc, a batch's or a task's stored JSON, or err.
func (s *batchesServer) reply(ctx context.Context, doc []byte, err error, doing string) (stored, error) {
	if err != nil {
		return stored{}, lifecycleError(doing, err)
	}
	return s.answer(ctx, doc), nil
}

// task answers doc, a task's stored JSON, or err.
func (s *batchesServer) task(ctx context.Context, doc []byte, err error, doing string) (stored, error) {
	return s.reply(ctx, doc, err, doing)
}

// answer is the 200 answer of doc, JSON as stored.
func (s *batchesServer) answer(ctx context.Context, doc []byte) stored {
	buf := getBuffer()
	*buf = append(append((*buf)[:0], doc...), '\n')
	return stored{storedJSON{buf: buf, ctx: ctx, adm: s.adm}}
}

// lifecycleError is the store's err, a *domain.Error answered as it is
// (renderError), or a failure of the server's own while doing.
func lifecycleError(doing string, err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		return de
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// stored is a 200 answer of a Batch or a TaskResponse as stored: the
// answer of every operation that answers one.
type stored struct{ storedJSON }

func (a stored) VisitGetBatchResponse(w http.ResponseWriter) error          { return a.write(w) }
func (a stored) VisitCreateBatchResponse(w http.ResponseWriter) error       { return a.write(w) }
func (a stored) VisitPatchBatchResponse(w http.ResponseWriter) error        { return a.write(w) }
func (a stored) VisitAddObjectsToBatchResponse(w http.ResponseWriter) error { return a.write(w) }
func (a stored) VisitSubmitBatchResponse(w http.ResponseWriter) error       { return a.write(w) }
func (a stored) VisitCancelBatchResponse(w http.ResponseWriter) error       { return a.write(w) }
func (a stored) VisitGetTaskResponse(w http.ResponseWriter) error           { return a.write(w) }
