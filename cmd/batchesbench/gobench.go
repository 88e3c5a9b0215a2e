package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

type goCmd struct {
	Count     int    `default:"3" help:"Runs of each benchmark (go test -count); the report takes the median."`
	Benchtime string `default:"1s" help:"Length of each run (go test -benchtime): a duration, or Nx iterations."`
	Bench     string `default:"." help:"Benchmarks to run (go test -bench), a regular expression."`
	Raw       string `help:"Also write go test's output to this file (for benchstat)." type:"path"`
}

func (c *goCmd) Run(e *env) error {
	raw, err := c.run(e)
	if err != nil {
		return err
	}
	return printGoReport(e.stdout, bytes.NewReader(raw))
}

// printGoReport parses the output of go test -bench -benchmem on
// api/benchmark from r and writes its report to w: the results' table, then
// the targets'.
func printGoReport(w io.Writer, r io.Reader) error {
	results, err := parseGoBench(r)
	if err != nil {
		return err
	}
	fmt.Fprint(w, results.markdown())
	fmt.Fprint(w, "\n"+targetsMarkdown(results, nil))
	return nil
}

// run runs the Go benchmarks of api/benchmark in the module's root, showing
// their output on stderr as it comes, and returns it.
func (c *goCmd) run(e *env) ([]byte, error) {
	root, err := moduleRoot(e)
	if err != nil {
		return nil, err
	}
	args := []string{"test", "-run", "^$", "-bench", c.Bench, "-benchmem",
		"-count", fmt.Sprint(c.Count), "-benchtime", c.Benchtime, "-timeout", "60m", "./api/benchmark"}
	e.progress("go %s", strings.Join(args, " "))
	var out bytes.Buffer
	cmd := exec.CommandContext(e.ctx, "go", args...)
	cmd.Dir = root
	cmd.Stdout = io.MultiWriter(&out, e.stderr)
	cmd.Stderr = e.stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench: %w", err)
	}
	if c.Raw != "" {
		if err := os.WriteFile(c.Raw, out.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// moduleRoot is the directory of the go.mod of the working directory.
func moduleRoot(e *env) (string, error) {
	out, err := exec.CommandContext(e.ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not in a Go module: run batchesbench from the repository")
	}
	return strings.TrimSuffix(mod, "/go.mod"), nil
}

// goResult is the median of each unit over the runs of one benchmark.
type goResult struct {
	runs   int
	values map[string][]float64 // by unit: "sec/op", "B/op", "allocs/op", "batches/op"
}

// median is the median of unit over the runs, NaN when not measured.
func (r *goResult) median(unit string) float64 {
	vs := r.values[unit]
	if len(vs) == 0 {
		return math.NaN()
	}
	return benchmath.AssumeNothing.Summary(benchmath.NewSample(vs, &benchmath.DefaultThresholds), 0.95).Center
}

// goResults are the results of a `go test -bench` output, by name without
// the GOMAXPROCS suffix ("List/1k/all/limit=100/offset=0").
type goResults struct {
	byName map[string]*goResult
	order  []string
	// procs is the GOMAXPROCS suffix of the names, e.g. "-2".
	procs string
	// config is the goos, goarch, cpu, ... lines.
	config []string
}

func parseGoBench(r io.Reader) (*goResults, error) {
	res := &goResults{byName: map[string]*goResult{}}
	br := benchfmt.NewReader(r, "go test")
	seenConfig := map[string]bool{}
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, rec
		case *benchfmt.Result:
			base, parts := rec.Name.Parts()
			name := strings.TrimPrefix(string(base), "Benchmark")
			for _, p := range parts {
				if bytes.HasPrefix(p, []byte("-")) {
					res.procs = string(p)
					continue
				}
				name += string(p)
			}
			g := res.byName[name]
			if g == nil {
				g = &goResult{values: map[string][]float64{}}
				res.byName[name] = g
				res.order = append(res.order, name)
			}
			g.runs++
			for _, v := range rec.Values {
				g.values[v.Unit] = append(g.values[v.Unit], v.Value)
			}
			for _, c := range rec.Config {
				if c.File && !seenConfig[c.Key] && c.Key != "pkg" {
					seenConfig[c.Key] = true
					res.config = append(res.config, c.Key+": "+string(c.Value))
				}
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	if len(res.order) == 0 {
		return nil, fmt.Errorf("no benchmark results in the output")
	}
	return res, nil
}

// seconds is the median time of name, NaN when it was not run.
func (g *goResults) seconds(name string) float64 {
	if r := g.byName[name]; r != nil {
		return r.median("sec/op")
	}
	return math.NaN()
}

// baselineOf is the name of the baseline benchmark a List benchmark is
// divided by: the same filter and limit.
func baselineOf(name string) string {
	p := strings.Split(name, "/") // List or ListCached, size, filter, limit=L, offset=O
	if len(p) != 5 || p[0] != "List" && p[0] != "ListCached" {
		return ""
	}
	return "Baseline/" + p[2] + "/" + p[3]
}

func (g *goResults) markdown() string {
	var b strings.Builder
	runs := 0
	for _, r := range g.byName {
		runs = max(runs, r.runs)
	}
	if runs == 1 {
		b.WriteString("### In process (Go benchmarks, one run)\n\n")
	} else {
		fmt.Fprintf(&b, "### In process (Go benchmarks, median of %d runs)\n\n", runs)
	}
	fmt.Fprintf(&b, "`List/{bucket}/{filter}/limit=L/offset=O`: the real handler (api.NewHandler over api/sqlite: routing, authentication, validation, SQLite) answering one request through httptest, reading the page from SQLite (its page cache off), in a bucket of 1k or 1M batches, of every status (`all`), of status COMPLETED (`status`, two batches in three) or of the collection col_products01 (`collection`, collection_id, about one batch in ten; to offset 10k). Offsets past the end of the 1k bucket are not measured. `ListCached/…`: the handler with its defaults, as batchesd serves, the page asked for again and answered from the bytes kept while the bucket's version (read each time) is unchanged. ")
	fmt.Fprintf(&b, "**ratio** = the baseline's time ÷ this time, the baseline being `Baseline/{filter}/limit=L` (bare net/http + encoding/json, the same first page from memory): 1.00 is as fast as the baseline, 0.10 ten times slower.\n\n")
	b.WriteString("| benchmark | time/op | baseline time/op | ratio | allocated/op | allocs/op | batches/op |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	var rest []string
	for _, name := range g.order {
		bl := baselineOf(name)
		if bl == "" {
			rest = append(rest, name)
			continue
		}
		r := g.byName[name]
		t, bt := r.median("sec/op"), g.seconds(bl)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, fmtSeconds(t), fmtSeconds(bt), fmtRatio(bt/t),
			fmtBytes(r.median("B/op")), fmtCount(r.median("allocs/op")), fmtCount(r.median("batches/op")))
	}
	if len(rest) > 0 {
		b.WriteString("\n| benchmark | time/op | allocated/op | allocs/op | batches/op | MB/s |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|\n")
		for _, name := range rest {
			r := g.byName[name]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, fmtSeconds(r.median("sec/op")),
				fmtBytes(r.median("B/op")), fmtCount(r.median("allocs/op")), fmtCount(r.median("batches/op")),
				fmtMBps(r.median("B/s")))
		}
		b.WriteString("\n`Validator/{filter}/limit=100` is the kin-openapi request validator of the handler alone (the same middleware and options) on the request of `List/1k/{filter}/limit=100/offset=0`; `DecodePage1000` is the generated client decoding a 1000-batch page (client.ParseListBatchesResult); `ClientListPage1000` is the Go client (package batches) receiving the same page: one ListBatches call through its retrying transport, answered from memory, decoded into batches.Batch with each batch's raw JSON kept.\n")
	}
	if len(g.config) > 0 {
		slices.Sort(g.config)
		fmt.Fprintf(&b, "\n<sub>%s, GOMAXPROCS %s</sub>\n", strings.Join(g.config, ", "), strings.TrimPrefix(g.procs, "-"))
	}
	return b.String()
}

func fmtSeconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "—"
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	case s >= 1e-6:
		return fmt.Sprintf("%.3g µs", s*1e6)
	default:
		return fmt.Sprintf("%.3g ns", s*1e9)
	}
}

func fmtRatio(r float64) string {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return "—"
	case r >= 0.1:
		return fmt.Sprintf("%.2f", r)
	default:
		return fmt.Sprintf("%.2g", r)
	}
}

func fmtBytes(n float64) string {
	switch {
	case math.IsNaN(n):
		return "—"
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", n/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", n)
	}
}

func fmtCount(n float64) string {
	if math.IsNaN(n) {
		return "—"
	}
	return fmt.Sprintf("%.0f", n)
}

func fmtMBps(bps float64) string {
	if math.IsNaN(bps) {
		return "—"
	}
	return fmt.Sprintf("%.1f", bps/1e6)
}

type reportCmd struct {
	File string `arg:"" help:"Output of go test -bench -benchmem on api/benchmark (- for standard input)."`
}

func (c *reportCmd) Run(e *env) error {
	var r io.Reader = os.Stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	return printGoReport(e.stdout, r)
}
