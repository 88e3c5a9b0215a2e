package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/postgres"
	"github.com/mixpeekgo/batches/generated/server"
)

// writeStats is what the writer and the checker of a run under writes
// saw.
type writeStats struct {
	writes  int // batches imported, one a transaction
	stale   int // imports the writer's next request did not see
	pages   int // pages the checker read
	broken  int // pages that were no snapshot of the bucket
	example string
}

// measureWrites measures r on s while this process imports a batch into
// the bucket (of size batches) every WriteEvery through db, and checks
// what is listed: after each import, its next request (a page of 1) must
// show it; a checker reads pages of 100 without pause, each of which must
// be one snapshot (sorted newest first, as many batches as total_count
// allows, the newest the import that total_count counts last, and
// total_count never falling). The batches imported are deleted after.
func (b *bench) measureWrites(s *process, db domain.DB, r loadRun, size int) error {
	r.during = "writes"
	st := &writeStats{}
	var (
		mu       sync.Mutex
		imported []string
	)
	tpl := benchmark.Batches(0, 1)[0]
	during := func() func() error {
		ctx, cancel := context.WithCancel(b.e.ctx)
		var wg sync.WaitGroup
		var werr error
		wg.Go(func() { // the writer
			t := time.NewTicker(b.c.WriteEvery)
			defer t.Stop()
			for n := 1; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				bt := tpl
				bt.BatchID = fmt.Sprintf("btch_w%07d", n)
				bt.CreatedAt = benchmark.Epoch.Add(time.Duration(n) * time.Millisecond)
				bt.UpdatedAt = bt.CreatedAt
				mu.Lock()
				imported = append(imported, bt.BatchID)
				mu.Unlock()
				if err := db.InsertBatches(ctx, benchmark.BucketID, []domain.Batch{bt}); err != nil {
					if ctx.Err() == nil {
						werr = fmt.Errorf("importing a batch: %w", err)
					}
					return
				}
				l, err := benchmark.Fetch(ctx, http.DefaultClient, s.url, benchmark.Body("", 0, 1))
				if err != nil {
					if ctx.Err() == nil {
						werr = err
					}
					return
				}
				mu.Lock()
				st.writes++
				if len(l.Results) == 0 || *l.Results[0].BatchId != bt.BatchID || l.TotalCount != int64(size+n) {
					st.stale++
				}
				mu.Unlock()
			}
		})
		wg.Go(func() { // the checker
			last := int64(0)
			for ctx.Err() == nil {
				l, err := benchmark.Fetch(ctx, http.DefaultClient, s.url, benchmark.Body("", 0, 100))
				if err != nil {
					if ctx.Err() == nil {
						werr = err
					}
					return
				}
				mu.Lock()
				st.pages++
				if why := snapshotBroken(l, size, last, imported); why != "" {
					st.broken++
					if st.example == "" {
						st.example = why
					}
				}
				mu.Unlock()
				last = l.TotalCount
			}
		})
		return func() error {
			cancel()
			wg.Wait()
			return werr
		}
	}
	run, err := b.measureRequest(s, r, r.request(), b.c.Duration, during)
	// Back to the bucket as seeded, even when the run was interrupted
	// (Ctrl-C cancels b.e.ctx): the SQLite bucket is the cached database
	// the next runs reuse.
	cleanup := context.WithoutCancel(b.e.ctx)
	for _, id := range imported {
		if derr := db.DeleteBatch(cleanup, id); derr != nil && !errors.Is(derr, domain.ErrNotFound) && err == nil {
			err = derr
		}
	}
	if err != nil {
		return err
	}
	run.writes = st
	b.out.runs = append(b.out.runs, run)
	b.e.progress("  %d imports (%d not seen by the next request), %d pages checked (%d not a snapshot%s)",
		st.writes, st.stale, st.pages, st.broken, map[bool]string{true: ": " + st.example, false: ""}[st.example != ""])
	return nil
}

