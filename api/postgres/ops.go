package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api/domain"
)

var (
	_ domain.Checker     = (*DB)(nil)
	_ domain.PoolStatser = (*DB)(nil)
)

// migrationNames is [Migrations], computed once: each check compares the
// database with its highest version.
var migrationNames = sync.OnceValue(Migrations)

// Check implements [domain.Checker]: one query, the highest migration
// applied, under the deadline of a method call.
func (db *DB) Check(ctx context.Context) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var version int64
	if err := db.pool.QueryRow(ctx,
		`SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&version); err != nil {
		return fmt.Errorf("postgres: check: %w", queryError(ctx, err))
	}
	return domain.CheckSchema(version, migrationNames())
}

// PoolStats implements [domain.PoolStatser]: pgxpool's one pool, "main".
// Its waits are the acquisitions that found no idle connection.
func (db *DB) PoolStats() []domain.PoolStats {
	s := db.pool.Stat()
	return []domain.PoolStats{{
		Pool:         "main",
		MaxOpen:      int(s.MaxConns()),
		Open:         int(s.TotalConns()),
		InUse:        int(s.AcquiredConns()),
		Idle:         int(s.IdleConns()),
		WaitCount:    s.EmptyAcquireCount(),
		WaitDuration: s.EmptyAcquireWaitTime(),
	}}
}

// BucketOrganization implements [domain.Tx].
func (x tx) BucketOrganization(ctx context.Context, bucketID string) (org string, found bool, err error) {
	err = x.t.QueryRow(ctx, txQueries.BucketOrganization, bucketID).Scan(&org)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return org, err == nil, err
}
