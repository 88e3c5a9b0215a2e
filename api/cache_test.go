package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// counting is a DB that counts what the server reads of it, and may hold
// each ListBatches until gate is closed.
type counting struct {
	domain.DB
	lists, versions, keys, buckets atomic.Int64
	gate                           chan struct{} // nil: none
}

func (c *counting) ListBatches(ctx context.Context, p domain.ListParams, dst []byte) ([]byte, int64, error) {
	c.lists.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.DB.ListBatches(ctx, p, dst)
}

func (c *counting) BucketVersion(ctx context.Context, bucketID string) (int64, error) {
	c.versions.Add(1)
	return c.DB.(domain.BucketVersioner).BucketVersion(ctx, bucketID)
}

func (c *counting) OrganizationForKey(ctx context.Context, h [32]byte) (domain.Organization, error) {
	c.keys.Add(1)
	return c.DB.OrganizationForKey(ctx, h)
}

func (c *counting) ResolveBucket(ctx context.Context, org, ns, bucket string) (domain.Namespace, domain.Bucket, error) {
	c.buckets.Add(1)
	return c.DB.ResolveBucket(ctx, org, ns, bucket)
}

// TestPageCacheSeesEveryWrite: a page asked for again while its bucket is
// unchanged is answered without reading it (the store's ListBatches is not
// called), the same bytes; a write by another connection to the database
// (an operator's SQL: a DELETE, an UPDATE of a doc) is seen by the next
// request; a write to another bucket keeps the page; each filter is a page
// of its own.
func TestPageCacheSeesEveryWrite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		db, raw := b.OpenSQL(t)
		c := &counting{DB: db}
		f := cachedFixture(t, c)
		ctx := t.Context()
		first := assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, 250)
		again := f.do(request{body: str(`{"limit":5}`)})
		if n := c.lists.Load(); n != 1 {
			t.Errorf("the same page twice: %d reads, want 1", n)
		}
		want := f.do(request{body: str(`{"limit":5}`)}).body
		if !bytes.Equal(again.body, want) {
			t.Errorf("the page kept differs:\n%s\n%s", again.body, want)
		}

		// Another bucket's write keeps the page.
		if _, err := raw.ExecContext(ctx, `DELETE FROM batches WHERE id = 'btch_b0000000'`); err != nil {
			t.Fatal(err)
		}
		f.do(request{body: str(`{"limit":5}`)})
		if n := c.lists.Load(); n != 1 {
			t.Errorf("after a write to another bucket: %d reads, want 1", n)
		}

		// An operator's DELETE of the page's first batch.
		if _, err := raw.ExecContext(ctx, `DELETE FROM batches WHERE id = '`+first.Results[0].BatchID+`'`); err != nil {
			t.Fatal(err)
		}
		after := assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, 249)
		if after.Results[0].BatchID != first.Results[1].BatchID {
			t.Errorf("after the DELETE the page starts with %s, want %s", after.Results[0].BatchID, first.Results[1].BatchID)
		}
		// An UPDATE of a doc alone (the same JSON, another value of a
		// field the page shows).
		id := after.Results[0].BatchID
		if _, err := raw.ExecContext(ctx, `UPDATE batches SET doc = replace(doc, '"seq":', '"seq_changed":') WHERE id = '`+id+`'`); err != nil {
			t.Fatal(err)
		}
		if got := f.do(request{body: str(`{"limit":5}`)}); !bytes.Contains(got.body, []byte(`"seq_changed":`)) {
			t.Errorf("after an UPDATE of a doc the page is\n%s", got.body)
		}
		// A status change through the store, as another process's.
		if err := db.UpdateBatchStatus(ctx, id, "ARCHIVED"); err != nil {
			t.Fatal(err)
		}
		page := assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, 249)
		if page.Results[0].Status != "ARCHIVED" {
			t.Errorf("after a status change the page says %s", page.Results[0].Status)
		}
		// Another filter is another page, kept on its own.
		reads := c.lists.Load()
		f.do(request{body: str(`{"limit":5,"status":"ARCHIVED"}`)})
		f.do(request{body: str(`{"limit":5,"status":"ARCHIVED"}`)})
		f.do(request{body: str(`{"limit":5}`)})
		if n := c.lists.Load() - reads; n != 1 {
			t.Errorf("a new filter twice and the kept page: %d reads, want 1", n)
		}
		// Every request read the bucket's version.
		if v := c.versions.Load(); v != 10 {
			t.Errorf("%d version reads for 10 requests", v)
		}
	})
}

