package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mixpeekgo/batches/api/benchmark"
)

// driversCmd compares the SQLite drivers api/sqlite can be built with
// (api/sqlite/driver*.go) in one run, each as ratios to the baseline.
type driversCmd struct {
	Duration time.Duration `default:"10s" help:"Length of each measured wrk run."`
	Warmup   time.Duration `default:"2s" help:"Length of the unmeasured run before each measured one."`
	Cold     bool          `default:"true" negatable:"" help:"Measure each build from empty module and build caches (downloads every module: minutes)."`
	Sizes    []int         `default:"1000,1000000" help:"Buckets served."`
	Write    string        `help:"Also write the report into this file, between its lines '${dbegin}' and '${dend}'." type:"path" placeholder:"FILE"`
}

// The lines of BENCHMARKS.md between which drivers --write puts its report.
const (
	driversBegin = "<!-- BEGIN batchesbench drivers -->"
	driversEnd   = "<!-- END batchesbench drivers -->"
)

// sqliteDriver is a build of batchesd with one driver.
type sqliteDriver struct {
	name, tags string
	cgo        bool
}

var sqliteDrivers = []sqliteDriver{
	{name: "modernc.org/sqlite (default)"},
	{name: "github.com/ncruces/go-sqlite3", tags: "sqlite_ncruces"},
	{name: "github.com/mattn/go-sqlite3 (cgo)", tags: "sqlite_mattn", cgo: true},
}

// driverResult is what was measured of a driver.
type driverResult struct {
	d          sqliteDriver
	coldBuild  time.Duration // 0: not measured
	modules    int           // module zips the cold build downloaded
	zipBytes   int64
	binary     int64
	rps        map[string]float64 // by "1k/100"
	firstPage  float64            // p50 of one connection, µs, the 1M bucket at limit 100
	peakRSS    int64
	buildError string
}

func (c *driversCmd) Run(e *env) error {
	if c.Write != "" {
		if _, err := replaceBetween(c.Write, driversBegin, driversEnd, ""); err != nil {
			return err
		}
	}
	start, loadBefore := time.Now(), loadAverage()
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("wrk not found: install it (apt-get install wrk)")
	}
	root, err := moduleRoot(e)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "batchesbench-drivers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b := &bench{c: &loadCmd{Connections: 64, Duration: c.Duration, Warmup: c.Warmup, Timeout: 10 * time.Second, LogLevel: "info"},
		e: e, wrk: wrk, threads: runtime.NumCPU(), tmp: tmp, out: &loadRuns{}}
	defer func() {
		for _, s := range b.servers {
			s.stop()
		}
	}()

	var results []*driverResult
	for i, d := range sqliteDrivers {
		r := &driverResult{d: d, rps: map[string]float64{}}
		results = append(results, r)
		bin := filepath.Join(tmp, fmt.Sprintf("batchesd-%d", i))
		if c.Cold {
			cache := filepath.Join(tmp, fmt.Sprintf("cold-%d", i))
			e.progress("%s: building from empty caches (load average %s)", d.name, loadAverage())
			t0 := time.Now()
			if err := goBuild(e, root, d, bin, cache); err != nil {
				r.buildError = err.Error()
				continue
			}
			r.coldBuild = time.Since(t0)
			r.modules, r.zipBytes = zips(filepath.Join(cache, "mod", "cache", "download"))
			e.progress("  %s, %d modules downloaded (%.0f MB of zips)", r.coldBuild.Round(time.Second), r.modules, float64(r.zipBytes)/1e6)
			// The module cache is read-only unless told; let RemoveAll in.
			_ = exec.Command("chmod", "-R", "u+w", cache).Run()
			_ = os.RemoveAll(cache)
		} else if err := goBuild(e, root, d, bin, ""); err != nil {
			r.buildError = err.Error()
			continue
		}
		if st, err := os.Stat(bin); err == nil {
			r.binary = st.Size()
		}
	}

	dbs := map[int]string{}
	for _, n := range c.Sizes {
		if dbs[n], err = benchmark.CachedDB(e.ctx, n, e.stderr); err != nil {
			return err
		}
	}
	first, err := b.startWith(filepath.Join(tmp, "batchesd-0"), "batchesd-first", "--database", dbs[c.Sizes[0]], "--no-processing")
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	baseline, err := startServer(e, "baseline", filepath.Join(tmp, "baseline.log"), self, "baseline", "--from", first.url, "--addr", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.servers = append(b.servers, baseline)
	first.stop()
	base := map[string]float64{}
	for _, limit := range []int{100, 1000} {
		r := loadRun{target: "baseline", op: "list", limit: limit}
		run, err := b.measureRequest(baseline, r, r.request(), c.Duration, nil)
		if err != nil {
			return err
		}
		base[fmt.Sprint(limit)] = run.wrk.rps()
	}
	baseFirst, err := b.oneConnection(baseline)
	if err != nil {
		return err
	}
	for i, r := range results {
		if r.buildError != "" {
			continue
		}
		bin := filepath.Join(tmp, fmt.Sprintf("batchesd-%d", i))
		for _, n := range c.Sizes {
			s, err := b.startWith(bin, fmt.Sprintf("batchesd-%d (%s)", n, r.d.name), "--database", dbs[n], "--no-processing", "--page-cache=0")
			if err != nil {
				return err
			}
			for _, limit := range []int{100, 1000} {
				lr := loadRun{backend: "sqlite", op: "list", size: n, limit: limit}
				run, err := b.measureRequest(s, lr, lr.request(), c.Duration, nil)
				if err != nil {
					return err
				}
				r.rps[fmt.Sprintf("%s/%d", bucketName(n), limit)] = run.wrk.rps()
				r.peakRSS = max(r.peakRSS, run.peakRSS)
			}
			if n == c.Sizes[len(c.Sizes)-1] {
				if r.firstPage, err = b.oneConnection(s); err != nil {
					return err
				}
			}
			s.stop()
		}
	}

	var md strings.Builder
	fmt.Fprintf(&md, "### Drivers: run of %s\n\n", start.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&md, "- Machine: %s; %d CPUs; load average %s before, %s after; %s; commit %s; `go run ./cmd/batchesbench drivers` (%s in all).\n",
		cpuModel(), runtime.NumCPU(), loadBefore, loadAverage(), command(e, "go", "env", "GOVERSION"), commit(e), time.Since(start).Round(time.Second))
	b2 := bucketName(c.Sizes[len(c.Sizes)-1])
	fmt.Fprintf(&md, "- batchesd built with each driver (`go build -tags …`), its page cache off (`--page-cache=0`: every page read from SQLite), wrk -c 64 for %s at limit 100 and 1000 (every status), as ratios to the baseline's requests/s (%.0f and %.0f); first page: the p50 of one connection asking for the first 100 of the %s bucket without pause (ratio: the baseline's p50, %s, ÷ it). Cold build: `go build ./cmd/batchesd` with empty GOMODCACHE and GOCACHE (every module downloaded, the standard library compiled too).\n\n",
		c.Duration, base["100"], base["1000"], b2, fmtMicros(baseFirst))
	md.WriteString("| driver | ")
	for _, n := range c.Sizes {
		fmt.Fprintf(&md, "%s limit 100 | %s limit 1000 | ", bucketName(n), bucketName(n))
	}
	md.WriteString("first page p50 | cold build | binary | peak RSS |\n|---|")
	for range c.Sizes {
		md.WriteString("---:|---:|")
	}
	md.WriteString("---:|---:|---:|---:|\n")
	for _, r := range results {
		if r.buildError != "" {
			fmt.Fprintf(&md, "| %s | build failed: %s |\n", r.d.name, strings.ReplaceAll(r.buildError, "\n", " "))
			continue
		}
		fmt.Fprintf(&md, "| %s | ", r.d.name)
		for _, n := range c.Sizes {
			for _, limit := range []int{100, 1000} {
				v := r.rps[fmt.Sprintf("%s/%d", bucketName(n), limit)]
				fmt.Fprintf(&md, "%s (%.0f/s) | ", fmtRatio(v/base[fmt.Sprint(limit)]), v)
			}
		}
		cold := "—"
		if r.coldBuild > 0 {
			cold = fmt.Sprintf("%s (%d modules, %.0f MB of zips)", r.coldBuild.Round(time.Second), r.modules, float64(r.zipBytes)/1e6)
		}
		fmt.Fprintf(&md, "%s (%s) | %s | %.1f MB | %s |\n", fmtMicros(r.firstPage), fmtRatio(baseFirst/r.firstPage), cold, float64(r.binary)/1e6, fmtRSS(r.peakRSS))
	}
	fmt.Fprint(e.stdout, md.String())
	if c.Write != "" {
		if _, err := replaceBetween(c.Write, driversBegin, driversEnd, md.String()); err != nil {
			return err
		}
	}
	return nil
}

