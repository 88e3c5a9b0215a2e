package benchmark_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	nethttpmiddleware "github.com/oapi-codegen/nethttp-middleware"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/sqlite"
	"github.com/mixpeekgo/batches/generated/client"
	"github.com/mixpeekgo/batches/generated/server"
)

// The matrix of BenchmarkList. Offsets at or past a bucket's size are not
// measured: the page is empty and the figure would say nothing new.
var (
	sizes = []struct {
		name string
		n    int
	}{{"1k", 1000}, {"1M", 1000000}}
	filters = []struct {
		name       string
		status     server.TaskStatus
		collection string
	}{{"all", "", ""}, {"status", benchmark.FilterStatus, ""}, {"collection", "", benchmark.FilterCollection}}
	limits  = []int{1, 100, 1000}
	offsets = []struct {
		name string
		n    int64
	}{{"0", 0}, {"10k", 10000}, {"100k", 100000}}
)

// body is the request of filter f (by status, by collection or none) for
// limit batches from offset.
func body(f struct {
	name       string
	status     server.TaskStatus
	collection string
}, offset int64, limit int) []byte {
	if f.collection != "" {
		return benchmark.CollectionBody(f.collection, offset, limit)
	}
	return benchmark.Body(f.status, offset, limit)
}

// cachedHandler is the real handler over the cached database of n
// batches, with opts.
func cachedHandler(b *testing.B, n int, opts ...api.Option) http.Handler {
	b.Helper()
	ctx := context.Background()
	path, err := benchmark.CachedDB(ctx, n, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	h, err := api.NewHandler(db, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// serve sends one List Batches request of body to h in process.
func serve(h http.Handler, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, benchmark.Path, bytes.NewReader(body))
	benchmark.SetHeaders(req.Header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// benchServe measures h answering body in process. It reports the size of
// the answer (SetBytes, hence MB/s) and the batches in it (batches/op).
func benchServe(b *testing.B, h http.Handler, body []byte) {
	rec := serve(h, body)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
	}
	var page struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(rec.Body.Len()))
	for b.Loop() {
		if rec := serve(h, body); rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
	b.ReportMetric(float64(len(page.Results)), "batches/op")
}

// BenchmarkList measures the real handler (routing, authentication,
// validation, SQLite) in process reading each page from the database (its
// page cache off: api.WithPageCache(0)), by bucket size, filter, limit and
// offset:
// List/{1k,1M}/{all,status,collection}/limit={1,100,1000}/offset={0,10k,100k}
// (collection, about one batch in ten, to offset 10k: past that a bucket
// of a million has about none left).
func BenchmarkList(b *testing.B) {
	for _, size := range sizes {
		b.Run(size.name, func(b *testing.B) {
			h := cachedHandler(b, size.n, api.WithPageCache(0))
			for _, f := range filters {
				for _, limit := range limits {
					for _, off := range offsets {
						if off.n >= int64(size.n) || f.collection != "" && off.n*10 >= int64(size.n) {
							continue
						}
						b.Run(fmt.Sprintf("%s/limit=%d/offset=%s", f.name, limit, off.name), func(b *testing.B) {
							benchServe(b, h, body(f, off.n, limit))
						})
					}
				}
			}
		})
	}
}

// BenchmarkListCached measures the real handler with its defaults, as
// batchesd serves: a page asked for again while its bucket is unchanged is
// answered from the bytes kept (the bucket's version read from the
// database each time):
// ListCached/{1k,1M}/{all,status,collection}/limit={1,100,1000}/offset=0.
func BenchmarkListCached(b *testing.B) {
	for _, size := range sizes {
		b.Run(size.name, func(b *testing.B) {
			h := cachedHandler(b, size.n)
			for _, f := range filters {
				for _, limit := range limits {
					b.Run(fmt.Sprintf("%s/limit=%d/offset=0", f.name, limit), func(b *testing.B) {
						benchServe(b, h, body(f, 0, limit))
					})
				}
			}
		})
	}
}

// baseline is the bare baseline, loaded from the real server over the
// cached database of 1000 batches: the same first pages as every bucket
// this package seeds.
func baseline(b *testing.B) *benchmark.Baseline {
	srv := httptest.NewServer(cachedHandler(b, 1000))
	defer srv.Close()
	bl, err := benchmark.LoadBaseline(context.Background(), srv.Client(), srv.URL, benchmark.FilterStatus)
	if err != nil {
		b.Fatal(err)
	}
	return bl
}

// BenchmarkBaseline measures the bare baseline at offset 0 and each limit,
// in process as BenchmarkList: Baseline/{all,status,collection}/limit={1,100,1000}.
func BenchmarkBaseline(b *testing.B) {
	h := baseline(b)
	for _, f := range filters {
		for _, limit := range limits {
			b.Run(fmt.Sprintf("%s/limit=%d", f.name, limit), func(b *testing.B) {
				benchServe(b, h, body(f, 0, limit))
			})
		}
	}
}

// BenchmarkValidator measures the request validation of the real handler
// alone: the same kin-openapi middleware (nethttp-middleware over
// openapi3filter, the spec embedded in generated/server) with the options
// api.NewHandler gives it, before a handler that does nothing, for the
// request of List/1k/{all,status}/limit=100/offset=0. Divided by that
// figure, it is the share of a request validation takes.
func BenchmarkValidator(b *testing.B) {
	spec, err := server.GetSpec()
	if err != nil {
		b.Fatal(err)
	}
	spec.Servers = nil
	// As api/validation.go's newValidator.
	validate := nethttpmiddleware.OapiRequestValidatorWithOptions(spec, &nethttpmiddleware.Options{
		Options: openapi3filter.Options{
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			MultiError:          true,
			SkipSettingDefaults: true,
		},
		DoNotValidateServers:  true,
		SilenceServersWarning: true,
		ErrorHandlerWithOpts: func(_ context.Context, err error, w http.ResponseWriter, _ *http.Request, _ nethttpmiddleware.ErrorHandlerOpts) {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		},
	})
	h := validate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	for _, f := range filters {
		b.Run(fmt.Sprintf("%s/limit=100", f.name), func(b *testing.B) {
			req := body(f, 0, 100)
			for b.Loop() {
				if rec := serve(h, req); rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
				}
			}
		})
	}
}

// BenchmarkDecodePage1000 measures the generated client decoding a page of
// 1000 batches as the server answers it (client.ParseListBatchesResult, as
// ClientWithResponses does).
func BenchmarkDecodePage1000(b *testing.B) {
	rec := serve(cachedHandler(b, 1000), benchmark.Body("", 0, 1000))
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
	}
	body := rec.Body.Bytes()
	header := rec.Header()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		res, err := client.ParseListBatchesResult(&http.Response{
			StatusCode: http.StatusOK,
			Header:     header,
			Body:       io.NopCloser(bytes.NewReader(body)),
		})
		if err != nil {
			b.Fatal(err)
		}
		if res.JSON200 == nil || len(res.JSON200.Results) != 1000 {
			b.Fatal("not a page of 1000 batches")
		}
	}
	b.ReportMetric(1000, "batches/op")
}

