package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// hostileCmd is the load run of the hostile-clients issue: the batchesd
// binary, with its default bounds, under the rows of the issue, while a
// second tenant sends small requests; it reports the server's peak RSS,
// the second tenant's latencies and the RSS once the attack has stopped.
type hostileCmd struct {
	Duration    time.Duration `default:"30s" help:"Length of each row's attack (row 7: each of its two runs takes half)."`
	Settle      time.Duration `default:"30s" help:"How long after each row the RSS is read again."`
	Connections int           `default:"64" help:"Connections of rows 1, 4, 5 and 7 (wrk -c; row 5: slow bodies)."`
	SlowReaders int           `default:"5000" help:"Slow readers of row 2 (each a connection with a 4 KiB receive buffer that never reads)."`
	LimitsConns int           `default:"16" help:"Connections of row 3, listing pages of 1000 batches at the size limits, and never-reading connections of row 6."`
	Tenant      int           `default:"4" help:"Connections of the second tenant, each sending a small request every 20 ms."`
	Rows        []int         `default:"1,2,3,4,5,6,7" help:"The rows to run."`
	Write       string        `help:"Also write the report into this file, between its lines '${hbegin}' and '${hend}'." type:"path" placeholder:"FILE"`
	ServerLog   string        `help:"Keep batchesd's log (its stderr: with GODEBUG=gctrace=1 in the environment, the collector's lines too) in this file." type:"path" placeholder:"FILE"`
}

// The lines of BENCHMARKS.md between which hostile --write puts its report.
const (
	hostileBegin = "<!-- BEGIN batchesbench hostile -->"
	hostileEnd   = "<!-- END batchesbench hostile -->"
)

// The second tenant and the bucket at the limits, added to a copy of the
// cached 1k database.
const (
	secondKey    = "sk_second_tenant_5e7d1a9c3b"
	secondBucket = "bkt_second"
	limitsKey    = "sk_limits_tenant_8c2e4f6a1d"
	limitsBucket = "bkt_limits"
)

// hostileRow is one row's figures.
type hostileRow struct {
	name, load               string
	target                   int64 // peak RSS target, bytes; 0 for none
	idle, peak, after        int64
	afterParts               string // anonymous and file-backed parts of after
	tenant                   latencies
	attack                   string // what the attack got
	attackErr                error
	secondTenantTargetMillis int
}

type latencies struct {
	n, failed int
	statuses  map[int]int
	p50, p99  time.Duration
	max       time.Duration
}

func (c *hostileCmd) Run(e *env) error {
	if c.Write != "" {
		if _, err := replaceBetween(c.Write, hostileBegin, hostileEnd, ""); err != nil {
			return err
		}
	}
	start := time.Now()
	loadBefore := loadAverage()
	rows, idle, err := c.run(e)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Run of %s\n\n", start.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s; %d CPUs; %s of memory; Linux %s; load average %s before, %s after.\n",
		cpuModel(), runtime.NumCPU(), memTotal(), readTrim("/proc/sys/kernel/osrelease"), loadBefore, loadAverage())
	fmt.Fprintf(&b, "- %s; commit %s; `go run ./cmd/batchesbench %s` (%s in all).\n",
		command(e, "go", "env", "GOVERSION"), commit(e), strings.Join(e.args, " "), time.Since(start).Round(time.Second))
	fmt.Fprintf(&b, "- batchesd with its default bounds (64 requests in flight, 48 an organization; 1 s queue; 256 MiB of answer memory, 128 MiB an organization; 64 MiB of bodies; 10 s a 64 KiB of an answer; 10,000 connections; GOGC 400, GOMEMLIMIT 512 MiB) and no rate limit (`--rate-limit 0`: the bounds are measured, not the rate limit, which would answer most of one key's requests 429 before their bodies are read), SQLite, request log at info to a file; idle RSS %s.\n\n", fmtRSS(idle))
	b.WriteString(c.markdown(rows))
	fmt.Fprint(e.stdout, b.String())
	if c.Write != "" {
		if _, err := replaceBetween(c.Write, hostileBegin, hostileEnd, b.String()); err != nil {
			return err
		}
		e.progress("report written into %s", c.Write)
	}
	return nil
}

