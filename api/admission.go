package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// Admission: what bounds the requests the server works on at once and the
// answers it holds for clients that read slowly. Each request goes through
// two gates, both golang.org/x/sync/semaphore:
//
//  1. In flight (WithMaxInFlight, default DefaultMaxInFlight): a request
//     is worked on (its body read and validated, the database queried, its
//     answer made) only while it holds one of max slots. Beyond them it
//     waits, first come first served, up to the queue timeout (default
//     DefaultQueueTimeout), then answers 503 ServiceUnavailableError with
//     Retry-After: 1. The slot is given back once the answer is made,
//     before it is written: a client that reads slowly holds no slot.
//  2. Answer memory (WithAnswerMemory, default DefaultAnswerMemory): the
//     bytes of the pages being read and written. Before a page is read,
//     three times its worst case (limit batches of domain.MaxBatchBytes, about
//     32 MiB for 1000) is reserved, unless that is at most 1 MiB: the
//     request gives back its slot in flight and waits for the memory,
//     first come first served, up to the queue timeout. Once read, the
//     reservation is cut to the page's size, which it keeps while the
//     page is written, unless that is at most SmallAnswer (64 KiB). A
//     request that cannot get the memory answers 503 with Retry-After. So
//     pages over 64 KiB hold at most this much memory, whatever their
//     batches and however slowly they are read; pages of at most 64 KiB
//     are not counted while written (a connection holds one at most).
//
// An answer is written SmallAnswer bytes at a time, each within the write
// timeout (WithWriteTimeout, default DefaultChunkTimeout, and never past
// DefaultAnswerTimeout from the first byte): a client that takes longer
// to read 64 KiB is cut off (the connection is closed) and the memory is
// freed. Connections themselves are capped by [NewListener].
//
// The gates are middleware of the API's handler (NewHandler). A handler
// mounted beside it (a health check on another path of the same
// http.Server) does not pass them: only requests to the API wait or are
// refused, so a probe is answered while the API is saturated.
const (
	DefaultMaxInFlight   = 64
	DefaultQueueTimeout  = time.Second
	DefaultAnswerMemory  = 256 << 20
	SmallAnswer          = 64 << 10
	DefaultChunkTimeout  = 10 * time.Second
	DefaultAnswerTimeout = 60 * time.Second
	retryAfterSeconds    = 1
)

// WithMaxInFlight sets the number of requests worked on at once (n ≤ 0:
// no limit) and how long a request waits for one to finish before it
// answers 503 (wait ≤ 0: not at all). The default is DefaultMaxInFlight
// and DefaultQueueTimeout.
func WithMaxInFlight(n int, wait time.Duration) Option {
	return func(c *config) { c.maxInFlight, c.queueTimeout = n, wait }
}

// WithAnswerMemory sets the bytes that answers larger than SmallAnswer may
// hold while they are written (n ≤ 0: no limit); the default is
// DefaultAnswerMemory.
func WithAnswerMemory(n int64) Option { return func(c *config) { c.answerMemory = n } }

// WithWriteTimeout sets how long a client may take to read each
// SmallAnswer bytes of an answer before it is cut off (d ≤ 0: only the
// http.Server's WriteTimeout applies); the default is DefaultChunkTimeout.
func WithWriteTimeout(d time.Duration) Option { return func(c *config) { c.chunkTimeout = d } }

// admission holds the gates of one handler.
type admission struct {
	log          *slog.Logger
	inFlight     *semaphore.Weighted // nil: no limit
	max          int
	queueTimeout time.Duration
	answers      *semaphore.Weighted // nil: no limit
	answerMemory int64
	chunkTimeout time.Duration
}

func newAdmission(cfg config) *admission {
	a := &admission{log: cfg.log, max: cfg.maxInFlight, queueTimeout: cfg.queueTimeout,
		answerMemory: cfg.answerMemory, chunkTimeout: cfg.chunkTimeout}
	if cfg.maxInFlight > 0 {
		a.inFlight = semaphore.NewWeighted(int64(cfg.maxInFlight))
	}
	if cfg.answerMemory > 0 {
		a.answers = semaphore.NewWeighted(cfg.answerMemory)
	}
	return a
}

type slotKey struct{}

// admit is gate 1: next runs holding a slot, which the answer gives back
// (releaseSlot) once it is made, or next's return at the latest.
func (a *admission) admit(next http.Handler) http.Handler {
	if a.inFlight == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.inFlight.TryAcquire(1) {
			ok := false
			if a.queueTimeout > 0 {
				ctx, cancel := context.WithTimeout(r.Context(), a.queueTimeout)
				ok = a.inFlight.Acquire(ctx, 1) == nil
				cancel()
			}
			if !ok {
				if r.Context().Err() != nil {
					return // the client is gone
				}
				writeBusy(w, fmt.Sprintf("The server is busy: %d requests are being served and more are waiting; try again in %d s", a.max, retryAfterSeconds),
					map[string]any{"max_in_flight": a.max})
				return
			}
		}
		release := sync.OnceFunc(func() { a.inFlight.Release(1) })
		defer release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, release)))
	})
}

