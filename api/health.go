package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
)

// The operator endpoints: what a process manager, a load balancer,
// Prometheus and a person reading the API talk to. They answer GET and
// HEAD (another method: 405 ErrorResponse), need no API key, and are not
// counted against rate limits.
//
//	GET /healthz        200 {"status":"ok"}: the process answers
//	GET /readyz         200 {"status":"ok"}: the database answers and holds every migration;
//	                    503 ErrorResponse ServiceUnavailableError with the reason otherwise
//	GET /metrics        Prometheus metrics (Metrics), unless served on another address
//	GET /docs           the API reference page (docs.go); /docs/ redirects there (301)
//	GET /openapi.json   the contract, as JSON
//	GET /openapi.yaml   the contract, as YAML
//	GET /               from a browser (Accept: text/html): a redirect to /docs;
//	                    otherwise the 404 ErrorResponse of any path the API lacks

// readyTimeout bounds the readiness check's query.
const readyTimeout = 2 * time.Second

// ops serves the operator endpoints.
type ops struct {
	store   domain.Store
	log     *slog.Logger
	metrics http.Handler // nil: /metrics is not served here
	docs    bool         // /docs, /openapi.*, and / from a browser
}

// endpoint returns the operation label of r's path when it is an operator
// endpoint served here, or "".
func (o *ops) endpoint(r *http.Request) string {
	switch p := r.URL.Path; {
	case p == "/healthz":
		return OpHealth
	case p == "/readyz":
		return OpReady
	case p == "/metrics" && o.metrics != nil:
		return OpMetrics
	case !o.docs:
		return ""
	case p == "/openapi.json", p == "/openapi.yaml":
		return OpOpenAPI
	case p == "/docs", strings.HasPrefix(p, "/docs/"):
		return OpDocs
	case p == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && acceptsHTML(r):
		return OpDocs
	}
	return ""
}

// acceptsHTML reports whether the request's Accept names text/html, as a
// browser's does.
func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}

// wrap serves the operator endpoints and passes every other request to
// next.
func (o *ops) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := o.endpoint(r)
		if op == "" {
			next.ServeHTTP(w, r)
			return
		}
		setOperation(r, op)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed: "+r.Method,
				map[string]any{"method": r.Method, "allow": []string{http.MethodGet, http.MethodHead}})
			return
		}
		switch op {
		case OpHealth:
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		case OpReady:
			o.ready(w, r)
		case OpMetrics:
			o.metrics.ServeHTTP(w, r)
		case OpOpenAPI:
			assets, err := contractAssets()
			if err != nil {
				serverError(o.log, w, r, "serving the contract", err)
				return
			}
			assets[r.URL.Path].serve(w, r)
		case OpDocs:
			switch r.URL.Path {
			case "/":
				// Relative, so that it holds behind a proxy's path prefix.
				w.Header().Set("Location", "docs")
				w.WriteHeader(http.StatusFound)
				return
			case "/docs/":
				// The page is /docs: its scripts are docs/…, relative.
				location := "../docs"
				if r.URL.RawQuery != "" {
					location += "?" + r.URL.RawQuery
				}
				w.Header().Set("Location", location)
				w.WriteHeader(http.StatusMovedPermanently)
				return
			}
			if !serveDocs(w, r) {
				writeRouteNotFound(w, r)
			}
		}
	})
}

// ready answers /readyz: 200 when the store can serve (domain.Checker),
// else 503 with the reason. A store that cannot tell is ready whenever
// the process runs.
func (o *ops) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c, ok := o.store.(domain.Checker)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := c.Check(ctx)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	case r.Context().Err() != nil:
		return // the prober went away
	}
	o.log.WarnContext(r.Context(), "not ready", "err", err)
	reason := "the database does not answer"
	if errors.Is(err, domain.ErrSchemaBehind) {
		reason = err.Error()
	}
	writeError(w, http.StatusServiceUnavailable, "Not ready: "+reason, map[string]any{"check": "database"})
}

// NewOpsHandler returns a handler of the operator endpoints alone,
// /healthz, /readyz and /metrics (of m), for an address of their own
// (batchesd --metrics-addr); any other path answers the 404
// ErrorResponse. Its requests have ids, are logged and counted as the
// API's are.
func NewOpsHandler(store domain.Store, m *Metrics, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	op, err := newOperate(store, withRequestIDs(log), operateConfig{metrics: m, metricsHere: true, compression: CompressionAuto})
	if err != nil {
		panic(err) // the options are constants, and valid
	}
	return op.front(http.HandlerFunc(writeRouteNotFound))
}
