package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mixpeekgo/batches/api"
)

// limitFlags are serve's bounds on what clients may hold of the server:
// requests worked on at once, connections, the memory of answers being
// written and how fast they must be read, and the size of headers
// (api/admission.go, api/listener.go, api/headers.go).
type limitFlags struct {
	MaxRequests        int           `env:"BATCHESD_MAX_REQUESTS" default:"64" help:"Requests worked on at once (body checked, database queried, answer made; the body is read before); more wait up to --queue-timeout, then answer 503 with Retry-After: 1. 0: no limit."`
	MaxRequestsPerOrg  int           `env:"BATCHESD_MAX_REQUESTS_PER_ORG" default:"48" help:"Of --max-requests, the most one organization's requests may hold at once (its others wait, then answer 503), so that it cannot hold them all. At or above --max-requests, or 0: no share of its own."`
	QueueTimeout       time.Duration `env:"BATCHESD_QUEUE_TIMEOUT" default:"1s" help:"How long a request waits for one of --max-requests (or for answer or body memory) before it answers 503. 0: no wait, it answers 503 at once."`
	MaxConnections     int           `env:"BATCHESD_MAX_CONNECTIONS" default:"10000" help:"Client connections open at once, 1 or more; more wait in the kernel's accept queue. Needs as many open files (ulimit -n; Go raises the soft limit to the hard one)."`
	AnswerMemory       int64         `env:"BATCHESD_ANSWER_MEMORY" default:"256" placeholder:"MiB" help:"MiB that answers over 64 KiB may hold while they are made and clients read them; when they hold it all, a request for another answers 503 with Retry-After: 1. 0: no limit; at most 1048576 (1 TiB)."`
	AnswerMemoryPerOrg int64         `env:"BATCHESD_ANSWER_MEMORY_PER_ORG" default:"128" placeholder:"MiB" help:"Of --answer-memory, the most one organization's answers may hold. At or above --answer-memory, or 0: no share of its own; at most 1048576."`
	BodyMemory         int64         `env:"BATCHESD_BODY_MEMORY" default:"64" placeholder:"MiB" help:"MiB of request bodies being read and waiting to be worked on (each reserves its declared length; half of it at most for one organization); beyond it a request answers 503. 0: no limit; at most 1048576 (1 TiB)."`
	WriteTimeout       time.Duration `env:"BATCHESD_WRITE_TIMEOUT" default:"10s" help:"How long a client may take for each 64 KiB of an answer, counted from its start (the k-th 64 KiB within k times this; 60s for the whole at most), before its connection is closed; 1s or more. 0: no schedule, only the 60s for the whole."`
	MaxHeaderBytes     int           `env:"BATCHESD_MAX_HEADER_BYTES" default:"16384" help:"Bytes of request line and headers read, 1024 to 65536; more answer 431. 0: only net/http's own limit, 65536."`
}

// The bounds of --max-header-bytes: below minHeaderBytes not even an
// ordinary request (its line, Host, Authorization, X-Namespace,
// Content-Type, User-Agent: a few hundred bytes) would be sure to fit, and
// net/http itself refuses more than api.HardMaxHeaderBytes.
const minHeaderBytes = 1024

// minWriteTimeout is the least --write-timeout other than 0: 64 KiB a
// second asked of every reader (below it, a client on a slow link would be
// cut off from every page of over 64 KiB).
const minWriteTimeout = time.Second

// check returns the first of the flags' values that cannot be, as a
// *badFlag.
func (f limitFlags) check() error {
	return firstError(
		atLeast("max-requests", f.MaxRequests, 0, "give 0 (no limit) or more"),
		atLeast("max-requests-per-org", f.MaxRequestsPerOrg, 0, "give 0 (no share of its own) or more"),
		atLeast("queue-timeout", f.QueueTimeout, 0, "give a duration such as 1s, or 0 (no wait)"),
		atLeast("max-connections", f.MaxConnections, 1, "give 1 or more"),
		mebibytes("answer-memory", f.AnswerMemory, "no limit"),
		mebibytes("answer-memory-per-org", f.AnswerMemoryPerOrg, "no share of its own"),
		mebibytes("body-memory", f.BodyMemory, "no limit"),
		f.checkWriteTimeout(),
		f.checkMaxHeaderBytes(),
	)
}

