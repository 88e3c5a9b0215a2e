package main

import (
	"bytes"
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
)

type loadCmd struct {
	Connections int           `short:"c" default:"64" help:"Open connections (wrk -c)."`
	Threads     int           `short:"t" default:"0" help:"wrk threads (wrk -t); 0 means one a CPU."`
	Duration    time.Duration `short:"d" default:"10s" help:"Length of each measured run (whole seconds)."`
	Warmup      time.Duration `default:"2s" help:"Length of the unmeasured run before each measured one; 0 skips it."`
	Soak        time.Duration `default:"30s" help:"Length of the last run, against the largest bucket at limit 100, for errors and memory; 0 skips it."`
	Limits      []int         `default:"100,1000" help:"Limits measured."`
	Sizes       []int         `default:"1000,1000000" help:"Sizes of the buckets measured, in batches; each has its own database and server."`
	Timeout     time.Duration `default:"10s" help:"wrk --timeout: an answer slower than this counts as a timeout error."`
	LogLevel    string        `default:"info" enum:"debug,info,warn,error" help:"batchesd --log-level; at info, its default, it logs a line a request, as in production."`
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

// socketErrors are the connect, read and write errors and timeouts.
func (r wrkResult) socketErrors() int64 {
	return r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.Timeouts
}

// loadRun is one measured wrk run.
type loadRun struct {
	target string // "baseline" or "batchesd"
	size   int    // the bucket's batches; 0 for the baseline
	limit  int
	wrk    wrkResult
	// peakRSS is the server's VmHWM after the run (its peak since it
	// started), rssBefore and rssAfter its VmRSS before and after; bytes,
	// -1 when unknown.
	peakRSS, rssBefore, rssAfter int64
}

// loadRuns are the runs of one load command.
type loadRuns struct {
	connections, threads int
	duration             time.Duration
	logLevel             string
	runs                 []loadRun
	soak                 *loadRun
}

// baselineRun is the baseline's run at limit, if any.
func (l *loadRuns) baselineRun(limit int) *loadRun {
	for i := range l.runs {
		if r := &l.runs[i]; r.target == "baseline" && r.limit == limit {
			return r
		}
	}
	return nil
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

	bin := filepath.Join(tmp, "batchesd")
	e.progress("building batchesd")
	build := exec.CommandContext(e.ctx, "go", "build", "-o", bin, "./cmd/batchesd")
	build.Dir, build.Stdout, build.Stderr = root, e.stderr, e.stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building batchesd: %w", err)
	}

	var servers []*process
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	bySize := map[int]*process{}
	for _, n := range c.Sizes {
		db, err := benchmark.CachedDB(e.ctx, n, e.stderr)
		if err != nil {
			return nil, err
		}
		s, err := startServer(e, fmt.Sprintf("batchesd-%d", n), filepath.Join(tmp, fmt.Sprintf("batchesd-%d.log", n)),
			bin, "--database", db, "--log-level", c.LogLevel, "--log-format", "json", "serve", "--addr", "127.0.0.1:0", "--no-demo",
			// One key makes every request: the server is measured, not its
			// rate limit.
			"--rate-limit", "0")
		if err != nil {
			return nil, err
		}
		servers = append(servers, s)
		bySize[n] = s
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// The baseline serves what the server of the first bucket answers: the
	// first pages of every bucket seeded are the same batches.
	baseline, err := startServer(e, "baseline", filepath.Join(tmp, "baseline.log"),
		self, "baseline", "--from", bySize[c.Sizes[0]].url, "--addr", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	servers = append(servers, baseline)

	out := &loadRuns{connections: c.Connections, threads: threads, duration: c.Duration, logLevel: c.LogLevel}
	measure := func(s *process, size, limit int, d time.Duration) (loadRun, error) {
		script := filepath.Join(tmp, fmt.Sprintf("limit-%d.lua", limit))
		if err := os.WriteFile(script, []byte(wrkScript(limit)), 0o644); err != nil {
			return loadRun{}, err
		}
		if err := probe(e, s, limit); err != nil {
			return loadRun{}, err
		}
		if c.Warmup > 0 {
			e.progress("%s, limit %d: warming up for %s", s.name, limit, c.Warmup)
			if _, err := runWrk(e, wrk, s.url, script, c.Connections, threads, c.Warmup, c.Timeout); err != nil {
				return loadRun{}, err
			}
		}
		e.progress("%s, limit %d: %d connections for %s", s.name, limit, c.Connections, d)
		pid := s.cmd.Process.Pid
		run := loadRun{target: "batchesd", size: size, limit: limit, rssBefore: procStatus(pid, "VmRSS")}
		if size == 0 {
			run.target = "baseline"
		}
		res, err := runWrk(e, wrk, s.url, script, c.Connections, threads, d, c.Timeout)
		if err != nil {
			return loadRun{}, err
		}
		run.wrk = res
		run.peakRSS, run.rssAfter = procStatus(pid, "VmHWM"), procStatus(pid, "VmRSS")
		e.progress("  %.0f requests/s, p50 %s, p99 %s, %d answers ≥ 400, %d socket errors, peak RSS %s",
			res.rps(), fmtMicros(res.P50US), fmtMicros(res.P99US), res.StatusErrors, res.socketErrors(), fmtRSS(run.peakRSS))
		return run, nil
	}

	for _, limit := range c.Limits {
		r, err := measure(baseline, 0, limit, c.Duration)
		if err != nil {
			return nil, err
		}
		out.runs = append(out.runs, r)
		for _, n := range c.Sizes {
			r, err := measure(bySize[n], n, limit, c.Duration)
			if err != nil {
				return nil, err
			}
			out.runs = append(out.runs, r)
		}
	}
	if c.Soak > 0 {
		largest := slices.Max(c.Sizes)
		r, err := measure(bySize[largest], largest, 100, c.Soak)
		if err != nil {
			return nil, err
		}
		out.soak = &r
	}
	for _, s := range servers {
		if err := s.stop(); err != nil {
			return nil, err
		}
	}
	return out, nil
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

// probe sends the request of the load run once and checks it answers 200
// with a ListBatchesResponse.
func probe(e *env, s *process, limit int) error {
	if _, err := benchmark.Fetch(e.ctx, http.DefaultClient, s.url, benchmark.Body("", 0, limit)); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

// wrkScript is the Lua script of a run at limit: the request, and a done()
// that prints the figures as one JSON line after "BATCHESBENCH ".
func wrkScript(limit int) string {
	var b strings.Builder
	b.WriteString("wrk.method = \"POST\"\n")
	fmt.Fprintf(&b, "wrk.body = %s\n", luaString(string(benchmark.Body("", 0, limit))))
	for k, v := range benchmark.Headers() {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaString(k), luaString(v))
	}
	fmt.Fprintf(&b, "wrk.path = %s\n", luaString(benchmark.Path))
	b.WriteString(`
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BATCHESBENCH {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,"timeouts":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.timeout, e.connect, e.read, e.write,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`)
	return b.String()
}

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
	fmt.Fprintf(&b, "`batchesd` is the server binary (kin-openapi validation, API-key authentication, SQLite, request log at %s to a file) over a bucket of 1k or 1M batches; `baseline` is the bare net/http + encoding/json server answering the same first page from memory, in its own process. Every request is `{\"offset\": 0, \"limit\": L}` (every status). ", l.logLevel)
	b.WriteString("**ratio** = the baseline's figure ÷ this one for latencies, this one ÷ the baseline's for requests/s: 1.00 is as fast as the baseline, 0.10 ten times slower. Peak RSS is the server's VmHWM after the run, since it started. Runs go limit by limit, the baseline first, so that the figures compared are minutes apart at most.\n\n")
	b.WriteString("| server | bucket | limit | requests/s | ratio | p50 | ratio | p99 | ratio | answers ≥ 400 | socket errors | peak RSS |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range l.runs {
		bl := l.baselineRun(r.limit)
		bucket := "—"
		if r.size > 0 {
			bucket = bucketName(r.size)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %s | %s | %s | %s | %d | %d | %s |\n",
			r.target, bucket, r.limit, r.wrk.rps(), fmtRatio(r.wrk.rps()/bl.wrk.rps()),
			fmtMicros(r.wrk.P50US), fmtRatio(bl.wrk.P50US/r.wrk.P50US),
			fmtMicros(r.wrk.P99US), fmtRatio(bl.wrk.P99US/r.wrk.P99US),
			r.wrk.StatusErrors, r.wrk.socketErrors(), fmtRSS(r.peakRSS))
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

// baselineCmd serves the bare baseline for the load run.
type baselineCmd struct {
	From string `required:"" help:"Base URL of a server of the seeded bucket, whose first pages the baseline serves."`
	Addr string `default:"127.0.0.1:0" help:"Address to listen on."`
}

func (c *baselineCmd) Run(e *env) error {
	bl, err := benchmark.LoadBaseline(e.ctx, http.DefaultClient, c.From, benchmark.FilterStatus)
	if err != nil {
		return err
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
