package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// The buckets of the benchmark database.
const (
	benchBucketLarge = "bkt_large" // benchLarge batches
	benchBucketSmall = "bkt_small" // benchSmall batches
	benchLarge       = 1_000_000
	benchSmall       = 1_000
)

// benchSeedVersion changes whenever benchDatabase seeds other data, so that
// a cached file of the old data is not reused.
const benchSeedVersion = 1

// benchDatabase returns the benchmark database, opened: one organization
// whose namespace has bkt_large (1M batches) and bkt_small (1k batches), made
// of the demo batches (realistic sizes and statuses) repeated with new ids
// and timestamps. Seeding takes a while, so the file is kept under
// os.TempDir(), named after a hash of the migrations and benchSeedVersion:
// a rerun with the same schema reuses it, a schema change seeds a new one.
func benchDatabase(b *testing.B) *sqlite.DB {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), "batches-bench-"+schemaKey(b)+".db")
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		if err := seedBenchDatabase(ctx, path); err != nil {
			b.Fatalf("seeding %s: %v", path, err)
		}
		b.Logf("seeded %s in %s", path, time.Since(start).Round(time.Millisecond))
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// schemaKey hashes the migrations and the seed version.
func schemaKey(b *testing.B) string {
	h := sha256.New()
	fmt.Fprintf(h, "seed %d\n", benchSeedVersion)
	err := fs.WalkDir(os.DirFS("."), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasPrefix(p, "migrations/") || p == "migrations.go") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s %d\n", p, len(data))
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// seedBenchDatabase creates the benchmark database at path: the schema by
// sqlite.Open, the batches by bulk INSERTs of 500 rows in transactions of
// 100k rows on a connection of its own, the docs from domain.BatchJSON as the
// store writes them (rendered by a second goroutine); the counts are the
// triggers'. The file is built under another name and renamed when
// complete.
func seedBenchDatabase(ctx context.Context, path string) error {
	tmp := path + ".seeding"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	db, err := sqlite.Open(ctx, tmp)
	if err != nil {
		return err
	}
	org, err := db.CreateOrganization(ctx, "Bench")
	if err != nil {
		return err
	}
	ns, err := db.CreateNamespace(ctx, org.ID, "bench")
	if err != nil {
		return err
	}
	for _, id := range []string{benchBucketLarge, benchBucketSmall} {
		if _, err := db.CreateBucket(ctx, ns.ID, id, id); err != nil {
			return err
		}
	}
	if err := db.Close(); err != nil {
		return err
	}

	// No journal while seeding: a failed seed is thrown away, not rolled
	// back. sqlite.Open turns WAL back on.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(tmp), RawQuery: "_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=foreign_keys(1)"}
	raw, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)

	// One goroutine renders the rows while this one inserts them.
	const perStatement, perTx = 500, 100_000
	type chunk struct {
		args []any
		err  error
	}
	chunks := make(chan chunk, 4)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(chunks)
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		templates := domain.DemoBatches(base, "")
		for _, bucket := range []struct {
			id string
			n  int
		}{{benchBucketLarge, benchLarge}, {benchBucketSmall, benchSmall}} {
			args := make([]any, 0, 15*perStatement)
			for i := range bucket.n {
				b := templates[i%len(templates)]
				b.BatchID = fmt.Sprintf("btch_%s%07d", bucket.id[4:5], i)
				b.BucketID = bucket.id
				// Two batches a second, so that ties are broken by id.
				b.CreatedAt = base.Add(time.Duration(i/2) * time.Second)
				b.UpdatedAt = b.CreatedAt.Add(time.Minute)
				row, err := domain.BatchRow(b.BucketID, b)
				args = append(args, row...)
				if err != nil || len(args) == cap(args) || i == bucket.n-1 {
					select {
					case chunks <- chunk{args, err}:
					case <-done:
						return
					}
					args = make([]any, 0, 15*perStatement)
				}
			}
		}
	}()

	insert := func(tx *sql.Tx, args []any) error {
		q := "INSERT INTO batches (" + strings.Join(domain.BatchColumns(), ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", len(args)/15), ",")
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	var tx *sql.Tx
	rows := 0
	for c := range chunks {
		if c.err != nil {
			return c.err
		}
		if tx == nil {
			if tx, err = raw.BeginTx(ctx, nil); err != nil {
				return err
			}
		}
		if err := insert(tx, c.args); err != nil {
			tx.Rollback()
			return err
		}
		if rows += len(c.args) / 15; rows >= perTx {
			if err := tx.Commit(); err != nil {
				return err
			}
			tx, rows = nil, 0
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if err := raw.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// BenchmarkListBatches lists pages of limit 100 from the 1M and the 1k
// bucket, unfiltered and filtered (FAILED: 8% of the batches; COMPLETED:
// about half), at offsets 0, 10k and 100k. The first pages show that a page
// costs the same whatever the bucket's size (total_count is read, not
// counted); the offsets show the cost of each skipped row (index entries
// only). CountStar is what total_count cost when it was counted.
func BenchmarkListBatches(b *testing.B) {
	db := benchDatabase(b)
	ctx := context.Background()
	buf := make([]byte, 0, 256<<10)
	for _, tc := range []struct {
		bucket string
		status batches.TaskStatus
		offset int64
	}{
		{benchBucketSmall, "", 0},
		{benchBucketSmall, batches.TaskStatusFailed, 0},
		{benchBucketLarge, "", 0},
		{benchBucketLarge, batches.TaskStatusFailed, 0},
		{benchBucketLarge, batches.TaskStatusCompleted, 0},
		{benchBucketLarge, "", 10_000},
		{benchBucketLarge, batches.TaskStatusCompleted, 10_000},
		{benchBucketLarge, "", 100_000},
		{benchBucketLarge, batches.TaskStatusCompleted, 100_000},
	} {
		p := domain.ListParams{BucketID: tc.bucket, Offset: tc.offset, Limit: 100}
		status := "all"
		if tc.status != "" {
			p.Status = &tc.status
			status = string(tc.status)
		}
		b.Run(fmt.Sprintf("bucket=%s/status=%s/offset=%d", tc.bucket[4:], status, tc.offset), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, _, err := db.ListBatches(ctx, p, buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				if len(out) < 1000 {
					b.Fatalf("page of %d bytes", len(out))
				}
			}
		})
	}
}

// BenchmarkCountStar counts the batches of the 1M bucket with COUNT(*), as
// total_count was computed before batch_counts: what every first page cost
// on top of the page.
func BenchmarkCountStar(b *testing.B) {
	db := benchDatabase(b)
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(db.Path()), RawQuery: "_pragma=query_only(1)"}
	raw, err := sql.Open("sqlite", u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	for _, tc := range []struct{ name, query string }{
		{"status=all", `SELECT COUNT(*) FROM batches WHERE bucket_id = ?`},
		{"status=COMPLETED", `SELECT COUNT(*) FROM batches WHERE bucket_id = ? AND status = 'COMPLETED'`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				var n int64
				if err := raw.QueryRow(tc.query, benchBucketLarge).Scan(&n); err != nil || n == 0 {
					b.Fatal(n, err)
				}
			}
		})
	}
}