// snapshotBroken says why page l (the first 100 of a bucket of size
// batches into which imported were imported, in order) is not one state
// of the bucket, or "".
func snapshotBroken(l server.ListBatchesResponse, size int, last int64, imported []string) string {
	n := l.TotalCount - int64(size)
	switch {
	case l.TotalCount < last:
		return fmt.Sprintf("total_count %d after %d", l.TotalCount, last)
	case int64(len(l.Results)) != min(100, l.TotalCount):
		return fmt.Sprintf("%d results of %d", len(l.Results), l.TotalCount)
	case n < 0 || n > int64(len(imported)):
		return fmt.Sprintf("total_count %d with %d imported", l.TotalCount, len(imported))
	case n > 0 && *l.Results[0].BatchId != imported[n-1]:
		return fmt.Sprintf("total_count %d, first %s, want %s", l.TotalCount, *l.Results[0].BatchId, imported[n-1])
	}
	for i := 1; i < len(l.Results); i++ {
		if l.Results[i].CreatedAt.After(*l.Results[i-1].CreatedAt) {
			return fmt.Sprintf("result %d newer than %d", i, i-1)
		}
	}
	return ""
}

// opsRuns measures, on the server ops (of backend, on a copy of the
// bucket of size batches, not processing; dbArgs open its database),
// create and submit; then the queue's throughput (the batches submitted,
// by a server whose tiers take no time); then List idle and while
// Processing batches are being processed (tiers of batchesd's default
// length) by one server.
func (b *bench) opsRuns(backend string, ops *process, size int, dbArgs ...string) error {
	e, c := b.e, b.c
	if err := b.measure(ops, loadRun{backend: backend, op: "create", size: size, limit: 1}, c.Duration); err != nil {
		return err
	}
	drafts, err := listIDs(e, ops.url, server.TaskStatusDRAFT)
	if err != nil {
		return err
	}
	req := wrkRequest{method: http.MethodPost, ids: drafts}
	if err := b.keep(b.measureRequest(ops, loadRun{backend: backend, op: "submit", size: size, limit: 1}, req, c.Duration, nil)); err != nil {
		return err
	}
	submitted, err := listIDs(e, ops.url, server.TaskStatusPENDING)
	if err != nil {
		return err
	}
	ops.stop()

	// Throughput: the queue as submit left it, the first ProcessN.
	if len(submitted) > c.ProcessN {
		if err := cancelAll(e, submitted[c.ProcessN:], b, dbArgs); err != nil {
			return err
		}
		submitted = submitted[:c.ProcessN]
	}
	if err := b.throughputRun(backend, dbArgs, len(submitted), 10); err != nil {
		return err
	}
	// Again with ten times the workers, on as many batches queued anew.
	queuer, err := b.batchesd("batchesd-"+backend+"-queue", append(slices.Clone(dbArgs), "--no-processing")...)
	if err != nil {
		return err
	}
	err = queueBatches(e.ctx, queuer.url, len(submitted))
	queuer.stop()
	if err != nil {
		return err
	}
	if err := b.throughputRun(backend, dbArgs, len(submitted), 100); err != nil {
		return err
	}

	// List idle, then while Processing batches are processed.
	busy, err := b.batchesd("batchesd-"+backend+"-processing", dbArgs...)
	if err != nil {
		return err
	}
	defer busy.stop()
	if err := b.measure(busy, loadRun{backend: backend, op: "list", size: size, limit: 100, during: "idle, processing on"}, c.Duration); err != nil {
		return err
	}
	var steps atomic.Int64
	feed := func() func() error {
		ctx, cancel := context.WithCancel(e.ctx)
		var ferr error
		var wg sync.WaitGroup
		full := make(chan struct{})
		wg.Go(func() { ferr = keepProcessing(ctx, busy.url, c.Processing, full) })
		// The run starts once Processing batches are being processed.
		select {
		case <-full:
		case <-time.After(2 * time.Minute):
		}
		before := jobsTotal(e, busy)
		t0 := time.Now()
		return func() error {
			cancel()
			wg.Wait()
			steps.Store(int64(float64(jobsTotal(e, busy)-before) / time.Since(t0).Seconds()))
			if errors.Is(ferr, context.Canceled) {
				ferr = nil
			}
			return ferr
		}
	}
	r := loadRun{backend: backend, op: "list", size: size, limit: 100, during: "processing"}
	run, err := b.measureRequest(busy, r, r.request(), c.Duration, feed)
	if err != nil {
		return err
	}
	run.steps = float64(steps.Load())
	b.out.runs = append(b.out.runs, run)
	return nil
}

