// Package river is the queue of the processing of batches, on
// github.com/riverqueue/river, for both backends: the job of a step
// ([domain.Job]), its worker, the client's settings, and river's schema as
// goose migrations. It is generic over the type of a transaction
// (river's own design: *sql.Tx for riversqlite, pgx.Tx for riverpgxv5),
// so that api/sqlite and api/postgres, which each own a [Queue] of their
// transaction type and river driver, share all of it rather than write it
// twice; it is named after its dependency, as the backends are after
// theirs, and imports no package of the project but api/domain.
//
// A step's job is queued in the transaction of the write that makes it due
// (a submit, a retry, the step before), and its worker runs the step in
// one transaction of the backend that also marks the job done
// (river.JobCompleteTx): a step's effects are written once, whatever
// crashes. River delivers a job at least once; a job run again after its
// transaction committed finds the job done, and one whose step is no
// longer due (of a batch canceled, or moved on) does nothing.
package river

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	riverqueue "github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/mixpeekgo/batches/api/domain"
)

// Config is how a [Queue] works its jobs. The zero value is the
// defaults.
type Config struct {
	// Workers is the most steps one process runs at once; default 10.
	Workers int
	// PollInterval is how often a worker looks for due jobs when no
	// notification wakes it, which bounds how late a step starts: default
	// 200 ms (river's default is 1 s).
	PollInterval time.Duration
	// StepTimeout bounds one step (a transaction of milliseconds);
	// default 30 s.
	StepTimeout time.Duration
	// RescueAfter is how long a job may stay running before it counts as
	// abandoned by a process that died (kill -9, a crash) and runs again:
	// river's RescueStuckJobsAfter, whose default of an hour would leave
	// such a batch IN_PROGRESS that long. Default 1 minute, and never
	// below StepTimeout: a step takes milliseconds, so a job running
	// that long is one whose process is gone. The leader process
	// rescues every 30 s (river's interval), so such a step runs again
	// within RescueAfter plus about 30 s (plus up to 15 s more when the
	// process that died was the leader).
	RescueAfter time.Duration
	// Logger logs what the queue does: each step run (at Info), river's
	// own messages (at Warn and above). Default: discard.
	Logger *slog.Logger
	// TestOnly starts river's maintenance without its random delay, for
	// tests.
	TestOnly bool
	// Now is the clock that says when a step is due: the lifecycle's
	// (domain.Processing.Now); default time.Now.
	Now func() time.Time
}

// The defaults of [Config].
const (
	DefaultWorkers      = 10
	DefaultPollInterval = 200 * time.Millisecond
	DefaultStepTimeout  = 30 * time.Second
	DefaultRescueAfter  = time.Minute
)

