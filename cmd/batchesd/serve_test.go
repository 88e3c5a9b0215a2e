package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// syncBuffer is a bytes.Buffer safe for a process to write while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a batchesd serve process.
type server struct {
	cmd            *exec.Cmd
	addr, url      string
	stdout, stderr *syncBuffer
	done           chan struct{} // closed when the process has exited
	err            error         // of cmd.Wait, once done is closed
}

// freeAddr returns 127.0.0.1 and a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServer starts batchesd serve on the database db, a SQLite file or a
// postgres:// URL, with the environment variables env, and returns once it
// answers HTTP. It is killed
// at the end of the test if still running.
func startServer(t *testing.T, db string, env ...string) *server {
	t.Helper()
	return startServerArgs(t, db, nil, env...)
}

// startServerArgs is startServer with more arguments of serve, after
// --addr.
func startServerArgs(t *testing.T, db string, args []string, env ...string) *server {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, err := tryStartServer(t, db, args, env)
		if err == nil {
			return s
		}
		// Another process may have taken the port between freeAddr and the
		// start; batchesd listens before it touches the demo data.
		if attempt < 3 && strings.Contains(s.stderr.String(), "address already in use") {
			continue
		}
		t.Fatalf("starting batchesd: %v\nstdout:\n%s\nstderr:\n%s", err, s.stdout, s.stderr)
	}
}

func tryStartServer(t *testing.T, db string, args, env []string) (*server, error) {
	s := &server{addr: freeAddr(t), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	s.url = "http://" + s.addr
	s.cmd = exec.Command(binary(t), append([]string{"serve", "--addr", s.addr}, args...)...)
	dbEnv := "BATCHESD_DATABASE=" + db
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "host=") { // a URL or keyword/value string
		dbEnv = "DATABASE_URL=" + db
	}
	// The demo without batches being processed, unless env says
	// otherwise: the tests compare its batches.
	s.cmd.Env = cleanEnv(append([]string{dbEnv, "BATCHESD_SHUTDOWN_TIMEOUT=10s", "BATCHESD_DEMO_PROCESSING=0"}, env...)...)
	s.cmd.Stdout = s.stdout
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.done:
			return s, fmt.Errorf("exited before answering: %v", s.err)
		default:
		}
		resp, err := client.Get(s.url + "/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("no answer within 10 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends sig and waits for the process to exit; it returns the error of
// cmd.Wait (nil for exit status 0).
func (s *server) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	return s.wait(t)
}

func (s *server) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(15 * time.Second):
		t.Fatalf("batchesd did not exit within 15 s\nstderr:\n%s", s.stderr)
		return nil
	}
}