// listIDs lists the ids of the batches of status of the seeded bucket that
// processing writes to (collection col_bkt_bench_t0: the batches created
// by the runs), newest first.
func listIDs(e *env, baseURL string, status server.TaskStatus) ([]string, error) {
	var ids []string
	coll := "col_" + benchmark.BucketID + "_t0"
	for offset := int64(0); ; offset += 1000 {
		l := int32(1000)
		body, err := json.Marshal(server.ListBatchesRequest{Status: &status, CollectionId: &coll, Offset: &offset, Limit: &l})
		if err != nil {
			return nil, err
		}
		page, err := benchmark.Fetch(e.ctx, http.DefaultClient, baseURL, body)
		if err != nil {
			return nil, err
		}
		for _, bt := range page.Results {
			ids = append(ids, *bt.BatchId)
		}
		if len(page.Results) < 1000 {
			return ids, nil
		}
	}
}

// cancelAll cancels the batches ids through a server of dbArgs (not
// processing), so that the throughput's queue holds ProcessN batches.
func cancelAll(e *env, ids []string, b *bench, dbArgs []string) error {
	s, err := b.batchesd("batchesd-cancel", append(slices.Clone(dbArgs), "--no-processing")...)
	if err != nil {
		return err
	}
	defer s.stop()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var v any
			if benchmark.Do(e.ctx, http.DefaultClient, http.MethodPost, s.url+benchmark.BatchPath(id)+"/cancel", nil, &v) != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d cancels failed", n)
	}
	return nil
}

// metric is the sum of the samples of the Prometheus metric name (with
// labels matching prefix) of s's /metrics.
func metric(e *env, s *process, name string) (float64, error) {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, s.url+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return 0, err
	}
	sum := 0.0
	for line := range strings.Lines(body.String()) {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, nil
}

// jobsTotal is the steps s has run.
func jobsTotal(e *env, s *process) float64 {
	v, _ := metric(e, s, "batchesd_jobs_total")
	return v
}

// waitQueueEmpty waits until the queue of s holds no job to run.
func waitQueueEmpty(e *env, s *process, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		v, err := metric(e, s, "batchesd_queue_depth")
		if err != nil {
			return err
		}
		if v == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: the queue is not empty after %s", s.name, within)
}

// throughputRun processes the batches queued in the database of dbArgs
// (n of them) by a batchesd whose tiers take no time, with workers
// workers, from its start to an empty queue.
func (b *bench) throughputRun(backend string, dbArgs []string, n, workers int) error {
	e := b.e
	start := time.Now()
	proc, err := b.batchesd(fmt.Sprintf("batchesd-%s-throughput-%d", backend, workers),
		append(slices.Clone(dbArgs), "--process-tier-duration", "0", "--process-workers", strconv.Itoa(workers))...)
	if err != nil {
		return err
	}
	defer proc.stop()
	if err := waitQueueEmpty(e, proc, 10*time.Minute); err != nil {
		return err
	}
	elapsed := time.Since(start)
	b.out.throughput = append(b.out.throughput, throughput{backend: backend, batches: n, elapsed: elapsed, workers: workers})
	e.progress("  %s, %d workers: %d batches processed in %s: %.0f a second", backend, workers, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	return nil
}

// queueBatches creates and submits n batches on the server at baseURL,
// eight at a time (none when n <= 0).
func queueBatches(ctx context.Context, baseURL string, n int) error {
	var (
		wg     sync.WaitGroup
		failed atomic.Value
		next   atomic.Int64
	)
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, _, err := benchmark.LoadOps(ctx, http.DefaultClient, baseURL); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return err
	}
	return nil
}

