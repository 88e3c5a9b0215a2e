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
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Admission: what bounds the requests the server works on at once, the
// bodies it reads and the answers it holds for clients that read slowly,
// in all and for each organization. A request that got past
// authentication and the rate limit goes through three gates, each a
// budget shared by all (golang.org/x/sync/semaphore) with a share no one
// organization may exceed (a semaphore of its own, taken first, so that
// an organization's excess waits in its own queue and not in front of the
// others'):
//
//  1. Body memory (WithBodyMemory, default DefaultBodyMemory, 32 MiB an
//     organization): a body is read, whole, before the request takes a
//     slot, into a buffer of its declared length that it reserves first
//     (a chunked one reserves as it grows). Its bytes must arrive on a
//     schedule (WithBodyRead: within DefaultBodyGrace, plus a second for
//     each DefaultBodyRate bytes received, DefaultBodyTimeout at most),
//     or the request answers 408 and its connection is closed. So a
//     client that sends its body slowly holds no slot, and holds its
//     body's bytes (of its organization's share) for a few seconds at
//     most.
//  2. In flight (WithMaxInFlight, default DefaultMaxInFlight, and
//     WithMaxInFlightPerOrganization, DefaultMaxInFlightPerOrganization):
//     a request is worked on (its body checked and validated, the
//     database queried, its answer made) only while it holds a slot.
//     Beyond them it waits, first come first served, up to the queue
//     timeout (default DefaultQueueTimeout), then answers 503
//     ServiceUnavailableError with Retry-After: 1. The slot is given back
//     once the answer is made, before it is written: a client that reads
//     slowly holds no slot.
//  3. Answer memory (WithAnswerMemory, default DefaultAnswerMemory, and
//     WithAnswerMemoryPerOrganization,
//     DefaultAnswerMemoryPerOrganization): the bytes of the pages being
//     read and written. Before a page is read, reserveFactor times its
//     bound is reserved (a page of the bucket: limit batches of the
//     largest the bucket has had, or the bucket's bytes, whichever is
//     less: domain.BucketSizes.PageBound), unless that is at most
//     reserveFloor (1 MiB): the request gives back its slot and waits
//     for the memory, first come first served, up to the queue timeout.
//     Once read, the reservation is cut to the page's size, which it
//     keeps while the page is written, unless that is at most SmallAnswer
//     (64 KiB). A request that cannot get the memory answers 503 with
//     Retry-After. So pages over 64 KiB hold at most this much memory,
//     and one organization's at most its share, however slowly they are
//     read; pages of at most 64 KiB are not counted while written (a
//     connection holds one at most).
//
// A share at or above its budget is none: the budget alone applies.
// With a share, the rest of the budget (its size less the share: 16
// slots, 32 MiB of bodies, 128 MiB of answers by default) is a reserve
// that only an organization holding less than half of it may take from
// (8 slots, 16 MiB, 64 MiB); the others take from the share's worth
// that all organizations' requests have in common. So one busy
// organization leaves the others the reserve, and two leave a third at
// least a quarter of the budget's size less its share (4 slots, 8 MiB,
// 32 MiB).
//
// An answer is written on a schedule (WithWriteTimeout, default
// DefaultChunkTimeout): its k-th SmallAnswer bytes must have been taken
// by the connection k times the write timeout after it started, and the
// whole within DefaultAnswerTimeout; a client that falls behind is cut
// off (its connection is closed) and the memory is freed. What the
// connection took includes what the kernel's send buffer holds, which
// the client has not read yet: a client slower than the schedule gets
// that much more. Connections themselves are capped by [NewListener].
//
// The gates are middleware of the API's handler (NewHandler). A handler
// mounted beside it (a health check on another path of the same
// http.Server) does not pass them: only requests to the API wait or are
// refused, so a probe is answered while the API is saturated.
const (
	DefaultMaxInFlight                 = 64
	DefaultMaxInFlightPerOrganization  = 48
	DefaultQueueTimeout                = time.Second
	DefaultAnswerMemory                = 256 << 20
	DefaultAnswerMemoryPerOrganization = 128 << 20
	DefaultBodyMemory                  = 64 << 20
	DefaultBodyMemoryPerOrganization   = 32 << 20
	DefaultBodyGrace                   = 5 * time.Second
	DefaultBodyRate                    = 16 << 10 // bytes a second
	DefaultBodyTimeout                 = 30 * time.Second
	SmallAnswer                        = 64 << 10
	DefaultChunkTimeout                = 10 * time.Second
	DefaultAnswerTimeout               = 60 * time.Second
	retryAfterSeconds                  = 1
)

