package benchmark_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// BenchmarkCompression serves a page of 1000 batches over loopback HTTP to
// parallel clients, as batchesd --compression auto answers each
// Accept-Encoding (and, for the figures of README's "Operate it", without
// compression): bytes/answer is the size on the wire, ns/op the time per
// answer with every core busy (so 1e9/ns is answers a second), and
// cpu-ns/answer the CPU time the process (server and clients) spent per
// answer, the figure to trust on a machine that runs other work. The
// clients read the bytes and do not decompress them.
//
//	go test ./api/benchmark -run '^$' -bench Compression -benchtime 3s
func BenchmarkCompression(b *testing.B) {
	ctx := context.Background()
	path, err := benchmark.CachedDB(ctx, 1000, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for _, tc := range []struct {
		name, mode, accept string
	}{
		{"off", "off", "gzip, zstd"},
		{"identity", "auto", ""},
		{"gzip", "auto", "gzip"},
		{"zstd", "auto", "zstd"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, err := api.NewHandler(db, api.WithCompression(api.Compression(tc.mode)))
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			body := benchmark.Body("", 0, 1000)
			do := func() int {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+benchmark.Path, bytes.NewReader(body))
				benchmark.SetHeaders(req.Header)
				if tc.accept != "" {
					req.Header.Set("Accept-Encoding", tc.accept)
				}
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
				return int(n)
			}
			size := do()
			b.ResetTimer()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					do()
				}
			})
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/answer")
			b.ReportMetric(float64(size), "bytes/answer")
		})
	}
}

// cpuTime is the CPU time of the process so far, user and system, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