// goBuild builds batchesd with d's driver into bin; with cache, from the
// empty module and build caches under it.
func goBuild(e *env, root string, d sqliteDriver, bin, cache string) error {
	args := []string{"build", "-o", bin}
	if d.tags != "" {
		args = append(args, "-tags", d.tags)
	}
	cmd := exec.CommandContext(e.ctx, "go", append(args, "./cmd/batchesd")...)
	cmd.Dir = root
	cmd.Env = os.Environ()
	if d.cgo {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	}
	if cache != "" {
		cmd.Env = append(cmd.Env, "GOMODCACHE="+filepath.Join(cache, "mod"), "GOCACHE="+filepath.Join(cache, "build"))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// startWith starts the batchesd binary bin as b.batchesd does.
func (b *bench) startWith(bin, name string, args ...string) (*process, error) {
	saved := b.bin
	b.bin = bin
	defer func() { b.bin = saved }()
	return b.batchesd(name, args...)
}

// oneConnection is the p50 of one connection asking s for the first page
// of 100 (every status) without pause for 5 s, in µs.
func (b *bench) oneConnection(s *process) (float64, error) {
	script := filepath.Join(b.tmp, "one.lua")
	if err := os.WriteFile(script, []byte(wrkScriptFor(wrkRequest{method: http.MethodPost, path: benchmark.Path, body: benchmark.Body("", 0, 100)})), 0o644); err != nil {
		return 0, err
	}
	res, err := runWrk(b.e, b.wrk, s.url, script, 1, 1, 5*time.Second, 10*time.Second)
	if err != nil {
		return 0, err
	}
	b.e.progress("%s: one connection, p50 %s", s.name, fmtMicros(res.P50US))
	return res.P50US, nil
}

// zips counts the module zips under dir and their bytes.
func zips(dir string) (n int, bytes int64) {
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".zip") {
			if info, err := d.Info(); err == nil {
				n++
				bytes += info.Size()
			}
		}
		return nil
	})
	return n, bytes
}