// WithMaxInFlight sets the number of requests worked on at once (n ≤ 0:
// no limit) and how long a request waits for one to finish before it
// answers 503 (wait ≤ 0: not at all). The default is DefaultMaxInFlight
// and DefaultQueueTimeout.
func WithMaxInFlight(n int, wait time.Duration) Option {
	return func(c *config) { c.maxInFlight, c.queueTimeout = n, wait }
}

// WithMaxInFlightPerOrganization sets the most requests of one
// organization worked on at once (n ≤ 0, or n at or above WithMaxInFlight's:
// no share of its own); the default is DefaultMaxInFlightPerOrganization.
func WithMaxInFlightPerOrganization(n int) Option {
	return func(c *config) { c.maxInFlightPerOrg = n }
}

// WithAnswerMemory sets the bytes that answers larger than SmallAnswer may
// hold while they are made and written (n ≤ 0: no limit); the default is
// DefaultAnswerMemory.
func WithAnswerMemory(n int64) Option { return func(c *config) { c.answerMemory = n } }

// WithAnswerMemoryPerOrganization sets the most of the answer memory one
// organization's answers may hold (n ≤ 0, or n at or above the answer
// memory: no share of its own); the default is
// DefaultAnswerMemoryPerOrganization.
func WithAnswerMemoryPerOrganization(n int64) Option {
	return func(c *config) { c.answerMemoryPerOrg = n }
}

// WithBodyMemory sets the bytes of request bodies being read and waiting
// to be worked on, in all and for one organization (n ≤ 0: no limit;
// perOrganization ≤ 0 or at or above n: no share of its own); the default
// is DefaultBodyMemory and DefaultBodyMemoryPerOrganization.
func WithBodyMemory(n, perOrganization int64) Option {
	return func(c *config) { c.bodyMemory, c.bodyMemoryPerOrg = n, perOrganization }
}

// WithBodyRead sets how fast a request's body must arrive: all of it
// within grace, plus a second for each rate bytes received, and within
// limit at most (grace ≤ 0: only the http.Server's ReadTimeout applies).
// A body that falls behind answers 408 RequestTimeoutError and its
// connection is closed. The default is DefaultBodyGrace, DefaultBodyRate
// and DefaultBodyTimeout.
func WithBodyRead(grace time.Duration, rate int64, limit time.Duration) Option {
	return func(c *config) { c.bodyGrace, c.bodyRate, c.bodyTimeout = grace, rate, limit }
}

// WithWriteTimeout sets how long a client may take for each SmallAnswer
// bytes of an answer, counted from the answer's start (the k-th within k
// times d), before it is cut off (d ≤ 0: only the http.Server's
// WriteTimeout applies); the default is DefaultChunkTimeout.
func WithWriteTimeout(d time.Duration) Option { return func(c *config) { c.chunkTimeout = d } }

// admission holds the gates of one handler.
type admission struct {
	log          *slog.Logger
	slots        *gate // nil: no limit
	answers      *gate // nil: no limit
	bodies       *gate // nil: no limit
	queueTimeout time.Duration
	bodyGrace    time.Duration
	bodyRate     int64
	bodyTimeout  time.Duration
	chunkTimeout time.Duration
	now          func() time.Time // time.Now; tests set it
}

func newAdmission(cfg config) *admission {
	return &admission{log: cfg.log, queueTimeout: cfg.queueTimeout,
		slots:     newGate(int64(cfg.maxInFlight), int64(cfg.maxInFlightPerOrg)),
		answers:   newGate(cfg.answerMemory, cfg.answerMemoryPerOrg),
		bodies:    newGate(cfg.bodyMemory, cfg.bodyMemoryPerOrg),
		bodyGrace: cfg.bodyGrace, bodyRate: max(cfg.bodyRate, 1), bodyTimeout: cfg.bodyTimeout,
		chunkTimeout: cfg.chunkTimeout, now: time.Now}
}

