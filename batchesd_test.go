package batches_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// demoKey is the API key the demo of the batchesd process is created with
// (--demo-api-key).
const demoKey = "sk_test_examples0123456789abcdef"

// demoInfo is what a client of the demo needs: the server's base URL and
// the demo's API key, namespace and bucket.
type demoInfo struct {
	URL, APIKey, Namespace, Bucket string
}

// demo is the reference server as a user runs it: batchesd serve, built
// from ./cmd/batchesd and started as a process on a free port, on a
// SQLite database of its own with the demo data. The tests of this binary
// that need it share it (they only read); TestMain stops it.
var demo batchesd

// writable is a second batchesd like demo, for the tests that change its
// data (README's lifecycle program creates and submits a batch), so that
// those that read demo's see it as seeded.
var writable batchesd

// batchesd is one batchesd serve process of the tests.
type batchesd struct {
	once sync.Once
	info demoInfo
	skip string // why the tests that need it are skipped
	err  error
	dir  string // the binary, the database and the process's output
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// demoProcAttr is the process attribute of batchesd: on Linux, killed when
// the test binary dies (a panic, -timeout) before TestMain stops it.
var demoProcAttr *syscall.SysProcAttr

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range []*batchesd{&demo, &writable} {
		if err := p.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping batchesd:", err)
		}
	}
	os.Exit(code)
}

// demoServer returns the demo of the shared batchesd process, starting it
// on first use, or skips t under -short or without a go command.
func demoServer(t *testing.T) demoInfo {
	t.Helper()
	return demo.server(t)
}

// server returns p's demo, starting p on first use, or skips t under
// -short or without a go command.
func (p *batchesd) server(t *testing.T) demoInfo {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: this test builds cmd/batchesd with the go command and runs it as a process")
	}
	p.once.Do(func() { p.err = p.start() })
	if p.skip != "" {
		t.Skip(p.skip)
	}
	if p.err != nil {
		t.Fatalf("batchesd: %v", p.err)
	}
	return p.info
}

// moduleRoot is the directory of this module's go.mod: the working
// directory of the tests (this package's directory) or one above it.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/mixpeekgo/batches\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of module github.com/mixpeekgo/batches in the working directory or above it")
		}
		dir = parent
	}
}

// start builds batchesd, starts it and waits until it answers.
func (p *batchesd) start() error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		p.skip = fmt.Sprintf("no go command to build cmd/batchesd: %v", err)
		return nil
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if p.dir, err = os.MkdirTemp("", "batches-examples-"); err != nil {
		return err
	}
	bin := filepath.Join(p.dir, "batchesd")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command(goCmd, "build", "-o", bin, "./cmd/batchesd")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/batchesd: %v\n%s", err, out)
	}

	stdout, err := os.Create(filepath.Join(p.dir, "stdout"))
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(p.dir, "stderr"))
	if err != nil {
		return err
	}
	defer stderr.Close()
	// Port 0: the server picks a free port and logs it ("listening", addr).
	p.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(p.dir, "batches.db"),
		"--demo-api-key", demoKey, "--log-format", "json", "--shutdown-timeout", "10s",
		// The demo's 300 batches alone, none being processed: the
		// examples and the README's program print them.
		"--demo-processing", "0")
	// Without the developer's BATCHESD_ variables and DATABASE_URL (which
	// would make it serve a PostgreSQL database).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BATCHESD_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	p.cmd.SysProcAttr = demoProcAttr
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan struct{})
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()

	// It prints the demo it created on stdout, then logs the address it
	// listens on to stderr.
	created := regexp.MustCompile(`(?m)^Created the demo organization \S+ with namespace "([^"]+)" \(\S+\) and bucket (\S+)\.$`)
	deadline := time.Now().Add(30 * time.Second)
	for p.info.URL == "" {
		select {
		case <-p.done:
			return fmt.Errorf("batchesd exited before listening: %v\n%s", p.cmd.ProcessState, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("batchesd did not log where it listens within 30 s\n%s", p.output())
		}
		logs, _ := os.ReadFile(stderr.Name())
		sc := bufio.NewScanner(bytes.NewReader(logs))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Addr != "" {
				if _, _, err := net.SplitHostPort(line.Addr); err != nil {
					return fmt.Errorf("batchesd listens on %q: %v", line.Addr, err)
				}
				p.info.URL = "http://" + line.Addr
			}
		}
	}
	out, _ := os.ReadFile(stdout.Name())
	m := created.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("batchesd did not print the demo it created\n%s", p.output())
	}
	p.info.APIKey, p.info.Namespace, p.info.Bucket = demoKey, string(m[1]), string(m[2])

	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.info.URL + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("batchesd does not answer at %s: %v\n%s", p.info.URL, err, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// output is what batchesd wrote so far, for an error message.
func (p *batchesd) output() string {
	var b strings.Builder
	for _, name := range []string{"stdout", "stderr"} {
		data, _ := os.ReadFile(filepath.Join(p.dir, name))
		fmt.Fprintf(&b, "%s:\n%s\n", name, data)
	}
	return b.String()
}

// stop stops batchesd, if started, as Ctrl-C does (killing it if it has
// not stopped after 15 s), and removes its directory.
func (p *batchesd) stop() error {
	var err error
	if p.done != nil {
		select {
		case <-p.done:
			err = fmt.Errorf("it had exited during the tests: %v\n%s", p.cmd.ProcessState, p.output())
		default:
			if runtime.GOOS == "windows" { // no SIGINT
				p.cmd.Process.Kill()
			} else {
				p.cmd.Process.Signal(os.Interrupt)
			}
			select {
			case <-p.done:
				if runtime.GOOS != "windows" && !p.cmd.ProcessState.Success() {
					err = fmt.Errorf("%v\n%s", p.cmd.ProcessState, p.output())
				}
			case <-time.After(15 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
				err = fmt.Errorf("killed: not stopped 15 s after SIGINT\n%s", p.output())
			}
		}
	}
	if p.dir != "" {
		if rmErr := os.RemoveAll(p.dir); err == nil {
			err = rmErr
		}
	}
	return err
}