func (c Config) settled() Config {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.StepTimeout <= 0 {
		c.StepTimeout = DefaultStepTimeout
	}
	if c.RescueAfter <= 0 {
		c.RescueAfter = DefaultRescueAfter
	}
	c.RescueAfter = max(c.RescueAfter, c.StepTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// InTx runs f in one write transaction of a backend, which it commits
// when f returns nil and rolls back otherwise; it returns f's error, or
// the backend's.
type InTx[TTx any] func(ctx context.Context, f func(ctx context.Context, t TTx) error) error

// Backend is what a [Queue] needs of a backend to run its steps.
type Backend[TTx any] struct {
	// InTx runs the backend's write transactions.
	InTx InTx[TTx]
	// Tx is the domain.Tx of one of them.
	Tx func(TTx) domain.Tx
	// Steps runs a step within a transaction (domain.Lifecycles).
	Steps interface {
		Step(ctx context.Context, tx domain.Tx, job domain.Job) (domain.Step, error)
	}
}

// Queue is the processing queue of one backend, TTx its transactions.
type Queue[TTx any] struct {
	client *riverqueue.Client[TTx]
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	started bool

	// Steps run by this process, by outcome (QueueStats).
	outcomes sync.Map // string → *atomic.Int64
}

// stepArgs are a step's job, as river stores it.
type stepArgs struct {
	BatchID string    `json:"batch_id"`
	TaskID  string    `json:"task_id"`
	Tier    int       `json:"tier"`
	Finish  bool      `json:"finish"`
	DueAt   time.Time `json:"due_at"`
}

// Kind names the job kind in river_job.
func (stepArgs) Kind() string { return "batch_step" }

func (a stepArgs) job() domain.Job {
	return domain.Job{BatchID: a.BatchID, TaskID: a.TaskID, Tier: a.Tier, Finish: a.Finish, At: a.DueAt}
}

// worker runs the step of a job in a transaction of the backend that also
// completes the job.
type worker[TDriver riverdriver.Driver[TTx], TTx any] struct {
	riverqueue.WorkerDefaults[stepArgs]
	q       *Queue[TTx]
	b       Backend[TTx]
	timeout time.Duration
}

func (w *worker[TDriver, TTx]) Timeout(*riverqueue.Job[stepArgs]) time.Duration { return w.timeout }

// NextRetry waits 1, 2, 4, … up to 60 s after a step that failed (a
// storage failure): river's default waits hours by the tenth attempt.
func (w *worker[TDriver, TTx]) NextRetry(job *riverqueue.Job[stepArgs]) time.Time {
	d := time.Second << min(job.Attempt-1, 6)
	return time.Now().Add(min(d, time.Minute))
}

func (w *worker[TDriver, TTx]) Work(ctx context.Context, job *riverqueue.Job[stepArgs]) error {
	// Not due yet: back to the queue until it is (a snooze counts no
	// attempt). A snooze of up to 5 s leaves the job available, fetched
	// when due by any process; a longer one makes it scheduled, made
	// available ahead of time by river's leader.
	if d := job.Args.DueAt.Sub(w.q.now()); d > 0 {
		return riverqueue.JobSnooze(max(d, time.Millisecond))
	}
	// The step, and the job marked done, in one transaction.
	var st domain.Step
	err := w.b.InTx(ctx, func(ctx context.Context, t TTx) error {
		var err error
		if st, err = w.b.Steps.Step(ctx, w.b.Tx(t), job.Args.job()); err != nil {
			return err
		}
		_, err = riverqueue.JobCompleteTx[TDriver](ctx, t, job)
		return err
	})
	w.q.record(st, err)
	if err != nil {
		w.q.log.WarnContext(ctx, "batch step failed; it will run again", "step", job.Args.job().String(), "attempt", job.Attempt, "err", err)
		return err
	}
	if st.Applied {
		w.q.log.InfoContext(ctx, "batch step", "batch_id", st.Job.BatchID, "task_id", st.Job.TaskID, "tier", st.Job.Tier,
			"phase", phase(st.Job), "tier_status", string(st.TierStatus), "batch_status", string(st.BatchStatus), "job_id", job.ID)
	}
	return nil
}

func phase(j domain.Job) string {
	if j.Finish {
		return "finish"
	}
	return "start"
}

// Outcomes of a step, the outcome label of QueueStats.Steps.
const (
	OutcomeStarted = "started" // a tier started
	OutcomeSkipped = "skipped" // not due: of an earlier task, a canceled or deleted batch
	OutcomeError   = "error"   // failed (storage); its job runs again
)

func (q *Queue[TTx]) record(st domain.Step, err error) {
	outcome := OutcomeSkipped
	switch {
	case err != nil:
		outcome = OutcomeError
	case st.Applied && !st.Job.Finish:
		outcome = OutcomeStarted
	case st.Applied:
		outcome = strings.ToLower(string(st.TierStatus)) // completed, completed_with_errors, failed
	}
	c, _ := q.outcomes.LoadOrStore(outcome, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

// New returns the queue of the river driver driver (riversqlite's or
// riverpgxv5's, over a pool of its own), whose jobs run in the
// transactions of b. It starts nothing: [Queue.Start] starts its workers;
// until then it only queues.
func New[TDriver riverdriver.Driver[TTx], TTx any](driver TDriver, b Backend[TTx], cfg Config) (*Queue[TTx], error) {
	cfg = cfg.settled()
	q := &Queue[TTx]{log: cfg.Logger, now: cfg.Now}
	workers := riverqueue.NewWorkers()
	if err := riverqueue.AddWorkerSafely(workers, &worker[TDriver, TTx]{q: q, b: b, timeout: cfg.StepTimeout}); err != nil {
		return nil, err
	}
	client, err := riverqueue.NewClient[TTx](driver, &riverqueue.Config{
		Queues:               map[string]riverqueue.QueueConfig{riverqueue.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(riverqueue.FetchCooldownDefault, cfg.PollInterval),
		JobTimeout:           cfg.StepTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		MaxAttempts:          100,
		Logger:               slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}),
		TestOnly:             cfg.TestOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	q.client = client
	return q, nil
}

// Insert queues job within tx: it exists if and only if tx commits. It is
// due at job.At (at once when that is past), by the clock of Config.Now:
// it is queued available, and a worker that takes it early puts it back
// until then (rather than scheduled: river makes scheduled jobs available
// from its leader only, every 5 s, which would make a tier of a few
// milliseconds last seconds).
func (q *Queue[TTx]) Insert(ctx context.Context, tx TTx, job domain.Job) error {
	args := stepArgs{BatchID: job.BatchID, TaskID: job.TaskID, Tier: job.Tier, Finish: job.Finish, DueAt: job.At.UTC()}
	_, err := q.client.InsertTx(ctx, tx, args, nil)
	if err != nil {
		return fmt.Errorf("queueing %s: %w", job, err)
	}
	return nil
}

// Start starts the workers of this process ([domain.Processor]).
func (q *Queue[TTx]) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return nil
	}
	// river's client stops with the ctx of Start: give it one that lives
	// until Stop.
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("river: %w", err)
	}
	q.started = true
	return nil
}

// Stop stops the workers ([domain.Processor]): no job starts; the steps
// under way finish, or, when ctx is done first, are canceled, their jobs
// back to available at once (river's graceful stop), for this or another
// process to run again.
func (q *Queue[TTx]) Stop(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		return nil
	}
	q.started = false
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = q.client.StopAndCancel(cctx)
	}
	return err
}

