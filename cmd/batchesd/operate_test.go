package main

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	// In process (go test's build) and the built binary: the module's
	// version, (devel) from a checkout, and Go's; a commit when the build
	// recorded one.
	re := regexp.MustCompile(`^batchesd (\(devel\)|v\S+)( commit [0-9a-f]{12}( \S+)?( \(modified\))?)?, go1\.\d+\S* \w+/\w+\n$`)
	r := batchesd(t, "--version")
	if r.code != 0 || !re.MatchString(r.stdout) {
		t.Errorf("--version: %v", r)
	}
	out, err := runBinary(t, "--version")
	if err != nil || !re.MatchString(out) {
		t.Errorf("the binary's --version: %v %q", err, out)
	}
}

// runBinary runs the built batchesd and returns its stdout.
func runBinary(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	return string(out), err
}

// TestDemoKeyOnExistingDatabase: BATCHESD_DEMO_API_KEY is registered for
// the demo on a database seeded earlier with another key, once; the older
// key still works.
func TestDemoKeyOnExistingDatabase(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "batches.db")
	first, second := randomKey(t), randomKey(t)
	s := startServer(t, db, "BATCHESD_DEMO_API_KEY="+first)
	mustList(t, s.url, first, "demo", "bkt_demo", `{"limit":1}`)
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	s = startServer(t, db, "BATCHESD_DEMO_API_KEY="+second)
	wantDemoPage(t, mustList(t, s.url, second, "demo", "bkt_demo", `{"limit":5}`))
	mustList(t, s.url, first, "demo", "bkt_demo", `{"limit":1}`)
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.stderr.String(), "registered BATCHESD_DEMO_API_KEY for the demo organization") {
		t.Errorf("the second start does not say it registered the key:\n%s", s.stderr)
	}
	if strings.Contains(s.stderr.String()+s.stdout.String(), second[len("sk_test_"):]) {
		t.Errorf("the key was printed")
	}

	// Again with the same key: nothing to do, nothing said.
	s = startServer(t, db, "BATCHESD_DEMO_API_KEY="+second)
	mustList(t, s.url, second, "demo", "bkt_demo", `{"limit":1}`)
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.stderr.String(), "BATCHESD_DEMO_API_KEY") {
		t.Errorf("a start with a registered key says:\n%s", s.stderr)
	}

	// A database without the demo: the key is not registered, and the
	// server says what to do.
	bare := filepath.Join(t.TempDir(), "bare.db")
	mustRun(t, "--database", bare, "org", "create", "--name", "Acme")
	s = startServer(t, bare, "BATCHESD_DEMO_API_KEY="+second)
	if status, body, _ := listBatches(t, s.url, second, "demo", "bkt_demo", `{}`); status != 401 {
		t.Errorf("the key on a database without the demo: %d %s", status, body)
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.stderr.String(), "no demo bucket") || !strings.Contains(s.stderr.String(), "key create --org") {
		t.Errorf("no warning:\n%s", s.stderr)
	}
}

func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "batches.db")
	key := randomKey(t)
	opsAddr := freeAddr(t)
	s := startServer(t, db, "BATCHESD_DEMO_API_KEY="+key, "BATCHESD_METRICS_ADDR="+opsAddr)
	mustList(t, s.url, key, "demo", "bkt_demo", `{"limit":1}`)

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, text := get("http://" + opsAddr + "/metrics")
	if code != 200 || !strings.Contains(text, `batchesd_http_requests_total{code="200",operation="listBatches"} 1`) ||
		!strings.Contains(text, `batchesd_db_connections{pool="read",state="idle"}`) {
		t.Errorf("/metrics on --metrics-addr: %d\n%s", code, text)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get("http://" + opsAddr + p); code != 200 {
			t.Errorf("%s on --metrics-addr: %d %s", p, code, body)
		}
		if code, body := get(s.url + p); code != 200 {
			t.Errorf("%s on --addr: %d %s", p, code, body)
		}
	}
	if code, _ := get(s.url + "/metrics"); code != 404 {
		t.Errorf("/metrics on --addr: %d, want 404 (it is on --metrics-addr)", code)
	}
	if code, _ := get(s.url + "/docs"); code != 200 {
		t.Errorf("/docs: %d", code)
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.stderr.String(), "serving metrics and probes") {
		t.Errorf("the log does not say where the metrics are:\n%s", s.stderr)
	}
	// The database is named by its absolute path.
	if !strings.Contains(s.stderr.String(), "database="+db) {
		t.Errorf("the listening line does not name %s:\n%s", db, s.stderr)
	}
}

