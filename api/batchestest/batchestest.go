// Package batchestest runs the real List Batches server in-process for the
// tests of programs that use the batches client: a fake that is not a stub.
//
// [NewServer] opens the reference server of package api over a fresh SQLite
// file in t.TempDir(), seeds an organization, a namespace, a bucket and an
// API key, serves it with net/http/httptest, and closes it all when the test
// ends. Seed batches from Go values ([Server.AddBatches]) or generate
// realistic ones ([Server.SeedBatches]); [Server.Client] returns a client
// pointed at it.
//
// In front of the real server sits a queue of faults ([Server.Inject]):
// error statuses with Mixpeek's ErrorResponse body (429 with Retry-After,
// 500, 503, …), slow answers and dropped connections, each for the next
// request that matches. Every request is recorded ([Server.Attempts],
// [Server.Requests]), so a test can count the attempts a retry made.
//
//	func TestReport(t *testing.T) {
//		srv := batchestest.NewServer(t)
//		want := srv.SeedBatches(srv.Bucket, 250)
//		srv.Inject(batchestest.Unavailable(0)) // the first request fails
//		got, err := report(context.Background(), srv.Client())
//		…
//		if srv.Requests() != 2 { … } // one failure, one retry
//	}
//
// The whole lifecycle is served (create, submit, cancel, retry, tasks…).
// A submitted batch stays PENDING until the test steers it to the end it
// wants, at once ([Server.CompleteBatch], [Server.FailBatch],
// [Server.CompleteBatchWithErrors], [Server.AdvanceBatch]), so that code
// that polls a batch until it ends sees its end at the next request;
// [WithProcessing] makes the server process batches itself instead, as
// batchesd does, and [WithClock] gives it a fake clock.
//
//	srv := batchestest.NewServer(t)
//	… the code under test creates and submits batch id, then polls it …
//	srv.FailBatch(id) // its next poll sees FAILED
//
// The Server and its methods are safe for concurrent use, but the methods
// that seed (AddNamespace, AddBucket, AddAPIKey, AddBatches, SeedBatches),
// steer and Inject fail the test with t.Fatal and so must be called from
// the test's goroutine.
package batchestest

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// Defaults of what NewServer seeds.
const (
	DefaultOrganization = "Test"     // the organization's name
	DefaultNamespace    = "test"     // the namespace's name
	DefaultBucket       = "bkt_test" // the bucket's id (and name)
)

// Option configures NewServer.
type Option func(*config)

type config struct {
	apiKey        string
	namespace     string
	bucket        string
	tls           bool
	contractCheck bool
	handlerOpts   []api.Option
	processing    domain.Processing
	processes     bool
	clock         func() time.Time
}

// WithAPIKey sets the API key NewServer registers, instead of a new random
// "sk_test_…" key: 20 to 128 printable ASCII characters without spaces, or
// NewServer fails the test.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithNamespace sets the name of the namespace NewServer creates, instead of
// DefaultNamespace ("test").
func WithNamespace(name string) Option { return func(c *config) { c.namespace = name } }

// WithBucket sets the id (and name) of the bucket NewServer creates, instead
// of DefaultBucket ("bkt_test"): 1 to 128 characters of [A-Za-z0-9_.-].
func WithBucket(id string) Option { return func(c *config) { c.bucket = id } }

// WithTLS serves HTTPS (httptest.NewTLSServer) instead of HTTP; the clients
// of [Server.Client] and [Server.HTTPClient] trust its certificate.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithContractCheck checks every request that reaches the real server, and
// its answer, against the contract openapi.yaml (package api/apitest), and
// fails the test on any that does not conform. Faults answer in front of the
// check. Leave it off in tests that send bad requests on purpose.
func WithContractCheck() Option { return func(c *config) { c.contractCheck = true } }

// WithProcessing makes the Server process submitted batches itself, as
// batchesd serve does, with the settings p (domain.Processing: the tiers
// of a new batch, how long each takes, how often one fails; a zero
// TierDuration means the server's default of seconds, so give one, 20 ms
// say). Without it, a submitted batch stays where it is until the test
// steers it (CompleteBatch, FailBatch, CompleteBatchWithErrors,
// AdvanceBatch), so that its end is the test's choice, reached at once.
// Steering a batch the Server also processes races its processing: steer
// without WithProcessing.
func WithProcessing(p domain.Processing) Option {
	return func(c *config) { c.processing, c.processes = p, true }
}

// WithClock dates what the lifecycle does (created_at of new batches,
// started_at, completed_at and duration_ms of tiers, updated_at) by now,
// a fake clock the test moves; with WithProcessing, it also says when a
// tier is due to end.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithHandlerOptions passes options to [api.NewHandler], e.g.
// api.WithLogger(slog.New(…)) to see the server's log of each request.
func WithHandlerOptions(opts ...api.Option) Option {
	return func(c *config) { c.handlerOpts = append(c.handlerOpts, opts...) }
}