// Stats returns the jobs of the queue by state (available, scheduled,
// retryable, running; of every process) and the steps this process ran,
// by outcome ([domain.QueueStatser]).
func (q *Queue[TTx]) Stats(ctx context.Context) (domain.QueueStats, error) {
	counts, err := q.client.Driver().GetExecutor().JobCountByAllStates(ctx, &riverdriver.JobCountByAllStatesParams{})
	if err != nil {
		return domain.QueueStats{}, fmt.Errorf("river: counting jobs: %w", err)
	}
	st := domain.QueueStats{Depth: map[string]int{}, Steps: map[string]int64{}}
	for _, s := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled,
		rivertype.JobStateRetryable, rivertype.JobStateRunning} {
		st.Depth[string(s)] = counts[s]
	}
	q.outcomes.Range(func(k, v any) bool {
		st.Steps[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return st, nil
}

// minLevel is h without the records below min: river's own log, which
// tells every maintenance run at Info.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}

// FirstVersion is the goose version of river's first migration ([Migrations]);
// its later ones follow. Both backends number them so.
const FirstVersion = 8

// Migrations returns river's schema for driver (a driver without a pool,
// riversqlite.New(nil) or riverpgxv5.New(nil)) as goose Go migrations, one
// per version of river's: version v is goose's FirstVersion+v-1, named
// "000NN_river_00V.go" (the backends number them alike, and a test
// compares their versions and names). Each runs river's SQL in goose's
// transaction and records the version in river_migration, as river's own
// migrator does, so that river finds its schema complete; goose's lock
// (PostgreSQL's session lock, SQLite's open lock) keeps processes that
// start at once from racing, which river's migrator does not. A river
// upgrade that brings a version needs a migration more: the backends'
// tests fail until it is there.
func Migrations[TTx any](driver riverdriver.Driver[TTx]) ([]*goose.Migration, error) {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	var out []*goose.Migration
	for _, v := range m.AllVersions() {
		up := strings.ReplaceAll(v.SQLUp, "/* TEMPLATE: schema */", "")
		record := fmt.Sprintf(`INSERT INTO river_migration (line, version) VALUES ('main', %d)`, v.Version)
		if v.Version < 5 { // the line column comes with version 5
			record = fmt.Sprintf(`INSERT INTO river_migration (version) VALUES (%d)`, v.Version)
		}
		g := goose.NewGoMigration(FirstVersion+int64(v.Version)-1, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, up); err != nil {
				return fmt.Errorf("river %03d (%s): %w", v.Version, v.Name, err)
			}
			_, err := tx.ExecContext(ctx, record)
			return err
		}}, nil)
		g.Source = fmt.Sprintf("%05d_river_%03d.go", FirstVersion+int64(v.Version)-1, v.Version)
		out = append(out, g)
	}
	return out, nil
}

// MigrationsApplied reports whether every version of river's schema for
// driver (a driver with a pool) is in the database.
func MigrationsApplied[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) (bool, []string, error) {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return false, nil, err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return false, nil, err
	}
	return res.OK, res.Messages, nil
}

// WithClock returns c with its clock now, unless it has one: the
// lifecycle's, which dates the jobs.
func WithClock(c Config, now func() time.Time) Config {
	if c.Now == nil {
		c.Now = now
	}
	return c
}
