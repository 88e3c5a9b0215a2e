package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
)

// operateFlags are serve's flags for those who run it: metrics, rate
// limits, compression, the docs page.
type operateFlags struct {
	MetricsAddr string  `env:"BATCHESD_METRICS_ADDR" placeholder:"HOST:PORT" help:"Serve /metrics, /healthz and /readyz on this address too, and /metrics only there (keep it private). Default: /metrics on --addr."`
	RateLimit   float64 `env:"BATCHESD_RATE_LIMIT" default:"${default_rate_limit}" placeholder:"N" help:"Requests a second each API key may make, on average; over it the API answers 429 with Retry-After. 0 for no limit. Per process: N servers on one PostgreSQL database allow N times as many. Default ${default}."`
	RateBurst   int     `env:"BATCHESD_RATE_BURST" default:"${default_rate_burst}" placeholder:"N" help:"Requests each API key may make at once, beyond --rate-limit's pace; 1 or more. Default ${default}."`
	Compression string  `env:"BATCHESD_COMPRESSION" default:"auto" enum:"auto,gzip,off" help:"Compress answers of 1 KiB or more for callers that accept it: auto (zstd or gzip), gzip, or off."`
	NoDocs      bool    `env:"BATCHESD_NO_DOCS" help:"Do not serve the API reference page (/docs) and the contract (/openapi.json, /openapi.yaml)."`
}

// check returns the first of the flags' values that cannot be, as a
// *badFlag; a rate limit api.NewHandler would refuse is one (a negative,
// infinite or NaN --rate-limit, a --rate-burst under 1: what
// api.RateLimit.Check refuses, and more).
func (f operateFlags) check() error {
	err := firstError(
		f.checkRateLimit(),
		atLeast("rate-burst", f.RateBurst, 1, "give 1 or more"),
	)
	if err == nil && f.MetricsAddr != "" {
		err = checkAddr("metrics-addr", f.MetricsAddr, "127.0.0.1:9090")
	}
	return err
}

func (f operateFlags) checkRateLimit() error {
	if f.RateLimit >= 0 && !math.IsInf(f.RateLimit, 0) {
		return nil
	}
	return &badFlag{name: "rate-limit", value: fmt.Sprint(f.RateLimit), want: "give 0 (no limit) or more requests a second"}
}

// Defaults of the rate limit: far above what a person or a paging script
// asks (a walk of 300 batches is 3 requests), low enough that one runaway
// loop of one key cannot take every connection of the database.
const (
	defaultRateLimit = 50
	defaultRateBurst = 100
)

// opsServer is the listener and server of --metrics-addr.
type opsServer struct {
	ln  net.Listener
	srv *http.Server
}

func (o *opsServer) Close() {
	if o != nil {
		o.ln.Close()
	}
}

// listenOps listens on --metrics-addr, if set: before the database is
// opened, as --addr is, so that a port in use fails at once.
func (s *serveCmd) listenOps() (*opsServer, error) {
	if s.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	return &opsServer{ln: ln}, nil
}

// handler returns the API's handler over db, with serve's settings, and
// makes the server of ops (if any) on the same metrics.
func (s *serveCmd) handler(e *env, db domain.DB, ops *opsServer, more ...api.Option) (http.Handler, error) {
	m := api.NewMetrics()
	opts := append(append(append(s.limitFlags.handlerOptions(), s.cacheFlags.handlerOptions()...), more...),
		api.WithLogger(e.log),
		api.WithMetrics(m),
		api.WithCompression(api.Compression(s.Compression)),
		api.WithRateLimit(api.RateLimit{PerSecond: s.RateLimit, Burst: s.RateBurst}),
	)
	if s.NoDocs {
		opts = append(opts, api.WithoutDocs())
	}
	if ops != nil {
		opts = append(opts, api.WithoutMetricsEndpoint())
		ops.srv = api.NewHTTPServer(ops.ln.Addr().String(), api.NewOpsHandler(db, m, e.log), e.log)
	}
	return api.NewHandler(db, opts...)
}

// registerDemoKey registers key, given as from (--demo-api-key or
// BATCHESD_DEMO_API_KEY, which its messages name), for the demo of a
// database seeded earlier, and says what it did; a key it cannot register
// is a warning, not a failure: the server serves the keys it has.
func registerDemoKey(ctx context.Context, e *env, db domain.DB, key, from string) {
	org, registered, err := db.RegisterDemoKey(ctx, key)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		e.log.Warn(from + " is not registered: this database has no demo bucket (it was started with --no-demo, or holds other organizations); register the key with `batchesd key create --org <id> --key <key>`")
		return
	case err != nil:
		e.log.Warn(from+" could not be registered", "err", err)
		return
	case registered:
		e.log.Info("registered "+from+" for the demo organization", "organization", org)
		return
	}
	// The key was there already: the demo's (nothing to do), another
	// organization's, or revoked.
	owner, err := db.OrganizationForKey(ctx, domain.HashKey(key))
	switch {
	case errors.Is(err, domain.ErrNotFound):
		e.log.Warn(from + " was revoked in this database: it does not authenticate")
	case err != nil:
		e.log.Warn("checking "+from, "err", err)
	case owner.ID != org:
		e.log.Warn(from+" is a key of another organization than the demo's: it does not reach bkt_demo", "organization", owner.ID, "demo_organization", org)
	}
}

// statusArg takes a status given on the command line in any case: the
// contract's value of the same letters, and a note on stderr when it
// differs from what was typed, so that what is sent or stored is never a
// surprise (the API itself takes the exact values only).
func statusArg(e *env, flag, given string) (batches.TaskStatus, error) {
	st, err := parseStatus(flag, given)
	if err != nil {
		return "", err
	}
	if string(st) != given {
		fmt.Fprintf(e.stderr, "batchesd: note: %s %s taken as %s\n", flag, given, st)
	}
	return st, nil
}

// parseStatus is the status of the contract spelt as given, in any case.
func parseStatus(flag, given string) (batches.TaskStatus, error) {
	st := batches.TaskStatus(strings.ToUpper(strings.TrimSpace(given)))
	if !st.IsKnown() {
		return "", fmt.Errorf("%s %q is not a batch status; want one of %s", flag, given, strings.ReplaceAll(vars()["statuses"], ",", ", "))
	}
	return st, nil
}