// BenchmarkClientListPage1000 measures the Go client (package batches)
// receiving a page of 1000 batches: one ListBatches call, through the
// client's retrying transport, answered from memory by a RoundTripper that
// returns the real server's bytes, so that the figure is the client's own
// cost (request building, reading, decoding into batches.Batch), without a
// network or a server.
func BenchmarkClientListPage1000(b *testing.B) {
	rec := serve(cachedHandler(b, 1000), benchmark.Body("", 0, 1000))
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
	}
	body := rec.Body.Bytes()
	header := rec.Header()
	answer := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Body != nil {
			_, _ = io.Copy(io.Discard, req.Body)
			req.Body.Close()
		}
		return &http.Response{
			StatusCode: http.StatusOK, Header: header.Clone(), Request: req,
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		}, nil
	})
	c, err := batches.New(batches.WithAPIKey("sk_bench_0123456789abcdef"), batches.WithNamespace("bench"),
		batches.WithBaseURL("http://bench.invalid"), batches.WithHTTPClient(&http.Client{Transport: answer}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		page, err := c.ListBatches(ctx, "bkt_bench", &batches.ListBatchesParams{Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Results) != 1000 {
			b.Fatal("not a page of 1000 batches")
		}
	}
	b.ReportMetric(1000, "batches/op")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// BenchmarkHostileBody measures one request of each body of row 1 of the
// hostile-clients issue (benchmark.HostileBodies) and of each large scalar
// (benchmark.LargeScalarBodies) through the real handler:
// the memory it allocates (B/op, and x-body: B/op ÷ the body's length, the
// constant factor of the body's cost) and its time. Each answers 422.
func BenchmarkHostileBody(b *testing.B) {
	h := cachedHandler(b, 1000)
	bodies := benchmark.HostileBodies()
	maps.Copy(bodies, benchmark.LargeScalarBodies())
	for _, name := range []string{"ints", "unknown", "nested", "status", "limit", "string"} {
		body := bodies[name]
		b.Run(name, func(b *testing.B) {
			if rec := serve(h, body); rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusOK {
				b.Fatalf("status %d: %.300s", rec.Code, rec.Body.Bytes())
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				serve(h, body)
			}
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N)/float64(len(body)), "x-body")
		})
	}
}

// BenchmarkListAtLimits measures a page of 1000 batches of a bucket at the
// size limits (benchmark.LargestBatch: a page of about 32 MiB, the largest
// there can be) through the real handler over SQLite: what one such page
// allocates (B/op, and x-page: B/op ÷ the page's length).
func BenchmarkListAtLimits(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, b.TempDir()+"/limits.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	t, err := domain.CreateTenant(ctx, db, domain.Tenant{Organization: "Limits", Namespace: benchmark.Namespace,
		BucketName: benchmark.BucketName, BucketID: benchmark.BucketID, APIKey: benchmark.APIKey})
	if err != nil {
		b.Fatal(err)
	}
	bs := make([]domain.Batch, 1000)
	for i := range bs {
		bs[i] = benchmark.LargestBatch(fmt.Sprintf("btch_limits%05d", i), time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC))
	}
	if err := db.InsertBatches(ctx, t.Bucket.ID, bs); err != nil {
		b.Fatal(err)
	}
	h, err := api.NewHandler(db)
	if err != nil {
		b.Fatal(err)
	}
	body := benchmark.Body("", 0, 1000)
	rec := serve(h, body)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %.300s", rec.Code, rec.Body.Bytes())
	}
	page := rec.Body.Len()
	b.SetBytes(int64(page))
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for b.Loop() {
		serve(h, body)
	}
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N)/float64(page), "x-page")
	b.ReportMetric(float64(page), "page-bytes")
}

// BenchmarkGet measures the real handler with its defaults answering
// GET of one batch of the 1k bucket in process: Get/1k.
func BenchmarkGet(b *testing.B) {
	h := cachedHandler(b, 1000)
	id := benchmark.Batches(0, 1)[0].BatchID
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, benchmark.BatchPath(id), nil)
		benchmark.SetHeaders(req.Header)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	b.Run("1k", func(b *testing.B) {
		rec := get()
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
		b.SetBytes(int64(rec.Body.Len()))
		for b.Loop() {
			if rec := get(); rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
