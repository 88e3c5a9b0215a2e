package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// The lifecycle of batches on SQLite: the rows it loads and saves (the
// rules are the domain's, domain.Lifecycles) and the processing queue,
// river over riversqlite.

// Option configures [Open].
type Option func(*options)

type options struct {
	processing domain.Processing
	queue      river.Config
}

// WithProcessing sets how submitted batches are processed (tiers,
// durations, failures, the clock); the default is domain.Processing's.
func WithProcessing(p domain.Processing) Option { return func(o *options) { o.processing = p } }

// WithQueue sets how the queue works its jobs; the default is
// river.Config's.
func WithQueue(c river.Config) Option { return func(o *options) { o.queue = c } }

var (
	_ domain.Processor    = (*DB)(nil)
	_ domain.QueueStatser = (*DB)(nil)
)

// openQueue opens river's pool on the file at abs, a connection of its
// own (river's docs ask for one, and its transactions then never wait on
// the API's write connection, only on SQLite's lock, as other processes'
// do; IMMEDIATE, as the write pool's), and the queue.
func (db *DB) openQueue(ctx context.Context, abs string, cfg river.Config) error {
	pool, err := sql.Open(driver.Name, dsn(abs, pragmas, "immediate"))
	if err != nil {
		return err
	}
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return err
	}
	q, err := river.New(riversqlite.New(pool), river.Backend[*sql.Tx]{
		InTx: func(ctx context.Context, f func(ctx context.Context, t *sql.Tx) error) error {
			return inTx(ctx, db.write, func(t *sql.Tx) error { return f(ctx, t) })
		},
		Tx:    func(t *sql.Tx) domain.Tx { return tx{t, db.queue} },
		Steps: db.Lifecycles,
	}, river.WithClock(cfg, db.Processing().Now))
	if err != nil {
		pool.Close()
		return err
	}
	db.riverPool, db.queue = pool, q
	return nil
}

// StartProcessing implements [domain.Processor].
func (db *DB) StartProcessing(ctx context.Context) error { return db.queue.Start(ctx) }

// StopProcessing implements [domain.Processor].
func (db *DB) StopProcessing(ctx context.Context) error { return db.queue.Stop(ctx) }

// QueueStats implements [domain.QueueStatser].
func (db *DB) QueueStats(ctx context.Context) (domain.QueueStats, error) { return db.queue.Stats(ctx) }

// RiverMigrationsApplied reports whether river's schema is complete in the
// database, as river's own migrator sees it, and what it says otherwise.
func (db *DB) RiverMigrationsApplied(ctx context.Context) (bool, []string, error) {
	return river.MigrationsApplied(ctx, riversqlite.New(db.riverPool))
}

// txQueries are the statements of some Tx methods, in SQLite's
// placeholders.
var txQueries = domain.NewTxQueries("?")

func (x tx) UpdateBatch(ctx context.Context, row []any) error {
	_, err := x.t.ExecContext(ctx, txQueries.UpdateBatch, row...)
	return err
}

func (x tx) Task(ctx context.Context, taskID string) (domain.TaskRow, bool, error) {
	r, err := domain.ScanTaskRow(x.t.QueryRowContext(ctx, txQueries.Task, taskID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

func (x tx) SaveTask(ctx context.Context, r domain.TaskRow) error {
	_, err := x.t.ExecContext(ctx, txQueries.SaveTask, r.Values()...)
	return err
}

func (x tx) Enqueue(ctx context.Context, job domain.Job) error { return x.q.Insert(ctx, x.t, job) }

// getTaskQuery reads a task's doc by its primary key, in its organization.
const getTaskQuery = `SELECT doc FROM tasks WHERE task_id = ?1 AND organization_id = ?2`

// GetTask is [domain.Store.GetTask]: one prepared statement, a lookup in
// the primary key.
func (db *DB) GetTask(ctx context.Context, organizationID, taskID string, dst []byte) ([]byte, error) {
	return readDoc(ctx, db.stmts.getTask, "get task", dst, taskID, organizationID)
}

// tasksWhere is the filter of ListTasks: the organization (?1), a status
// (?2) and a type (?3) when not NULL, and, for the page, after a cursor
// (?4, ?5) when not NULL.
const tasksWhere = `organization_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR task_type = ?3)`

// ListTasks is [domain.Store.ListTasks]: the page by the index of the
// organization's tasks (with its status or type), one more row than the
// limit telling whether more follow; the total counted, when asked.
func (db *DB) ListTasks(ctx context.Context, p domain.TaskListParams, dst []byte) ([]byte, *domain.TaskCursor, int64, error) {
	if err := domain.CheckTaskPage(p); err != nil {
		return nil, nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	var status, typ, afterAt, afterID any
	if p.Status != nil {
		status = string(*p.Status)
	}
	if p.Type != nil {
		typ = string(*p.Type)
	}
	if p.After != nil {
		afterAt, afterID = p.After.CreatedAt.UnixNano(), p.After.TaskID
	}
	var total int64
	if p.CountTotal {
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM tasks WHERE `+tasksWhere, p.OrganizationID, status, typ).Scan(&total); err != nil {
			return nil, nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT task_id, created_at, doc FROM tasks WHERE `+tasksWhere+`
		AND (?4 IS NULL OR created_at < ?4 OR created_at = ?4 AND task_id < ?5)
		ORDER BY created_at DESC, task_id DESC LIMIT ?6 OFFSET ?7`,
		p.OrganizationID, status, typ, afterAt, afterID, p.Limit+1, p.Offset)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	defer rows.Close()
	page := domain.NewTaskPage(dst, p.Limit)
	for rows.Next() {
		var (
			id      string
			created int64
			doc     sql.RawBytes
		)
		if err := rows.Scan(&id, &created, &doc); err != nil {
			return nil, nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
		}
		page.Add(id, created, doc)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	out, next := page.Done()
	return out, next, total, nil
}