// releaseSlot gives back the slot of the request of ctx, if it holds one.
func releaseSlot(ctx context.Context) {
	if release, ok := ctx.Value(slotKey{}).(func()); ok {
		release()
	}
}

// writeBusy answers 503 with Retry-After.
func writeBusy(w http.ResponseWriter, message string, details map[string]any) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	details["retry_after_seconds"] = retryAfterSeconds
	writeError(w, http.StatusServiceUnavailable, message, details)
}

// reserveFloor is the worst-case page below which reservePage reserves
// nothing: 1 MiB, a page of up to 31 batches of the largest size.
const reserveFloor = 1 << 20

// reserveFactor is how many times its worst case a page reserves while it
// is read: SQLite's copy of the page (outside Go's heap), the driver's
// string and the answer's buffer are in memory at once for a moment
// (BenchmarkListAtLimits: 4 times the page allocated in Go, a copy of
// which is httptest's).
const reserveFactor = 3

// reservePage reserves, before a page of up to limit batches is read,
// reserveFactor times the answer memory the page may take at most (limit
// batches of domain.MaxBatchBytes; domain.MaxPageBytes for 1000), so that
// pages being read and written never hold more than the budget, however
// large their batches; writeAnswer cuts the reservation to the page's
// size. A page that cannot exceed reserveFloor reserves nothing. Another
// gives back its slot in flight (the reservation bounds it instead, and
// small requests are not kept waiting behind large ones) and waits for
// the memory, first come first served, up to the queue timeout. ok is
// false when it did not get it: the operation returns errBusy (503).
func (a *admission) reservePage(ctx context.Context, limit int) (reserved int64, ok bool) {
	if a.answers == nil {
		return 0, true
	}
	worst := reserveFactor * int64(limit) * (domain.MaxPageBytes/batches.MaxLimit + 1)
	if worst <= reserveFloor {
		return 0, true
	}
	worst = min(worst, a.answerMemory)
	releaseSlot(ctx)
	if a.answers.TryAcquire(worst) {
		return worst, true
	}
	if a.queueTimeout <= 0 {
		return 0, false
	}
	wctx, cancel := context.WithTimeout(ctx, a.queueTimeout)
	defer cancel()
	if a.answers.Acquire(wctx, worst) != nil {
		return 0, false
	}
	return worst, true
}

// release gives back n bytes of answer memory.
func (a *admission) release(n int64) {
	if n > 0 {
		a.answers.Release(n)
	}
}

// errBusy is the error of an operation whose answer could not reserve
// memory (reservePage): renderError answers it 503 with Retry-After.
type errBusy struct{ answerMemory int64 }

func (e errBusy) Error() string {
	return fmt.Sprintf("the answers being made and written hold the server's %d bytes for them", e.answerMemory)
}

func (a *admission) writeMemoryBusy(w http.ResponseWriter) { errBusy{a.answerMemory}.write(w) }

func (e errBusy) write(w http.ResponseWriter) {
	w.Header().Del("Content-Length")
	writeBusy(w, fmt.Sprintf("The server is busy: the answers being made and written hold its %d bytes for them; try again in %d s", e.answerMemory, retryAfterSeconds),
		map[string]any{"answer_memory_bytes": e.answerMemory})
}

// writeAnswer writes b, a whole 200 answer's body whose headers are set,
// through gate 2 and the write timeout; reserved is what reservePage
// reserved for it. It gives back the request's slot first. An answer over
// SmallAnswer keeps its size of answer memory while it is written (taking
// it now if nothing was reserved, or answering 503 when it cannot), the
// rest of the reservation is given back at once. A client cut off by the
// write timeout is logged at Info (it is the schedule working, not a
// failure); another failure to write is returned.
func (a *admission) writeAnswer(ctx context.Context, w http.ResponseWriter, status int, b []byte, reserved int64) error {
	releaseSlot(ctx)
	if a.answers != nil {
		keep := int64(0)
		if n := int64(len(b)); n > SmallAnswer {
			keep = min(n, a.answerMemory) // an answer larger than the whole budget takes all of it
		}
		if reserved >= keep {
			a.release(reserved - keep)
		} else if !a.answers.TryAcquire(keep - reserved) {
			a.release(reserved)
			a.writeMemoryBusy(w)
			return nil
		}
		defer a.release(keep)
	}
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	start := time.Now()
	chunk := SmallAnswer
	if a.chunkTimeout <= 0 {
		chunk = len(b)
	}
	for len(b) > 0 {
		if a.chunkTimeout > 0 {
			deadline := time.Now().Add(a.chunkTimeout)
			if end := start.Add(DefaultAnswerTimeout); deadline.After(end) {
				deadline = end
			}
			if rc.SetWriteDeadline(deadline) != nil {
				chunk = len(b) // no deadline to keep (a recorder): one write
			}
		}
		n := min(len(b), chunk)
		if _, err := w.Write(b[:n]); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				a.log.InfoContext(ctx, "answer cut off: the client did not read it in time",
					"writing", time.Since(start), "bytes_left", len(b))
				return nil
			}
			return err
		}
		b = b[n:]
	}
	return nil
}