// cachedFixture is the fixture over c, a store that counts its reads,
// with opts.
func cachedFixture(t *testing.T, c domain.DB, opts ...api.Option) *fixture {
	t.Helper()
	f := newFixtureWith(t, c)
	h, err := api.NewHandler(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// TestPageCacheReadsOnce: requests for a page arriving while it is being
// read wait for that read: one read for all, each answered the page.
func TestPageCacheReadsOnce(t *testing.T) {
	db, _ := storetest.SQLite.OpenSQL(t)
	c := &counting{DB: db}
	f := cachedFixture(t, c)
	c.gate = make(chan struct{})
	const n = 8
	var wg sync.WaitGroup
	answers := make([]exchange, n)
	for i := range n {
		wg.Go(func() { answers[i] = f.do(request{body: str(`{"limit":7}`)}) })
	}
	// Each request reads the version before it reads or waits.
	for c.versions.Load() < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(c.gate)
	wg.Wait()
	for i, a := range answers {
		assertPage(t, a, 7, 250)
		if !bytes.Equal(a.body, answers[0].body) {
			t.Errorf("answer %d differs", i)
		}
	}
	if got := c.lists.Load(); got != 1 {
		t.Errorf("%d reads for %d requests at once, want 1", got, n)
	}
}

// TestPageCacheOff: WithPageCache(0) reads every page.
func TestPageCacheOff(t *testing.T) {
	db, _ := storetest.SQLite.OpenSQL(t)
	c := &counting{DB: db}
	f := cachedFixture(t, c, api.WithPageCache(0))
	for range 3 {
		assertPage(t, f.do(request{body: str(`{"limit":5}`)}), 5, 250)
	}
	if n := c.lists.Load(); n != 3 {
		t.Errorf("%d reads for 3 requests, want 3", n)
	}
}

// TestResolveCache: a key's organization and a bucket's resolution are
// looked up once within the time they are kept, an unknown key too; a key
// revoked is refused once that time has passed since it was looked up.
func TestResolveCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		db, raw := b.OpenSQL(t)
		c := &counting{DB: db}
		const ttl = 300 * time.Millisecond
		f := cachedFixture(t, c, api.WithResolveCache(ttl))
		for range 3 {
			assertPage(t, f.do(request{body: str(`{"limit":1}`)}), 1, 250)
		}
		if k, r := c.keys.Load(), c.buckets.Load(); k != 1 || r != 1 {
			t.Errorf("3 requests: %d key lookups and %d bucket resolutions, want 1 and 1", k, r)
		}
		unknown := map[string][]string{"Authorization": {"Bearer sk_unknown_key_0123456789"}}
		for range 3 {
			if ex := f.do(request{headers: unknown}); ex.status != http.StatusUnauthorized {
				t.Fatalf("an unknown key: %d", ex.status)
			}
		}
		if k := c.keys.Load(); k != 2 {
			t.Errorf("an unknown key 3 times: %d key lookups in all, want 2", k)
		}

		h := sha256.Sum256([]byte(f.a.key))
		res, err := raw.ExecContext(t.Context(), fmt.Sprintf(`UPDATE api_keys SET revoked_at = 1 WHERE key_hash = %s`, hashLiteral(b, h)))
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("revoked %d keys", n)
		}
		time.Sleep(ttl)
		if ex := f.do(request{}); ex.status != http.StatusUnauthorized {
			t.Errorf("a key revoked %s ago answers %d", ttl, ex.status)
		}
	})
}

// hashLiteral is h as an SQL literal of the backend b.
func hashLiteral(b storetest.Backend, h [32]byte) string {
	if b.Name == storetest.Postgres.Name {
		return fmt.Sprintf(`'\x%x'::bytea`, h)
	}
	return fmt.Sprintf(`x'%x'`, h)
}

