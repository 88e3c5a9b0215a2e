package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type allCmd struct {
	Go    goCmd   `embed:"" prefix:"go-"`
	Load  loadCmd `embed:"" prefix:"load-"`
	Write string  `help:"Also write the report into this file, in place of what is between its lines '${begin}' and '${end}'." type:"path" placeholder:"FILE"`
}

// The lines of BENCHMARKS.md between which --write puts the report.
const (
	beginMarker = "<!-- BEGIN batchesbench report -->"
	endMarker   = "<!-- END batchesbench report -->"
)

func (c *allCmd) Run(e *env) error {
	if c.Write != "" {
		// Fail now rather than after ten minutes of measurements.
		if _, err := replaceBetweenMarkers(c.Write, ""); err != nil {
			return err
		}
	}
	start := time.Now()
	loadBefore := loadAverage()
	raw, err := c.Go.run(e)
	if err != nil {
		return err
	}
	results, err := parseGoBench(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	runs, err := c.Load.run(e)
	if err != nil {
		return err
	}

	var b strings.Builder
	b.WriteString(machineMarkdown(e, start, loadBefore, loadAverage()))
	b.WriteString("\n" + targetsMarkdown(results, runs))
	b.WriteString("\n" + results.markdown())
	b.WriteString("\n" + runs.markdown())
	fmt.Fprint(e.stdout, b.String())
	if c.Write != "" {
		fmt.Fprintf(&b, "\n<details><summary>go test output</summary>\n\n```\n%s```\n\n</details>\n", raw)
		if _, err := replaceBetweenMarkers(c.Write, b.String()); err != nil {
			return err
		}
		e.progress("report written into %s", c.Write)
	}
	return nil
}

// replaceBetweenMarkers puts report between the marker lines of the file at
// path; with report "" it only checks that the file has them. It returns
// the new content.
func replaceBetweenMarkers(path, report string) ([]byte, error) {
	return replaceBetween(path, beginMarker, endMarker, report)
}

// replaceBetween puts report between the lines beginMarker and endMarker
// of the file at path; with report "" it only checks that the file has
// them. It returns the new content.
func replaceBetween(path, beginMarker, endMarker, report string) ([]byte, error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	i := bytes.Index(old, []byte(beginMarker+"\n"))
	j := bytes.Index(old, []byte(endMarker))
	if i < 0 || j < i {
		return nil, fmt.Errorf("%s has no line %q followed by a line %q to write the report between", path, beginMarker, endMarker)
	}
	if report == "" {
		return old, nil
	}
	var b bytes.Buffer
	b.Write(old[:i+len(beginMarker)+1])
	b.WriteString(strings.TrimSpace(report) + "\n")
	b.Write(old[j:])
	return b.Bytes(), os.WriteFile(path, b.Bytes(), 0o644)
}

// machineMarkdown tells when, where and how the figures were measured.
func machineMarkdown(e *env, start time.Time, loadBefore, loadAfter string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Run of %s\n\n", start.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s; %d CPUs (nproc); %s of memory (MemTotal); Linux %s.\n",
		cpuModel(), runtime.NumCPU(), memTotal(), readTrim("/proc/sys/kernel/osrelease"))
	fmt.Fprintf(&b, "- Load average (1 min): %s before, %s after: other work shares the machine, so read the ratios, not the absolute figures.\n", loadBefore, loadAfter)
	fmt.Fprintf(&b, "- %s; commit %s.\n", command(e, "go", "env", "GOVERSION"), commit(e))
	args := make([]string, len(e.args))
	for i, a := range e.args {
		args[i] = shellQuote(a)
	}
	fmt.Fprintf(&b, "- Command: `go run ./cmd/batchesbench %s` (%s in all).\n", strings.Join(args, " "), time.Since(start).Round(time.Second))
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r == '/' || r == ':' || r == '=' || r == ',' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			if f := strings.Fields(v); len(f) == 2 {
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
					return fmt.Sprintf("%.1f GiB", kb/(1<<20))
				}
			}
		}
	}
	return "unknown"
}

