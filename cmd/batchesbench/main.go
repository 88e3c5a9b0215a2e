// Command batchesbench measures the List Batches server against a bare
// baseline and reports every figure as a ratio to it, side by side with the
// absolute one, in Markdown (BENCHMARKS.md holds the last report).
//
//	batchesbench [all]   both measurements below, then the report
//	batchesbench go      the Go benchmarks of api/benchmark (go test -bench), in process
//	batchesbench load    wrk against the batchesd binary and the baseline, on loopback
//	batchesbench report  the ratios of a saved `go test -bench` output of api/benchmark
//	batchesbench hostile the hostile-clients load run (peak RSS, a second tenant's p99)
//	batchesbench drivers the SQLite drivers compared (requests/s, first page, cold build, binary)
//
// Run it from the module's source tree (make bench does): it builds batchesd
// and runs go test there. The load run needs wrk (apt-get install wrk) and
// Linux (it reads the server's memory from /proc). The seeded databases are
// cached in $TMPDIR/batches-bench.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/mixpeekgo/batches/cmd/internal/buildinfo"
)

type cli struct {
	Version kong.VersionFlag `help:"Print the version (module version, commit, Go) and exit."`

	All      allCmd      `cmd:"" default:"withargs" help:"Run the Go benchmarks and the load run, and report both (the default command)."`
	Go       goCmd       `cmd:"" help:"Run the Go benchmarks of api/benchmark and report their ratios to the baseline."`
	Load     loadCmd     `cmd:"" help:"Run wrk against batchesd and the baseline on loopback and report requests/s, p50, p99 and their ratios."`
	Report   reportCmd   `cmd:"" help:"Report the ratios of a saved 'go test -bench' output of api/benchmark."`
	Hostile  hostileCmd  `cmd:"" help:"The hostile-clients load run: batchesd under oversized bodies, slow readers, pages at the size limits, large scalars, slow bodies, never-reading connections and ordinary load, with a second tenant's latencies and the server's peak RSS."`
	Drivers  driversCmd  `cmd:"" help:"Compare the SQLite drivers batchesd can be built with: requests/s at limit 100 and 1000, first-page latency, cold build time, binary size."`
	Baseline baselineCmd `cmd:"" hidden:"" help:"Serve the bare baseline (started by load)."`
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	// args is the command line, for the report.
	args []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitCode is what kong's Exit panics with, to return from run.
type exitCode int

// run runs the command line args, as main does, and returns the exit
// code: kong's for its own exits (0 for --help and --version, 80 for a
// usage error), 1 when the command fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			ec, ok := v.(exitCode)
			if !ok {
				panic(v)
			}
			code = int(ec)
		}
	}()
	var c cli
	parser, err := kong.New(&c,
		kong.Name("batchesbench"),
		kong.Description("Benchmarks of the List Batches server, as ratios to a bare net/http + encoding/json baseline."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitCode(code)) }),
		kong.Vars{"begin": beginMarker, "end": endMarker, "hbegin": hostileBegin, "hend": hostileEnd, "dbegin": driversBegin, "dend": driversEnd,
			"version": "batchesbench " + buildinfo.Read().String()},
	)
	if err != nil {
		fmt.Fprintln(stderr, "batchesbench:", err)
		return 1
	}
	kctx, err := parser.Parse(args)
	parser.FatalIfErrorf(err)
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, args: args}
	if err := kctx.Run(e); err != nil {
		fmt.Fprintln(stderr, "batchesbench:", err)
		return 1
	}
	return 0
}

// progress prints a line about what is under way on stderr.
func (e *env) progress(format string, args ...any) {
	fmt.Fprintf(e.stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
