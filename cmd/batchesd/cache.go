package main

import (
	"time"

	"github.com/mixpeekgo/batches/api"
)

// cacheFlags are serve's settings of what it keeps from one request for
// the next (api/cache.go): pages while their bucket is unchanged, and API
// keys and buckets for a short time.
type cacheFlags struct {
	PageCache    int64         `env:"BATCHESD_PAGE_CACHE" default:"32" placeholder:"MiB" help:"MiB of List Batches pages kept to answer again while their bucket is unchanged (every request reads the bucket's version, so a write of any process is seen by the next request). 0: none kept; at most 1048576 (1 TiB)."`
	ResolveCache time.Duration `env:"BATCHESD_RESOLVE_CACHE" default:"1s" help:"How long an API key's organization (or that the key is unknown or revoked) and a bucket's namespace and id are kept: a key revoked stops working within this time. 0: looked up on every request."`
}

// check returns the first of the flags' values that cannot be, as a
// *badFlag.
func (f cacheFlags) check() error {
	return firstError(
		mebibytes("page-cache", f.PageCache, "none kept"),
		atLeast("resolve-cache", f.ResolveCache, 0, "give a duration such as 1s, or 0 (looked up on every request)"),
	)
}

func (f cacheFlags) handlerOptions() []api.Option {
	return []api.Option{api.WithPageCache(f.PageCache << 20), api.WithResolveCache(f.ResolveCache)}
}