// TestDatabasePathIsAbsolute: a relative --database is said as the file it
// is, by every command.
func TestDatabasePathIsAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := mustRun(t, "--database", "rel/batches.db", "org", "create", "--name", "Acme")
	want := "batchesd: database " + filepath.Join(dir, "rel", "batches.db") + "\n"
	if !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr %q, want it to start with %q", r.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "rel", "batches.db")); err != nil {
		t.Error(err)
	}
	r = batchesd(t, "--database", "rel/nope.db", "namespace", "create", "--org", "org_x", "--name", "n")
	if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(dir, "rel", "nope.db")+" does not exist") {
		t.Errorf("%v", r)
	}
}

func TestSetStatusAnyCase(t *testing.T) {
	t.Parallel()
	a := setUpAcme(t, filepath.Join(t.TempDir(), "batches.db"))
	file := writeJSONL(t, t.TempDir(), "b.jsonl", batch("btch_case00000001", a.bucketID, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), false))
	mustRun(t, a.args("import", "--bucket", a.bucketID, "--file", file)...)
	r := mustRun(t, a.args("batch", "set-status", "--id", "btch_case00000001", "--status", "archived")...)
	if kv := parseKV(t, r.stdout); kv["STATUS"] != "ARCHIVED" {
		t.Errorf("stdout %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "batchesd: note: --status archived taken as ARCHIVED\n") {
		t.Errorf("stderr %q", r.stderr)
	}
	// The exact value: no note.
	r = mustRun(t, a.args("batch", "set-status", "--id", "btch_case00000001", "--status", "FAILED")...)
	if strings.Contains(r.stderr, "note") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// TestHelpIsShort: a command's help names the shared flags in one line;
// batchesd --help has them in their groups.
func TestHelpIsShort(t *testing.T) {
	t.Parallel()
	r := batchesd(t, "key", "create", "--help")
	if r.code != 0 || strings.Contains(r.stdout, "--database-url=URL") || strings.Contains(r.stdout, "pool_max_conns") ||
		!strings.Contains(r.stdout, "--database, --database-url, --statement-timeout, --log-level, --log-format") {
		t.Errorf("key create --help:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, "\n"); n > 25 {
		t.Errorf("key create --help has %d lines", n)
	}
	r = batchesd(t, "--help")
	for _, want := range []string{"Database flags (every command):", "--database-url=URL", "Log flags (every command):", "--log-level"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, r.stdout)
		}
	}
	r = batchesd(t, "serve", "--help")
	for _, want := range []string{"--metrics-addr", "--rate-limit", "--rate-burst", "--compression", "Default 50", "Default 100"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestBadRateLimitIsAUsageError: a rate limit the handler would refuse is
// refused before anything is opened: exit 2, no database file, no key
// printed; a negative one after a space too, with the same message.
func TestBadRateLimitIsAUsageError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate-burst", "0"}, "--rate-burst 0: give 1 or more"},
		{[]string{"--rate-limit=-1"}, "--rate-limit -1: give 0 (no limit) or more requests a second"},
		{[]string{"--rate-limit", "-1"}, "--rate-limit -1: give 0 (no limit) or more requests a second"},
		{[]string{"--rate-limit", "-0.5"}, "--rate-limit -0.5: give 0 (no limit) or more requests a second"},
		{[]string{"--rate-limit", "NaN"}, "--rate-limit NaN: give 0 (no limit) or more requests a second"},
		{[]string{"--rate-limit", "Inf"}, "--rate-limit +Inf: give 0 (no limit) or more requests a second"},
	} {
		path := filepath.Join(t.TempDir(), "batches.db")
		r := batchesd(t, append([]string{"serve", "--database", path, "--addr", "127.0.0.1:0"}, c.args...)...)
		if want := "batchesd: serve: " + c.want + "\n" + serveUsage; r.code != 2 || r.stderr != want || r.stdout != "" {
			t.Errorf("serve %v: %v\nwant exit 2 and\n%s", c.args, r, want)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("serve %v: the database was created (%v)", c.args, err)
		}
	}
}

// TestRefusalsAreLogged: a request net/http refuses itself (here an HTTP
// version it does not speak) is answered by the real server with an
// X-Request-Id and a Date, and logged at Info with that id.
func TestRefusalsAreLogged(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "batches.db"), "BATCHESD_NO_DEMO=1")
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	const want = `{"error":{"details":{"net_http_status":505},"message":"Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1","type":"BadRequestError"},"status":400,"success":false}` + "\n"
	if resp.StatusCode != 400 || string(body) != want || !regexp.MustCompile(`^req_[A-Z2-7]{26}$`).MatchString(id) {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
		t.Errorf("Date %q: %v", resp.Header.Get("Date"), err)
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	line := `level=INFO msg="request refused by net/http" request_id=` + id +
		` status=400 net_http_status=505 message="Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1"` + "\n"
	if !strings.Contains(s.stderr.String(), line) {
		t.Errorf("no log line\n%s\nin\n%s", line, s.stderr)
	}
}
