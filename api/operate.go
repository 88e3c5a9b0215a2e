package api

import (
	"log/slog"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// What NewHandler adds around the API for those who run it: request ids
// (requestid.go), metrics (metrics.go), the operator endpoints (health.go,
// docs.go), compression (compress.go) and rate limits (ratelimit.go).

// operateConfig is the part of NewHandler's config these options set.
type operateConfig struct {
	metrics     *Metrics
	metricsHere bool // serve /metrics on this handler
	docs        bool
	compression Compression
	rateLimit   RateLimit
}

func defaultOperateConfig() operateConfig {
	return operateConfig{metricsHere: true, docs: true, compression: CompressionOff}
}

// WithMetrics records the handler's requests in m, which may serve other
// handlers too (NewOpsHandler); the default is metrics of the handler's
// own (NewMetrics).
func WithMetrics(m *Metrics) Option {
	return func(c *config) { c.operate.metrics = m }
}

// WithoutMetricsEndpoint leaves /metrics out of the handler (it answers the
// 404 of any unknown path): for metrics served on another address by
// NewOpsHandler. The requests are still recorded.
func WithoutMetricsEndpoint() Option { return func(c *config) { c.operate.metricsHere = false } }

// WithoutDocs leaves /docs, /openapi.json and /openapi.yaml out of the
// handler.
func WithoutDocs() Option { return func(c *config) { c.operate.docs = false } }

// WithCompression sets how answers are compressed. The default is
// CompressionOff, so that a handler made in a program (batchestest's, a
// test's) answers the bytes the API writes; batchesd's --compression
// defaults to CompressionAuto.
func WithCompression(mode Compression) Option {
	return func(c *config) { c.operate.compression = mode }
}

// WithRateLimit limits the requests of each API key (see RateLimit); the
// default is no limit.
func WithRateLimit(rl RateLimit) Option { return func(c *config) { c.operate.rateLimit = rl } }

// operate builds the handlers of cfg's operate options around the API's:
// front wraps the whole handler (ids, log line, metrics, compression, the
// operator endpoints), limit goes right after authentication.
type operate struct {
	front   func(api http.Handler) http.Handler
	limit   func(http.Handler) http.Handler
	metrics *Metrics
}

func newOperate(store domain.Store, log *slog.Logger, c operateConfig) (operate, error) {
	m := c.metrics
	if m == nil {
		m = NewMetrics()
	}
	m.watch(store)
	zip, err := newCompressor(c.compression)
	if err != nil {
		return operate{}, err
	}
	lim, err := newLimiter(c.rateLimit)
	if err != nil {
		return operate{}, err
	}
	o := &ops{store: store, log: log, docs: c.docs}
	if c.metricsHere {
		o.metrics = m.Handler()
	}
	return operate{
		front: func(h http.Handler) http.Handler {
			h = o.wrap(h)
			h = onlyHTTP1(h)
			h = recoverPanics(log, h)
			h = m.instrument(h)
			h = logRequests(log, h)
			// Outside the status writer, which the handlers below see as
			// is (serverError checks whether an answer has started), and
			// which so counts the bytes before compression.
			h = zip(h)
			return requestIDs(h)
		},
		limit:   lim.wrap,
		metrics: m,
	}, nil
}

// operationIDs maps the patterns the generated server registers on the mux
// ("POST /v1/buckets/{bucket_identifier}/batches/list") to their
// operationIds ("listBatches"), the operation label of metrics and logs.
var operationIDs = sync.OnceValue(func() map[string]string {
	ids := map[string]string{}
	// openapi.yaml itself: the spec of generated/server has the
	// operationIds capitalized.
	spec, err := openapi3.NewLoader().LoadFromData(batches.OpenAPI())
	if err != nil {
		return ids // the tests load it
	}
	for p, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			ids[method+" "+p] = op.OperationID
		}
	}
	return ids
})