// gate is a budget of size units (slots, bytes) shared by every request,
// with a share that one organization's requests may not exceed together.
// The budget is two semaphores: common, of share units (all of size
// without a share), which any request may take, and reserve, of the
// rest, which only an organization holding less than small may (see
// above).
type gate struct {
	size, share int64 // share 0: none
	small       int64 // (size - share) / 2, at least 1
	common      *semaphore.Weighted
	reserve     *semaphore.Weighted // nil without a share

	inUse                     atomic.Int64 // of the total, for the metrics
	refusedAll, refusedShared atomic.Int64 // requests refused: the total held, the share held

	mu   sync.Mutex
	orgs map[string]*orgShare // the organizations that hold or wait
}

type orgShare struct {
	sem  *semaphore.Weighted
	refs int          // holds and waits on it
	held atomic.Int64 // units its holds have of the budget
}

// newGate returns the gate of size with share, or nil for size ≤ 0 (no
// limit).
func newGate(size, share int64) *gate {
	if size <= 0 {
		return nil
	}
	if share <= 0 || share >= size {
		share = 0
	}
	g := &gate{size: size, share: share, common: semaphore.NewWeighted(size), orgs: map[string]*orgShare{}}
	if share > 0 {
		g.common, g.reserve = semaphore.NewWeighted(share), semaphore.NewWeighted(size-share)
		g.small = max((size-share)/2, 1)
	}
	return g
}

// limit is the most one request of an organization can hold: the share,
// or the whole.
func (g *gate) limit() int64 {
	if g.share > 0 {
		return g.share
	}
	return g.size
}

// hold is what one request holds of a gate: n units of the total and, with
// a share, of its organization's.
type hold struct {
	g        *gate
	org      *orgShare
	key      string
	n        int64
	reserved int64 // of n, taken from the gate's reserve
}

// errShareFull and errTotalFull say which a request could not get.
var (
	errShareFull = errors.New("the organization's share is held")
	errTotalFull = errors.New("the budget is held")
)

// acquire takes n units for the organization org: of its share (first
// come first served among its requests), then of the budget (among all:
// of the reserve too while the organization holds little),
// waiting up to wait in all (wait ≤ 0: not at all). It returns
// errShareFull or errTotalFull when it did not get them in time, or ctx's
// error. n is at most g.limit().
func (g *gate) acquire(ctx context.Context, org string, n int64, wait time.Duration) (*hold, error) {
	h := &hold{g: g, key: org}
	if g.share > 0 {
		g.mu.Lock()
		s := g.orgs[org]
		if s == nil {
			s = &orgShare{sem: semaphore.NewWeighted(g.share)}
			g.orgs[org] = s
		}
		s.refs++
		g.mu.Unlock()
		h.org = s
	}
	err := h.try(n)
	if err != nil && wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if err = h.wait(wctx, n); err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		h.done()
		g.refused(err)
		return nil, err
	}
	h.n = n
	return h, nil
}

// refused counts a refusal of err, errShareFull or errTotalFull.
func (g *gate) refused(err error) {
	switch {
	case errors.Is(err, errShareFull):
		g.refusedShared.Add(1)
	case errors.Is(err, errTotalFull):
		g.refusedAll.Add(1)
	}
}

// try takes n of the share and the total at once, or nothing: it returns
// errShareFull or errTotalFull when it could not.
func (h *hold) try(n int64) error {
	if h.org != nil && !h.org.sem.TryAcquire(n) {
		return errShareFull
	}
	if !h.g.common.TryAcquire(n) && !h.tryReserve(n) {
		if h.org != nil {
			h.org.sem.Release(n)
		}
		return errTotalFull
	}
	h.took(n)
	return nil
}

// tryReserve takes n of the reserve when h's organization holds less
// than the gate's small.
func (h *hold) tryReserve(n int64) bool {
	if h.org == nil || h.org.held.Load() >= h.g.small || !h.g.reserve.TryAcquire(n) {
		return false
	}
	h.reserved += n
	return true
}

// took counts n units taken.
func (h *hold) took(n int64) {
	h.g.inUse.Add(n)
	if h.org != nil {
		h.org.held.Add(n)
	}
}

// wait takes n of the share, then of the budget, until ctx is done; it
// returns which it did not get. It waits in the common part's queue once
// the reserve has not got them.
func (h *hold) wait(ctx context.Context, n int64) error {
	if h.org != nil && h.org.sem.Acquire(ctx, n) != nil {
		return errShareFull
	}
	if !h.g.common.TryAcquire(n) && !h.tryReserve(n) && h.g.common.Acquire(ctx, n) != nil {
		if h.org != nil {
			h.org.sem.Release(n)
		}
		return errTotalFull
	}
	h.took(n)
	return nil
}

