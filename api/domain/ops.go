package domain

import (
	"context"
	"errors"
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