// waitStdout waits until the process has printed a line matching re and
// returns the match.
func (s *server) waitStdout(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := re.FindStringSubmatch(s.stdout.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("stdout has nothing matching %s:\n%s", re, s.stdout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func randomKey(*testing.T) string {
	return "sk_test_" + rand.Text()
}

var (
	demoBannerRe = regexp.MustCompile(`Created the demo organization (org_[a-z0-9]{12}) with namespace "demo" \((ns_[a-z0-9]{12})\) and bucket bkt_demo\.`)
	curlRe       = regexp.MustCompile(`(?m)^    (curl .*)$`)
)

// wantDemoPage checks a first page of 5 of the demo bucket.
func wantDemoPage(t *testing.T, lr listResponse) {
	t.Helper()
	if len(lr.Results) != 5 || lr.TotalCount != domain.DemoBatchCount {
		t.Fatalf("got %d results and total_count %d, want 5 and %d", len(lr.Results), lr.TotalCount, domain.DemoBatchCount)
	}
	for i, b := range lr.Results {
		if b["bucket_id"] != "bkt_demo" || len(b) != 19 { // every field of Batch

			t.Errorf("result %d: %v", i, b)
		}
	}
}

func TestServeDemoKeyFromEnv(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "db", "batches.db")
	key := randomKey(t)
	s := startServer(t, db, "BATCHESD_DEMO_API_KEY="+key)

	first := mustList(t, s.url, key, "demo", "bkt_demo", `{"limit":5}`)
	wantDemoPage(t, first)
	if status, body, _ := listBatches(t, s.url, "sk_test_wrong", "demo", "bkt_demo", `{"limit":5}`); status != 401 {
		t.Errorf("a wrong key: %d %s", status, body)
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, s.stderr)
	}

	out := s.stdout.String()
	m := demoBannerRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stdout on first start does not show the demo ids:\n%s", out)
	}
	if strings.Contains(out+s.stderr.String(), key[len("sk_test_"):]) {
		t.Errorf("the key of BATCHESD_DEMO_API_KEY was printed:\nstdout:\n%s\nstderr:\n%s", out, s.stderr)
	}
	if !strings.Contains(out, "BATCHESD_DEMO_API_KEY") {
		t.Errorf("stdout does not say where the key is:\n%s", out)
	}
	// The printed ids are those of the demo organization of the key.
	checkDemoIDs(t, db, key, m[1], m[2])

	// A second start, without the variable this time: no demo banner and no
	// new key; the same key and data are served.
	s2 := startServer(t, db)
	again := mustList(t, s2.url, key, "demo", "bkt_demo", `{"limit":5}`)
	if !reflect.DeepEqual(first, again) {
		t.Errorf("the second start serves other data:\n%v\n%v", first, again)
	}
	if err := s2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, s2.stderr)
	}
	if out := s2.stdout.String(); out != "" {
		t.Errorf("the second start printed:\n%s", out)
	}

	// The printed curl command works as is, the key taken from the
	// environment.
	if _, err := exec.LookPath("curl"); err == nil {
		s3 := startServer(t, db)
		cmdline := curlRe.FindStringSubmatch(out)
		if cmdline == nil {
			t.Fatalf("no curl command in\n%s", out)
		}
		// The first start had another port.
		line := strings.ReplaceAll(cmdline[1], demoURL(t, out), s3.url)
		runCurl(t, line, "MIXPEEK_API_KEY="+key)
	}
}

