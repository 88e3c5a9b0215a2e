package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/sqlite"
)

type loadCmd struct {
	Connections int           `short:"c" default:"64" help:"Open connections (wrk -c)."`
	Threads     int           `short:"t" default:"0" help:"wrk threads (wrk -t); 0 means one a CPU."`
	Duration    time.Duration `short:"d" default:"10s" help:"Length of each measured run (whole seconds)."`
	Warmup      time.Duration `default:"2s" help:"Length of the unmeasured run before each measured one; 0 skips it."`
	Soak        time.Duration `default:"30s" help:"Length of the last run, against the largest bucket at limit 100, for errors and memory; 0 skips it."`
	Limits      []int         `default:"100,1000" help:"Limits measured (every filter at the first, every status at the others)."`
	Sizes       []int         `default:"1000,1000000" help:"Sizes of the buckets measured, in batches; each has its own database and server."`
	Timeout     time.Duration `default:"10s" help:"wrk --timeout: an answer slower than this counts as a timeout error."`
	LogLevel    string        `default:"info" enum:"debug,info,warn,error" help:"batchesd --log-level; at info, its default, it logs a line a request, as in production."`
	Variants    []string      `default:"no caches=--page-cache=0 --resolve-cache=0;keys and buckets kept=--page-cache=0" sep:";" help:"Other settings of batchesd measured at limit 100 (every status) on each bucket, as NAME=FLAGS, ';' between two: what each setting of the default buys."`
	WriteEvery  time.Duration `default:"10ms" help:"The runs under writes: another process (this one) imports a batch into the bucket this often while wrk lists, and checks every page it reads; 0 skips them."`
	NoOps       bool          `help:"Skip the other operations (GET, create, submit, processing)."`
	Processing  int           `default:"100" help:"Batches kept being processed during the run of List while processing."`
	ProcessN    int           `default:"1000" help:"At most this many batches submitted are processed for the throughput (tiers of no length)."`
	PostgresURL string        `env:"BATCHES_TEST_DATABASE_URL" help:"A PostgreSQL server whose user may create databases: the rows of PostgreSQL are measured on a new database there (the 1k bucket), dropped at the end. Empty: not measured (make bench runs a throwaway cluster)."`
}

func (c *loadCmd) Run(e *env) error {
	runs, err := c.run(e)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, runs.markdown())
	fmt.Fprint(e.stdout, "\n"+targetsMarkdown(nil, runs))
	return nil
}