func loadAverage() string {
	if f := strings.Fields(readTrim("/proc/loadavg")); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func command(e *env, name string, args ...string) string {
	out, err := exec.CommandContext(e.ctx, name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// commit is the short hash of HEAD, with "+ local changes" when the work
// tree differs from it (BENCHMARKS.md aside).
func commit(e *env) string {
	c := command(e, "git", "rev-parse", "--short", "HEAD")
	if out := command(e, "git", "status", "--porcelain", "--", ".", ":!BENCHMARKS.md"); out != "" && out != "unknown" {
		c += " + local changes"
	}
	return c
}

// targetsMarkdown checks the figures against the targets of the issue;
// either result may be nil.
func targetsMarkdown(g *goResults, l *loadRuns) string {
	var b strings.Builder
	b.WriteString("### Targets\n\n| target | measured | verdict |\n|---|---|---|\n")
	row := func(target, measured string, met bool, known bool) {
		verdict := "—"
		if known {
			verdict = map[bool]string{true: "met", false: "**not met**"}[met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", target, measured, verdict)
	}

	// 1. List at limit 100, every filter, each bucket, at or above the
	// baseline's requests/s on SQLite (stretch 1.5).
	{
		var parts []string
		met, known, stretch := true, false, true
		if l != nil {
			for _, r := range l.find(func(r *loadRun) bool {
				return r.backend == "sqlite" && r.opName() == "list" && r.limit == 100 && r.variant == "" && r.during == ""
			}) {
				bl := l.baselineOf("list", r.filterName(), 100)
				if bl == nil {
					continue
				}
				ratio := r.wrk.rps() / bl.wrk.rps()
				parts = append(parts, fmt.Sprintf("%s %s: %s (%.0f vs %.0f requests/s)", bucketName(r.size), r.filterName(), fmtRatio(ratio), r.wrk.rps(), bl.wrk.rps()))
				met, known, stretch = met && ratio >= 1, true, stretch && ratio >= 1.5
			}
		}
		if g != nil {
			name := "ListCached/1k/all/limit=100/offset=0"
			if t, bt := g.seconds(name), g.seconds(baselineOf(name)); !math.IsNaN(t) && !math.IsNaN(bt) {
				parts = append(parts, fmt.Sprintf("in process, 1k all: %s", fmtRatio(bt/t)))
			}
		}
		if known && met {
			parts = append(parts, map[bool]string{true: "stretch (1.5) met", false: "stretch (1.5) not met"}[stretch])
		}
		row("List at limit 100 on SQLite, every filter (all, status, collection), 1k and 1M buckets, wrk -c 64: requests/s ≥ the bare baseline's (ratio ≥ 1.0; stretch 1.5)",
			orNotRun(parts), met, known)
	}

	if l != nil {
		// 1b. Under writes of another process.
		var parts []string
		met, known := true, false
		for _, r := range l.find(func(r *loadRun) bool { return r.backend == "sqlite" && r.during == "writes" }) {
			bl := l.baselineOf("list", r.filterName(), r.limit)
			if bl == nil || r.writes == nil {
				continue
			}
			ratio := r.wrk.rps() / bl.wrk.rps()
			w := r.writes
			parts = append(parts, fmt.Sprintf("%s: %s (%.0f vs %.0f requests/s; %d imports, %d not seen by the next request; %d pages checked, %d not a snapshot)",
				bucketName(r.size), fmtRatio(ratio), r.wrk.rps(), bl.wrk.rps(), w.writes, w.stale, w.pages, w.broken))
			met, known = met && ratio >= 0.8 && w.stale == 0 && w.broken == 0 && w.writes > 0, true
		}
		row(fmt.Sprintf("The same (every status) while another process writes to the bucket every %s (imports): ratio ≥ 0.8, every page consistent", l.writeEvery),
			orNotRun(parts), met, known)

		// GET.
		parts, met, known = nil, true, false
		if bl := l.baselineOf("get", "", 0); bl != nil {
			for _, r := range l.find(func(r *loadRun) bool { return r.backend == "sqlite" && r.opName() == "get" }) {
				ratio := r.wrk.okRPS() / bl.wrk.okRPS()
				parts = append(parts, fmt.Sprintf("%s: %s (%.0f vs %.0f requests/s)", bucketName(r.size), fmtRatio(ratio), r.wrk.okRPS(), bl.wrk.okRPS()))
				met, known = met && ratio >= 1, true
			}
		}
		row("GET of a batch on SQLite, wrk -c 64: requests/s ≥ a bare handler's returning the same batch from memory (ratio ≥ 1.0)", orNotRun(parts), met, known)

		// List while processing.
		parts, met, known = nil, true, false
		for _, r := range l.find(func(r *loadRun) bool { return r.backend == "sqlite" && r.during == "processing" }) {
			if idle := l.processingIdleOf(r); idle != nil {
				ratio := r.wrk.rps() / idle.wrk.rps()
				parts = append(parts, fmt.Sprintf("%s: %s (%.0f vs %.0f requests/s idle; %.0f steps a second)", bucketName(r.size), fmtRatio(ratio), r.wrk.rps(), idle.wrk.rps(), r.steps))
				met, known = met && ratio >= 0.9, true
			}
		}
		row(fmt.Sprintf("List at limit 100 on SQLite while %d batches of the bucket are being processed: requests/s ≥ 0.9× List idle", l.processing), orNotRun(parts), met, known)
	}

	// 2. The first page of 1M at most twice that of 1k.
	if g != nil {
		var parts []string
		met, known := true, false
		for _, f := range []string{"all", "status", "collection"} {
			big, small := g.seconds("List/1M/"+f+"/limit=100/offset=0"), g.seconds("List/1k/"+f+"/limit=100/offset=0")
			if math.IsNaN(big) || math.IsNaN(small) {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s: %.2f× (%s vs %s)", f, big/small, fmtSeconds(big), fmtSeconds(small)))
			met, known = met && big/small <= 2, true
		}
		row("First page (offset 0, limit 100) of a 1M-batch bucket ≤ 2× that of a 1k-batch bucket, read from SQLite (List: page cache off), filtered by status, by collection or not",
			orNotRun(parts), met, known)

		// 3. Validation under 10% of a limit-100 request.
		parts, met, known = nil, true, false
		for _, f := range []string{"all", "status"} {
			for _, bench := range []string{"List", "ListCached"} {
				v, full := g.seconds("Validator/"+f+"/limit=100"), g.seconds(bench+"/1k/"+f+"/limit=100/offset=0")
				if math.IsNaN(v) || math.IsNaN(full) {
					continue
				}
				parts = append(parts, fmt.Sprintf("%s, %s: %.1f%% (validator %s of %s)", f, map[string]string{"List": "page read", "ListCached": "page kept"}[bench], 100*v/full, fmtSeconds(v), fmtSeconds(full)))
				met, known = met && v/full < 0.10, true
			}
		}
		row("Request validation adds < 10% to a limit-100 request (the validator alone ÷ the whole request, 1k bucket; the page read from SQLite, and kept)",
			orNotRun(parts), met, known)
	}

	// 4. The soak.
	if l != nil {
		const target = "wrk -c 64 for 30 s against SQLite: no non-2xx answer, no error; memory bounded (peak RSS)"
		if s := l.soak; s != nil {
			ran := time.Duration(s.wrk.DurationUS) * time.Microsecond
			measured := fmt.Sprintf("%s for %s at limit %d: %d answers ≥ 400, %d timeouts, %d connect/read/write errors in %d requests; RSS %s before, %s after, peak %s",
				bucketName(s.size)+" bucket, "+strconv.Itoa(l.connections)+" connections",
				ran.Round(time.Second), s.limit,
				s.wrk.StatusErrors, s.wrk.Timeouts, s.wrk.ConnectErrors+s.wrk.ReadErrors+s.wrk.WriteErrors, s.wrk.Requests,
				fmtRSS(s.rssBefore), fmtRSS(s.rssAfter), fmtRSS(s.peakRSS))
			clean := s.wrk.StatusErrors == 0 && s.wrk.socketErrors() == 0
			switch {
			case !clean:
				row(target, measured, false, true)
			case ran < soakTarget-time.Second:
				// Errors would have failed it; no error in a shorter run
				// does not show the target met.
				fmt.Fprintf(&b, "| %s | %s | not measured at %s (ran %s) |\n", target, measured, fmtTargetDuration(soakTarget), ran.Round(time.Second))
			default:
				row(target, measured, true, true)
			}
		} else {
			row(target, "not run", false, false)
		}
	}
	return b.String()
}

// soakTarget is how long the soak of the targets runs.
const soakTarget = 30 * time.Second

// fmtTargetDuration writes d as the targets do: "30 s".
func fmtTargetDuration(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

func orNotRun(parts []string) string {
	if len(parts) == 0 {
		return "not run"
	}
	return strings.Join(parts, "; ")
}
