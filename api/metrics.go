package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mixpeekgo/batches/api/domain"
)

// MetricsNamespace prefixes the names of the server's own metrics.
const MetricsNamespace = "batchesd"

// Operation labels of requests that are not an operation of the contract
// (whose label is its operationId, e.g. listBatches): the operator
// endpoints, and requests no route serves.
const (
	OpHealth  = "healthz"
	OpReady   = "readyz"
	OpMetrics = "metrics"
	OpDocs    = "docs"    // /docs, its assets, and / redirected there
	OpOpenAPI = "openapi" // /openapi.yaml, /openapi.json
	OpNone    = "none"    // a 404 or 405 of the router
)

// Metrics are a server's Prometheus metrics, in a registry of their own:
//
//	batchesd_http_requests_total{operation,code}          counter: answered requests, by operationId and HTTP status
//	batchesd_http_request_duration_seconds{operation}     histogram: from the request's arrival to the end of its answer
//	batchesd_http_requests_in_flight                      gauge: requests being served
//	batchesd_db_connections{pool,state}                   gauge: connections in_use and idle, per pool of the backend
//	batchesd_db_connections_max{pool}                     gauge: the most connections the pool opens
//	batchesd_db_waits_total{pool}                         counter: times a query waited for a free connection
//	batchesd_db_wait_seconds_total{pool}                  counter: the time those waits took
//	batchesd_jobs_total{outcome}                          counter: steps of batches' processing this process ran, by outcome
//	                                                      (started, completed, completed_with_errors, failed, skipped, error)
//	batchesd_queue_depth{state}                           gauge: jobs of the processing queue (every process's) by state
//	                                                      (available, scheduled, retryable, running)
//	batchesd_admission_in_use{gate}                       gauge: what requests hold of each admission gate (admission.go):
//	                                                      requests (slots), answer_bytes, body_bytes
//	batchesd_admission_limit{gate}                        gauge: each gate's size
//	batchesd_admission_refusals_total{gate,scope}         counter: requests answered 503 for lack of it, scope all (the
//	                                                      whole held) or organization (the organization's share held)
//	go_build_info{path,version,checksum}                  gauge, 1: what is running (client_golang's build-info collector)
//
// and the Go runtime's (go_*) and the process's (process_*) of
// client_golang's collectors. The operation label is an operationId of
// openapi.yaml or one of the Op constants, never a raw path, so its values
// are few whatever the requests. The database metrics come from a backend
// that implements [domain.PoolStatser] (api/sqlite: pools "read" and
// "write"; api/postgres: "main"), read at each scrape.
//
// The processing metrics come from a backend that implements
// [domain.QueueStatser] (both do), read at each scrape. More metrics join
// the same registry with [Metrics.Register].
//
// One Metrics may serve several handlers (NewHandler with [WithMetrics]),
// e.g. the API on one address and [NewOpsHandler] on another; it is safe
// for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge

	mu          sync.Mutex
	watched     bool // a backend's pools are in reg
	watchedGate bool // an admission's gates are in reg
}

// durationBuckets are the bounds of the latency histograms, in seconds:
// a page of 100 answers in about a millisecond, one of 1000 in a few.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics returns the metrics of a server, in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by operation (an operationId of openapi.yaml, or healthz, readyz, metrics, docs, openapi, none) and status code.",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by operation.",
			Buckets: durationBuckets,
		}, []string{"operation"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: MetricsNamespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.inFlight,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return m
}

// Register adds c to the registry of m, for metrics of other parts of the
// server (see [Metrics]). It fails as prometheus.Registerer.Register does,
// e.g. for a name registered already.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Handler serves the metrics in Prometheus's text format (or OpenMetrics
// when asked). It does not compress: NewHandler and NewOpsHandler do, when
// the scraper accepts it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{DisableCompression: true, EnableOpenMetrics: true})
}

// watch adds the pools of store to the metrics, if it reports them. A
// server has one backend: only the first store given is watched (the
// pools of a second would repeat its series), however many handlers
// serve it.
func (m *Metrics) watch(store domain.Store) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watched {
		return
	}
	m.watched = true
	if ps, ok := store.(domain.PoolStatser); ok {
		m.reg.MustRegister(poolCollector{ps})
	}
	if qs, ok := store.(domain.QueueStatser); ok {
		m.reg.MustRegister(queueCollector{qs})
	}
}

// watchAdmission adds the gates of a to the metrics: those of the first
// handler only, as watch does for stores.
func (m *Metrics) watchAdmission(a *admission) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watchedGate {
		return
	}
	m.watchedGate = true
	m.reg.MustRegister(admissionCollector{a})
}

