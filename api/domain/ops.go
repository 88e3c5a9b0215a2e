package domain

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What a backend may tell the server's operators, besides serving: the
// server's readiness probe asks [Checker], its metrics read [PoolStatser].
// Both are optional: a backend without them is taken as ready whenever the
// process runs, and has no pool metrics.

// Checker is implemented by a backend that can tell whether it can serve.
type Checker interface {
	// Check returns nil when the database answers a query and holds every
	// migration this build knows (a database migrated further, by a newer
	// build, is fine). It returns an error wrapping [ErrSchemaBehind]
	// when migrations are missing, saying which versions (nothing else:
	// the server shows it to unauthenticated callers), and any other error
	// when the database does not answer (the server logs that one and shows
	// a generic reason). It is one small query, cheap enough for a probe
	// every second; ctx bounds it.
	Check(ctx context.Context) error
}

// ErrSchemaBehind is wrapped by [Checker.Check]'s error for a database
// that lacks migrations this build applies.
var ErrSchemaBehind = errors.New("database schema is behind")

// PoolStats is the use of one connection pool of a backend at one moment.
type PoolStats struct {
	// Pool names the pool among the backend's: "read" and "write" for
	// SQLite's two, "main" for PostgreSQL's one.
	Pool string
	// MaxOpen is the most connections the pool opens (0: no limit).
	MaxOpen int
	// Open connections, in use by a query or idle.
	Open, InUse, Idle int
	// WaitCount is the number of times a caller waited for a connection
	// since the pool opened, WaitDuration the total time waited.
	WaitCount    int64
	WaitDuration time.Duration
}

// PoolStatser is implemented by a backend that reports the use of its
// connection pools, read when metrics are scraped.
type PoolStatser interface {
	PoolStats() []PoolStats
}

// QueueStats is the state of a backend's processing queue at one moment.
type QueueStats struct {
	// Depth is the number of jobs of the queue by state (available,
	// scheduled, retryable, running), of every process working it.
	Depth map[string]int
	// Steps is the number of steps this process ran since it started, by
	// outcome: started (a tier), completed, completed_with_errors, failed
	// (a tier's end), skipped (a step no longer due), error (a step that
	// failed, to run again).
	Steps map[string]int64
}

// QueueStatser is implemented by a backend that reports the state of its
// processing queue, read when metrics are scraped.
type QueueStatser interface {
	QueueStats(ctx context.Context) (QueueStats, error)
}

// MigrationNames returns the versions and names of a backend's
// migrations, in order: the SQL files of fsys's directory migrations
// without their extension ("00001_init"), and the Go migrations gos by
// their names (a goose.Migration's Source, "00008_river_001.go", without
// its extension). Both backends apply the same.
func MigrationNames(fsys fs.FS, gos []string) []string {
	files, _ := fs.Glob(fsys, "migrations/*.sql")
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".sql"))
	}
	for _, m := range gos {
		names = append(names, strings.TrimSuffix(m, ".go"))
	}
	slices.Sort(names) // the versions have five digits
	return names
}

// CheckSchema is the verdict of a [Checker.Check] on a database whose
// highest migration applied is applied, for a build that applies the
// migrations names (as [MigrationNames] returns them, each starting with
// its version): nil when applied reaches the highest of them, else an
// error wrapping [ErrSchemaBehind] that says both versions.
func CheckSchema(applied int64, names []string) error {
	var latest int64
	for _, n := range names {
		digits, _, _ := strings.Cut(n, "_")
		if v, err := strconv.ParseInt(digits, 10, 64); err == nil {
			latest = max(latest, v)
		}
	}
	if applied < latest {
		return fmt.Errorf("%w: migrations applied up to version %d, this server needs %d", ErrSchemaBehind, applied, latest)
	}
	return nil
}