// wrkResult is what the script's done() prints, as JSON: latencies in
// microseconds, duration in microseconds.
type wrkResult struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	StatusErrors  int64   `json:"status_errors"`
	Timeouts      int64   `json:"timeouts"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	P50US         float64 `json:"p50_us"`
	P99US         float64 `json:"p99_us"`
	MaxUS         float64 `json:"max_us"`
}

func (r wrkResult) rps() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// okRPS is the answers below 400 a second.
func (r wrkResult) okRPS() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return float64(r.Requests-r.StatusErrors) / (float64(r.DurationUS) / 1e6)
}

// socketErrors are the connect, read and write errors and timeouts.
func (r wrkResult) socketErrors() int64 {
	return r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.Timeouts
}

// loadRun is one measured wrk run.
type loadRun struct {
	target  string // "baseline" or "batchesd"
	backend string // "sqlite" or "postgres"; "" for the baseline
	variant string // "" for batchesd's defaults, else the name of the settings (loadCmd.Variants)
	op      string // "list" (also ""), "get", "create", "submit"
	filter  string // of a list: "all" (also ""), "status", "collection"
	during  string // "" (idle), "writes" or "processing"
	size    int    // the bucket's batches; 0 for the baseline
	limit   int
	wrk     wrkResult
	// peakRSS is the server's VmHWM after the run (its peak since it
	// started), rssBefore and rssAfter its VmRSS before and after; bytes,
	// -1 when unknown.
	peakRSS, rssBefore, rssAfter int64
	writes                       *writeStats // of a run under writes
	steps                        float64     // steps of processing a second, of a run while processing
}

func (r *loadRun) opName() string {
	if r.op == "" {
		return "list"
	}
	return r.op
}

func (r *loadRun) filterName() string {
	if r.filter == "" {
		return "all"
	}
	return r.filter
}

// loadRuns are the runs of one load command.
type loadRuns struct {
	connections, threads int
	duration             time.Duration
	logLevel             string
	writeEvery           time.Duration
	processing           int
	runs                 []loadRun
	soak                 *loadRun
	throughput           []throughput
	notes                []string
}

// throughput is how fast a backend's queue processed batches.
type throughput struct {
	backend string
	batches int
	elapsed time.Duration
	workers int
}

// baselineRun is the baseline's run of op (list by filter at limit), if any.
func (l *loadRuns) baselineRun(limit int) *loadRun { return l.baselineOf("list", "all", limit) }

func (l *loadRuns) baselineOf(op, filter string, limit int) *loadRun {
	for i := range l.runs {
		r := &l.runs[i]
		if r.target == "baseline" && r.opName() == op && (op != "list" || r.filterName() == filter && r.limit == limit) {
			return r
		}
	}
	return nil
}

// find returns the runs of batchesd that match.
func (l *loadRuns) find(match func(r *loadRun) bool) []*loadRun {
	var out []*loadRun
	for i := range l.runs {
		if r := &l.runs[i]; r.target == "batchesd" && match(r) {
			out = append(out, r)
		}
	}
	return out
}

// process is a server started as a child process, serving List Batches on
// loopback.
type process struct {
	name string
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:port
	log  string // file of its stderr
	done chan error
}

// bench is what the runs of one load command share.
type bench struct {
	c       *loadCmd
	e       *env
	wrk     string
	threads int
	tmp     string
	bin     string
	out     *loadRuns
	servers []*process
}

func (c *loadCmd) run(e *env) (*loadRuns, error) {
	if len(c.Sizes) == 0 || len(c.Limits) == 0 {
		return nil, errors.New("give at least one size and one limit")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errors.New("wrk not found: install it (apt-get install wrk; make bench does)")
	}
	threads := c.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	threads = min(threads, c.Connections)
	root, err := moduleRoot(e)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "batchesbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	b := &bench{c: c, e: e, wrk: wrk, threads: threads, tmp: tmp, bin: filepath.Join(tmp, "batchesd"),
		out: &loadRuns{connections: c.Connections, threads: threads, duration: c.Duration, logLevel: c.LogLevel,
			writeEvery: c.WriteEvery, processing: c.Processing}}
	defer func() {
		for _, s := range b.servers {
			s.stop()
		}
	}()
	e.progress("building batchesd")
	build := exec.CommandContext(e.ctx, "go", "build", "-o", b.bin, "./cmd/batchesd")
	build.Dir, build.Stdout, build.Stderr = root, e.stderr, e.stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building batchesd: %w", err)
	}

	variants, err := parseVariants(c.Variants)
	if err != nil {
		return nil, err
	}
	bySize := map[int]*process{}
	dbs := map[int]string{}
	for _, n := range c.Sizes {
		db, err := benchmark.CachedDB(e.ctx, n, e.stderr)
		if err != nil {
			return nil, err
		}
		dbs[n] = db
		if bySize[n], err = b.batchesd(fmt.Sprintf("batchesd-%d", n), "--database", db, "--no-processing"); err != nil {
			return nil, err
		}
	}
	// The other operations write: they run on a copy of the smallest
	// bucket, and its server makes the draft and task the baseline
	// answers.
	smallest := slices.Min(c.Sizes)
	var opsDB string
	var opsServer *process
	if !c.NoOps {
		opsDB = filepath.Join(tmp, "ops.db")
		if err := copyDB(e.ctx, dbs[smallest], opsDB); err != nil {
			return nil, err
		}
		if opsServer, err = b.batchesd("batchesd-ops", "--database", opsDB, "--no-processing"); err != nil {
			return nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// The baseline serves what the server of the first bucket answers: the
	// first pages of every bucket seeded are the same batches.
	args := []string{"baseline", "--from", bySize[c.Sizes[0]].url, "--addr", "127.0.0.1:0"}
	if opsServer != nil {
		args = append(args, "--ops-from", opsServer.url)
	}
	baseline, err := startServer(e, "baseline", filepath.Join(tmp, "baseline.log"), self, args...)
	if err != nil {
		return nil, err
	}
	b.servers = append(b.servers, baseline)
	out := b.out

	// List: every filter at the first limit, every status at the others.
	for i, limit := range c.Limits {
		filters := []string{"all"}
		if i == 0 {
			filters = []string{"all", "status", "collection"}
		}
		for _, f := range filters {
			if err := b.measure(baseline, loadRun{target: "baseline", op: "list", filter: f, limit: limit}, c.Duration); err != nil {
				return nil, err
			}
			for _, n := range c.Sizes {
				if err := b.measure(bySize[n], loadRun{backend: "sqlite", op: "list", filter: f, size: n, limit: limit}, c.Duration); err != nil {
					return nil, err
				}
			}
		}
	}
	// What each setting buys: the other settings, at limit 100.
	for _, v := range variants {
		for _, n := range c.Sizes {
			s, err := b.batchesd(fmt.Sprintf("batchesd-%d (%s)", n, v.name), append([]string{"--database", dbs[n], "--no-processing"}, v.flags...)...)
			if err != nil {
				return nil, err
			}
			err = b.measure(s, loadRun{backend: "sqlite", variant: v.name, op: "list", size: n, limit: 100}, c.Duration)
			s.stop()
			if err != nil {
				return nil, err
			}
		}
	}
	// Under writes of another process.
	if c.WriteEvery > 0 {
		for _, n := range c.Sizes {
			db, err := sqlite.Open(e.ctx, dbs[n])
			if err != nil {
				return nil, err
			}
			err = b.measureWrites(bySize[n], db, loadRun{backend: "sqlite", op: "list", size: n, limit: 100}, n)
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if !c.NoOps {
		id, err := firstBatchID(e, bySize[smallest])
		if err != nil {
			return nil, err
		}
		if err := b.measure(baseline, loadRun{target: "baseline", op: "get", limit: 1}, c.Duration); err != nil {
			return nil, err
		}
		for _, n := range c.Sizes {
			if err := b.measureGet(bySize[n], loadRun{backend: "sqlite", op: "get", size: n, limit: 1}, id); err != nil {
				return nil, err
			}
		}
		for _, op := range []string{"create", "submit"} {
			if err := b.measure(baseline, loadRun{target: "baseline", op: op, limit: 1}, c.Duration); err != nil {
				return nil, err
			}
		}
		if err := b.opsRuns("sqlite", opsServer, smallest, "--database", opsDB); err != nil {
			return nil, err
		}
	}
	if c.PostgresURL != "" {
		if err := b.postgresRuns(smallest, variants); err != nil {
			return nil, err
		}
	}
	if c.Soak > 0 {
		largest := slices.Max(c.Sizes)
		r := loadRun{target: "batchesd", backend: "sqlite", op: "list", size: largest, limit: 100}
		soak, err := b.measureRequest(bySize[largest], r, r.request(), c.Soak, nil)
		if err != nil {
			return nil, err
		}
		out.soak = &soak
	}
	for _, s := range b.servers {
		if err := s.stop(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// variant is other settings of batchesd.
type variant struct {
	name  string
	flags []string
}

func parseVariants(specs []string) ([]variant, error) {
	var out []variant
	for _, s := range specs {
		if strings.TrimSpace(s) == "" {
			continue
		}
		name, flags, ok := strings.Cut(s, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("variant %q: want NAME=FLAGS", s)
		}
		out = append(out, variant{name: strings.TrimSpace(name), flags: strings.Fields(flags)})
	}
	return out, nil
}

// batchesd starts the batchesd binary with args (after the global flags)
// serving on a free port, with the rate limit off.
func (b *bench) batchesd(name string, args ...string) (*process, error) {
	all := []string{"--log-level", b.c.LogLevel, "--log-format", "json"}
	var serve []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--database", "--database-url":
			all = append(all, args[i], args[i+1])
			i++
		default:
			serve = append(serve, args[i])
		}
	}
	all = append(all, "serve", "--addr", "127.0.0.1:0", "--no-demo",
		// One key makes every request: the server is measured, not its
		// rate limit.
		"--rate-limit", "0")
	all = append(all, serve...)
	s, err := startServer(b.e, name, filepath.Join(b.tmp, strings.NewReplacer(" ", "_", "(", "", ")", "", "/", "_").Replace(name)+".log"), b.bin, all...)
	if err != nil {
		return nil, err
	}
	b.servers = append(b.servers, s)
	return s, nil
}

// wrkRequest is what a wrk run sends.
type wrkRequest struct {
	method, path string
	body         []byte
	ids          []string // submit: the batch of each request, in turn
	stride       int      // with ids: wrk's threads
}

// request is the request of run r.
func (r *loadRun) request() wrkRequest {
	switch r.opName() {
	case "get":
		return wrkRequest{method: http.MethodGet, path: benchmark.BatchPath(baselineGetID)}
	case "create":
		return wrkRequest{method: http.MethodPost, path: benchmark.BatchesPath, body: []byte(benchmark.CreateBody)}
	case "submit":
		return wrkRequest{method: http.MethodPost, path: benchmark.BatchPath("btch_any") + "/submit"}
	}
	var body []byte
	switch r.filterName() {
	case "status":
		body = benchmark.Body(benchmark.FilterStatus, 0, r.limit)
	case "collection":
		body = benchmark.CollectionBody(benchmark.FilterCollection, 0, r.limit)
	default:
		body = benchmark.Body("", 0, r.limit)
	}
	return wrkRequest{method: http.MethodPost, path: benchmark.Path, body: body}
}

// baselineGetID is a batch the baseline has: the GET of the baseline's
// run asks for it (the baseline answers any batch of its listings alike).
var baselineGetID = benchmark.Batches(0, 1)[0].BatchID

// measure runs wrk against s for d (after the warm-up) sending r's
// request, and appends r with its figures to the runs.
func (b *bench) measure(s *process, r loadRun, d time.Duration) error {
	return b.keep(b.measureRequest(s, r, r.request(), d, nil))
}

// measureGet measures r, a GET, of the batch id, and appends it to the
// runs.
func (b *bench) measureGet(s *process, r loadRun, id string) error {
	return b.keep(b.measureRequest(s, r, wrkRequest{method: http.MethodGet, path: benchmark.BatchPath(id)}, b.c.Duration, nil))
}

// keep appends run to the runs, unless err, which it returns.
func (b *bench) keep(run loadRun, err error) error {
	if err != nil {
		return err
	}
	b.out.runs = append(b.out.runs, run)
	return nil
}

// measureRequest runs wrk against s for d (after the warm-up) sending
// req, and returns r with its figures (the caller keeps it); during, when
// not nil, runs from before the warm-up to the end of the run (it returns
// what stops it).
func (b *bench) measureRequest(s *process, r loadRun, req wrkRequest, d time.Duration, during func() (stop func() error)) (loadRun, error) {
	e, c := b.e, b.c
	if r.target == "" {
		r.target = "batchesd"
	}
	// A submit's batches: the first fifth for the warm-up, the rest for
	// the run.
	warmReq, runReq := req, req
	if req.ids != nil {
		req.stride = b.threads
		warmReq, runReq = req, req
		if c.Warmup > 0 {
			k := len(req.ids) / 5
			warmReq.ids, runReq.ids = req.ids[:k], req.ids[k:]
		}
	}
	script := filepath.Join(b.tmp, fmt.Sprintf("run-%d.lua", len(b.out.runs)))
	if err := os.WriteFile(script, []byte(wrkScriptFor(runReq)), 0o644); err != nil {
		return loadRun{}, err
	}
	warmScript := script + ".warm.lua"
	if err := os.WriteFile(warmScript, []byte(wrkScriptFor(warmReq)), 0o644); err != nil {
		return loadRun{}, err
	}
	if r.opName() == "list" {
		if err := probeBody(e, s, req.body); err != nil {
			return loadRun{}, err
		}
	}
	label := fmt.Sprintf("%s, %s", s.name, describeRun(&r))
	var stop func() error
	if during != nil {
		stop = during()
	}
	if c.Warmup > 0 {
		e.progress("%s: warming up for %s", label, c.Warmup)
		if _, err := runWrk(e, b.wrk, s.url, warmScript, c.Connections, b.threads, c.Warmup, c.Timeout); err != nil {
			if stop != nil {
				_ = stop() // before the caller cleans up after it
			}
			return loadRun{}, err
		}
	}
	e.progress("%s: %d connections for %s (load average %s)", label, c.Connections, d, loadAverage())
	pid := s.cmd.Process.Pid
	r.rssBefore = procStatus(pid, "VmRSS")
	res, err := runWrk(e, b.wrk, s.url, script, c.Connections, b.threads, d, c.Timeout)
	if stop != nil {
		if serr := stop(); err == nil {
			err = serr
		}
	}
	if err != nil {
		return loadRun{}, err
	}
	r.wrk = res
	r.peakRSS, r.rssAfter = procStatus(pid, "VmHWM"), procStatus(pid, "VmRSS")
	e.progress("  %.0f requests/s, p50 %s, p99 %s, %d answers ≥ 400, %d socket errors, peak RSS %s",
		res.rps(), fmtMicros(res.P50US), fmtMicros(res.P99US), res.StatusErrors, res.socketErrors(), fmtRSS(r.peakRSS))
	return r, nil
}

// describeRun names what r measures.
func describeRun(r *loadRun) string {
	switch r.opName() {
	case "list":
		s := fmt.Sprintf("list %s, limit %d", r.filterName(), r.limit)
		if r.during != "" {
			s += ", during " + r.during
		}
		return s
	default:
		return r.opName()
	}
}

// firstBatchID is the newest batch of s's bucket.
func firstBatchID(e *env, s *process) (string, error) {
	l, err := benchmark.Fetch(e.ctx, http.DefaultClient, s.url, benchmark.Body("", 0, 1))
	if err != nil {
		return "", err
	}
	if len(l.Results) == 0 || l.Results[0].BatchId == nil {
		return "", errors.New("the bucket is empty")
	}
	return *l.Results[0].BatchId, nil
}

// copyDB copies the SQLite database at from to the new file to, with
// VACUUM INTO: the copy holds what the write-ahead log holds too.
func copyDB(ctx context.Context, from, to string) error {
	db, err := sql.Open(sqlite.DataSource(from, "busy_timeout(5000)"))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, to)
	return err
}

// startServer starts name (bin and args), which writes its listening
// address first: a JSON log line {"msg":"listening","addr":…} (batchesd)
// or a line "listening ADDR" (the baseline). Its standard output and error
// go straight to the file logPath, so that nothing of batchesbench takes
// part in serving a request (a request log read through a pipe would).
func startServer(e *env, name, logPath, bin string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = environWithout("BATCHESD_")
	cmd.SysProcAttr = childAttr()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	s := &process{name: name, cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()

	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if a := listeningAddr(logPath); a != "" {
			s.url = "http://" + a
			e.progress("%s (pid %d) listening on %s", name, cmd.Process.Pid, a)
			return s, nil
		}
		select {
		case <-tick.C:
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("%s exited before listening (%v):\n%s", name, err, tail(logPath))
		case <-deadline:
			s.stop()
			return nil, fmt.Errorf("%s did not listen within 60 s:\n%s", name, tail(logPath))
		case <-e.ctx.Done():
			s.stop()
			return nil, e.ctx.Err()
		}
	}
}

// listeningAddr is the address of the first listening line of the log
// file at path, or "" when there is none yet.
func listeningAddr(path string) string {
	b, _ := os.ReadFile(path)
	for line := range strings.Lines(string(b)) {
		if !strings.HasSuffix(line, "\n") {
			break // still being written
		}
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
			return rec.Addr
		}
		if a, ok := strings.CutPrefix(line, "listening "); ok {
			return strings.TrimSpace(a)
		}
	}
	return ""
}

// stop ends the server with SIGTERM (SIGKILL after 15 s) and waits for it.
// It returns an error when the server had exited by itself with a failure.
func (s *process) stop() error {
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			return fmt.Errorf("%s exited: %v:\n%s", s.name, err, tail(s.log))
		}
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		s.done <- <-s.done
	}
	return nil
}

// environWithout is the environment less the variables starting with
// prefix, so that a BATCHESD_ variable of the shell changes nothing.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// tail is the last lines of the file at path.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// probe sends the request of the load run at limit (every status) once
// and checks it answers 200 with a ListBatchesResponse.
func probe(e *env, s *process, limit int) error { return probeBody(e, s, benchmark.Body("", 0, limit)) }

// probeBody sends the list request body once and checks it answers 200
// with a ListBatchesResponse.
func probeBody(e *env, s *process, body []byte) error {
	if _, err := benchmark.Fetch(e.ctx, http.DefaultClient, s.url, body); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

// wrkScript is the Lua script of a run of List at limit (every status).
func wrkScript(limit int) string {
	return wrkScriptFor(wrkRequest{method: http.MethodPost, path: benchmark.Path, body: benchmark.Body("", 0, limit)})
}

// wrkScriptFor is the Lua script of a run sending req: its method, path
// and body with the headers of benchmark.Headers, or, with ids, a submit
// of each in turn (each wrk thread takes every threads-th, from its own
// first; past the end, a batch that does not exist: 404); and a done()
// that prints the figures as one JSON line after "BATCHESBENCH ".
func wrkScriptFor(req wrkRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk.method = %s\n", luaString(req.method))
	if req.body != nil {
		fmt.Fprintf(&b, "wrk.body = %s\n", luaString(string(req.body)))
	}
	for k, v := range benchmark.Headers() {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaString(k), luaString(v))
	}
	fmt.Fprintf(&b, "wrk.path = %s\n", luaString(req.path))
	if req.ids != nil {
		b.WriteString("ids = {")
		for i, id := range req.ids {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(luaString(id))
		}
		b.WriteString("}\n")
		fmt.Fprintf(&b, "prefix = %s\nstride = %d\n", luaString(benchmark.BatchesPath+"/"), max(1, req.stride))
		b.WriteString(`
