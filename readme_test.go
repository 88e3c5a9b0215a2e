package batches_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// The markers around the program of README.md's "Use the Go client".
const (
	programBegin = "<!-- go-client-program:begin -->"
	programEnd   = "<!-- go-client-program:end -->"
)

// The markers around the program of README.md's "Follow a batch".
const (
	lifecycleBegin = "<!-- go-lifecycle-program:begin -->"
	lifecycleEnd   = "<!-- go-lifecycle-program:end -->"
)

// readmeProgram is the Go program of README.md, between its markers and
// out of its code fence.
func readmeProgram(t *testing.T) string {
	t.Helper()
	return readmeProgramBetween(t, programBegin, programEnd)
}

// readmeProgramBetween is the Go program of README.md between begin and
// end, out of its code fence.
func readmeProgramBetween(t *testing.T, begin, end string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok1 := strings.Cut(string(readme), begin+"\n```go\n")
	program, _, ok2 := strings.Cut(rest, "```\n"+end)
	if !ok1 || !ok2 {
		t.Fatalf("README.md has no Go program between %s and %s", begin, end)
	}
	return program
}

// The program of the README is under ten lines of code a user writes (its
// main function, braces included, is at most 10), and doc.go shows the
// same program.
func TestREADMEProgramIsShortAndInTheDocs(t *testing.T) {
	program := readmeProgram(t)
	_, body, ok := strings.Cut(program, "func main() {\n")
	if !ok || !strings.HasSuffix(body, "\n}\n") {
		t.Fatalf("no main function, or it does not end the program:\n%s", program)
	}
	if n := strings.Count(body, "\n") + 1; n > 10 {
		t.Errorf("main is %d lines long, more than 10", n)
	}
	var doc strings.Builder
	for _, l := range strings.SplitAfter(program, "\n") {
		switch l {
		case "":
		case "\n":
			doc.WriteString("//\n")
		default:
			doc.WriteString("//\t" + l)
		}
	}
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), doc.String()) {
		t.Errorf("doc.go does not show README.md's program:\n%s", doc.String())
	}
}

// README's program, in a module of its own outside this one (go.mod
// requires github.com/mixpeekgo/batches, replaced by this checkout), built
// and run by the go command against the demo of batchesd serve, the
// reference server as a user starts it: it prints the 300 batches of
// bkt_demo, newest first, the first page first, fetching three pages.
// runOutside builds program in a module of its own outside this one (go.mod
// requires github.com/mixpeekgo/batches, replaced by this checkout) and
// runs it with the go command against the demo of batchesd serve, the
// reference server as a user starts it, behind a proxy that counts the
// program's requests. It returns the demo, the proxy, the count and what
// the program printed; it skips under -short or without a go command.
func runOutside(t *testing.T, p *batchesd, program string) (demoInfo, *httptest.Server, *atomic.Int64, bytes.Buffer) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a program with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := fmt.Sprintf("module example.com/listdemo\n\ngo 1.26\n\nrequire github.com/mixpeekgo/batches v0.0.0\n\nreplace github.com/mixpeekgo/batches => %s\n", root)
	for name, data := range map[string]string{"main.go": program, "go.mod": goMod, "go.sum": string(sum)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The demo, behind a proxy that counts the program's requests.
	info := p.server(t)
	target, err := url.Parse(info.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	requests := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		// The body is read first. Passed on as it is read, it reaches
		// batchesd before the proxy has read the EOF after it; batchesd may
		// answer first, and the proxy's writing of the answer closes the
		// body: that read fails, the proxy drops its connection to batchesd
		// and cuts the answer short (a retry: a fourth request).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading a request of the program: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	cmd := exec.CommandContext(t.Context(), goCmd, "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GOFLAGS=-mod=mod", // go.mod and go.sum take in what the module needs, from the module cache
		"GOWORK=off",
		batches.EnvAPIKey+"="+info.APIKey,
		batches.EnvNamespace+"="+info.Namespace,
		batches.EnvBaseURL+"="+srv.URL,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run: %v\n%s", err, stderr.String())
	}
	t.Logf("go run took %v", time.Since(start).Round(time.Millisecond))
	return info, srv, requests, stdout
}

func TestREADMEProgramRunsOutsideTheModule(t *testing.T) {
	t.Parallel() // the go command's build, beside the Retry-After wait
	info, srv, requests, stdout := runOutside(t, &demo, readmeProgram(t))
	printed := requests.Load()

	c, err := batches.New(batches.WithBaseURL(srv.URL), batches.WithAPIKey(info.APIKey), batches.WithNamespace(info.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.ListBatches(ctx, info.Bucket, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for b, err := range c.AllBatches(ctx, info.Bucket, nil) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintln(b.BatchID, b.Status, b.CreatedAt.Format(time.DateOnly)))
	}
	got := strings.SplitAfter(stdout.String(), "\n")
	got = got[:len(got)-1] // after the last newline
	if len(got) != 300 || len(want) != 300 || !slices.Equal(got, want) {
		t.Fatalf("printed %d lines, want the %d batches of %s:\n%.500s", len(got), len(want), info.Bucket, stdout.String())
	}
	for i, b := range first.Results {
		if !strings.HasPrefix(got[i], b.BatchID+" ") {
			t.Fatalf("line %d %q, want the first page's batch %s", i, got[i], b.BatchID)
		}
	}
	if len(first.Results) != 100 || printed != 3 {
		t.Errorf("a first page of %d; the program sent %d requests, want 3", len(first.Results), printed)
	}
}

// README's second program, as the first is run, against a batchesd of its
// own (it creates a batch in bkt_demo): it creates a batch, submits it,
// waits for it to end, and prints it as the API then has it; it sends a
// create, a submit and the polls of WaitBatch, none after the batch ended.
func TestREADMELifecycleProgramRunsOutsideTheModule(t *testing.T) {
	t.Parallel()
	program := readmeProgramBetween(t, lifecycleBegin, lifecycleEnd)
	_, body, _ := strings.Cut(program, "func main() {\n")
	if n := strings.Count(body, "\n") + 1; n > 20 {
		t.Errorf("main is %d lines long, more than 20", n)
	}
	info, srv, requests, stdout := runOutside(t, &writable, program)
	m := regexp.MustCompile(`^(btch_\w+) (COMPLETED|COMPLETED_WITH_ERRORS|FAILED) (\d+) tiers\n$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("printed %q", stdout.String())
	}
	c, err := batches.New(batches.WithBaseURL(srv.URL), batches.WithAPIKey(info.APIKey), batches.WithNamespace(info.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	sent := requests.Load()
	b, err := c.GetBatch(t.Context(), info.Bucket, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if string(b.Status) != m[2] || fmt.Sprint(len(b.TierTasks)) != m[3] || !b.Status.IsTerminal() {
		t.Errorf("printed %q; the batch is %s with %d tiers", stdout.String(), b.Status, len(b.TierTasks))
	}
	// create, submit, then at least a poll; the processing of the demo
	// takes seconds: polls 1, 2, 4, 8 s apart cover 15 s.
	if sent < 3 || sent > 2+6 {
		t.Errorf("the program sent %d requests", sent)
	}
	t.Logf("%s: %d requests", strings.TrimSpace(stdout.String()), sent)
}
