package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
)

// What the server keeps from one request for the next, so that it does
// less per request (BENCHMARKS.md measures each):
//
//   - Pages (WithPageCache): a page of List Batches answered is kept, the
//     whole answer's bytes, with the version of its bucket read before it
//     ([domain.BucketVersioner]); a request for the same page while the
//     bucket's version is the same is answered with those bytes, read
//     once. Every request reads the version (one lookup of a primary
//     key), so a write by any process, or by an operator's SQL, is seen by
//     the next request. Requests for a page being read wait for that read
//     rather than read it again. The pages kept cost at most the cache's
//     bytes (least recently used first out); a page over an eighth of
//     them is not kept.
//   - API keys and buckets (WithResolveCache): the organization of a key
//     hash, and the absence of one (a key that is unknown or revoked),
//     and the namespace and bucket an organization's names resolve to,
//     are kept for a short time, DefaultResolveTTL. So a key revoked
//     stops working, and a bucket renamed is seen, within that time; a
//     key created works at once, unless the same key was refused within
//     that time. Each of the two holds at most resolveEntries entries
//     (least recently used first out), so a flood of unknown keys costs a
//     lookup each of those not seen lately, and a bounded memory.

// DefaultPageCache is the default of WithPageCache: 32 MiB of pages.
const DefaultPageCache = 32 << 20

// DefaultResolveTTL is the default of WithResolveCache: a key revoked
// stops working within a second.
const DefaultResolveTTL = time.Second

// resolveEntries is the most keys, and the most buckets, kept.
const resolveEntries = 10_000

// WithPageCache sets the bytes of List Batches pages kept for the next
// requests of the same page (n ≤ 0: none kept); the default is
// DefaultPageCache. A store that is no [domain.BucketVersioner] keeps
// none.
func WithPageCache(n int64) Option { return func(c *config) { c.pageCache = n } }

// WithResolveCache sets how long an API key's organization (or its
// absence) and a bucket's resolution are kept (d ≤ 0: not at all); the
// default is DefaultResolveTTL.
func WithResolveCache(d time.Duration) Option { return func(c *config) { c.resolveTTL = d } }

// pageKey is what selects a page of List Batches, or (batch set) the
// answer of GET of a batch.
type pageKey struct {
	bucketID   string
	batch      string // GET's batch id: "" for a page
	status     string // "" for none: no status is empty
	collection string
	filtered   bool // collection is set (it may be any string)
	offset     int64
	limit      int
}

func keyOf(p domain.ListParams) pageKey {
	k := pageKey{bucketID: p.BucketID, offset: p.Offset, limit: p.Limit}
	if p.Status != nil {
		k.status = string(*p.Status)
	}
	if p.CollectionID != nil {
		k.collection, k.filtered = *p.CollectionID, true
	}
	return k
}

// pageCache keeps answers of List Batches (and of GET of a batch) by page
// and bucket version.
type pageCache struct {
	versions domain.BucketVersioner
	changes  domain.ChangeCounter // nil: none (PostgreSQL)
	pages    *lru[pageKey, cachedPage]
	maxPage  int64

	mu      sync.Mutex
	reading map[pageKey]*pageRead // the reads under way
}

// readAt is what a page is read at: its bucket's version; with hasDV,
// the database's data version was dv before the version was read.
type readAt struct {
	version int64
	dv      int64
	hasDV   bool
}

// cachedPage is a whole answer (`{"results":…,"total_count":N}` and a
// newline, or a batch and a newline) read at readAt.
type cachedPage struct {
	readAt
	body []byte
}

// pageRead is a read of a page under way, which requests for the same
// page at the same version wait for.
type pageRead struct {
	readAt
	done chan struct{}
	page []byte // nil when the read failed or its page is not kept
}

func newPageCache(store domain.Store, bytes int64) *pageCache {
	vs, ok := store.(domain.BucketVersioner)
	if !ok || bytes <= 0 {
		return nil
	}
	c := &pageCache{versions: vs, pages: newLRU[pageKey, cachedPage](bytes), maxPage: bytes / 8,
		reading: map[pageKey]*pageRead{}}
	c.changes, _ = store.(domain.ChangeCounter)
	return c
}

// errNoVersion: the bucket has no version (it was not found); its pages
// are read, not kept.
var errNoVersion = errors.New("no version")

