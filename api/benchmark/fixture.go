// Package benchmark measures the List Batches endpoint against a bare
// baseline. It holds what the measurements share: SQLite databases of any
// size seeded with realistic batches and cached between runs (CachedDB), the
// baseline server every figure is divided by (Baseline), and the request the
// benchmarks send (Request).
//
// The Go benchmarks are this package's tests (go test -run '^$' -bench .
// ./api/benchmark); the load run against the batchesd binary, and the
// report of ratios, are cmd/batchesbench. BENCHMARKS.md at the repository
// root holds the figures and the command that measures them again.
//
// Everything here goes through the server's stable surfaces only: the
// administration methods of api/sqlite ([domain.Admin]) to seed,
// api.NewHandler or the batchesd binary to serve, HTTP to read.
package benchmark

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the driver of checkpoint; api/sqlite uses it too

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/sqlite"
	"github.com/mixpeekgo/batches/generated/server"
)

// What Seed creates. The API key is registered as is, so a cached database
// is usable without anything but these constants.
const (
	OrganizationName = "Bench"
	Namespace        = "bench"
	BucketID         = "bkt_bench"
	BucketName       = "bench"
	APIKey           = "sk_bench_4f1c9e2a7b5d3c8e6a0f"
)

// FilterStatus is the status of the filtered measurements: COMPLETED, the
// most common status (two batches in three), so that every offset measured
// in a bucket of a million batches still lands on a full page.
const FilterStatus = server.TaskStatusCOMPLETED

// FilterCollection is the collection of the measurements filtered by
// collection (collection_id): one of the five the demo's batches feed, about
// one batch in ten of a seeded bucket, so that the first pages of a bucket
// of a million batches are full.
const FilterCollection = "col_products01"

// Epoch is the created_at of the newest seeded batch (index 0); each older
// one is 30 to 60 seconds older than the one before, so a million batches
// span about a year and no two share a timestamp.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// seedVersion names what Batches generates; change it whenever the seeded
// data changes, so that cached databases are seeded again.
const seedVersion = "bench-seed-2" // 2: the demo batches have tier tasks and their DAG

// templates are the 300 demo batches (domain.DemoBatches), the shapes every
// seeded batch copies.
var templates = sync.OnceValue(func() []domain.Batch { return domain.DemoBatches(Epoch, BucketID) })

// idSpace is 36^12, the number of ids "btch_" and 12 characters of [a-z0-9].
const idSpace = 4738381338321616896

// Batches returns n batches of a seeded bucket from index from on, newest
// first: exactly the page a List Batches of the whole bucket answers at
// offset from and limit n, once the bucket is seeded with Seed. Batch i
// copies the shape (status, type, objects, collections, errors, metadata,
// tiers and processing time) of demo batch i mod 300 (domain.DemoBatches); its
// batch_id ("btch_" and 12 characters of [a-z0-9]) is unique to i, and its
// created_at is strictly older than that of batch i-1. Batches of the same
// shape share their slices and maps: treat them as read-only.
func Batches(from, n int) []domain.Batch {
	tpl := templates()
	out := make([]domain.Batch, n)
	for k := range out {
		i := from + k
		t := tpl[i%len(tpl)]
		b := t
		b.BatchID = batchID(i)
		b.BucketID = BucketID
		b.CreatedAt = createdAt(i)
		b.UpdatedAt = b.CreatedAt.Add(t.UpdatedAt.Sub(t.CreatedAt))
		out[k] = b
	}
	return out
}

// batchID maps i one to one onto the ids "btch_" and 12 characters of
// [a-z0-9], scattered: i times a multiplier prime to 36, modulo 36^12.
func batchID(i int) string {
	const mult = 25214903917 // odd and not a multiple of 3, so prime to 36^12
	hi, lo := bits.Mul64(uint64(i), mult)
	x := bits.Rem64(hi, lo, idSpace)
	b := make([]byte, 12)
	for k := len(b) - 1; k >= 0; k-- {
		b[k] = "0123456789abcdefghijklmnopqrstuvwxyz"[x%36]
		x /= 36
	}
	return "btch_" + string(b)
}

// createdAt is Epoch less 30 s a batch and a jitter of less than 30 s, so
// that it falls strictly with i.
func createdAt(i int) time.Time {
	jitter := (uint64(i)*0x9E3779B97F4A7C15>>20)%uint64(30*time.Second) + 1
	return Epoch.Add(-time.Duration(i)*30*time.Second - time.Duration(jitter))
}

// chunk is the number of batches Seed inserts in one transaction.
const chunk = 20000

