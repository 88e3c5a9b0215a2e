package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// serveUsage is what follows a usage error of serve on stderr.
const serveUsage = "Usage: batchesd serve [flags]\nRun \"batchesd serve --help\" for more information.\n"

// TestBadServeValuesAreUsageErrors: every numeric, duration and address
// flag of serve, and the demo key, is checked before anything is opened:
// the real binary exits 2 with a message naming the flag (or the variable
// the value came from, and its flag) and what it takes, creates no
// database, prints nothing on stdout, and never shows a key.
func TestBadServeValuesAreUsageErrors(t *testing.T) {
	t.Parallel()
	const give0 = ": give 0 (no limit) or more"
	for _, c := range []struct {
		args []string
		env  []string
		want string // after "batchesd: serve: "
	}{
		// Limits.
		{args: []string{"--max-requests=-1"}, want: "--max-requests -1" + give0},
		{args: []string{"--max-requests", "-1"}, want: "--max-requests -1" + give0},
		{env: []string{"BATCHESD_MAX_REQUESTS=-1"}, want: "BATCHESD_MAX_REQUESTS=-1 (--max-requests)" + give0},
		{args: []string{"--max-requests-per-org=-2"}, want: "--max-requests-per-org -2: give 0 (no share of its own) or more"},
		{args: []string{"--queue-timeout=-1s"}, want: "--queue-timeout -1s: give a duration such as 1s, or 0 (no wait)"},
		{args: []string{"--max-connections", "0"}, want: "--max-connections 0: give 1 or more"},
		{args: []string{"--max-connections", "-5"}, want: "--max-connections -5: give 1 or more"},
		{args: []string{"--answer-memory=-1"}, want: "--answer-memory -1: give 0 (no limit) to 1048576 MiB (1 TiB)"},
		{args: []string{"--answer-memory", "9999999999999"}, want: "--answer-memory 9999999999999: give 0 (no limit) to 1048576 MiB (1 TiB)"},
		{args: []string{"--answer-memory-per-org=-1"}, want: "--answer-memory-per-org -1: give 0 (no share of its own) to 1048576 MiB (1 TiB)"},
		{env: []string{"BATCHESD_BODY_MEMORY=-64"}, want: "BATCHESD_BODY_MEMORY=-64 (--body-memory): give 0 (no limit) to 1048576 MiB (1 TiB)"},
		{env: []string{"BATCHESD_WRITE_TIMEOUT=-1s"}, want: "BATCHESD_WRITE_TIMEOUT=-1s (--write-timeout): give 1s or more, or 0 (no schedule: only the 60s for the whole answer)"},
		{args: []string{"--write-timeout", "1ms"}, want: "--write-timeout 1ms: give 1s or more, or 0 (no schedule: only the 60s for the whole answer)"},
		{args: []string{"--max-header-bytes", "10"}, want: "--max-header-bytes 10: give 1024 to 65536, or 0 (only net/http's own limit, 65536)"},
		{args: []string{"--max-header-bytes", "1023"}, want: "--max-header-bytes 1023: give 1024 to 65536, or 0 (only net/http's own limit, 65536)"},
		{args: []string{"--max-header-bytes", "65537"}, want: "--max-header-bytes 65537: give 1024 to 65536, or 0 (only net/http's own limit, 65536)"},
		{env: []string{"BATCHESD_MAX_HEADER_BYTES=-5"}, want: "BATCHESD_MAX_HEADER_BYTES=-5 (--max-header-bytes): give 1024 to 65536, or 0 (only net/http's own limit, 65536)"},
		// Caches.
		{args: []string{"--page-cache=-1"}, want: "--page-cache -1: give 0 (none kept) to 1048576 MiB (1 TiB)"},
		{env: []string{"BATCHESD_PAGE_CACHE=-1"}, want: "BATCHESD_PAGE_CACHE=-1 (--page-cache): give 0 (none kept) to 1048576 MiB (1 TiB)"},
		{args: []string{"--resolve-cache", "-1s"}, want: "--resolve-cache -1s: give a duration such as 1s, or 0 (looked up on every request)"},
		// Serve's own and those of operators.
		{args: []string{"--shutdown-timeout", "0"}, want: "--shutdown-timeout 0s: give a duration above 0, such as 30s"},
		{env: []string{"BATCHESD_SHUTDOWN_TIMEOUT=-1s"}, want: "BATCHESD_SHUTDOWN_TIMEOUT=-1s (--shutdown-timeout): give a duration above 0, such as 30s"},
		{args: []string{"--rate-limit", "-1"}, want: "--rate-limit -1: give 0 (no limit) or more requests a second"},
		{env: []string{"BATCHESD_RATE_BURST=-1"}, want: "BATCHESD_RATE_BURST=-1 (--rate-burst): give 1 or more"},
		{args: []string{"--addr", "nonsense"}, want: `--addr "nonsense": missing port in address: give host:port, such as 127.0.0.1:8080`},
		{env: []string{"BATCHESD_ADDR=127.0.0.1:99999"}, want: `BATCHESD_ADDR=127.0.0.1:99999 (--addr): invalid port: give host:port, such as 127.0.0.1:8080`},
		{args: []string{"--metrics-addr", "x"}, want: `--metrics-addr "x": missing port in address: give host:port, such as 127.0.0.1:9090`},
		{env: []string{"BATCHESD_METRICS_ADDR=x"}, want: `BATCHESD_METRICS_ADDR=x (--metrics-addr): missing port in address: give host:port, such as 127.0.0.1:9090`},
		// The demo's key: checked whether or not the database exists
		// (TestBadDemoKeyOnExistingDatabase), never shown.
		{env: []string{"BATCHESD_DEMO_API_KEY=short"}, want: "BATCHESD_DEMO_API_KEY (--demo-api-key): shorter than 20 characters: give 20 to 128 printable ASCII characters without spaces, or none to have one generated"},
		{args: []string{"--demo-api-key", "short"}, want: "--demo-api-key: shorter than 20 characters: give 20 to 128 printable ASCII characters without spaces, or none to have one generated"},
		{env: []string{"BATCHESD_DEMO_API_KEY=sk_test_with space_verysecret"}, want: "BATCHESD_DEMO_API_KEY (--demo-api-key): only printable ASCII without spaces is allowed: give 20 to 128 printable ASCII characters without spaces, or none to have one generated"},
		{args: []string{"--demo-api-key", "sk_test_" + strings.Repeat("verysecret", 13)}, want: "--demo-api-key: longer than 128 bytes: give 20 to 128 printable ASCII characters without spaces, or none to have one generated"},
		// Processing (TestBadProcessFlagsAreUsageErrors has the others).
		{env: []string{"BATCHESD_PROCESS_WORKERS=0"}, want: "BATCHESD_PROCESS_WORKERS=0 (--process-workers): give 1 or more"},
		{env: []string{"BATCHESD_DEMO_PROCESSING=-1"}, want: "BATCHESD_DEMO_PROCESSING=-1 (--demo-processing): give 0 (none) or more"},
	} {
		path := filepath.Join(t.TempDir(), "batches.db")
		var stdout, stderr bytes.Buffer
		args := []string{"--database", path}
		if !strings.Contains(strings.Join(c.args, " ")+strings.Join(c.env, " "), "ADDR") {
			args = append(args, "--addr", "127.0.0.1:0")
		}
		cmd := exec.Command(binary(t), append(args, c.args...)...)
		cmd.Env = cleanEnv(c.env...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if want := "batchesd: serve: " + c.want + "\n" + serveUsage; !errors.As(err, &ee) || ee.ExitCode() != 2 || stdout.Len() != 0 || stderr.String() != want {
			t.Errorf("%v %v: %v\nstdout:\n%s\nstderr:\n%s\nwant exit 2 and\n%s", c.env, c.args, err, &stdout, &stderr, want)
		}
		if strings.Contains(stderr.String(), "verysecret") {
			t.Errorf("%v %v: the key was shown", c.env, c.args)
		}
		if _, err := os.Stat(filepath.Dir(path)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v %v: the database was created (%v)", c.env, c.args, err)
		}
	}
}

// TestServeZeroMeansWhatHelpSays: the values of 0 the help gives a meaning
// start a server that answers, and so does the least --max-header-bytes,
// with an ordinary request.
func TestServeZeroMeansWhatHelpSays(t *testing.T) {
	t.Parallel()
	key := randomKey(t)
	s := startServerArgs(t, filepath.Join(t.TempDir(), "batches.db"),
		[]string{"--max-requests", "0", "--max-requests-per-org", "0", "--queue-timeout", "0", "--answer-memory", "0",
			"--answer-memory-per-org", "0", "--body-memory", "0", "--write-timeout", "0", "--page-cache", "0",
			"--resolve-cache", "0", "--rate-limit", "0", "--process-tier-duration", "0", "--max-header-bytes", "0"},
		"BATCHESD_DEMO_API_KEY="+key)
	wantDemoPage(t, mustList(t, s.url, key, "demo", "bkt_demo", `{"limit":5}`))
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, s.stderr)
	}

	s = startServerArgs(t, filepath.Join(t.TempDir(), "batches.db"), []string{"--max-header-bytes", "1024"}, "BATCHESD_DEMO_API_KEY="+key)
	wantDemoPage(t, mustList(t, s.url, key, "demo", "bkt_demo", `{"limit":5}`))
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, s.stderr)
	}
}

