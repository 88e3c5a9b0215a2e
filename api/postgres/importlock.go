package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mixpeekgo/batches/api/domain"
)

// importLockClass is the first key of the advisory locks of imports (the
// second is the bucket's hashtext): "batc".
const importLockClass int32 = 0x62617463

// lockImport is the domain.ImportLock of the database: a session-level
// advisory lock keyed by the bucket, held on a connection of its own (not
// one of the pool, which the import's transaction needs) without
// statement_timeout, so that an import waits for another into the same
// bucket as long as its ctx allows. Closing the connection releases it,
// as does the death of the process.
func (db *DB) lockImport(ctx context.Context, bucketID string) (func(), error) {
	cfg := db.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["statement_timeout"] = "0"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var locked bool
	err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, importLockClass, bucketID).Scan(&locked)
	if err == nil && !locked {
		domain.NotifyImportWaiting(ctx, "another import into bucket "+bucketID)
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, importLockClass, bucketID)
	}
	if err != nil {
		closeConn(conn)
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, fmt.Errorf("waiting for another import into bucket %s to finish: %w", bucketID, err)
	}
	return func() { closeConn(conn) }, nil
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// canceledError is PostgreSQL's cancellation of a statement of a write
// (SQLSTATE 57014, "canceling statement due to user request" or "due to
// statement timeout") in the project's words; it unwraps to it.
type canceledError struct {
	err         error
	callTimeout time.Duration
}

func (e *canceledError) Error() string {
	if e.callTimeout <= 0 {
		return "PostgreSQL canceled the transaction's statement: its caller gave up (nothing was written)"
	}
	return fmt.Sprintf("PostgreSQL canceled the transaction's statement: it ran longer than the statement timeout (%s), or the call took longer than %s in all (nothing was written)",
		e.callTimeout-DeadlineMargin, e.callTimeout)
}

// ImportBatches is [domain.Admin.ImportBatches]; when PostgreSQL cancels
// its statement for the statement timeout, the error says how to run a
// very large import without one.
func (db *DB) ImportBatches(ctx context.Context, bucketID string, r io.Reader, schema domain.Schema) (int, error) {
	n, err := db.admin.ImportBatches(ctx, bucketID, r, schema)
	if ce, ok := errors.AsType[*canceledError](err); ok && ce.callTimeout > 0 {
		err = fmt.Errorf("%w; a very large import may need longer: run it without a statement timeout (batchesd --statement-timeout 0 import …; WithStatementTimeout(0))", err)
	}
	return n, err
}

func (e *canceledError) Unwrap() error { return e.err }

// inWords returns err, a write's error, in the project's words when it is
// PostgreSQL's cancellation of a statement.
func (db *DB) inWords(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" {
		return &canceledError{err: err, callTimeout: db.callTimeout}
	}
	return err
}
