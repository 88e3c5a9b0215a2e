package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

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
	_, bucket, err := s.store.ResolveBucket(ctx, org.ID, req.Params.XNamespace, req.BucketIdentifier)
	switch {
	case errors.Is(err, ErrNamespaceNotFound):
		return notFound("namespace", req.Params.XNamespace), nil
	case errors.Is(err, ErrBucketNotFound):
		return notFound("bucket", req.BucketIdentifier), nil
	case err != nil:
		return nil, fmt.Errorf("resolving the namespace and bucket: %w", err)
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
	buf := getBuffer()
	out := append((*buf)[:0], `{"results":`...)
	out, total, err := s.store.ListBatches(ctx, p, out)
	if err != nil {
		putBuffer(buf)
		return nil, fmt.Errorf("listing batches: %w", err)
	}
	out = append(out, `,"total_count":`...)
	out = strconv.AppendInt(out, total, 10)
	out = append(out, "}\n"...)
	*buf = out
	return listPage{buf: buf}, nil
}

// listPage is the 200 answer of List Batches: a ListBatchesResponse written
// from the store's JSON, byte for byte what the generated
// ListBatches200JSONResponse encodes for the same page (with the trailing
// newline of json.Encoder), plus Content-Length. It owns buf, a pooled
// buffer, until it is written.
type listPage struct{ buf *[]byte }

func (p listPage) VisitListBatchesResponse(w http.ResponseWriter) error {
	defer putBuffer(p.buf)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(*p.buf))}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(*p.buf)
	return err
}

// Response buffers are pooled; one that grew past maxPooledBuffer (a page
// of very large batches) is left to the garbage collector, so that the pool
// holds no more than a few of the usual size.
const (
	initialBufferSize = 64 << 10
	maxPooledBuffer   = 1 << 20
)

var buffers = sync.Pool{New: func() any {
	b := make([]byte, 0, initialBufferSize)
	return &b
}}

func getBuffer() *[]byte { return buffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		buffers.Put(b)
	}
}

// notFound is the one 404 of a namespace or bucket: the same bytes whether
// it does not exist or belongs to another organization, apart from the
// identifier it names.
func notFound(resource, identifier string) server.ListBatches404JSONResponse {
	name := map[string]string{"namespace": "Namespace", "bucket": "Bucket"}[resource]
	return server.ListBatches404JSONResponse{NotFoundJSONResponse: server.NotFoundJSONResponse(
		NewErrorResponse(404, name+" not found: "+identifier,
			map[string]any{"resource": resource, "identifier": identifier}))}
}
