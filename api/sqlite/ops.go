package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/mixpeekgo/batches/api/domain"
)

var (
	_ domain.Checker     = (*DB)(nil)
	_ domain.PoolStatser = (*DB)(nil)
)

// migrationNames is [Migrations], computed once: each check compares the
// database with its highest version.
var migrationNames = sync.OnceValue(Migrations)

// Check implements [domain.Checker]: the database's path still names the
// file the server opened (one deleted or replaced under a running server
// goes on being read through the open connections, and a restart would
// find another or none), and one query on the read pool, the highest
// migration applied.
func (db *DB) Check(ctx context.Context) error {
	if now, err := os.Stat(db.path); err != nil || !os.SameFile(db.file, now) {
		return fmt.Errorf("sqlite: check: %s is no longer the database file this server opened (deleted, moved or replaced)", db.path)
	}
	var version int64
	if err := db.read.QueryRowContext(ctx,
		`SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&version); err != nil {
		return fmt.Errorf("sqlite: check: %w", err)
	}
	return domain.CheckSchema(version, migrationNames())
}

// PoolStats implements [domain.PoolStatser]: the read pool and the write
// connection.
func (db *DB) PoolStats() []domain.PoolStats {
	stats := func(name string, pool *sql.DB) domain.PoolStats {
		s := pool.Stats()
		return domain.PoolStats{Pool: name, MaxOpen: s.MaxOpenConnections, Open: s.OpenConnections,
			InUse: s.InUse, Idle: s.Idle, WaitCount: s.WaitCount, WaitDuration: s.WaitDuration}
	}
	return []domain.PoolStats{stats("read", db.read), stats("write", db.write)}
}

// BucketOrganization implements [domain.Tx].
func (x tx) BucketOrganization(ctx context.Context, bucketID string) (org string, found bool, err error) {
	err = x.t.QueryRowContext(ctx, txQueries.BucketOrganization, bucketID).Scan(&org)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return org, err == nil, err
}
