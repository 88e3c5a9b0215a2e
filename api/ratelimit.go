package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is the most requests one API key may make of the API's
// operations: PerSecond on average, up to Burst at once (a token bucket,
// golang.org/x/time/rate). A request over it answers 429 ErrorResponse
// TooManyRequestsError with Retry-After, the whole seconds until the key
// may call again (at least 1), which the client waits out before it
// retries. PerSecond 0 means no limit.
//
// The limit is per process: N servers sharing one PostgreSQL database
// allow a key N times the rate in all. The operator endpoints (/healthz,
// /readyz, /metrics, /docs, /openapi.*) are not limited, and a request
// without a valid key is refused (401) before it counts.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// Check returns the error NewHandler would return for rl: a PerSecond
// that is negative or not a number, or a Burst under 1 with a limit.
func (rl RateLimit) Check() error {
	_, err := newLimiter(rl)
	return err
}

// limiterIdle is how long a key's bucket is kept once full and unused.
const limiterIdle = 10 * time.Minute

// limiter holds a token bucket for each API key seen lately.
type limiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	keys      map[[32]byte]*keyBucket
	lastSweep time.Time
}

type keyBucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newLimiter(rl RateLimit) (*limiter, error) {
	if rl.PerSecond < 0 || math.IsNaN(rl.PerSecond) || math.IsInf(rl.PerSecond, 0) {
		return nil, fmt.Errorf("rate limit %v a second: want a positive number, or 0 for no limit", rl.PerSecond)
	}
	if rl.PerSecond == 0 {
		return nil, nil
	}
	if rl.Burst < 1 {
		return nil, fmt.Errorf("rate limit burst %d: want at least 1", rl.Burst)
	}
	return &limiter{limit: rate.Limit(rl.PerSecond), burst: rl.Burst, keys: map[[32]byte]*keyBucket{}}, nil
}

// bucket returns the bucket of the key whose hash is key, made full when
// new, and drops the buckets of keys idle for limiterIdle once a minute.
func (l *limiter) bucket(key [32]byte, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.lastSweep = now
		for k, b := range l.keys {
			// A bucket refilled to the brim is what a new one would be.
			if now.Sub(b.last) > limiterIdle && b.lim.TokensAt(now) >= float64(l.burst) {
				delete(l.keys, k)
			}
		}
	}
	b := l.keys[key]
	if b == nil {
		b = &keyBucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.keys[key] = b
	}
	b.last = now
	return b.lim
}

// wrap refuses, with 429, a request of a key over its limit. It runs after
// authenticate, which put the key's hash in the request's context.
func (l *limiter) wrap(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := keyHashFrom(r.Context())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		lim := l.bucket(key, now)
		if lim.AllowN(now, 1) {
			next.ServeHTTP(w, r)
			return
		}
		// The time until a whole token is back, in whole seconds.
		wait := (1 - lim.TokensAt(now)) / float64(l.limit)
		secs := max(1, int64(math.Ceil(wait)))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeError(w, http.StatusTooManyRequests,
			fmt.Sprintf("Too many requests: this API key may make %g %s a second (bursts of %d); retry after %d s", float64(l.limit), plural(float64(l.limit), "request", "requests"), l.burst, secs),
			map[string]any{"limit_per_second": float64(l.limit), "burst": l.burst, "retry_after_seconds": secs})
	})
}

type keyHashKey struct{}

// keyHashFrom returns the hash of the request's API key, as authenticate
// put it in the context.
func keyHashFrom(ctx context.Context) ([32]byte, bool) {
	h, ok := ctx.Value(keyHashKey{}).([32]byte)
	return h, ok
}