var (
	admissionInUseDesc = prometheus.NewDesc(MetricsNamespace+"_admission_in_use",
		"What requests hold of each admission gate: requests (slots in flight), answer_bytes, body_bytes.", []string{"gate"}, nil)
	admissionLimitDesc = prometheus.NewDesc(MetricsNamespace+"_admission_limit",
		"The size of each admission gate.", []string{"gate"}, nil)
	admissionRefusalsDesc = prometheus.NewDesc(MetricsNamespace+"_admission_refusals_total",
		"Requests answered 503 for lack of a gate's room: scope all (the whole was held) or organization (the organization's share was).", []string{"gate", "scope"}, nil)
)

// admissionCollector reads the gates of an admission at each scrape.
type admissionCollector struct{ a *admission }

func (c admissionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- admissionInUseDesc
	ch <- admissionLimitDesc
	ch <- admissionRefusalsDesc
}

func (c admissionCollector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range []struct {
		name string
		g    *gate
	}{{"requests", c.a.slots}, {"answer_bytes", c.a.answers}, {"body_bytes", c.a.bodies}} {
		if g.g == nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(admissionInUseDesc, prometheus.GaugeValue, float64(g.g.inUse.Load()), g.name)
		ch <- prometheus.MustNewConstMetric(admissionLimitDesc, prometheus.GaugeValue, float64(g.g.size), g.name)
		ch <- prometheus.MustNewConstMetric(admissionRefusalsDesc, prometheus.CounterValue, float64(g.g.refusedAll.Load()), g.name, "all")
		ch <- prometheus.MustNewConstMetric(admissionRefusalsDesc, prometheus.CounterValue, float64(g.g.refusedShared.Load()), g.name, "organization")
	}
}

// instrument counts the requests and times them, by the operation they
// were routed to. It keeps the status through w when w is a *statusWriter
// (logRequests's) and wraps w in one otherwise.
func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		sw, ok := w.(*statusWriter)
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
		}
		defer func() {
			m.inFlight.Dec()
			op := operationOf(r)
			if op == "" {
				op = OpNone
			}
			code := sw.status
			if code == 0 { // nothing written: net/http answers 200
				code = http.StatusOK
			}
			m.requests.WithLabelValues(op, statusText(code)).Inc()
			m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusText is code in decimal, without allocating for the usual ones.
func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	case 422:
		return "422"
	case 429:
		return "429"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}

// poolCollector reads a backend's pool statistics at each scrape.
type poolCollector struct{ store domain.PoolStatser }

var (
	poolConnsDesc = prometheus.NewDesc(MetricsNamespace+"_db_connections",
		"Open connections of the backend's pool, by state (in_use, idle).", []string{"pool", "state"}, nil)
	poolMaxDesc = prometheus.NewDesc(MetricsNamespace+"_db_connections_max",
		"The most connections the backend's pool opens (0: no limit).", []string{"pool"}, nil)
	poolWaitsDesc = prometheus.NewDesc(MetricsNamespace+"_db_waits_total",
		"Times a query waited for a free connection of the pool.", []string{"pool"}, nil)
	poolWaitSecondsDesc = prometheus.NewDesc(MetricsNamespace+"_db_wait_seconds_total",
		"Time queries waited for a free connection of the pool.", []string{"pool"}, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolConnsDesc
	ch <- poolMaxDesc
	ch <- poolWaitsDesc
	ch <- poolWaitSecondsDesc
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.store.PoolStats() {
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.InUse), s.Pool, "in_use")
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(s.Idle), s.Pool, "idle")
		ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(s.MaxOpen), s.Pool)
		ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(s.WaitCount), s.Pool)
		ch <- prometheus.MustNewConstMetric(poolWaitSecondsDesc, prometheus.CounterValue, s.WaitDuration.Seconds(), s.Pool)
	}
}

// queueCollector reads a backend's processing queue at each scrape.
type queueCollector struct{ store domain.QueueStatser }

var (
	jobsDesc = prometheus.NewDesc(MetricsNamespace+"_jobs_total",
		"Steps of batches' processing this process ran, by outcome: started (a tier), completed, completed_with_errors, failed (a tier's end), skipped (no longer due), error (to run again).",
		[]string{"outcome"}, nil)
	queueDepthDesc = prometheus.NewDesc(MetricsNamespace+"_queue_depth",
		"Jobs of the processing queue, of every process, by state (available, scheduled, retryable, running).", []string{"state"}, nil)
)

// queueStatsTimeout bounds the read of the queue at a scrape.
const queueStatsTimeout = 2 * time.Second

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- queueDepthDesc
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queueStatsTimeout)
	defer cancel()
	st, err := c.store.QueueStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	for outcome, n := range st.Steps {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.CounterValue, float64(n), outcome)
	}
	for state, n := range st.Depth {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n), state)
	}
}