func (f limitFlags) checkWriteTimeout() error {
	if f.WriteTimeout == 0 || f.WriteTimeout >= minWriteTimeout {
		return nil
	}
	return &badFlag{name: "write-timeout", value: f.WriteTimeout.String(),
		want: fmt.Sprintf("give %s or more, or 0 (no schedule: only the 60s for the whole answer)", minWriteTimeout)}
}

func (f limitFlags) checkMaxHeaderBytes() error {
	if f.MaxHeaderBytes == 0 || f.MaxHeaderBytes >= minHeaderBytes && f.MaxHeaderBytes <= api.HardMaxHeaderBytes {
		return nil
	}
	return &badFlag{name: "max-header-bytes", value: strconv.Itoa(f.MaxHeaderBytes),
		want: fmt.Sprintf("give %d to %d, or 0 (only net/http's own limit, %d)", minHeaderBytes, api.HardMaxHeaderBytes, api.HardMaxHeaderBytes)}
}

// defaultMemoryLimit is serve's soft memory limit (debug.SetMemoryLimit)
// when GOMEMLIMIT is not set: with GOGC at defaultGOGC the heap may grow
// to five times what is live before a collection; under this limit the
// collector runs sooner instead. The bounds of limitFlags keep what is
// live below it (README: "Bounds"); pages are byte slices, which the
// collector does not scan, so collecting often under an attack is cheap.
const defaultMemoryLimit = 512 << 20

func (f limitFlags) handlerOptions() []api.Option {
	return []api.Option{
		api.WithMaxInFlight(f.MaxRequests, f.QueueTimeout),
		api.WithMaxInFlightPerOrganization(f.MaxRequestsPerOrg),
		api.WithAnswerMemory(f.AnswerMemory << 20),
		api.WithAnswerMemoryPerOrganization(f.AnswerMemoryPerOrg << 20),
		api.WithBodyMemory(f.BodyMemory<<20, f.BodyMemory<<20/2),
		api.WithWriteTimeout(f.WriteTimeout),
		api.WithMaxHeaderBytes(f.MaxHeaderBytes),
	}
}

// idleCheck is how often releaseWhenIdle looks whether requests came.
const idleCheck = 5 * time.Second

// idleRelease returns memory to the system once the API is idle: see
// releaseWhenIdle.
type idleRelease struct {
	requests atomic.Int64 // API requests so far (request)
	last     int64        // requests at the look before
	busy     bool         // requests came since the last release
	free     func()       // collects and returns the free memory
}

func newIdleRelease() *idleRelease {
	return &idleRelease{free: func() {
		// Two collections: the first moves what sync.Pools hold (the
		// answers' buffers) to their victim caches, the second frees
		// it; FreeOSMemory makes the second and returns the free
		// memory.
		runtime.GC()
		debug.FreeOSMemory()
	}}
}

// request counts one request of the API (api.WithOnRequest): the operator
// endpoints (/healthz, /readyz, /metrics, /docs, /openapi.*) are not
// counted, so that probes every few seconds do not keep the memory of a
// burst from being returned.
func (r *idleRelease) request() { r.requests.Add(1) }

// check is one look: once a look finds no API request since the one
// before after some were served, it frees the memory.
func (r *idleRelease) check() {
	n := r.requests.Load()
	defer func() { r.last = n }()
	switch {
	case n != r.last:
		r.busy = true
	case r.busy:
		r.free()
		r.busy = false
	}
}

// releaseWhenIdle starts a goroutine (until ctx is done) that looks every
// idleCheck whether the API served requests (r.request, passed to the
// handler as api.WithOnRequest) and, once a look finds none since the one
// before after some were served, collects the garbage and returns the
// free memory to the system (debug.FreeOSMemory): with no allocation the
// collector would not run for two minutes, and the RSS of a burst would
// stay. So the RSS falls back near its idle size 5 to 10 s after a burst
// of API requests, whatever probes and scrapes keep coming (but for what
// SQLite's allocator, modernc.org/memory, keeps of the regions it freed:
// up to its high-water mark, which it offers no way to return); the
// collections cost a few milliseconds of a server with nothing to do.
func releaseWhenIdle(ctx context.Context, r *idleRelease) {
	go func() {
		t := time.NewTicker(idleCheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			r.check()
		}
	}()
}
