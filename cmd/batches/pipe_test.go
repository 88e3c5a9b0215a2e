package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain runs the command's main instead of the tests when the test
// binary is started as the command (see runMain), so that a test can see
// what the process does: its exit status, its signals.
func TestMain(m *testing.M) {
	if os.Getenv("BATCHES_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// runMain starts this test binary as the command with args and env, its
// stdout a pipe the caller reads.
func runMain(t *testing.T, env map[string]string, args ...string) (*exec.Cmd, *bufio.Reader, func() error, *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BATCHES_TEST_RUN_MAIN=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewReader(stdout), stdout.Close, &stderr
}

// A reader that stops early (batches list --all -o jsonl | head -1) ends
// the command with status 0 and nothing on stderr, not SIGPIPE's 141.
func TestClosedStdoutIsANormalEnd(t *testing.T) {
	const total = 5000 // far more output than a pipe holds
	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Offset, Limit int }
		json.NewDecoder(r.Body).Decode(&req)
		var results []map[string]any
		for i := req.Offset; i < min(req.Offset+req.Limit, total); i++ {
			results = append(results, fakeBatch(i))
		}
		body, _ := json.Marshal(map[string]any{"results": results, "total_count": total})
		writeBody(w, 200, "application/json", string(body))
	})
	for _, args := range [][]string{
		{"list", "--bucket", "bkt_demo", "--all", "-o", "jsonl"},
		{"list", "--bucket", "bkt_demo", "--all", "-o", "json"},
		{"list", "--bucket", "bkt_demo", "--limit", "1000", "-o", "table"},
	} {
		t.Run(args[len(args)-1], func(t *testing.T) {
			before := n.Load()
			cmd, stdout, closeStdout, stderr := runMain(t, fakeEnv(url), args...)
			line, err := stdout.ReadString('\n')
			if err != nil || line == "" {
				t.Fatalf("first line %q: %v", line, err)
			}
			closeStdout() // as head -1 does
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%v (%v); stderr %q", err, cmd.ProcessState, stderr)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr %q", stderr)
			}
			// The walk stopped: not every page was fetched.
			if strings.HasSuffix(args[len(args)-1], "jsonl") && n.Load()-before >= total/1000 {
				t.Errorf("%d requests after the reader left", n.Load()-before)
			}
		})
	}
}
