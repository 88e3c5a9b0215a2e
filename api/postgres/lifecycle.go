package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// The lifecycle of batches on PostgreSQL: the rows it loads and saves (the
// rules are the domain's, domain.Lifecycles) and the processing queue,
// river over riverpgxv5. Several servers on one database share the queue:
// a job is fetched by one of them (FOR UPDATE SKIP LOCKED), and a step
// locks its batch's row (FOR UPDATE) before it decides anything.

// WithProcessing sets how submitted batches are processed (tiers,
// durations, failures, the clock); the default is domain.Processing's.
func WithProcessing(p domain.Processing) Option { return func(c *config) { c.processing = p } }

// WithQueue sets how the queue works its jobs; the default is
// river.Config's.
func WithQueue(q river.Config) Option { return func(c *config) { c.queue = q } }

var (
	_ domain.Processor    = (*DB)(nil)
	_ domain.QueueStatser = (*DB)(nil)
)

// riverConns is the size of river's own pool: its fetches, completions
// and maintenance (its LISTEN connection is taken out of the pool), so
// that they never wait behind the API's queries. Jobs are queued and
// completed in the API's transactions, on the main pool.
const riverConns = 4

// openQueue opens river's pool, on the database of pcfg, and the queue.
func (db *DB) openQueue(ctx context.Context, pcfg *pgxpool.Config, cfg river.Config) error {
	rcfg := pcfg.Copy()
	rcfg.MaxConns = riverConns
	rcfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, rcfg)
	if err != nil {
		return err
	}
	q, err := river.New(riverpgxv5.New(pool), river.Backend[pgx.Tx]{
		InTx:  db.inTx,
		Tx:    func(t pgx.Tx) domain.Tx { return tx{t, db.queue} },
		Steps: db.Lifecycles,
	}, river.WithClock(cfg, db.Processing().Now))
	if err != nil {
		pool.Close()
		return err
	}
	db.riverPool, db.queue = pool, q
	return nil
}

// inTx runs f in one READ COMMITTED transaction within the deadline of one
// call; PostgreSQL's cancellation of it is said in the project's words
// (inWords).
func (db *DB) inTx(ctx context.Context, f func(ctx context.Context, t pgx.Tx) error) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return db.inWords(queryError(ctx, pgx.BeginFunc(ctx, db.pool, func(t pgx.Tx) error { return f(ctx, t) })))
}

// StartProcessing implements [domain.Processor].
func (db *DB) StartProcessing(ctx context.Context) error { return db.queue.Start(ctx) }

// StopProcessing implements [domain.Processor].
func (db *DB) StopProcessing(ctx context.Context) error { return db.queue.Stop(ctx) }

// QueueStats implements [domain.QueueStatser].
func (db *DB) QueueStats(ctx context.Context) (domain.QueueStats, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return db.queue.Stats(ctx)
}

// RiverMigrationsApplied reports whether river's schema is complete in the
// database, as river's own migrator sees it, and what it says otherwise.
func (db *DB) RiverMigrationsApplied(ctx context.Context) (bool, []string, error) {
	return river.MigrationsApplied(ctx, riverpgxv5.New(db.riverPool))
}

// txQueries are the statements of some Tx methods, in PostgreSQL's
// placeholders.
var txQueries = domain.NewTxQueries("$")

func (x tx) UpdateBatch(ctx context.Context, row []any) error {
	_, err := x.t.Exec(ctx, txQueries.UpdateBatch, row...)
	return err
}

func (x tx) Task(ctx context.Context, taskID string) (domain.TaskRow, bool, error) {
	r, err := domain.ScanTaskRow(x.t.QueryRow(ctx, txQueries.Task, taskID).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// SaveTask upserts the row; its values are those of the columns, in order.
func (x tx) SaveTask(ctx context.Context, r domain.TaskRow) error {
	_, err := x.t.Exec(ctx, txQueries.SaveTask, r.Values()...)
	return err
}

func (x tx) Enqueue(ctx context.Context, job domain.Job) error { return x.q.Insert(ctx, x.t, job) }

// GetTask is [domain.Store.GetTask]: a lookup in the primary key.
func (db *DB) GetTask(ctx context.Context, organizationID, taskID string, dst []byte) ([]byte, error) {
	return db.readDoc(ctx, "get task", dst, `SELECT doc FROM tasks WHERE task_id = $1 AND organization_id = $2`,
		textOrNull(taskID), textOrNull(organizationID))
}

// ListTasks is [domain.Store.ListTasks]: one statement reads the page,
// by the index of the organization's tasks (with its status or type), one
// more row than the limit telling whether more follow; another counts the
// total, when asked.
func (db *DB) ListTasks(ctx context.Context, p domain.TaskListParams, dst []byte) ([]byte, *domain.TaskCursor, int64, error) {
	if err := domain.CheckTaskPage(p); err != nil {
		return nil, nil, 0, fmt.Errorf("postgres: list tasks: %w", err)
	}
	where := []string{"organization_id = $1"}
	args := []any{textOrNull(p.OrganizationID)}
	if p.Status != nil {
		args = append(args, textOrNull(string(*p.Status)))
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	if p.Type != nil {
		args = append(args, textOrNull(string(*p.Type)))
		where = append(where, "task_type = $"+strconv.Itoa(len(args)))
	}
	filter := strings.Join(where, " AND ")
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var total int64
	if p.CountTotal {
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE `+filter, args...).Scan(&total); err != nil {
			return nil, nil, 0, fmt.Errorf("postgres: list tasks: %w", queryError(ctx, err))
		}
	}
	if p.After != nil {
		args = append(args, p.After.CreatedAt.UnixNano(), textOrNull(p.After.TaskID))
		filter += fmt.Sprintf(" AND (created_at, task_id) < ($%d, $%d)", len(args)-1, len(args))
	}
	args = append(args, p.Limit+1, p.Offset)
	rows, err := db.pool.Query(ctx, fmt.Sprintf(`SELECT task_id, created_at, doc FROM tasks WHERE %s
		ORDER BY created_at DESC, task_id DESC LIMIT $%d OFFSET $%d`, filter, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("postgres: list tasks: %w", queryError(ctx, err))
	}
	defer rows.Close()
	page := domain.NewTaskPage(dst, p.Limit)
	for rows.Next() {
		var (
			id      string
			created int64
		)
		if err := rows.Scan(&id, &created, nil); err != nil {
			return nil, nil, 0, fmt.Errorf("postgres: list tasks: %w", queryError(ctx, err))
		}
		page.Add(id, created, rows.RawValues()[2])
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("postgres: list tasks: %w", queryError(ctx, err))
	}
	out, next := page.Done()
	return out, next, total, nil
}
