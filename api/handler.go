// Package api is the HTTP side of the reference server of the Bucket
// Batches API: it implements the strict server interface generated from
// openapi.yaml over a [domain.Store] (api/sqlite is the default one), with
// routing, authentication, namespace scoping (tenancy.go), request
// validation by kin-openapi, and Mixpeek's error bodies. Each operation
// group has its file (batches.go); an operation returns its failures as
// errors, which one place answers (renderError, errors.go): a
// [*domain.Error] as the ErrorResponse of its kind, anything else as a
// logged 500.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// DefaultMaxBodyBytes is the largest request body the server reads, 1 MiB;
// a larger one answers 413.
const DefaultMaxBodyBytes = 1 << 20

// Option configures NewHandler.
type Option func(*config)

type config struct {
	log                *slog.Logger
	maxBodyBytes       int64
	maxHeaderBytes     int
	maxInFlight        int
	maxInFlightPerOrg  int
	queueTimeout       time.Duration
	answerMemory       int64
	answerMemoryPerOrg int64
	bodyMemory         int64
	bodyMemoryPerOrg   int64
	bodyGrace          time.Duration
	bodyRate           int64
	bodyTimeout        time.Duration
	chunkTimeout       time.Duration
	onRequest          func()
	pageCache          int64         // cache.go
	resolveTTL         time.Duration // cache.go
	operate            operateConfig // operate.go
}

// WithLogger sets the logger of requests, panics and storage failures. The
// default discards everything.
func WithLogger(log *slog.Logger) Option { return func(c *config) { c.log = log } }

// WithMaxBodyBytes sets the largest request body read, in bytes; the default
// is DefaultMaxBodyBytes.
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBodyBytes = n } }

// WithOnRequest calls f at the start of each request to the API (its
// operations, and paths it does not have), not of the operator endpoints
// (/healthz, /readyz, /metrics, /docs, /openapi.*): batchesd returns memory
// to the system once the API is idle, whatever probes keep coming.
func WithOnRequest(f func()) Option { return func(c *config) { c.onRequest = f } }

// NewHandler returns the HTTP handler of the API over store. In order, a
// request is: refused with 400 for an HTTP version above 1.1 and with 431
// for headers over the limit; routed (an unknown path answers 404 and a
// known path with another method 405 with Allow, both as ErrorResponse);
// refused with 413 if it declares a body over the limit; authenticated
// (401); rate limited per API key when WithRateLimit says so (429); its
// body read, whole, under the body memory and its schedule (415 for a
// Content-Encoding, 408, 503: admission.go, bodyread.go); admitted, a
// slot of its organization's share (503); checked for a usable
// X-Namespace header (400, or 422 when missing) and a JSON body (415, 422
// json_invalid); validated against openapi.yaml by kin-openapi (422
// HTTPValidationError); then served. A panic answers 500 and is logged.
// Ahead of that, every request gets an id (X-Request-Id), is logged and
// counted in the metrics, and the operator endpoints (/healthz, /readyz,
// /metrics, /docs, /openapi.json, /openapi.yaml) answer without an API key
// (health.go); answers are compressed for callers that accept it
// (WithCompression). It returns an error if the embedded contract cannot
// be loaded or an option is invalid.
func NewHandler(store domain.Store, opts ...Option) (http.Handler, error) {
	cfg := config{log: slog.New(slog.DiscardHandler), maxBodyBytes: DefaultMaxBodyBytes,
		maxHeaderBytes: DefaultMaxHeaderBytes, maxInFlight: DefaultMaxInFlight, maxInFlightPerOrg: DefaultMaxInFlightPerOrganization,
		queueTimeout: DefaultQueueTimeout, answerMemory: DefaultAnswerMemory, answerMemoryPerOrg: DefaultAnswerMemoryPerOrganization,
		bodyMemory: DefaultBodyMemory, bodyMemoryPerOrg: DefaultBodyMemoryPerOrganization,
		bodyGrace: DefaultBodyGrace, bodyRate: DefaultBodyRate, bodyTimeout: DefaultBodyTimeout,
		chunkTimeout: DefaultChunkTimeout, pageCache: DefaultPageCache, resolveTTL: DefaultResolveTTL, operate: defaultOperateConfig()}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.log = withRequestIDs(cfg.log)
	op, err := newOperate(store, cfg.log, cfg.operate)
	if err != nil {
		return nil, err
	}
	spec, err := server.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("loading the embedded openapi.yaml: %w", err)
	}
	spec.Servers = nil

	query := queryParams(spec)
	maxOffset, err := taskOffsetMax(query)
	if err != nil {
		return nil, err
	}
	adm := newAdmission(cfg)
	op.metrics.watchAdmission(adm)
	resolved := newResolveCache(cfg.resolveTTL)
	srv := &batchesServer{store: store, adm: adm, pages: newPageCache(store, cfg.pageCache), resolved: resolved, maxTaskOffset: maxOffset}
	strict := server.NewStrictHandlerWithOptions(srv, nil, server.StrictHTTPServerOptions{
		// The body passed validation, so this is a value the contract
		// allows and Go cannot hold.
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) { writeBindError(w, err) },
		// An operation's error, or a failure to write its answer.
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			renderError(cfg.log, w, r, err)
		},
	})
	validator, err := newValidator(spec)
	if err != nil {
		return nil, fmt.Errorf("routing the embedded openapi.yaml: %w", err)
	}
	shapes, err := bodyShapes(spec)
	if err != nil {
		return nil, fmt.Errorf("the embedded openapi.yaml: %w", err)
	}
	mux := http.NewServeMux()
	server.HandlerWithOptions(strict, server.StdHTTPServerOptions{
		BaseRouter: mux,
		// The last runs first.
		Middlewares:      []server.MiddlewareFunc{integralNumbers, validator, readBody(shapes)},
		ErrorHandlerFunc: paramError,
	})

	// From the inside out: the operation (the mux), which runs holding a
	// slot (admission.go) once its body is read under the body memory and
	// its schedule (bodyread.go) and its query is read as FastAPI reads it
	// (query.go), after the rate limit, authentication,
	// the declared body's size, routing and the header limit; then, ahead
	// of them, request ids, the log line, metrics, panics, compression,
	// and the operator endpoints, which so answer even when the API is
	// busy (operate.go). Neither a request that is refused (404, 413,
	// 401, 429) nor one whose body is still arriving holds a slot.
	var h http.Handler = mux
	h = adm.admit(h)
	h = adm.readFirst(cfg.maxBodyBytes, h)
	h = checkQuery(query, h)
	h = op.limit(h)
	h = authenticate(store, resolved, cfg.log, h)
	h = limitBody(cfg.maxBodyBytes, h)
	h = route(mux, h)
	h = limitHeaders(cfg.maxHeaderBytes, h)
	if f := cfg.onRequest; f != nil {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(); next.ServeHTTP(w, r) })
	}
	return op.front(h), nil
}