local nthreads = 0
setup = function(thread)
  thread:set("first", nthreads)
  nthreads = nthreads + 1
end
init = function(args)
  n = 0
end
request = function()
  local i = first + n * stride + 1
  n = n + 1
  local id = ids[i] or "btch_none"
  return wrk.format(nil, prefix .. id .. "/submit")
end
`)
	}
	b.WriteString(wrkDone)
	return b.String()
}

// wrkDone is the done() of every wrk script: it prints wrk's figures as
// one JSON line after "BATCHESBENCH " (wrkResult, which runWrk reads).
const wrkDone = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BATCHESBENCH {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,"timeouts":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.timeout, e.connect, e.read, e.write,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`

// luaString quotes s as a Lua string literal.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range []byte(s) {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(r)
		case r < 0x20 || r >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", r)
		default:
			b.WriteByte(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// runWrk runs wrk against url for d and returns what its script's done()
// printed.
func runWrk(e *env, wrk, url, script string, connections, threads int, d, timeout time.Duration) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(connections),
		"-d", fmt.Sprintf("%ds", max(1, int(d.Round(time.Second).Seconds()))),
		"--timeout", fmt.Sprintf("%ds", max(1, int(timeout.Round(time.Second).Seconds()))),
		"-s", script, url}
	cmd := exec.CommandContext(e.ctx, wrk, args...)
	cmd.SysProcAttr = childAttr()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	for line := range strings.Lines(string(out)) {
		if j, ok := strings.CutPrefix(line, "BATCHESBENCH "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				return wrkResult{}, fmt.Errorf("wrk's summary %q: %w", j, err)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no summary:\n%s%s", out, stderr.Bytes())
}

// procStatus is the field (VmRSS, VmHWM) of /proc/pid/status in bytes, or
// -1 when it cannot be read.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v) // "123456 kB"
			if len(f) == 2 && f[1] == "kB" {
				if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return n << 10
				}
			}
		}
	}
	return -1
}