func (c *hostileCmd) markdown(rows []hostileRow) string {
	var b strings.Builder
	b.WriteString("| row | load | peak RSS | target | RSS " + c.Settle.String() + " after | second tenant: requests, not 200, p50, p99, max | p99 < 1 s | what the attack got |\n")
	b.WriteString("|---|---|---:|---|---:|---|---|---|\n")
	for _, r := range rows {
		target, verdict := "none: the figure", ""
		if r.target > 0 {
			target = "< " + fmtRSS(r.target)
			verdict = " (met)"
			if r.peak >= r.target {
				verdict = " (**not met**)"
			}
		}
		p99 := "met"
		if r.tenant.p99 >= time.Second || r.tenant.n == 0 {
			p99 = "**not met**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s%s | %s (%s) | %d, %d, %s, %s, %s | %s | %s |\n",
			r.name, r.load, fmtRSS(r.peak), target, verdict, fmtRSS(r.after), r.afterParts,
			r.tenant.n, r.tenant.failed, fmtDur(r.tenant.p50), fmtDur(r.tenant.p99), fmtDur(r.tenant.max), p99, r.attack)
	}
	b.WriteString("\nPeak RSS is the server's VmHWM over the row (reset before it through /proc/PID/clear_refs); RSS after is its VmRSS " + c.Settle.String() + " after the attack stopped, with no traffic. The second tenant is another organization listing 10 batches of its own bucket over keep-alive connections opened before the attack.\n")
	return b.String()
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmtSeconds(d.Seconds())
}