// grow takes n more without waiting, or returns errShareFull or
// errTotalFull.
func (h *hold) grow(n int64) error {
	if n <= 0 {
		return nil
	}
	if err := h.try(n); err != nil {
		h.g.refused(err)
		return err
	}
	h.n += n
	return nil
}

// size is what h holds, 0 for a nil h.
func (h *hold) size() int64 {
	if h == nil {
		return 0
	}
	return h.n
}

// release gives back n of what h holds (all of it for n ≥ h.n); once h
// holds nothing it is done.
func (h *hold) release(n int64) {
	if h == nil {
		return
	}
	n = min(n, h.n)
	if n > 0 {
		h.g.inUse.Add(-n)
		// The reserve's first, so that it is free again soonest.
		r := min(n, h.reserved)
		if r > 0 {
			h.g.reserve.Release(r)
			h.reserved -= r
		}
		if n > r {
			h.g.common.Release(n - r)
		}
		if h.org != nil {
			h.org.sem.Release(n)
			h.org.held.Add(-n)
		}
		h.n -= n
	}
	if h.n == 0 {
		h.done()
	}
}

// done drops h's reference to its organization's share, and the share
// once nothing holds or waits on it.
func (h *hold) done() {
	if h.org == nil {
		return
	}
	h.g.mu.Lock()
	if h.org.refs--; h.org.refs == 0 {
		delete(h.g.orgs, h.key)
	}
	h.g.mu.Unlock()
	h.org = nil
}

// organizationOf is the id of the request's organization (authenticate put
// it in ctx), "" outside an authenticated request.
func organizationOf(ctx context.Context) string {
	org, _ := OrganizationFrom(ctx)
	return org.ID
}

// busy is the error of a request that could not get what a gate keeps:
// it answers 503 with Retry-After.
type busy struct {
	what  string // "slots", "answers", "bodies"
	share bool   // the organization's share, not the whole
	size  int64
}

func (e busy) Error() string { return e.message() }

func (e busy) message() string {
	switch {
	case e.what == "slots" && e.share:
		return fmt.Sprintf("The server is busy: this organization has %d requests being served, its most at once, and more waiting; try again in %d s", e.size, retryAfterSeconds)
	case e.what == "slots":
		return fmt.Sprintf("The server is busy: %d requests are being served and more are waiting; try again in %d s", e.size, retryAfterSeconds)
	case e.what == "answers" && e.share:
		return fmt.Sprintf("The server is busy: this organization's answers being made and written hold its %d bytes of them; try again in %d s", e.size, retryAfterSeconds)
	case e.what == "answers":
		return fmt.Sprintf("The server is busy: the answers being made and written hold its %d bytes for them; try again in %d s", e.size, retryAfterSeconds)
	case e.share:
		return fmt.Sprintf("The server is busy: this organization's request bodies being read hold its %d bytes of them; try again in %d s", e.size, retryAfterSeconds)
	default:
		return fmt.Sprintf("The server is busy: the request bodies being read hold its %d bytes for them; try again in %d s", e.size, retryAfterSeconds)
	}
}

func (e busy) details() map[string]any {
	key := map[string]string{"slots": "max_in_flight", "answers": "answer_memory_bytes", "bodies": "body_memory_bytes"}[e.what]
	if e.share {
		key = map[string]string{"slots": "max_in_flight_per_organization", "answers": "answer_memory_per_organization_bytes",
			"bodies": "body_memory_per_organization_bytes"}[e.what]
	}
	return map[string]any{key: e.size, "retry_after_seconds": retryAfterSeconds}
}

// write answers 503 with Retry-After.
func (e busy) write(w http.ResponseWriter) {
	w.Header().Del("Content-Length")
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	writeError(w, http.StatusServiceUnavailable, e.message(), e.details())
}

// busyOf is the busy error of a gate's refusal err.
func busyOf(what string, g *gate, err error) busy {
	if errors.Is(err, errShareFull) {
		return busy{what: what, share: true, size: g.share}
	}
	return busy{what: what, size: g.size}
}

type slotKey struct{}

// admit is gate 2: next runs holding a slot of the request's
// organization, which the answer gives back (releaseSlot) once it is
// made, or next's return at the latest.
func (a *admission) admit(next http.Handler) http.Handler {
	if a.slots == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := a.slots.acquire(r.Context(), organizationOf(r.Context()), 1, a.queueTimeout)
		if err != nil {
			if r.Context().Err() != nil {
				return // the client is gone
			}
			busyOf("slots", a.slots, err).write(w)
			return
		}
		release := sync.OnceFunc(func() { h.release(1) })
		defer release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, release)))
	})
}