func fmtMicros(us float64) string { return fmtSeconds(us / 1e6) }

func fmtRSS(n int64) string {
	if n < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// bucketName is "1k" for 1000, "1M" for 1000000, the number otherwise.
func bucketName(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	default:
		return strconv.Itoa(n)
	}
}

func (l *loadRuns) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### On loopback (wrk, %d connections, %d threads, %s a run)\n\n", l.connections, l.threads, l.duration)
	fmt.Fprintf(&b, "`batchesd` is the server binary (kin-openapi validation, API-key authentication, SQLite or PostgreSQL, request log at %s to a file, its default settings) over a bucket of 1k or 1M batches; `baseline` is the bare net/http + encoding/json server answering the same first page from memory, in its own process. A request of `all` is `{\"offset\": 0, \"limit\": L}`, of `status` the same with `\"status\": \"COMPLETED\"`, of `collection` with `\"collection_id\": \"col_products01\"`. ", l.logLevel)
	b.WriteString("**ratio** = the baseline's figure ÷ this one for latencies, this one ÷ the baseline's for requests/s: 1.00 is as fast as the baseline, 0.10 ten times slower. Peak RSS is the server's VmHWM after the run, since it started. Each run of batchesd comes minutes at most after the baseline's of the same request.\n\n")
	b.WriteString("| server | database | bucket | filter | limit | requests/s | ratio | p50 | ratio | p99 | ratio | answers ≥ 400 | socket errors | peak RSS |\n")
	b.WriteString("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range l.runs {
		if r.opName() != "list" || r.variant != "" || r.during != "" {
			continue
		}
		bl := l.baselineOf("list", r.filterName(), r.limit)
		if bl == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %.0f | %s | %s | %s | %s | %s | %d | %d | %s |\n",
			r.target, orDash(r.backend), sizeName(r.size), r.filterName(), r.limit, r.wrk.rps(), fmtRatio(r.wrk.rps()/bl.wrk.rps()),
			fmtMicros(r.wrk.P50US), fmtRatio(bl.wrk.P50US/r.wrk.P50US),
			fmtMicros(r.wrk.P99US), fmtRatio(bl.wrk.P99US/r.wrk.P99US),
			r.wrk.StatusErrors, r.wrk.socketErrors(), fmtRSS(r.peakRSS))
	}

	// What each setting buys.
	if vs := l.find(func(r *loadRun) bool { return r.variant != "" }); len(vs) > 0 {
		b.WriteString("\n**What each setting buys**: List at limit 100, every status, by batchesd with other settings than its defaults (each its own process over the same database), beside the defaults' run above. `no caches`: `--page-cache=0 --resolve-cache=0`, every request reads its key, its bucket and its page from the database, as before issue 13; `keys and buckets kept`: `--page-cache=0`, the key's organization and the bucket's resolution kept a second; `defaults`: pages kept too (32 MiB), every request reading its bucket's version.\n\n")
		b.WriteString("| database | bucket | settings | requests/s | ratio | p50 | p99 | answers ≥ 400 |\n|---|---|---|---:|---:|---:|---:|---:|\n")
		bl := l.baselineOf("list", "all", 100)
		for _, backend := range []string{"sqlite", "postgres"} {
			for _, r := range l.find(func(r *loadRun) bool {
				return r.backend == backend && r.opName() == "list" && r.filterName() == "all" && r.limit == 100 && r.during == ""
			}) {
				name := r.variant
				if name == "" {
					name = "defaults"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %s | %s | %s | %d |\n", backend, sizeName(r.size), name,
					r.wrk.rps(), fmtRatio(r.wrk.rps()/bl.wrk.rps()), fmtMicros(r.wrk.P50US), fmtMicros(r.wrk.P99US), r.wrk.StatusErrors)
			}
		}
	}

	// Under writes.
	if ws := l.find(func(r *loadRun) bool { return r.during == "writes" }); len(ws) > 0 {
		fmt.Fprintf(&b, "\n**Under writes**: List at limit 100, every status, while another process (batchesbench) imports a batch into the bucket every %s, one transaction each, so that the page listed changes with each. After each import its next request (a page of 1) must show it (`not seen` counts those that did not); a checker reads pages of 100 without pause, each of which must be one state of the bucket (sorted newest first, as many batches as `total_count` allows, the newest the import `total_count` counts last, `total_count` never falling). The imports are deleted after the run. **ratio** is to the baseline; **÷ idle** to the same server's run without writes above.\n\n", l.writeEvery)
		b.WriteString("| database | bucket | requests/s | ratio | ÷ idle | p50 | p99 | answers ≥ 400 | imports | not seen | pages checked | not a snapshot |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		bl := l.baselineOf("list", "all", 100)
		for _, r := range ws {
			idle := l.idleOf(r)
			fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %s | %s | %d | %d | %d | %d | %d |\n", r.backend, sizeName(r.size),
				r.wrk.rps(), fmtRatio(r.wrk.rps()/bl.wrk.rps()), ratioOr(r, idle), fmtMicros(r.wrk.P50US), fmtMicros(r.wrk.P99US), r.wrk.StatusErrors,
				r.writes.writes, r.writes.stale, r.writes.pages, r.writes.broken)
		}
	}

	// The other operations.
	if os := l.find(func(r *loadRun) bool { return r.opName() != "list" }); len(os) > 0 {
		b.WriteString("\n**The other operations**: GET of the bucket's newest batch, create of a batch of two objects, submit of the drafts create made (each once, in turn); the baseline answers each from memory with encoding/json (the same batch; a draft and a task the server made, with a new id and the request's objects), after decoding the body. The rows of create and submit are on a copy of the 1k bucket, by a server not processing. **ratio** = this one's answers below 400 a second ÷ the baseline's.\n\n")
		b.WriteString("| operation | server | database | bucket | answers < 400 a second | ratio | p50 | p99 | answers ≥ 400 | peak RSS |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, op := range []string{"get", "create", "submit"} {
			bl := l.baselineOf(op, "", 0)
			if bl != nil {
				fmt.Fprintf(&b, "| %s | baseline | — | — | %.0f | 1.00 | %s | %s | %d | %s |\n", strings.ToUpper(op[:1])+op[1:],
					bl.wrk.okRPS(), fmtMicros(bl.wrk.P50US), fmtMicros(bl.wrk.P99US), bl.wrk.StatusErrors, fmtRSS(bl.peakRSS))
			}
			for _, r := range os {
				if r.opName() != op {
					continue
				}
				ratio := "—"
				if bl != nil {
					ratio = fmtRatio(r.wrk.okRPS() / bl.wrk.okRPS())
				}
				fmt.Fprintf(&b, "| %s | batchesd | %s | %s | %.0f | %s | %s | %s | %d | %s |\n", strings.ToUpper(op[:1])+op[1:], r.backend, sizeName(r.size),
					r.wrk.okRPS(), ratio, fmtMicros(r.wrk.P50US), fmtMicros(r.wrk.P99US), r.wrk.StatusErrors, fmtRSS(r.peakRSS))
			}
		}
	}

	// Processing.
	if len(l.throughput) > 0 {
		b.WriteString("\n**Processing**: the queue's throughput: the batches submit left queued (at most the first 1000; the others canceled), each of the default two tiers, processed by a batchesd started with `--process-tier-duration 0` (tiers end as soon as their step runs) and 10 workers (its default), from its start to an empty queue (four steps a batch); then as many batches again, created and submitted anew, by one with 100 workers. Then List at limit 100 (every status) by a batchesd processing with its defaults (tiers of 3 s on average), idle, and while batchesbench keeps " + strconv.Itoa(l.processing) + " batches of the bucket being processed (creating and submitting one for each that ends): no baseline can process batches, so **÷ idle** is to the same server's idle run.\n\n")
		b.WriteString("| database | workers | batches | time | batches a second | steps a second |\n|---|---:|---:|---:|---:|---:|\n")
		for _, t := range l.throughput {
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %.0f | %.0f |\n", t.backend, t.workers, t.batches, t.elapsed.Round(time.Millisecond),
				float64(t.batches)/t.elapsed.Seconds(), 4*float64(t.batches)/t.elapsed.Seconds())
		}
		b.WriteString("\n| database | bucket | List | requests/s | ÷ idle | p50 | p99 | answers ≥ 400 | steps a second |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range l.find(func(r *loadRun) bool { return strings.HasPrefix(r.during, "idle") || r.during == "processing" }) {
			idle := l.processingIdleOf(r)
			steps := "—"
			if r.during == "processing" {
				steps = fmt.Sprintf("%.0f", r.steps)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %s | %s | %s | %d | %s |\n", r.backend, sizeName(r.size), r.during,
				r.wrk.rps(), ratioOr(r, idle), fmtMicros(r.wrk.P50US), fmtMicros(r.wrk.P99US), r.wrk.StatusErrors, steps)
		}
	}

	if s := l.soak; s != nil {
		fmt.Fprintf(&b, "\n**Soak**: batchesd over the %s bucket at limit %d, %d connections for %s.\n\n",
			bucketName(s.size), s.limit, l.connections, (time.Duration(s.wrk.DurationUS) * time.Microsecond).Round(time.Second))
		b.WriteString("| requests | requests/s | p50 | p99 | max | answers ≥ 400 | timeouts | connect/read/write errors | RSS before | RSS after | peak RSS |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %s | %d | %d | %d/%d/%d | %s | %s | %s |\n",
			s.wrk.Requests, s.wrk.rps(), fmtMicros(s.wrk.P50US), fmtMicros(s.wrk.P99US), fmtMicros(s.wrk.MaxUS),
			s.wrk.StatusErrors, s.wrk.Timeouts, s.wrk.ConnectErrors, s.wrk.ReadErrors, s.wrk.WriteErrors,
			fmtRSS(s.rssBefore), fmtRSS(s.rssAfter), fmtRSS(s.peakRSS))
	}
	b.WriteString("\nwrk counts an answer as an error when its status is 400 or more (it has no count of 1xx or 3xx, which this API never sends).\n")
	return b.String()
}