// batchesServer implements the generated strict server interface, one
// method an operation, over store.
type batchesServer struct {
	store    domain.Store
	adm      *admission
	pages    *pageCache    // nil: none (cache.go)
	resolved *resolveCache // nil: none
	// maxTaskOffset is the largest offset of List Tasks, the contract's.
	maxTaskOffset int
}

// taskOffsetMax returns the maximum of List Tasks' offset among the
// contract's query parameters.
func taskOffsetMax(query map[string][]queryParam) (int, error) {
	for _, p := range query["listTasks"] {
		if p.name == "offset" && p.max != nil {
			return int(*p.max), nil
		}
	}
	return 0, errors.New("the embedded openapi.yaml has no maximum of listTasks' offset")
}

var _ server.StrictServerInterface = (*batchesServer)(nil)

// route answers, as ErrorResponse, what the mux would answer in plain text:
// 404 for a path it does not serve, 405 with Allow for a method it does not
// serve on a path it does. A path that is not clean ("//", "/./", "/../")
// is a 404 too, where the mux would redirect: no path of the API has them.
func route(mux *http.ServeMux, next http.Handler) http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != "/" && path.Clean(p) != strings.TrimSuffix(p, "/") {
			writeRouteNotFound(w, r)
			return
		}
		if _, pattern := mux.Handler(r); pattern != "" {
			setOperation(r, operationIDs()[pattern])
			next.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeRouteNotFound(w, r)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed: "+r.Method,
			map[string]any{"method": r.Method, "allow": allow})
	})
}

// writeRouteNotFound answers 404 for a method and path the API does not
// have.
func writeRouteNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "Not Found: "+r.Method+" "+r.URL.EscapedPath(),
		map[string]any{"method": r.Method, "path": r.URL.EscapedPath()})
}

// limitBody refuses a declared body over max bytes at once, and caps what
// is read of an undeclared (chunked) one; readBody answers 413 for that.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writePayloadTooLarge(w, max)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

func writePayloadTooLarge(w http.ResponseWriter, max int64) {
	// The rest of the body is not read: close the connection after this.
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("Request body is larger than %d bytes", max), map[string]any{"max_bytes": max})
}

// serverError answers 500 ErrorResponse for err, a failure of the server's
// own (storage, a response that could not be written), and logs it at
// Error with what it was doing. When the client has gone (the request's
// context is done: it disconnected or the server is shutting down) it only
// logs at Info, as nobody is left to answer; when the answer has already
// started (a write of the body failed), it logs without writing a second
// status.
func serverError(log *slog.Logger, w http.ResponseWriter, r *http.Request, doing string, err error) {
	if ctxErr := r.Context().Err(); ctxErr != nil {
		log.InfoContext(r.Context(), doing+": the request was canceled", "method", r.Method, "path", r.URL.Path,
			"err", err, "cause", context.Cause(r.Context()))
		return
	}
	log.ErrorContext(r.Context(), doing, "method", r.Method, "path", r.URL.Path, "err", err)
	if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
		return
	}
	writeInternalError(w)
}

// recoverPanics answers 500 ErrorResponse for a panic, with nothing of it in
// the body, and logs it with its stack. It tracks the status through w when
// w is already a *statusWriter (logRequests's), and wraps w in one
// otherwise.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw, ok := w.(*statusWriter)
		if !ok {
			rw = &statusWriter{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(r.Context(), "panic serving a request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rw.status == 0 {
				writeInternalError(rw)
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

// logRequests logs one line a request at Info: method, path, status, bytes
// and duration. It never logs headers, so API keys stay out of the log.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path,
			"status", rw.status, "bytes", rw.bytes, "duration", time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// NewHTTPServer returns an *http.Server for h on addr with the timeouts a
// server facing the network needs: 5 s to read the headers, 30 s for the
// whole request, 60 s to write the answer, 120 s idle between requests, and
// 64 KiB of headers at most.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    HardMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