// Server is the real List Batches server over its own SQLite database,
// listening on 127.0.0.1, with a fault queue in front. Its fields describe
// what NewServer seeded; do not change them.
type Server struct {
	// URL is the base URL, scheme and host: "http://127.0.0.1:PORT".
	URL string
	// APIKey is an API key of the organization, in clear.
	APIKey string
	// OrganizationID is the organization's id, "org_…".
	OrganizationID string
	// Namespace is the namespace's name (DefaultNamespace unless
	// WithNamespace), to send as X-Namespace; NamespaceID is its id,
	// "ns_…", which the server accepts too.
	Namespace, NamespaceID string
	// Bucket is the bucket's id (DefaultBucket unless WithBucket).
	Bucket string

	t      testing.TB
	db     *sqlite.DB
	http   *httptest.Server
	faults *faults

	mu        sync.Mutex
	clock     time.Time // SeedBatches' next newest created_at
	closeOnce sync.Once
}

// NewServer starts a Server for the test t and closes it (server, then
// database) when the test ends. It seeds an organization
// (DefaultOrganization), a namespace, a bucket without batches and an API key
// as the options say. It fails the test when the database cannot be
// opened or an option is invalid.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := config{namespace: DefaultNamespace, bucket: DefaultBucket}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.apiKey == "" {
		cfg.apiKey = "sk_test_" + rand.Text()
	}
	ctx := context.Background()
	if cfg.clock != nil {
		cfg.processing.Now = cfg.clock
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "batches.db"), sqlite.WithProcessing(cfg.processing),
		// A step of a test server is rescued from a test that ended
		// mid-step within seconds; river's maintenance starts at once.
		sqlite.WithQueue(river.Config{PollInterval: 50 * time.Millisecond, RescueAfter: 5 * time.Second, StepTimeout: 5 * time.Second, TestOnly: true}))
	if err != nil {
		t.Fatalf("batchestest: %v", err)
	}
	s := &Server{t: t, db: db, faults: &faults{closing: make(chan struct{})}, clock: seedEpoch}
	t.Cleanup(s.Close)

	ten, err := domain.CreateTenant(ctx, db, domain.Tenant{Organization: DefaultOrganization,
		Namespace: cfg.namespace, BucketName: cfg.bucket, BucketID: cfg.bucket, APIKey: cfg.apiKey})
	if err != nil {
		// The error names the part: the namespace, the bucket or the key.
		t.Fatalf("batchestest: NewServer (WithNamespace, WithBucket, WithAPIKey): %v", err)
	}
	s.OrganizationID, s.Namespace, s.NamespaceID = ten.Organization.ID, ten.Namespace.Name, ten.Namespace.ID
	s.Bucket, s.APIKey = ten.Bucket.ID, ten.APIKey

	h, err := api.NewHandler(db, cfg.handlerOpts...)
	if err != nil {
		t.Fatalf("batchestest: %v", err)
	}
	if cfg.contractCheck {
		h = apitest.Handler(t, h)
	}
	h = s.faults.middleware(h)
	s.http = httptest.NewUnstartedServer(h)
	// A dropped connection or a client that gives up is the point of a
	// fault, not news: keep the server's log quiet.
	s.http.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	if cfg.tls {
		s.http.StartTLS()
	} else {
		s.http.Start()
	}
	s.URL = s.http.URL
	if cfg.processes {
		if err := db.StartProcessing(ctx); err != nil {
			t.Fatalf("batchestest: %v", err)
		}
	}
	return s
}

// Close stops the server: queued faults are dropped, requests held by a
// Delay end unanswered, then the HTTP server closes (waiting for requests
// in flight) and the database. NewServer arranges for it to run when the
// test ends; calling it earlier (to test a server that is gone) is fine,
// and so is calling it twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.faults.mu.Lock()
		s.faults.queue = nil
		close(s.faults.closing)
		s.faults.mu.Unlock()
		if s.http != nil {
			s.http.Close()
		}
		if err := s.db.Close(); err != nil {
			s.t.Errorf("batchestest: closing the database: %v", err)
		}
	})
}

// HTTPClient returns an *http.Client for the server: it trusts the
// server's certificate under WithTLS, and its idle connections close with
// the server.
func (s *Server) HTTPClient() *http.Client { return s.http.Client() }

// ListPath returns the URL path of List Batches for bucket, as a Fault's
// Path and [Server.RequestsFor] take it: "/v1/buckets/{bucket}/batches/list",
// the bucket path-escaped.
func ListPath(bucket string) string {
	return "/v1/buckets/" + url.PathEscape(bucket) + "/batches/list"
}