// keepProcessing keeps n batches being processed by the server at
// baseURL until ctx is done: it creates and submits a batch for each that
// ends (eight at a time), looking at the count of those being processed
// every 100 ms. It closes full when n are first.
func keepProcessing(ctx context.Context, baseURL string, n int, full chan<- struct{}) error {
	coll := "col_" + benchmark.BucketID + "_t0"
	active := func() (int64, error) {
		var total int64
		for _, st := range []server.TaskStatus{server.TaskStatusPENDING, server.TaskStatusINPROGRESS, server.TaskStatusPROCESSING} {
			zero, one := int64(0), int32(1)
			body, err := json.Marshal(server.ListBatchesRequest{Status: &st, CollectionId: &coll, Offset: &zero, Limit: &one})
			if err != nil {
				return 0, err
			}
			l, err := benchmark.Fetch(ctx, http.DefaultClient, baseURL, body)
			if err != nil {
				return 0, err
			}
			total += l.TotalCount
		}
		return total, nil
	}
	for {
		a, err := active()
		if err != nil {
			return err
		}
		if a >= int64(n) && full != nil {
			close(full)
			full = nil
		}
		if err := queueBatches(ctx, baseURL, int(int64(n)-a)); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// postgresRuns measures the PostgreSQL rows on a new database of the
// server of PostgresURL, seeded with the bucket of size batches: List by
// every filter and each variant, under writes, GET, and the other
// operations. The database is dropped at the end.
func (b *bench) postgresRuns(size int, variants []variant) error {
	e, c := b.e, b.c
	dbURL, drop, err := newPostgresDatabase(e.ctx, c.PostgresURL)
	if err != nil {
		return err
	}
	defer drop()
	db, err := postgres.Open(e.ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	e.progress("seeding %d batches into PostgreSQL", size)
	if err := benchmark.Seed(e.ctx, db, size, nil); err != nil {
		return err
	}
	pgs, err := b.batchesd("batchesd-postgres", "--database-url", dbURL, "--no-processing")
	if err != nil {
		return err
	}
	for _, f := range []string{"all", "status", "collection"} {
		if err := b.measure(pgs, loadRun{backend: "postgres", op: "list", filter: f, size: size, limit: 100}, c.Duration); err != nil {
			return err
		}
	}
	for _, v := range variants {
		s, err := b.batchesd("batchesd-postgres ("+v.name+")", append([]string{"--database-url", dbURL, "--no-processing"}, v.flags...)...)
		if err != nil {
			return err
		}
		err = b.measure(s, loadRun{backend: "postgres", variant: v.name, op: "list", size: size, limit: 100}, c.Duration)
		s.stop()
		if err != nil {
			return err
		}
	}
	if c.WriteEvery > 0 {
		if err := b.measureWrites(pgs, db, loadRun{backend: "postgres", op: "list", size: size, limit: 100}, size); err != nil {
			return err
		}
	}
	if c.NoOps {
		return nil
	}
	id, err := firstBatchID(e, pgs)
	if err != nil {
		return err
	}
	if err := b.measureGet(pgs, loadRun{backend: "postgres", op: "get", size: size, limit: 1}, id); err != nil {
		return err
	}
	return b.opsRuns("postgres", pgs, size, "--database-url", dbURL)
}

// newPostgresDatabase creates a new database on the server of serverURL
// and returns its URL and a function that drops it.
func newPostgresDatabase(ctx context.Context, serverURL string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	name := fmt.Sprintf("batchesbench_%d", os.Getpid())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		conn.Close(ctx)
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
		conn.Close(context.Background())
	}, nil
}
