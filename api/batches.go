package api

import (
	"context"
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
	reserved, ok := s.adm.reservePage(ctx, p.Limit)
	if !ok {
		return nil, errBusy{s.adm.answerMemory}
	}
	buf := getBuffer()
	out := append((*buf)[:0], `{"results":`...)
	out, total, err := s.store.ListBatches(ctx, p, out)
	if err != nil {
		s.adm.release(reserved)
		putBuffer(buf)
		return nil, fmt.Errorf("listing batches: %w", err)
	}
	out = append(out, `,"total_count":`...)
	out = strconv.AppendInt(out, total, 10)
	out = append(out, "}\n"...)
	*buf = out
	return listPage{storedJSON{buf: buf, ctx: ctx, adm: s.adm, reserved: reserved}}, nil
}

// listPage is the 200 answer of List Batches, a ListBatchesResponse.
type listPage struct{ storedJSON }

func (p listPage) VisitListBatchesResponse(w http.ResponseWriter) error { return p.write(w) }

func (s *batchesServer) CreateBatch(ctx context.Context, req server.CreateBatchRequestObject) (server.CreateBatchResponseObject, error) {
	return nil, errNotYet
}

// GetBatch answers one batch of the bucket, as stored.
func (s *batchesServer) GetBatch(ctx context.Context, req server.GetBatchRequestObject) (server.GetBatchResponseObject, error) {
	out, err := s.batchDoc(ctx, req.Params.XNamespace, req.BucketIdentifier, req.BatchId)
	if err != nil {
		return nil, err
	}
	return batchAnswer{out}, nil
}

// batchDoc returns the stored JSON of the batch batchID of the bucket the
// request names, in a pooled buffer with the trailing newline of an
// answer: domain.NotFound for a batch the bucket does not have.
func (s *batchesServer) batchDoc(ctx context.Context, namespace, bucket, batchID string) (storedJSON, error) {
	_, b, err := s.resolveBucket(ctx, namespace, bucket)
	if err != nil {
		return storedJSON{}, err
	}
	buf := getBuffer()
	out, err := s.store.GetBatch(ctx, b.ID, batchID, (*buf)[:0])
	if err != nil {
		putBuffer(buf)
		if errors.Is(err, domain.ErrNotFound) {
			return storedJSON{}, domain.NotFound("batch", batchID)
		}
		return storedJSON{}, fmt.Errorf("getting a batch: %w", err)
	}
	*buf = append(out, '\n')
	return storedJSON{buf: buf, ctx: ctx, adm: s.adm}, nil
}

// batchAnswer is a 200 answer of a Batch, as stored.
type batchAnswer struct{ storedJSON }

func (a batchAnswer) VisitGetBatchResponse(w http.ResponseWriter) error { return a.write(w) }

func (s *batchesServer) PatchBatch(ctx context.Context, req server.PatchBatchRequestObject) (server.PatchBatchResponseObject, error) {
	doc, err := s.batchDoc(ctx, req.Params.XNamespace, req.BucketIdentifier, req.BatchId)
	if err != nil {
		return nil, err
	}
	putBuffer(doc.buf)
	return nil, errNotYet
}

func (s *batchesServer) DeleteBatch(ctx context.Context, req server.DeleteBatchRequestObject) (server.DeleteBatchResponseObject, error) {
	doc, err := s.batchDoc(ctx, req.Params.XNamespace, req.BucketIdentifier, req.BatchId)
	if err != nil {
		return nil, err
	}
	putBuffer(doc.buf)
	return nil, errNotYet
}

func (s *batchesServer) AddObjectsToBatch(ctx context.Context, req server.AddObjectsToBatchRequestObject) (server.AddObjectsToBatchResponseObject, error) {
	return nil, errNotYet
}

func (s *batchesServer) SubmitBatch(ctx context.Context, req server.SubmitBatchRequestObject) (server.SubmitBatchResponseObject, error) {
	return nil, errNotYet
}

func (s *batchesServer) CancelBatch(ctx context.Context, req server.CancelBatchRequestObject) (server.CancelBatchResponseObject, error) {
	return nil, errNotYet
}

func (s *batchesServer) RetryBatch(ctx context.Context, req server.RetryBatchRequestObject) (server.RetryBatchResponseObject, error) {
	return nil, errNotYet
}
