package api

import (
	"context"
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