// TestBadDemoKeyOnExistingDatabase: a malformed demo key is refused before
// anything is opened on a database seeded earlier too (it used to be a
// warning once the server ran); a well-formed one that cannot be
// registered is a warning naming how the key was given, the flag or the
// variable.
func TestBadDemoKeyOnExistingDatabase(t *testing.T) {
	t.Parallel()
	bare := filepath.Join(t.TempDir(), "bare.db")
	mustRun(t, "--database", bare, "org", "create", "--name", "Acme")
	before, err := os.ReadFile(bare)
	if err != nil {
		t.Fatal(err)
	}
	r := batchesd(t, "--database", bare, "serve", "--addr", "127.0.0.1:0", "--demo-api-key", "short")
	want := "batchesd: serve: --demo-api-key: shorter than 20 characters: give 20 to 128 printable ASCII characters without spaces, or none to have one generated\n" + serveUsage
	if r.code != 2 || r.stderr != want || r.stdout != "" {
		t.Errorf("--demo-api-key short: %v\nwant exit 2 and\n%s", r, want)
	}
	if after, err := os.ReadFile(bare); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the database changed (%v)", err)
	}

	key := randomKey(t)
	for _, c := range []struct {
		args, env []string
		from      string
	}{
		{args: []string{"--demo-api-key", key}, from: "--demo-api-key"},
		{env: []string{"BATCHESD_DEMO_API_KEY=" + key}, from: "BATCHESD_DEMO_API_KEY"},
	} {
		s := startServerArgs(t, bare, c.args, c.env...)
		if err := s.stop(t, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		want := "level=WARN msg=\"" + c.from + " is not registered: this database has no demo bucket (it was started with --no-demo, or holds other organizations); register the key with `batchesd key create --org <id> --key <key>`\"\n"
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("%v %v: no warning %q:\n%s", c.args, c.env, want, s.stderr)
		}
	}
}
