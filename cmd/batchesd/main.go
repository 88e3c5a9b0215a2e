// Command batchesd is the reference server of Mixpeek's Bucket Batches
// API (batches, their lifecycle and processing, and their tasks), on an
// embedded SQLite database or on PostgreSQL, and its administration.
//
//	batchesd [serve]        start the server (the default command)
//	batchesd org create     create an organization
//	batchesd namespace create
//	batchesd bucket create
//	batchesd key create     create an API key (printed once, only its hash is kept)
//	batchesd import         import batches from a JSON Lines file into a bucket
//	batchesd batch set-status
//	batchesd batch delete
//
// Every command takes --database (BATCHESD_DATABASE, default
// ./data/batches.db), a SQLite file, or --database-url (DATABASE_URL), a
// postgres:// URL, so that several server processes share one PostgreSQL
// database. On its first start on an empty database, serve creates
// a demo organization, namespace "demo", bucket "bkt_demo" with a few hundred
// batches, and an API key (BATCHESD_DEMO_API_KEY, or generated and printed
// once). Administration commands print what they create as KEY=value lines
// (or JSON with -o json) so that scripts can use it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
	"github.com/mixpeekgo/batches/cmd/internal/buildinfo"
)

type cli struct {
	Version kong.VersionFlag `help:"Print the version (module version, commit, Go) and exit."`

	Database         string      `short:"d" group:"database" env:"BATCHESD_DATABASE" placeholder:"FILE" help:"SQLite database file; created with its directory if missing (default ./data/batches.db, made absolute from the working directory). Not with --database-url."`
	DatabaseURL      string      `name:"database-url" group:"database" env:"DATABASE_URL" placeholder:"URL" help:"PostgreSQL database, a URL (postgres://user:password@host:5432/database?sslmode=…) or keyword/value string (host=… dbname=… user=…), instead of the SQLite file; the database must exist, its tables are created. Several servers may share it. Its pool_max_conns (default 4, or the number of CPUs if more) is the most queries one process runs at once."`
	StatementTimeout timeoutFlag `group:"database" env:"BATCHESD_STATEMENT_TIMEOUT" placeholder:"DURATION" help:"With --database-url: the longest one SQL statement may run before PostgreSQL cancels it (the request then answers 500; the server gives up on the database this plus 2s after); 0 for no limit. Default: the URL's statement_timeout, else 10s."`
	LogLevel         string      `group:"log" env:"BATCHESD_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	LogFormat        string      `group:"log" env:"BATCHESD_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format: text or json (to stderr)."`

	Serve     serveCmd     `cmd:"" default:"withargs" help:"Start the server (the default command)."`
	Org       orgCmd       `cmd:"" help:"Manage organizations."`
	Namespace namespaceCmd `cmd:"" help:"Manage namespaces."`
	Bucket    bucketCmd    `cmd:"" help:"Manage buckets."`
	Key       keyCmd       `cmd:"" help:"Manage API keys."`
	Batch     batchCmd     `cmd:"" help:"Change the status of batches, delete them."`
	Import    importCmd    `cmd:"" help:"Import batches from a JSON Lines file (one Batch object a line, as the List endpoint returns them) into a bucket. All or nothing: a bad line is reported with its number and nothing is imported."`
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// dbPath is the SQLite file, when databaseURL is empty.
	dbPath string
	// databaseURL is the PostgreSQL database, if any.
	databaseURL      string
	statementTimeout timeoutFlag
	// processing and queue are serve's settings of the processing of
	// batches; zero (the defaults) for the other commands, which do not
	// work the queue.
	processing domain.Processing
	queue      river.Config
}

// timeoutFlag is --statement-timeout: a duration that is not negative, and
// whether it was given (by the flag or its variable), since the URL's
// statement_timeout applies only when it was not.
type timeoutFlag struct {
	d   time.Duration
	set bool
}

// Decode reads the flag's value; an error is a usage error (exit 2).
func (f *timeoutFlag) Decode(ctx *kong.DecodeContext) error {
	takeNegative(ctx.Scan)
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration: give one such as 10s or 500ms, or 0 for no limit", s)
	}
	if d < 0 {
		return fmt.Errorf("%s is negative: give a duration such as 10s, or 0 for no limit", s)
	}
	f.d, f.set = d, true
	return nil
}

func main() {
	// An empty BATCHESD_ variable counts as unset, as in the CLI: an empty
	// BATCHESD_ADDR must not mean every interface.
	for _, kv := range os.Environ() {
		if name, value, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "BATCHESD_") && value == "" {
			os.Unsetenv(name)
		}
	}
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// vars are the variables of the commands' tags: ${statuses}, the statuses
// of the contract (batches.TaskStatuses), comma-separated.
func vars() kong.Vars {
	names := make([]string, 0, len(batches.TaskStatuses()))
	for _, s := range batches.TaskStatuses() {
		names = append(names, string(s))
	}
	return kong.Vars{"statuses": strings.Join(names, ","),
		"default_rate_limit": fmt.Sprint(defaultRateLimit), "default_rate_burst": fmt.Sprint(defaultRateBurst)}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("batchesd"),
		kong.Description("The reference server of Mixpeek's Bucket Batches API (batches, their lifecycle and processing, tasks), on SQLite or PostgreSQL, and its administration."),
		kong.Writers(stdout, stderr),
		vars(),
		kong.Vars{"version": "batchesd " + buildinfo.Read().String()},
		kong.Exit(func(code int) { panic(exitCode(code)) }),
		sharedFlagGroups,
		negativeNumbers(),
		kong.Help(helpPrinter),
	)
	if err != nil {
		fmt.Fprintln(stderr, "batchesd:", err)
		return 2
	}
	code := 0
	func() {
		defer func() {
			if v := recover(); v != nil {
				if ec, ok := v.(exitCode); ok {
					code = int(ec)
					return
				}
				panic(v)
			}
		}()
		kctx, err := parser.Parse(args)
		if err != nil {
			fmt.Fprintln(stderr, "batchesd:", err)
			// A usage error: show how the command is used, on stderr.
			var pe *kong.ParseError
			if errors.As(err, &pe) && pe.Context != nil {
				parser.Stdout = stderr
				_ = kong.DefaultShortHelpPrinter(kong.HelpOptions{}, pe.Context)
			}
			code = 2
			return
		}
		e := &env{ctx: ctx, stdout: stdout, stderr: stderr, log: newLogger(stderr, c.LogLevel, c.LogFormat),
			dbPath: c.Database, databaseURL: c.DatabaseURL, statementTimeout: c.StatementTimeout}
		err = e.checkDatabase()
		if err == nil && kctx.Command() != "serve" {
			// Which database an administration command works on, so that
			// one run from another directory does not go unnoticed.
			fmt.Fprintf(stderr, "batchesd: database %s\n", e.describeDatabase())
		}
		if err == nil {
			err = kctx.Run(e)
		}
		if err != nil {
			fmt.Fprintln(stderr, "batchesd:", err)
			code = 1
		}
	}()
	return code
}

type exitCode int

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

type serveCmd struct {
	Addr            string        `env:"BATCHESD_ADDR" default:"127.0.0.1:8080" help:"Address to listen on (host:port; port 0 picks a free one)."`
	DemoAPIKey      string        `env:"BATCHESD_DEMO_API_KEY" help:"API key of the demo organization (20 to 128 printable ASCII characters, no spaces): given to the demo created on first start, and registered for it on a later start if it is not yet. Generated and printed once if empty."`
	NoDemo          bool          `env:"BATCHESD_NO_DEMO" help:"Do not create the demo organization on an empty database."`
	ShutdownTimeout time.Duration `env:"BATCHESD_SHUTDOWN_TIMEOUT" default:"30s" help:"How long in-flight requests may take to finish on SIGINT or SIGTERM; above 0."`
	operateFlags
	limitFlags
	cacheFlags
	processFlags

	// demoKeyFrom is how the demo's key was given, --demo-api-key or
	// BATCHESD_DEMO_API_KEY (Validate), for what serve says of it.
	demoKeyFrom string
}

// Validate refuses, as a usage error (exit 2) before anything is opened,
// a value of a flag that cannot be (the checks of each group of flags,
// check.go), naming how it was given: the flag or its variable.
func (s *serveCmd) Validate(kctx *kong.Context) error {
	err := firstError(s.check(), s.operateFlags.check(), s.limitFlags.check(), s.cacheFlags.check(), s.processFlags.check())
	if bf, ok := errors.AsType[*badFlag](err); ok {
		return errors.New(bf.given(kctx))
	}
	if err != nil {
		return err
	}
	s.demoKeyFrom = givenAs(kctx, "demo-api-key")
	return nil
}

// check returns the first of serve's own flags whose value cannot be, as
// a *badFlag.
func (s *serveCmd) check() error {
	err := firstError(
		checkAddr("addr", s.Addr, "127.0.0.1:8080"),
		atLeast("shutdown-timeout", s.ShutdownTimeout, 1, "give a duration above 0, such as 30s"),
	)
	if err == nil && s.DemoAPIKey != "" {
		if p := domain.KeyProblem(s.DemoAPIKey); p != "" {
			err = &badFlag{name: "demo-api-key", want: fmt.Sprintf("%s: give %d to %d printable ASCII characters without spaces, or none to have one generated",
				p, domain.MinKeyLength, domain.MaxKeyLength)}
		}
	}
	return err
}

// defaultGOGC is the garbage collector's target percentage of serve when
// the GOGC environment variable is not set, on either database. The
// server's live heap is a few megabytes, and on SQLite each listing
// allocates its page once more than that (modernc.org/sqlite copies the
// page out of SQLite: about 66 KB at limit 100; pgx hands PostgreSQL's
// page over without that copy), so at Go's default of 100 the collector
// runs every few dozen requests. Measured on SQLite under wrk -c 64 on two
// cores at limit 100: 400 takes about 12% less CPU a request, for a peak
// RSS of about 60 MB. GOGC and GOMEMLIMIT in the environment are honoured
// as usual.
const defaultGOGC = 400

func (s *serveCmd) Run(e *env) error {
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGOGC)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}

	// Listen first: a port in use fails before any database is created.
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	ops, err := s.listenOps()
	if err != nil {
		return err
	}
	defer ops.Close()
	ln = api.NewListener(ln, s.MaxConnections, api.WithLogger(e.log))

	if e.processing, e.queue, err = s.processFlags.settings(e); err != nil {
		return err
	}
	db, err := openDB(ctx, e, true)
	if err != nil {
		return err
	}
	defer db.Close()
	baseURL := "http://" + ln.Addr().String()
	if !s.NoProcessing {
		if err := db.StartProcessing(ctx); err != nil {
			return fmt.Errorf("starting the processing of batches: %w", err)
		}
	}

	if !s.NoDemo {
		demo, created, err := db.SeedDemo(ctx, s.DemoAPIKey)
		if err != nil {
			return fmt.Errorf("creating the demo data: %w", err)
		}
		if created {
			startDemoProcessing(ctx, e, db, demo, s.DemoProcessing)
			keyFrom := ""
			if s.DemoAPIKey != "" {
				keyFrom = s.demoKeyFrom
			}
			printDemo(e.stdout, demo, baseURL, keyFrom)
		} else if s.DemoAPIKey != "" {
			// The demo exists already: the key is registered for it, once.
			registerDemoKey(ctx, e, db, s.DemoAPIKey, s.demoKeyFrom)
		}
	}

	idle := newIdleRelease()
	h, err := s.handler(e, db, ops, api.WithOnRequest(idle.request))
	if err != nil {
		return err
	}
	releaseWhenIdle(ctx, idle)
	srv := api.NewHTTPServer(s.Addr, h, e.log)
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	e.log.Info("listening", "addr", ln.Addr().String(), "database", e.describeDatabase(), "version", buildinfo.Read().Version)
	if ops != nil {
		go func() { served <- ops.srv.Serve(ops.ln) }()
		e.log.Info("serving metrics and probes", "addr", ops.ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// From now on a second SIGINT or SIGTERM stops the process at once, as
	// it would without the handler, instead of being ignored until the
	// in-flight requests finish or the timeout expires.
	stop()
	e.log.Info("shutting down: finishing in-flight requests (signal again to stop at once)", "timeout", s.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if ops != nil {
		// Probes see the process go (readyz, then nothing) as the API does.
		go func() { _ = ops.srv.Shutdown(sctx) }()
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Steps under way finish within the shutdown timeout, or go back to
	// the queue (available at once) for the next process to run.
	if err := db.StopProcessing(sctx); err != nil {
		e.log.Warn("stopping the processing of batches", "err", err)
	}
	e.log.Info("stopped")
	return nil
}

// printDemo prints what SeedDemo created and commands that list its
// batches. The commands read the key from MIXPEEK_API_KEY, as the CLI does; a
// generated key is printed once in the export line, a key given
// (keyFrom: --demo-api-key or BATCHESD_DEMO_API_KEY; "" for none) is not
// printed at all (its owner knows it), so that it stays out of whatever
// keeps stdout.
func printDemo(w io.Writer, d domain.DemoInfo, baseURL, keyFrom string) {
	fmt.Fprintf(w, "Created the demo organization %s with namespace %q (%s) and bucket %s.\n",
		d.OrganizationID, d.NamespaceName, d.NamespaceID, d.BucketID)
	if keyFrom != "" {
		fmt.Fprintf(w, "Its API key is the one you gave (%s). To list its batches, set it in your shell:\n\n    export MIXPEEK_API_KEY=<that key>\n\n", keyFrom)
	} else {
		fmt.Fprintf(w, "Its API key is shown this once (only its hash is stored). To list its batches:\n\n    export MIXPEEK_API_KEY=%s\n\n", shellQuote(d.APIKey))
	}
	fmt.Fprintf(w, "then with the CLI:\n\n    MIXPEEK_NAMESPACE=%s MIXPEEK_BASE_URL=%s go run ./cmd/batches list --bucket %s\n\n",
		shellQuote(d.NamespaceName), baseURL, d.BucketID)
	fmt.Fprintf(w, "or with curl:\n\n    curl -s -X POST %s/v1/buckets/%s/batches/list -H \"Authorization: Bearer $MIXPEEK_API_KEY\" -H %s -H 'Content-Type: application/json' -d '{\"limit\": 5}'\n\n",
		baseURL, d.BucketID, shellQuote("X-Namespace: "+d.NamespaceName))
}