func (c *hostileCmd) run(e *env) ([]hostileRow, int64, error) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return nil, 0, errors.New("wrk not found: install it (apt-get install wrk; make bench does)")
	}
	root, err := moduleRoot(e)
	if err != nil {
		return nil, 0, err
	}
	tmp, err := os.MkdirTemp("", "batchesbench-hostile-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "batchesd")
	e.progress("building batchesd")
	build := exec.CommandContext(e.ctx, "go", "build", "-o", bin, "./cmd/batchesd")
	build.Dir, build.Stdout, build.Stderr = root, e.stderr, e.stderr
	if err := build.Run(); err != nil {
		return nil, 0, fmt.Errorf("building batchesd: %w", err)
	}
	dbPath, err := c.prepareDB(e, tmp)
	if err != nil {
		return nil, 0, err
	}
	s, err := startServer(e, "batchesd", filepath.Join(tmp, "batchesd.log"), bin,
		"--database", dbPath, "--log-format", "json", "serve", "--addr", "127.0.0.1:0", "--no-demo", "--rate-limit", "0")
	if err != nil {
		return nil, 0, err
	}
	defer s.stop()
	if c.ServerLog != "" {
		defer func() {
			if b, err := os.ReadFile(s.log); err == nil {
				_ = os.WriteFile(c.ServerLog, b, 0o644)
			}
		}()
	}
	pid := s.cmd.Process.Pid
	if err := probe(e, s, 10); err != nil {
		return nil, 0, err
	}
	time.Sleep(2 * time.Second)
	idle := procStatus(pid, "VmRSS")
	e.progress("idle RSS %s", fmtRSS(idle))

	bodies := benchmark.HostileBodies()
	maps.Copy(bodies, benchmark.LargeScalarBodies())
	for name, body := range bodies {
		if err := os.WriteFile(filepath.Join(tmp, name+".json"), body, 0o644); err != nil {
			return nil, 0, err
		}
	}
	script := filepath.Join(tmp, "row1.lua")
	if err := os.WriteFile(script, []byte(bodiesScript(tmp, "ints", "unknown", "nested")), 0o644); err != nil {
		return nil, 0, err
	}
	scalarsScript := filepath.Join(tmp, "row4.lua")
	if err := os.WriteFile(scalarsScript, []byte(bodiesScript(tmp, "status", "limit", "string")), 0o644); err != nil {
		return nil, 0, err
	}
	ordinary := map[int]string{}
	for _, limit := range []int{100, 1000} {
		ordinary[limit] = filepath.Join(tmp, fmt.Sprintf("row7-%d.lua", limit))
		if err := os.WriteFile(ordinary[limit], []byte(wrkScript(limit)), 0o644); err != nil {
			return nil, 0, err
		}
	}
	limitsScript := filepath.Join(tmp, "row3.lua")
	if err := os.WriteFile(limitsScript, []byte(row3Script()), 0o644); err != nil {
		return nil, 0, err
	}

	var rows []hostileRow
	tenantBody := `{"limit":10}`
	measure := func(name, load string, target int64, attack func(ctx context.Context) (string, error)) error {
		if n, _ := strconv.Atoi(name); !slices.Contains(c.Rows, n) {
			return nil
		}
		e.progress("%s: %s for %s", name, load, c.Duration)
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) // resets VmHWM
		row := hostileRow{name: name, load: load, target: target, idle: procStatus(pid, "VmRSS")}
		ctx, cancel := context.WithCancel(e.ctx)
		tenant := make(chan latencies, 1)
		go func() { tenant <- secondTenant(ctx, s.url, c.Tenant, tenantBody) }()
		row.attack, row.attackErr = attack(ctx)
		cancel()
		row.tenant = <-tenant
		row.peak = procStatus(pid, "VmHWM")
		if row.attackErr != nil {
			return row.attackErr
		}
		e.progress("  peak RSS %s; second tenant p99 %s (%d requests, %d not 200); %s", fmtRSS(row.peak), fmtDur(row.tenant.p99), row.tenant.n, row.tenant.failed, row.attack)
		e.progress("  settling for %s", c.Settle)
		select {
		case <-time.After(c.Settle):
		case <-e.ctx.Done():
			return e.ctx.Err()
		}
		row.after, row.afterParts = procStatus(pid, "VmRSS"), memoryParts(pid)
		e.progress("  RSS %s after %s (%s)", fmtRSS(row.after), c.Settle, row.afterParts)
		rows = append(rows, row)
		return nil
	}
	if err := measure("1", fmt.Sprintf("%d connections (wrk) sending the three bodies of row 1 in turn: an 800 KB array of integers, {\"limit\":10,\"x\":[100,000 integers]}, 9,999 nested arrays", c.Connections), 512<<20,
		func(ctx context.Context) (string, error) {
			res, err := runWrk(e, wrk, s.url, script, c.Connections, min(runtime.NumCPU(), c.Connections), c.Duration, 10*time.Second)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d requests (%.0f/s), %d socket errors", res.Requests, res.rps(), res.socketErrors()), nil
		}); err != nil {
		return nil, 0, err
	}
	if err := measure("2", fmt.Sprintf("%d slow readers: each asks for a page of 1000 batches (660 KB) with a 4 KiB receive buffer and never reads; a connection is dropped and opened again every 12 s", c.SlowReaders), 1<<30,
		func(ctx context.Context) (string, error) {
			return slowReaders(ctx, s.url, c.SlowReaders, c.Duration)
		}); err != nil {
		return nil, 0, err
	}
	if err := measure("3", fmt.Sprintf("%d connections (wrk) listing pages of 1000 batches of a bucket at the limits (each batch 32 KiB of JSON: a page of 32 MiB)", c.LimitsConns), 0,
		func(ctx context.Context) (string, error) {
			res, err := runWrk(e, wrk, s.url, limitsScript, c.LimitsConns, min(runtime.NumCPU(), c.LimitsConns), c.Duration, 30*time.Second)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d pages (%.1f/s, %.0f MB/s), %d answers ≥ 400 (503: answer memory held), %d socket errors",
				res.Requests-res.StatusErrors, float64(res.Requests-res.StatusErrors)/(float64(res.DurationUS)/1e6),
				float64(res.Bytes)/(float64(res.DurationUS)/1e6)/1e6, res.StatusErrors, res.socketErrors()), nil
		}); err != nil {
		return nil, 0, err
	}
	if err := measure("4", fmt.Sprintf("%d connections (wrk) sending the large scalars in turn, 1,000,000 bytes each: {\"status\":\"<a string>\"}, {\"limit\":<digits>}, a body that is one string", c.Connections), 512<<20,
		func(ctx context.Context) (string, error) {
			res, err := runWrk(e, wrk, s.url, scalarsScript, c.Connections, min(runtime.NumCPU(), c.Connections), c.Duration, 10*time.Second)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%d requests (%.0f/s), %d socket errors", res.Requests, res.rps(), res.socketErrors()), nil
		}); err != nil {
		return nil, 0, err
	}
	if err := measure("5", fmt.Sprintf("%d connections sending a List Batches body of 100 bytes a byte every 2 s (each opened again when the server closes it)", c.Connections), 512<<20,
		func(ctx context.Context) (string, error) {
			return slowBodies(ctx, s.url, c.Connections, c.Duration)
		}); err != nil {
		return nil, 0, err
	}
	tenantBody = `{"limit":1000}`
	if err := measure("6", fmt.Sprintf("%d connections asking for pages of 1000 batches (660 KB) with a 4 KiB receive buffer, never reading; the second tenant lists with limit 1000 (its 100 batches)", c.LimitsConns), 1<<30,
		func(ctx context.Context) (string, error) {
			return slowReaders(ctx, s.url, c.LimitsConns, c.Duration)
		}); err != nil {
		return nil, 0, err
	}
	tenantBody = `{"limit":10}`
	if err := measure("7", fmt.Sprintf("ordinary load: %d connections (wrk) listing the 1k bucket, limit 100 for %s then limit 1000 for %s", c.Connections, c.Duration/2, c.Duration/2), 512<<20,
		func(ctx context.Context) (string, error) {
			var parts []string
			for _, limit := range []int{100, 1000} {
				res, err := runWrk(e, wrk, s.url, ordinary[limit], c.Connections, min(runtime.NumCPU(), c.Connections), c.Duration/2, 10*time.Second)
				if err != nil {
					return "", err
				}
				parts = append(parts, fmt.Sprintf("limit %d: %d requests (%.0f/s), p99 %s, %d answers ≥ 400 (503), %d socket errors",
					limit, res.Requests, res.rps(), fmtDur(time.Duration(res.P99US)*time.Microsecond), res.StatusErrors, res.socketErrors()))
			}
			return strings.Join(parts, "; "), nil
		}); err != nil {
		return nil, 0, err
	}
	return rows, idle, s.stop()
}

