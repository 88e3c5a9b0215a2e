package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/mixpeekgo/batches/generated/server"
)

// Defaults of ListBatchesRequest, as openapi.yaml documents them.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// batchesServer implements the generated strict server interface.
type batchesServer struct {
	store Store
}

var _ server.StrictServerInterface = (*batchesServer)(nil)

// ListBatches answers one page of the bucket's batches. The namespace and
// the bucket are looked up among the authenticated organization's only; one
// that does not exist and one of another organization answer the same 404.
func (s *batchesServer) ListBatches(ctx context.Context, req server.ListBatchesRequestObject) (server.ListBatchesResponseObject, error) {
	org, ok := OrganizationFrom(ctx)
	if !ok {
		return nil, errors.New("ListBatches reached without authentication")
	}
	ns, err := s.store.Namespace(ctx, org.ID, req.Params.XNamespace)
	if errors.Is(err, ErrNotFound) {
		return notFound("namespace", req.Params.XNamespace), nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolving namespace: %w", err)
	}
	bucket, err := s.store.Bucket(ctx, ns.ID, req.BucketIdentifier)
	if errors.Is(err, ErrNotFound) {
		return notFound("bucket", req.BucketIdentifier), nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolving bucket: %w", err)
	}

	p := ListParams{BucketID: bucket.ID, Limit: DefaultLimit}
	if b := req.Body; b != nil {
		p.Status = b.Status
		if b.Offset != nil {
			p.Offset = *b.Offset
		}
		if b.Limit != nil {
			p.Limit = int(*b.Limit)
		}
	}
	page, total, err := s.store.ListBatches(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("listing batches: %w", err)
	}
	if page == nil {
		page = []server.Batch{}
	}
	return server.ListBatches200JSONResponse{Results: page, TotalCount: total}, nil
}

// notFound is the one 404 of a namespace or bucket: the same bytes whether
// it does not exist or belongs to another organization, apart from the
// identifier it names.
func notFound(resource, identifier string) server.ListBatches404JSONResponse {
	name := map[string]string{"namespace": "Namespace", "bucket": "Bucket"}[resource]
	return server.ListBatches404JSONResponse{NotFoundJSONResponse: server.NotFoundJSONResponse(
		newErrorResponse(404, name+" not found: "+identifier,
			map[string]any{"resource": resource, "identifier": identifier}))}
}