// demoURL returns the base URL in the printed curl command.
func demoURL(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/v1/buckets/bkt_demo/batches/list`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no URL in\n%s", out)
	}
	return m[1]
}

// runCurl runs a printed curl command with sh and checks its answer.
func runCurl(t *testing.T, line string, env ...string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", line+" --fail-with-body --max-time 10")
	cmd.Env = cleanEnv(env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	var lr listResponse
	if err := json.Unmarshal(out, &lr); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	wantDemoPage(t, lr)
}

// checkDemoIDs checks that key belongs to the organization orgID whose
// namespace "demo" is nsID and holds the bucket bkt_demo.
func checkDemoIDs(t *testing.T, path, key, orgID, nsID string) {
	t.Helper()
	url := serveInProcess(t, path)
	// The namespace id works as X-Namespace only in the key's organization.
	wantDemoPage(t, mustList(t, url, key, nsID, "bkt_demo", `{"limit":5}`))
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, err := db.OrganizationForKey(t.Context(), domain.HashKey(key))
	if err != nil || org.ID != orgID {
		t.Errorf("the key belongs to %v (%v), the banner says %s", org, err, orgID)
	}
	ns, _, err := db.ResolveBucket(t.Context(), orgID, "demo", "bkt_demo")
	if err != nil || ns.ID != nsID {
		t.Errorf("namespace demo of %s is %v (%v), the banner says %s", orgID, ns, err, nsID)
	}
}

func TestServeGeneratedKey(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "batches.db")
	s := startServer(t, db)

	m := s.waitStdout(t, regexp.MustCompile(`(?s)shown this once.*?\n\n    export MIXPEEK_API_KEY=(sk_live_[A-Za-z0-9]{40})\n.*?    (curl .*?)\n`))
	key, curl := m[1], m[2]
	if n := strings.Count(s.stdout.String(), key); n != 1 {
		t.Errorf("the key is printed %d times, want once", n)
	}
	wantDemoPage(t, mustList(t, s.url, key, "demo", "bkt_demo", `{"limit":5}`))

	// The printed commands work as they are, in a shell where the printed
	// export ran.
	if !strings.Contains(curl, s.url+"/v1/buckets/bkt_demo/batches/list") {
		t.Errorf("curl command without the server's address: %s", curl)
	}
	if _, err := exec.LookPath("curl"); err == nil {
		runCurl(t, curl, "MIXPEEK_API_KEY="+key)
	}
	cli := s.waitStdout(t, regexp.MustCompile(`MIXPEEK_NAMESPACE=demo MIXPEEK_BASE_URL=(\S+) go run ./cmd/batches list --bucket bkt_demo`))
	if cli[1] != s.url {
		t.Errorf("CLI command: %s", cli[0])
	}

	// SIGINT stops it cleanly too.
	if err := s.stop(t, os.Interrupt); err != nil {
		t.Fatalf("SIGINT: %v\nstderr:\n%s", err, s.stderr)
	}
	if strings.Contains(s.stderr.String(), key) {
		t.Errorf("the key is in the log:\n%s", s.stderr)
	}
}

func TestServeNoDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "batches.db")
	s := startServer(t, db, "BATCHESD_NO_DEMO=true")
	if status, body, _ := listBatches(t, s.url, "sk_test_any", "demo", "bkt_demo", `{}`); status != 401 {
		t.Errorf("list without any key: %d %s", status, body)
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if s.stdout.String() != "" {
		t.Errorf("stdout with BATCHESD_NO_DEMO: %s", s.stdout)
	}
}

func TestServeAddressInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary(t), "serve", "--addr", ln.Addr().String(), "--database", filepath.Join(t.TempDir(), "b.db"))
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "address already in use") || stdout.Len() != 0 {
		t.Errorf("serve on a taken port: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
}

// inFlight is a List request whose body is half sent.
type inFlight struct {
	conn net.Conn
	br   *bufio.Reader
	req  *http.Request
	rest string // the rest of the body
}

// startInFlight sends the headers and half the body of a List request of
// the demo bucket, and returns once the handler is reading the body.
func startInFlight(t *testing.T, s *server, key string) *inFlight {
	t.Helper()
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	body := `{"limit": 5, "offset": 0}`
	// Expect: 100-continue makes the server say when the handler starts
	// reading the body: the request is then in flight, past authentication.
	fmt.Fprintf(conn, "POST /v1/buckets/bkt_demo/batches/list HTTP/1.1\r\nHost: %s\r\n"+
		"Authorization: Bearer %s\r\nX-Namespace: demo\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", s.addr, key, len(body))
	f := &inFlight{conn: conn, br: bufio.NewReader(conn), rest: body[len(body)/2:]}
	f.req, _ = http.NewRequest(http.MethodPost, s.url, nil)
	cont, err := http.ReadResponse(f.br, f.req)
	if err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue: %v %v", cont, err)
	}
	if _, err := io.WriteString(conn, body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	return f
}

// waitRefused waits until the server refuses new connections.
func (s *server) waitRefused(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		switch {
		case err == nil:
			c.Close()
		case errors.Is(err, syscall.ECONNREFUSED):
			return
		case errors.Is(err, syscall.ECONNRESET):
			// Caught in the backlog of the listener as it closed.
		default:
			t.Fatalf("dial during shutdown: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5 s after the signal")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGracefulShutdown sends the signal while a request's body is half sent:
// the request is answered, the process exits 0, and no new connection is
// accepted from the signal on.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			key := randomKey(t)
			s := startServer(t, filepath.Join(t.TempDir(), "batches.db"), "BATCHESD_DEMO_API_KEY="+key)
			f := startInFlight(t, s, key)

			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// The listener closes while the request is in flight.
			s.waitRefused(t)
			select {
			case <-s.done:
				t.Fatalf("exited before the in-flight request was answered: %v\nstderr:\n%s", s.err, s.stderr)
			default:
			}

			if _, err := io.WriteString(f.conn, f.rest); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(f.br, f.req)
			if err != nil {
				t.Fatalf("the in-flight request got no answer: %v\nstderr:\n%s", err, s.stderr)
			}
			var lr listResponse
			err = json.NewDecoder(resp.Body).Decode(&lr)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil {
				t.Fatalf("the in-flight request: %d %v", resp.StatusCode, err)
			}
			wantDemoPage(t, lr)
			// The server does not keep the connection for another request.
			if _, err := f.br.ReadByte(); err != io.EOF {
				t.Errorf("the connection stays open after the answer: %v", err)
			}

			if err := s.wait(t); err != nil {
				t.Fatalf("exit after %v: %v\nstderr:\n%s", sig, err, s.stderr)
			}
			if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
				t.Error("a connection was accepted after the exit")
			}
			log := s.stderr.String()
			for _, w := range []string{"shutting down", "status=200", "stopped"} {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
		})
	}
}

// TestShutdownSecondSignal: a second signal while a request is in flight
// stops the process at once, without waiting for the request.
func TestShutdownSecondSignal(t *testing.T) {
	t.Parallel()
	key := randomKey(t)
	s := startServer(t, filepath.Join(t.TempDir(), "batches.db"), "BATCHESD_DEMO_API_KEY="+key)
	f := startInFlight(t, s, key)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.waitRefused(t)
	// The handler has been uninstalled just before the log line; wait for
	// it rather than race it.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.stderr.String(), "shutting down") {
		if time.Now().After(deadline) {
			t.Fatalf("no shutdown log line:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	err := s.stop(t, syscall.SIGTERM)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Errorf("want death by the second signal, got %v\nstderr:\n%s", err, s.stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the second signal took %v to stop the process", d)
	}
	if _, err := http.ReadResponse(f.br, f.req); err == nil {
		t.Error("the in-flight request was answered")
	}
}

// TestShutdownTimeout: a request that does not finish within
// BATCHESD_SHUTDOWN_TIMEOUT does not keep the process alive; it exits 1.
func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	key := randomKey(t)
	s := startServer(t, filepath.Join(t.TempDir(), "batches.db"),
		"BATCHESD_DEMO_API_KEY="+key, "BATCHESD_SHUTDOWN_TIMEOUT=300ms")
	startInFlight(t, s, key)
	start := time.Now()
	err := s.stop(t, syscall.SIGTERM)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(s.stderr.String(), "batchesd: shutting down:") {
		t.Errorf("want exit 1 with an error about the shutdown: %v\nstderr:\n%s", err, s.stderr)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("exited %v after the signal, with a 300ms timeout", d)
	}
}

// TestAdminWhileServing runs the administration commands on the database
// file the server is serving.
func TestAdminWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "batches.db")
	demoKey := randomKey(t)
	s := startServer(t, db, "BATCHESD_DEMO_API_KEY="+demoKey)
	nsID := s.waitStdout(t, demoBannerRe)[2]

	// Keep the server busy reading while the commands write.
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	var loadErr error
	validated := &http.Client{Transport: apitest.NewTransport(t, nil)}
	load.Add(1)
	go func() {
		defer load.Done()
		for {
			select {
			case <-stopLoad:
				return
			default:
			}
			// Plain HTTP, not t.Fatal: this is not the test's goroutine.
			req, _ := http.NewRequest(http.MethodPost, s.url+"/v1/buckets/bkt_demo/batches/list", strings.NewReader(`{"limit":50}`))
			req.Header.Set("Authorization", "Bearer "+demoKey)
			req.Header.Set("X-Namespace", "demo")
			req.Header.Set("Content-Type", "application/json")
			resp, err := validated.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				loadErr = err
				return
			}
		}
	}()

	// A new organization, its key and bucket, made while serving, work at
	// once.
	a := setUpAcme(t, db)
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var want []map[string]any
	var lines []any
	for i := range 20 {
		b := batch(fmt.Sprintf("btch_live%08d", i), a.bucketID, t0.Add(time.Duration(i)*time.Minute), i%2 == 0)
		lines = append(lines, b)
		want = append([]map[string]any{b}, want...)
	}
	imp := parseKV(t, mustRun(t, a.args("import", "--bucket", a.bucketID, "--file", writeJSONL(t, dir, "acme.jsonl", lines...))...).stdout)
	if imp["IMPORTED"] != "20" {
		t.Fatalf("import printed %v", imp)
	}
	wantBatches(t, mustList(t, s.url, a.key, "production", a.bucketID, `{"limit":1000}`), want...)
	// The Acme key does not reach the demo organization.
	if status, body, _ := listBatches(t, s.url, a.key, "demo", "bkt_demo", `{}`); status == 200 {
		t.Errorf("Acme's key lists the demo bucket: %s", body)
	}

	// Into the demo bucket, through a second process reading standard
	// input, while the server serves it.
	extra := []any{
		batch("btch_demoextra001", "bkt_demo", time.Now().Add(time.Hour), true),
		batch("btch_demoextra002", "bkt_demo", time.Now().Add(2*time.Hour), false),
	}
	f, err := os.Open(writeJSONL(t, dir, "demo.jsonl", extra...))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(binary(t), "--database", db, "import", "--bucket", "bkt_demo", "--file", "-")
	cmd.Env = cleanEnv()
	cmd.Stdin = f
	out, err := cmd.Output()
	if err != nil || string(out) != "IMPORTED=2\nBUCKET_ID=bkt_demo\n" {
		t.Fatalf("import from stdin: %v\n%s", err, out)
	}
	page := mustList(t, s.url, demoKey, "demo", "bkt_demo", `{"limit":2}`)
	if page.TotalCount != domain.DemoBatchCount+2 || len(page.Results) != 2 ||
		!reflect.DeepEqual(page.Results[0], extra[1]) || !reflect.DeepEqual(page.Results[1], extra[0]) {
		t.Errorf("after the import into bkt_demo: total_count %d, first %v", page.TotalCount, page.Results)
	}
	// Another namespace in the demo organization, seen by the demo key.
	mustRun(t, "--database", db, "namespace", "create", "--org", s.waitStdout(t, demoBannerRe)[1], "--name", "staging")
	if status, body, _ := listBatches(t, s.url, demoKey, "staging", "bkt_demo", `{}`); status != 404 {
		t.Errorf("bkt_demo in namespace staging: %d %s", status, body)
	}
	// The demo namespace by id, from the banner.
	if lr := mustList(t, s.url, demoKey, nsID, "bkt_demo", `{"limit":1}`); lr.TotalCount != domain.DemoBatchCount+2 {
		t.Errorf("bkt_demo by namespace id: total_count %d", lr.TotalCount)
	}

	close(stopLoad)
	load.Wait()
	if loadErr != nil {
		t.Errorf("a list during the commands failed: %v", loadErr)
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, s.stderr)
	}
}

// TestServeEmptyVariablesAreUnset: BATCHESD_ variables set to "" count as
// unset (defaults apply), so a stray empty variable neither breaks the start
// nor changes what it listens on.
func TestServeEmptyVariablesAreUnset(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "batches.db")
	s := startServer(t, db, "BATCHESD_LOG_LEVEL=", "BATCHESD_NO_DEMO=", "BATCHESD_DEMO_API_KEY=", "BATCHESD_LOG_FORMAT=")
	m := s.waitStdout(t, regexp.MustCompile(`export MIXPEEK_API_KEY=(sk_live_[A-Za-z0-9]{40})`))
	wantDemoPage(t, mustList(t, s.url, m[1], "demo", "bkt_demo", `{"limit":5}`))
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, s.stderr)
	}
}