// watched is a SQLite DB (a domain.ChangeCounter) that counts what the
// server reads of it.
type watched struct {
	*sqlite.DB
	lists, gets, versions atomic.Int64
}

func (w *watched) ListBatches(ctx context.Context, p domain.ListParams, dst []byte) ([]byte, int64, error) {
	w.lists.Add(1)
	return w.DB.ListBatches(ctx, p, dst)
}

func (w *watched) GetBatch(ctx context.Context, bucketID, batchID string, dst []byte) ([]byte, error) {
	w.gets.Add(1)
	return w.DB.GetBatch(ctx, bucketID, batchID, dst)
}

func (w *watched) BucketVersion(ctx context.Context, bucketID string) (int64, error) {
	w.versions.Add(1)
	return w.DB.BucketVersion(ctx, bucketID)
}

// TestPageCacheDataVersion: on SQLite, a page and a batch asked for again
// while nothing was committed to the database are answered without
// reading them or their bucket's version (PRAGMA data_version); a commit
// to another bucket makes the next request read the version, not the
// page; an operator's UPDATE of the batch, from a connection of its own,
// is seen by the next GET and the next page.
func TestPageCacheDataVersion(t *testing.T) {
	db, raw := storetest.SQLite.OpenSQL(t)
	w := &watched{DB: db.(*sqlite.DB)}
	f := cachedFixture(t, w)
	ctx := t.Context()
	page := assertPage(t, f.do(request{body: str(`{"limit":3}`)}), 3, 250)
	id := page.Results[0].BatchID
	get := request{method: http.MethodGet, path: "/v1/buckets/bkt_a/batches/" + id}
	first := f.do(get)
	if first.status != http.StatusOK {
		t.Fatalf("GET: %d %s", first.status, first.body)
	}
	for range 3 {
		f.do(request{body: str(`{"limit":3}`)})
		if again := f.do(get); !bytes.Equal(again.body, first.body) {
			t.Errorf("GET again:\n%s\nwas\n%s", again.body, first.body)
		}
	}
	if l, g, v := w.lists.Load(), w.gets.Load(), w.versions.Load(); l != 1 || g != 1 || v != 2 {
		t.Errorf("a page and a batch 4 times each, nothing written: %d page reads, %d batch reads, %d version reads; want 1, 1, 2", l, g, v)
	}
	// Another bucket's write: the versions are read again, not the page
	// or the batch.
	if _, err := raw.ExecContext(ctx, `DELETE FROM batches WHERE id = 'btch_b0000000'`); err != nil {
		t.Fatal(err)
	}
	f.do(request{body: str(`{"limit":3}`)})
	f.do(get)
	if l, g, v := w.lists.Load(), w.gets.Load(), w.versions.Load(); l != 1 || g != 1 || v != 4 {
		t.Errorf("after another bucket's write: %d page reads, %d batch reads, %d version reads; want 1, 1, 4", l, g, v)
	}
	// An operator's UPDATE of the batch.
	if _, err := raw.ExecContext(ctx, `UPDATE batches SET doc = replace(doc, '"seq":', '"seq_changed":') WHERE id = '`+id+`'`); err != nil {
		t.Fatal(err)
	}
	if got := f.do(get); !bytes.Contains(got.body, []byte(`"seq_changed":`)) {
		t.Errorf("GET after the UPDATE:\n%s", got.body)
	}
	if got := f.do(request{body: str(`{"limit":3}`)}); !bytes.Contains(got.body, []byte(`"seq_changed":`)) {
		t.Errorf("the page after the UPDATE:\n%s", got.body)
	}
	// A batch not found is not kept: it is found once made.
	missing := request{method: http.MethodGet, path: "/v1/buckets/bkt_a/batches/btch_new"}
	if got := f.do(missing); got.status != http.StatusNotFound {
		t.Fatalf("GET of a batch not made: %d", got.status)
	}
	bt := f.a.batches[0]
	bt.BatchID = "btch_new"
	if err := db.InsertBatches(ctx, "bkt_a", []domain.Batch{bt}); err != nil {
		t.Fatal(err)
	}
	if got := f.do(missing); got.status != http.StatusOK {
		t.Errorf("GET of a batch made since: %d", got.status)
	}
}