// releaseSlot gives back the slot of the request of ctx, if it holds one,
// and the reservation of its body.
func releaseSlot(ctx context.Context) {
	if release, ok := ctx.Value(slotKey{}).(func()); ok {
		release()
	}
	if release, ok := ctx.Value(bodyKey{}).(func()); ok {
		release()
	}
}

// reserveFloor is the bound (reserveFactor times a page's bound) at or
// below which reservePage reserves nothing: 1 MiB. Such a page is made
// holding a slot, which bounds it.
const reserveFloor = 1 << 20

// reserveFactor is how many times its bound a page reserves while it is
// read: SQLite's copy of the page (outside Go's heap), the driver's
// string and the answer's buffer are in memory at once for a moment
// (BenchmarkListAtLimits: 4 times the page allocated in Go, a copy of
// which is httptest's).
const reserveFactor = 3

// reservePage reserves, before a page of at most bound bytes is read,
// reserveFactor times bound of answer memory (at most the organization's
// share, or the whole), so that pages being read and written never hold
// more than the budget; writeAnswer cuts the reservation to the page's
// size. A page whose reservation would be at most reserveFloor reserves
// nothing. Another gives back its slot in flight (the reservation bounds
// it instead, and small requests are not kept waiting behind large ones)
// and waits for the memory, first come first served, up to the queue
// timeout; err is the busy error (503) when it did not get it.
func (a *admission) reservePage(ctx context.Context, bound int64) (*hold, error) {
	if a.answers == nil {
		return nil, nil
	}
	worst := reserveFactor * bound
	if worst <= reserveFloor {
		return nil, nil
	}
	worst = min(worst, a.answers.limit())
	releaseSlot(ctx)
	h, err := a.answers.acquire(ctx, organizationOf(ctx), worst, a.queueTimeout)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, busyOf("answers", a.answers, err)
	}
	return h, nil
}

// writeAnswer writes b, a whole 200 answer's body whose headers are set,
// through gate 3 and the write schedule; reserved is what reservePage
// reserved for it (nil for nothing). It gives back the request's slot
// first. An answer over SmallAnswer keeps its size of answer memory while
// it is written (taking it now if less was reserved, or answering 503
// when it cannot), the rest of the reservation is given back at once. A
// client cut off by the schedule is logged at Info (it is the schedule
// working, not a failure); another failure to write is returned.
func (a *admission) writeAnswer(ctx context.Context, w http.ResponseWriter, status int, b []byte, reserved *hold) error {
	releaseSlot(ctx)
	if a.answers != nil {
		keep := int64(0)
		if n := int64(len(b)); n > SmallAnswer {
			keep = min(n, a.answers.limit()) // an answer larger than the whole takes all of it
		}
		h := reserved
		var err error
		switch {
		case h == nil && keep > 0:
			h, err = a.answers.acquire(ctx, organizationOf(ctx), keep, 0)
		case h != nil && h.n >= keep:
			h.release(h.n - keep)
		case h != nil:
			if err = h.grow(keep - h.n); err != nil {
				h.release(h.n)
			}
		}
		if err != nil {
			busyOf("answers", a.answers, err).write(w)
			return nil
		}
		if h != nil {
			defer h.release(h.n)
		}
	}
	w.WriteHeader(status)
	return a.writeScheduled(ctx, w, b)
}

// writeScheduled writes b SmallAnswer bytes at a time, the k-th within k
// times the write timeout of the start (and all within
// DefaultAnswerTimeout): see the schedule above.
func (a *admission) writeScheduled(ctx context.Context, w http.ResponseWriter, b []byte) error {
	rc := http.NewResponseController(w)
	start := a.now()
	chunk := SmallAnswer
	if a.chunkTimeout <= 0 {
		chunk = len(b)
	}
	total := len(b)
	for k := 1; len(b) > 0; k++ {
		if a.chunkTimeout > 0 {
			deadline := start.Add(time.Duration(k) * a.chunkTimeout)
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
					"writing", a.now().Sub(start), "bytes_taken", total-len(b), "bytes_left", len(b))
				return nil
			}
			return err
		}
		b = b[n:]
	}
	return nil
}