// prepareDB copies the cached 1k database into dir (copyDB: with what its
// write-ahead log holds) and adds the second
// tenant (100 small batches) and the bucket at the limits (1000 batches of
// about domain.MaxBatchBytes each).
func (c *hostileCmd) prepareDB(e *env, dir string) (string, error) {
	src, err := benchmark.CachedDB(e.ctx, 1000, e.stderr)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "hostile.db")
	if err := copyDB(e.ctx, src, dst); err != nil {
		return "", err
	}
	db, err := sqlite.Open(e.ctx, dst)
	if err != nil {
		return "", err
	}
	defer db.Close()
	for _, t := range []struct {
		tenant domain.Tenant
		make   func(i int, at time.Time) domain.Batch
		n      int
	}{
		{domain.Tenant{Organization: "Second", Namespace: "second", BucketName: "second", BucketID: secondBucket, APIKey: secondKey},
			func(i int, at time.Time) domain.Batch {
				return domain.Batch{BatchID: fmt.Sprintf("btch_second%05d", i), Status: batches.TaskStatusCompleted, Type: batches.BatchTypeBucket,
					TotalTiers: 1, CreatedAt: at, UpdatedAt: at, ObjectIDs: []string{"obj_1", "obj_2"}}
			}, 100},
		{domain.Tenant{Organization: "Limits", Namespace: "limits", BucketName: "limits", BucketID: limitsBucket, APIKey: limitsKey},
			func(i int, at time.Time) domain.Batch {
				return benchmark.LargestBatch(fmt.Sprintf("btch_limits%05d", i), at)
			}, 1000},
	} {
		if _, err := domain.CreateTenant(e.ctx, db, t.tenant); err != nil {
			return "", err
		}
		bs := make([]domain.Batch, t.n)
		for i := range bs {
			bs[i] = t.make(i, time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC))
		}
		if err := db.InsertBatches(e.ctx, t.tenant.BucketID, bs); err != nil {
			return "", err
		}
	}
	return dst, nil
}

// bodiesScript is wrk's script of rows 1 and 4: the bodies of names (files
// name.json in dir), in turn.
func bodiesScript(dir string, names ...string) string {
	var b strings.Builder
	b.WriteString("local bodies = {}\n")
	for _, name := range names {
		fmt.Fprintf(&b, "do local f = assert(io.open(%s, \"rb\")); bodies[#bodies+1] = f:read(\"*a\"); f:close() end\n",
			luaString(filepath.Join(dir, name+".json")))
	}
	b.WriteString("wrk.method = \"POST\"\n")
	for k, v := range benchmark.Headers() {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaString(k), luaString(v))
	}
	fmt.Fprintf(&b, "local path = %s\nlocal i = 0\n", luaString(benchmark.Path))
	b.WriteString("request = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, path, nil, bodies[i])\nend\n")
	b.WriteString(wrkDone)
	return b.String()
}

// row3Script lists pages of 1000 of the bucket at the limits.
func row3Script() string {
	var b strings.Builder
	b.WriteString("wrk.method = \"POST\"\n")
	fmt.Fprintf(&b, "wrk.body = %s\n", luaString(`{"limit":1000}`))
	fmt.Fprintf(&b, "wrk.headers[\"Authorization\"] = %s\n", luaString("Bearer "+limitsKey))
	b.WriteString("wrk.headers[\"X-Namespace\"] = \"limits\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n")
	fmt.Fprintf(&b, "wrk.path = %s\n", luaString("/v1/buckets/"+limitsBucket+"/batches/list"))
	b.WriteString(wrkDone)
	return b.String()
}

