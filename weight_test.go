package batches_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maxClientRequirements is the most requirements (this module included) a
// module that imports only the client may gain: this module, and the four
// its build needs (backoff, and the generated client's runtime with its
// two dependencies).
const maxClientRequirements = 5

// maxClientSumLines is the most lines the go.sum of a module that imports
// only the client may have: 22 today, the checksums of the modules above
// and of what go mod tidy loads for their tests (testify's, go-yaml's, …).
// The client's own test imports count too, since go mod tidy loads the
// tests of the packages a module imports: one that brought in the server
// (SQLite, kin-openapi) made it 64 lines, and 364 MB to download on a cold
// module cache instead of 3.5 MB.
const maxClientSumLines = 30

// serverOnly are modules (path prefixes) of the reference server that must
// not appear in the go.sum of a module that imports only the client.
var serverOnly = []string{
	"modernc.org/",
	"github.com/getkin/kin-openapi",
	"github.com/oapi-codegen/nethttp-middleware",
	"github.com/pressly/goose",
	"github.com/jackc/pgx",
}

// batchestestNeeds is every module a module that also imports
// api/batchestest may require: what the reference server needs to run in
// a test. A module outside it (the code generator, pgx, x/perf, kong, …)
// fails TestImportWeight until it is added here, on purpose.
var batchestestNeeds = []string{
	"github.com/mixpeekgo/batches",
	// The client: retries, and the generated client's runtime.
	"github.com/cenkalti/backoff/v5",
	"github.com/oapi-codegen/runtime",
	"github.com/apapsch/go-jsonmerge/v2",
	"github.com/google/uuid",
	// The server's request validation and the contract check of every
	// exchange (kin-openapi, and what it needs).
	"github.com/getkin/kin-openapi",
	"github.com/oapi-codegen/nethttp-middleware",
	"github.com/go-openapi/jsonpointer",
	"github.com/gorilla/mux",
	"github.com/santhosh-tekuri/jsonschema/v6",
	"go.yaml.in/yaml/v4",
	"golang.org/x/text",
	// Admission: the connection cap (netutil) and the semaphores.
	"golang.org/x/net",
	"golang.org/x/sync",
	// Migrations (goose).
	"github.com/pressly/goose/v3",
	"github.com/mfridman/interpolate",
	"github.com/sethvargo/go-retry",
	"go.uber.org/multierr",
	"golang.org/x/sync",
	// SQLite (modernc.org/sqlite, pure Go).
	"modernc.org/sqlite",
	"modernc.org/libc",
	"modernc.org/mathutil",
	"modernc.org/memory",
	"github.com/dustin/go-humanize",
	"github.com/mattn/go-isatty",
	"github.com/ncruces/go-strftime",
	"github.com/remyoudompheng/bigfft",
	"golang.org/x/sys",
	// The processing queue (api/river): river, its SQLite driver, and
	// the JSON paths river reads its jobs' arguments with.
	"github.com/riverqueue/river",
	"github.com/riverqueue/river/riverdriver",
	"github.com/riverqueue/river/riverdriver/riversqlite",
	"github.com/riverqueue/river/rivershared",
	"github.com/riverqueue/river/rivertype",
	"github.com/tidwall/gjson",
	"github.com/tidwall/match",
	"github.com/tidwall/pretty",
	"github.com/tidwall/sjson",
	// What the server's operators get (api/metrics.go, compress.go,
	// ratelimit.go): Prometheus metrics, and what client_golang needs;
	// compression; rate limits.
	"github.com/prometheus/client_golang",
	"github.com/prometheus/client_model",
	"github.com/prometheus/common",
	"github.com/prometheus/procfs",
	"github.com/beorn7/perks",
	"github.com/cespare/xxhash/v2",
	"github.com/munnerz/goautoneg",
	"google.golang.org/protobuf",
	"github.com/klauspost/compress",
	"golang.org/x/time",
}

// TestImportWeight measures what importing this module costs a user: in a
// module of its own outside this one (go.mod requires
// github.com/mixpeekgo/batches, replaced by this checkout), a program that
// imports the client, then one that also imports api/batchestest; go mod
// tidy writes the requirements each needs, and go.sum the checksums of
// what it loaded. The client alone may bring at most maxClientRequirements
// and maxClientSumLines lines of go.sum, none of serverOnly; batchestest
// only batchestestNeeds.
func TestImportWeight(t *testing.T) {
	t.Parallel() // the go command's work, beside the other tests
	if testing.Short() {
		t.Skip("runs go mod tidy in a module of its own")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	// The checkout's go.sum spares tidy the checksum database; it keeps
	// only the lines the module needs.
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}

	client := readmeProgram(t)
	withFake := `package main

import (
	"fmt"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/batchestest"
)

var _ = batchestest.NewServer

func main() { fmt.Println(batches.Version) }
`
	for _, tc := range []struct {
		name, program string
		check         func(t *testing.T, reqs []string, sum string)
	}{
		{"client", client, func(t *testing.T, reqs []string, sum string) {
			if len(reqs) > maxClientRequirements {
				t.Errorf("a module importing the client requires %d modules, more than %d:\n%s", len(reqs), maxClientRequirements, strings.Join(reqs, "\n"))
			}
			if n := strings.Count(sum, "\n"); n > maxClientSumLines {
				t.Errorf("the go.sum of a module importing the client has %d lines, more than %d (do the client's tests import more than the standard library and the client's own requirements?):\n%s", n, maxClientSumLines, sum)
			}
			for _, line := range strings.Split(sum, "\n") {
				for _, m := range serverOnly {
					if strings.HasPrefix(line, m) {
						t.Errorf("the go.sum of a module importing the client holds %s, a module of the server: %s", m, line)
					}
				}
			}
		}},
		{"batchestest", withFake, func(t *testing.T, reqs []string, _ string) {
			for _, r := range reqs {
				if !slices.Contains(batchestestNeeds, r) {
					t.Errorf("a module importing api/batchestest requires %s, which the reference server does not need to run (or add it to batchestestNeeds)", r)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			goMod := fmt.Sprintf("module example.com/weight\n\ngo 1.26\n\nrequire github.com/mixpeekgo/batches v0.0.0\n\nreplace github.com/mixpeekgo/batches => %s\n", root)
			for name, data := range map[string]string{"main.go": tc.program, "go.mod": goMod, "go.sum": string(sum)} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			goIn := func(args ...string) []byte {
				t.Helper()
				cmd := exec.CommandContext(t.Context(), goCmd, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
				}
				return out
			}
			goIn("mod", "tidy")
			var mod struct{ Require []struct{ Path string } }
			if err := json.Unmarshal(goIn("mod", "edit", "-json"), &mod); err != nil {
				t.Fatal(err)
			}
			var reqs []string
			for _, r := range mod.Require {
				reqs = append(reqs, r.Path)
			}
			sumLines, err := os.ReadFile(filepath.Join(dir, "go.sum"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d requirements, %d lines of go.sum", len(reqs), bytes.Count(sumLines, []byte("\n")))
			tc.check(t, reqs, string(sumLines))
		})
	}
}
