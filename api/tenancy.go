package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/mixpeekgo/batches/api/domain"
)

// resolveBucket returns, among the authenticated organization's only, the
// namespace that namespace (the X-Namespace header) names and its bucket
// that bucket (the path's bucket_identifier) names, each by id or name. One
// that does not exist and one of another organization are the same
// domain.NotFound error, naming what the client sent: the 404 of every
// operation on a bucket. Other errors are the server's own.
func (s *batchesServer) resolveBucket(ctx context.Context, namespace, bucket string) (domain.Namespace, domain.Bucket, error) {
	org, err := organization(ctx)
	if err != nil {
		return domain.Namespace{}, domain.Bucket{}, err
	}
	ns, b, err := s.resolved.resolveBucket(ctx, s.store, org.ID, namespace, bucket)
	switch {
	case errors.Is(err, domain.ErrNamespaceNotFound):
		return domain.Namespace{}, domain.Bucket{}, domain.NotFound("namespace", namespace)
	case errors.Is(err, domain.ErrBucketNotFound):
		return domain.Namespace{}, domain.Bucket{}, domain.NotFound("bucket", bucket)
	case err != nil:
		return domain.Namespace{}, domain.Bucket{}, fmt.Errorf("resolving the namespace and bucket: %w", err)
	}
	return ns, b, nil
}