// DB returns the server's database, for seeding beyond this package's
// methods (its ImportBatches, say). The Server closes it.
func (s *Server) DB() *sqlite.DB { return s.db }

// AddNamespace creates a namespace named name in the server's organization
// and returns its id ("ns_…"); requests may name it by either. It fails the
// test when the name is taken or invalid.
func (s *Server) AddNamespace(name string) string {
	s.t.Helper()
	ns, err := s.db.CreateNamespace(context.Background(), s.OrganizationID, name)
	if err != nil {
		s.t.Fatalf("batchestest: AddNamespace(%q): %v", name, err)
	}
	return ns.ID
}

// AddBucket creates an empty bucket in namespace (a name or id of the
// server's organization; "" is the server's namespace) and returns its id:
// id, when not "" (1 to 128 characters of [A-Za-z0-9_.-], unique in the
// server), or else a new "bkt_…" id. The bucket's name is its id. It fails
// the test when the namespace does not exist or the id is taken or invalid.
func (s *Server) AddBucket(namespace, id string) string {
	s.t.Helper()
	ctx := context.Background()
	if namespace == "" {
		namespace = s.NamespaceID
	}
	// No bucket is named "": ResolveBucket finds the namespace alone, and
	// answers ErrBucketNotFound with it.
	ns, _, err := s.db.ResolveBucket(ctx, s.OrganizationID, namespace, "")
	if !errors.Is(err, domain.ErrBucketNotFound) {
		s.t.Fatalf("batchestest: AddBucket(%q, %q): namespace: %v", namespace, id, err)
	}
	name := id
	if name == "" {
		name = domain.NewID("bkt_")
		id = name
	}
	b, err := s.db.CreateBucket(ctx, ns.ID, name, id)
	if err != nil {
		s.t.Fatalf("batchestest: AddBucket(%q, %q): %v", namespace, id, err)
	}
	return b.ID
}

// AddAPIKey registers another API key of the server's organization and
// returns it: a new random "sk_test_…" key.
func (s *Server) AddAPIKey() string {
	s.t.Helper()
	key, err := s.db.CreateAPIKey(context.Background(), s.OrganizationID, "sk_test_"+rand.Text())
	if err != nil {
		s.t.Fatalf("batchestest: AddAPIKey: %v", err)
	}
	return key
}

// Inject queues faults, in order, after those already queued. Each request
// that arrives takes the first queued fault that matches its path (every
// request, for a Fault without Path), once; a request that matches none is
// served by the real server. It fails the test for a Fault with a negative
// Delay, a Status outside 200..599, or RetryAfter, Header or Body without a
// Status.
func (s *Server) Inject(faults ...Fault) {
	s.t.Helper()
	for i, f := range faults {
		if err := f.check(); err != nil {
			s.t.Fatalf("batchestest: Inject: fault %d: %v", i, err)
		}
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	select {
	case <-s.faults.closing:
		s.t.Fatalf("batchestest: Inject after Close")
	default:
	}
	for _, f := range faults {
		f.Header = f.Header.Clone()
		f.Body = slices.Clone(f.Body)
		s.faults.queue = append(s.faults.queue, f)
	}
}

// InjectN queues n copies of f: the next n requests that match it take it.
func (s *Server) InjectN(n int, f Fault) {
	s.t.Helper()
	s.Inject(slices.Repeat([]Fault{f}, max(n, 0))...)
}

// PendingFaults returns the number of queued faults no request has taken
// yet.
func (s *Server) PendingFaults() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return len(s.faults.queue)
}

// ClearFaults drops every queued fault and returns how many there were.
func (s *Server) ClearFaults() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	n := len(s.faults.queue)
	s.faults.queue = nil
	return n
}

// Attempts returns a copy of every request received so far, in order of
// arrival, faulted or not.
func (s *Server) Attempts() []Attempt {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make([]Attempt, len(s.faults.attempts))
	for i, a := range s.faults.attempts {
		out[i] = *a
		out[i].Header = a.Header.Clone()
		out[i].Body = slices.Clone(a.Body)
		if a.Fault != nil {
			f := *a.Fault
			out[i].Fault = &f
		}
	}
	return out
}

// Requests returns the number of requests received so far, faulted or not:
// a client's attempts, its retries included.
func (s *Server) Requests() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return len(s.faults.attempts)
}

// RequestsFor returns the number of requests received so far for the URL
// path (see [ListPath]), faulted or not.
func (s *Server) RequestsFor(path string) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	n := 0
	for _, a := range s.faults.attempts {
		if a.Path == path {
			n++
		}
	}
	return n
}