// idleOf is the run of the same server and request as r without writes.
func (l *loadRuns) idleOf(r *loadRun) *loadRun {
	for _, o := range l.find(func(o *loadRun) bool {
		return o.backend == r.backend && o.size == r.size && o.opName() == "list" && o.filterName() == r.filterName() &&
			o.limit == r.limit && o.variant == "" && o.during == ""
	}) {
		return o
	}
	return nil
}

// processingIdleOf is the idle run of the processing server of r.
func (l *loadRuns) processingIdleOf(r *loadRun) *loadRun {
	for _, o := range l.find(func(o *loadRun) bool { return o.backend == r.backend && strings.HasPrefix(o.during, "idle") }) {
		return o
	}
	return nil
}

// ratioOr is r's requests/s ÷ of's, or "—".
func ratioOr(r, of *loadRun) string {
	if of == nil || of.wrk.rps() == 0 {
		return "—"
	}
	return fmtRatio(r.wrk.rps() / of.wrk.rps())
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// sizeName is bucketName, or "—" for none.
func sizeName(n int) string {
	if n <= 0 {
		return "—"
	}
	return bucketName(n)
}

// baselineCmd serves the bare baseline for the load run.
type baselineCmd struct {
	From    string `required:"" help:"Base URL of a server of the seeded bucket, whose first pages the baseline serves."`
	OpsFrom string `help:"Base URL of a server of a copy of the seeded bucket, on which the baseline creates and submits a batch to answer create and submit as it did."`
	Addr    string `default:"127.0.0.1:0" help:"Address to listen on."`
}

func (c *baselineCmd) Run(e *env) error {
	bl, err := benchmark.LoadBaseline(e.ctx, http.DefaultClient, c.From, benchmark.FilterStatus)
	if err != nil {
		return err
	}
	if c.OpsFrom != "" {
		draft, task, err := benchmark.LoadOps(e.ctx, http.DefaultClient, c.OpsFrom)
		if err != nil {
			return err
		}
		bl.SetOps(draft, task)
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	// Bare: no timeouts, no logging, nothing but the handler.
	srv := &http.Server{Handler: bl}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(e.stdout, "listening %s\n", ln.Addr())
	select {
	case err := <-served:
		return err
	case <-e.ctx.Done():
	}
	return srv.Close()
}