// secondTenant lists batches of the second tenant's bucket (body) on
// workers keep-alive connections, one request every 20 ms each, until ctx
// is done.
func secondTenant(ctx context.Context, baseURL string, workers int, body string) latencies {
	var (
		mu  sync.Mutex
		all []time.Duration
		out = latencies{statuses: map[int]int{}}
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodPost, baseURL+"/v1/buckets/"+secondBucket+"/batches/list", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+secondKey)
				req.Header.Set("X-Namespace", "second")
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				d := time.Since(start)
				mu.Lock()
				all = append(all, d)
				out.statuses[status]++
				if status != http.StatusOK {
					out.failed++
				}
				mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(all)
	out.n = len(all)
	if len(all) > 0 {
		out.p50 = all[len(all)/2]
		out.p99 = all[min(len(all)-1, len(all)*99/100)]
		out.max = all[len(all)-1]
	}
	return out
}

// slowReaders keeps n connections that each ask for a page of 1000 batches
// of the benchmark's bucket and never read, with a 4 KiB receive buffer;
// each is dropped and opened again every 12 s (past the server's 10 s
// schedule), for d. They are opened over the first 5 s.
func slowReaders(ctx context.Context, baseURL string, n int, d time.Duration) (string, error) {
	addr := strings.TrimPrefix(baseURL, "http://")
	body := `{"limit":1000}`
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\n", benchmark.Path, addr)
	for k, v := range benchmark.Headers() {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n%s", len(body), body)
	request := []byte(head.String())
	dialer := net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	end := time.Now().Add(d)
	var opened, failed, peakOpen, open atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			select { // ramp over 5 s
			case <-time.After(time.Duration(i) * 5 * time.Second / time.Duration(n)):
			case <-ctx.Done():
				return
			}
			for time.Now().Before(end) && ctx.Err() == nil {
				conn, err := dialer.DialContext(ctx, "tcp", addr)
				if err != nil {
					failed.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				opened.Add(1)
				if v := open.Add(1); v > peakOpen.Load() {
					peakOpen.Store(v)
				}
				_, _ = conn.Write(request)
				select {
				case <-time.After(min(12*time.Second, time.Until(end))):
				case <-ctx.Done():
				}
				conn.Close()
				open.Add(-1)
			}
		})
	}
	wg.Wait()
	return fmt.Sprintf("%d connections opened (%d open at most), %d failed to connect", opened.Load(), peakOpen.Load(), failed.Load()), nil
}

// slowBodies keeps n connections that each send a List Batches request of
// the benchmark's bucket declaring a body of 100 bytes, and send it a byte
// every 2 s; a connection the server closes (or answers) is opened again,
// for d. It reports what the server answered them.
func slowBodies(ctx context.Context, baseURL string, n int, d time.Duration) (string, error) {
	addr := strings.TrimPrefix(baseURL, "http://")
	body := []byte(`{"limit":10}` + strings.Repeat(" ", 100-len(`{"limit":10}`)))
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\n", benchmark.Path, addr)
	for k, v := range benchmark.Headers() {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", len(body))
	end := time.Now().Add(d)
	var (
		mu      sync.Mutex
		answers = map[int]int{}
		opened  atomic.Int64
		wg      sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				opened.Add(1)
				answered := make(chan int, 1)
				go func() { // the server's answer, if it gives one
					status := 0
					if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
						status = resp.StatusCode
						resp.Body.Close()
					}
					answered <- status
				}()
				_, err = io.WriteString(conn, head.String())
				for i := 0; err == nil && i < len(body); i++ {
					if _, err = conn.Write(body[i : i+1]); err != nil {
						break
					}
					select {
					case status := <-answered:
						answered <- status
						err = io.EOF
					case <-time.After(2 * time.Second):
					case <-ctx.Done():
						err = ctx.Err()
					}
					if time.Now().After(end) {
						err = io.EOF
					}
				}
				conn.Close()
				if status := <-answered; status != 0 {
					mu.Lock()
					answers[status]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	keys := slices.Sorted(maps.Keys(answers))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %d", answers[k], k))
	}
	got := "none"
	if len(parts) > 0 {
		got = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%d connections opened; answers to them: %s", opened.Load(), got), nil
}

// memoryParts is the anonymous and file-backed parts of the RSS of pid,
// from /proc/pid/status.
func memoryParts(pid int) string {
	return fmt.Sprintf("anonymous %s, files %s", fmtRSS(procStatus(pid, "RssAnon")), fmtRSS(procStatus(pid, "RssFile")))
}