// page returns the answer of key kept, or read by another request
// meanwhile, as of the bucket's version now; else it returns read, a read
// to do (the caller is its reader and calls finish). An error is the
// store's.
//
// When the store counts changes (SQLite's data_version), an answer kept
// while nothing was committed since is returned without reading the
// bucket's version.
func (c *pageCache) page(ctx context.Context, key pageKey) (body []byte, read *pageRead, err error) {
	var (
		dv    int64
		hasDV bool
	)
	if c.changes != nil {
		v, err := c.changes.DataVersion(ctx)
		dv, hasDV = v, err == nil
	}
	kept, ok := c.pages.get(key, time.Time{})
	if ok && hasDV && kept.hasDV && kept.dv == dv {
		return kept.body, nil, nil
	}
	v, err := c.versions.BucketVersion(ctx, key.bucketID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil, errNoVersion
	}
	if err != nil {
		return nil, nil, err
	}
	for {
		if ok && kept.version == v {
			if hasDV && (!kept.hasDV || kept.dv != dv) {
				// Nothing of the bucket changed since dv either.
				kept.dv, kept.hasDV = dv, true
				c.pages.put(key, kept, int64(len(kept.body))+pageOverhead, time.Time{})
			}
			return kept.body, nil, nil
		}
		c.mu.Lock()
		r, reading := c.reading[key]
		if !reading || r.version != v {
			own := &pageRead{readAt: readAt{v, dv, hasDV}, done: make(chan struct{})}
			if !reading || r.version < v {
				// An older read is no use to this request: this one
				// is read instead (the older one's waiters still get
				// it). A newer one under way is none either: this
				// request reads alone.
				c.reading[key] = own
			}
			c.mu.Unlock()
			return nil, own, nil
		}
		c.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, nil, context.Cause(ctx)
		}
		if r.page != nil {
			return r.page, nil, nil
		}
		// The read failed (its request went away, say) or its answer is
		// too large to keep: read it again, alone unless another request
		// has started to meanwhile.
		c.mu.Lock()
		if cur := c.reading[key]; cur == nil || cur == r {
			c.mu.Unlock()
			return nil, &pageRead{readAt: readAt{v, dv, hasDV}, done: make(chan struct{})}, nil
		}
		c.mu.Unlock()
		kept, ok = c.pages.get(key, time.Time{})
	}
}

// finish ends read r of key: page is its answer, nil when the read
// failed. An answer of at most maxPage bytes is kept, as a copy (page is
// a buffer of the pool), and given to the requests that waited.
func (c *pageCache) finish(key pageKey, r *pageRead, page []byte) {
	if page != nil && int64(len(page)) <= c.maxPage {
		r.page = append([]byte(nil), page...)
		c.pages.put(key, cachedPage{readAt: r.readAt, body: r.page}, int64(len(r.page))+pageOverhead, time.Time{})
	}
	c.mu.Lock()
	if c.reading[key] == r {
		delete(c.reading, key)
	}
	c.mu.Unlock()
	close(r.done)
}

// pageOverhead is what an entry costs besides its page's bytes.
const pageOverhead = 256

// resolveCache keeps API keys' organizations and buckets' resolutions
// for ttl.
type resolveCache struct {
	ttl     time.Duration
	keys    *lru[[32]byte, keyLookup]
	buckets *lru[bucketName, bucketLookup]
}

// keyLookup is what OrganizationForKey answered: the organization, or
// found false (ErrNotFound).
type keyLookup struct {
	org   domain.Organization
	found bool
}

// bucketName is what the namespace and bucket of a request are resolved
// from.
type bucketName struct{ organizationID, namespace, bucket string }

type bucketLookup struct {
	ns     domain.Namespace
	bucket domain.Bucket
}

func newResolveCache(ttl time.Duration) *resolveCache {
	if ttl <= 0 {
		return nil
	}
	return &resolveCache{ttl: ttl, keys: newLRU[[32]byte, keyLookup](resolveEntries),
		buckets: newLRU[bucketName, bucketLookup](resolveEntries)}
}

// organizationForKey is store.OrganizationForKey, or what it answered
// within the ttl, an ErrNotFound included.
func (c *resolveCache) organizationForKey(ctx context.Context, store domain.Store, hash [32]byte) (domain.Organization, error) {
	if c == nil {
		return store.OrganizationForKey(ctx, hash)
	}
	now := time.Now()
	if k, ok := c.keys.get(hash, now); ok {
		if !k.found {
			return domain.Organization{}, domain.ErrNotFound
		}
		return k.org, nil
	}
	org, err := store.OrganizationForKey(ctx, hash)
	switch {
	case err == nil:
		c.keys.put(hash, keyLookup{org: org, found: true}, 1, now.Add(c.ttl))
	case errors.Is(err, domain.ErrNotFound):
		c.keys.put(hash, keyLookup{}, 1, now.Add(c.ttl))
	}
	return org, err
}

// resolveBucket is store.ResolveBucket, or what it found within the ttl
// (what it did not find is looked up again).
func (c *resolveCache) resolveBucket(ctx context.Context, store domain.Store, organizationID, namespace, bucket string) (domain.Namespace, domain.Bucket, error) {
	if c == nil {
		return store.ResolveBucket(ctx, organizationID, namespace, bucket)
	}
	name := bucketName{organizationID, namespace, bucket}
	now := time.Now()
	if b, ok := c.buckets.get(name, now); ok {
		return b.ns, b.bucket, nil
	}
	ns, b, err := store.ResolveBucket(ctx, organizationID, namespace, bucket)
	if err == nil {
		c.buckets.put(name, bucketLookup{ns, b}, 1, now.Add(c.ttl))
	}
	return ns, b, err
}