// Seed creates in db the organization OrganizationName, its namespace
// Namespace, the bucket BucketID (named BucketName) holding the n batches of
// Batches(0, n), and the API key APIKey ([domain.CreateTenant], then
// InsertBatches). Batches are inserted oldest first, as they would have been
// created, in transactions of 20,000; progress, when not nil, is called
// after each with the number inserted so far. It returns the first error of
// the administration methods: one wrapping domain.ErrAlreadyExists when db
// holds the bucket or the key already (it was seeded before).
func Seed(ctx context.Context, db domain.Admin, n int, progress func(done int)) error {
	if _, err := domain.CreateTenant(ctx, db, domain.Tenant{Organization: OrganizationName, Namespace: Namespace,
		BucketName: BucketName, BucketID: BucketID, APIKey: APIKey}); err != nil {
		return err
	}
	done := 0
	for end := n; end > 0; end -= chunk {
		start := max(0, end-chunk)
		page := Batches(start, end-start)
		slices.Reverse(page)
		if err := db.InsertBatches(ctx, BucketID, page); err != nil {
			return err
		}
		done += len(page)
		if progress != nil {
			progress(done)
		}
	}
	return nil
}

// CacheDir is the directory of the databases CachedDB seeds:
// batches-bench in os.TempDir(). Remove it to get the disk space back (a
// million batches take about a gigabyte).
func CacheDir() string { return filepath.Join(os.TempDir(), "batches-bench") }

// CachedDB returns the path of a SQLite database seeded by Seed with n
// batches, seeding it on first use. Databases are kept in CacheDir, one a
// size, under a name that also carries a digest of the seeded data's
// version and of the source of api/sqlite and api/domain (the migrations
// and the code that writes, read from the module's source tree): when
// either changes, the next call seeds a new
// database instead of using one of another schema. When the source tree is
// not found (a binary built with -trimpath), the digest covers the seed
// version only.
//
// A database is seeded under a temporary name and renamed into place when
// complete, so concurrent callers never see a partial one (both may seed).
// Progress is written to log, when not nil. Use the database read-only:
// the benchmarks of every process share it.
func CachedDB(ctx context.Context, n int, log io.Writer) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("benchmark: %d batches", n)
	}
	dir := CacheDir()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("bucket-%d-%s.db", n, cacheKey()))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}

	tmp := path + ".seeding-" + strconv.Itoa(os.Getpid())
	removeDB(tmp)
	defer removeDB(tmp)
	start := time.Now()
	if log != nil {
		fmt.Fprintf(log, "seeding %d batches into %s (once; cached for later runs)\n", n, path)
	}
	db, err := sqlite.Open(ctx, tmp)
	if err != nil {
		return "", err
	}
	err = Seed(ctx, db, n, func(done int) {
		if log != nil && (done%200000 == 0 || done == n) {
			fmt.Fprintf(log, "  %d/%d batches, %s\n", done, n, time.Since(start).Round(time.Second))
		}
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkpoint(ctx, tmp)
	}
	if err != nil {
		return "", fmt.Errorf("benchmark: seeding %s: %w", tmp, err)
	}
	removeDB(path) // a stale -wal or -shm must not meet the new file
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return path, nil
}

// checkpoint moves everything of the write-ahead log of the database at
// path into the file and empties the log, so that the file alone is the
// whole database and can be renamed.
func checkpoint(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	var busy, logPages, done int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &done); err != nil {
		return err
	}
	if busy != 0 {
		return errors.New("checkpoint: the database is busy")
	}
	return db.Close()
}

// removeDB removes the database file at path and its -wal and -shm files.
func removeDB(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		_ = os.Remove(p)
	}
}

// cacheKey is the first 12 hex digits of the SHA-256 of seedVersion and of
// api/sqlite's migrations and the non-test Go files of api/sqlite and
// api/domain, by name and content, but for the drivers of opt-in builds
// (api/sqlite/driver_*.go).
var cacheKey = sync.OnceValue(func() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", seedVersion)
	if _, file, _, ok := runtime.Caller(0); ok {
		api := filepath.Join(filepath.Dir(file), "..")
		var files []string
		for _, pattern := range []string{"sqlite/*.go", "sqlite/migrations/*.sql", "domain/*.go"} {
			m, _ := filepath.Glob(filepath.Join(api, pattern))
			files = append(files, m...)
		}
		slices.Sort(files)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(filepath.Base(f), "driver_") {
				continue // tests, and the drivers of opt-in builds (seeding uses the default's)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			rel, _ := filepath.Rel(api, f)
			fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
})
