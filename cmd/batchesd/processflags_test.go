package main

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// TestBadProcessFlagsAreUsageErrors: processing settings that cannot be
// are refused before anything is opened: exit 2, a message naming the
// flag, no database file.
func TestBadProcessFlagsAreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--process-error-ratio", "NaN"}, `--process-error-ratio: "NaN" is not a ratio: give a number from 0 to 1`},
		{[]string{"--process-failure-ratio", "Inf"}, `--process-failure-ratio: "Inf" is not a ratio`},
		{[]string{"--process-failure-ratio=-0.1"}, `"-0.1" is not a ratio`},
		{[]string{"--process-error-ratio", "1.5"}, `"1.5" is not a ratio`},
		{[]string{"--process-error-ratio", "x"}, `"x" is not a ratio`},
		{[]string{"--process-failure-ratio", "0.6", "--process-error-ratio", "0.5"}, "--process-failure-ratio 0.6 and --process-error-ratio 0.5 add up to more than 1"},
		{[]string{"--process-failure-ratio", "1", "--process-error-ratio", "0.15"}, "--process-failure-ratio 1 and --process-error-ratio 0.15 add up to more than 1"},
		{[]string{"--process-tiers", "0"}, "--process-tiers 0: a batch has 1 to 5 tiers"},
		{[]string{"--process-tiers", "6"}, "--process-tiers 6: a batch has 1 to 5 tiers"},
		{[]string{"--process-tiers=-1"}, "--process-tiers -1: a batch has 1 to 5 tiers"},
		{[]string{"--process-workers", "0"}, "--process-workers 0: give 1 or more"},
		{[]string{"--process-rescue-after", "500ms"}, "--process-rescue-after 500ms: give 1s or more"},
		{[]string{"--process-tier-duration=-1s"}, "serve: --process-tier-duration -1s: give a duration such as 3s, or 0 (none)\n"},
		{[]string{"--process-tier-duration", "-1s"}, "serve: --process-tier-duration -1s: give a duration such as 3s, or 0 (none)\n"},
		{[]string{"--demo-processing=-1"}, "serve: --demo-processing -1: give 0 (none) or more\n"},
		{[]string{"--process-failure-ratio", "-0.1"}, `--process-failure-ratio: "-0.1" is not a ratio`},
	} {
		path := filepath.Join(t.TempDir(), "batches.db")
		r := batchesd(t, append([]string{"serve", "--database", path, "--addr", "127.0.0.1:0"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || r.stdout != "" || strings.Contains(r.stderr, "--process-tiers, ") {
			t.Errorf("serve %v: want exit 2 and %q: %v", c.args, c.want, r)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("serve %v: the database was created (%v)", c.args, err)
		}
	}
}

// TestProcessRatios: what the ratio flags mean, given or not (the error
// ratio's default yields to the failure ratio: --process-failure-ratio 1
// alone fails every tier), from the flags and from their variables.
func TestProcessRatios(t *testing.T) {
	for _, c := range []struct {
		args                []string
		env                 map[string]string
		failure, errs       float64
		noFailures, refused bool
	}{
		{args: nil, failure: 0.1, errs: 0.15},
		{args: []string{"--process-failure-ratio", "1"}, failure: 1, errs: 0},
		{args: []string{"--process-failure-ratio", "0.9"}, failure: 0.9, errs: 0.09999999999999998},
		{args: []string{"--process-failure-ratio", "0.5"}, failure: 0.5, errs: 0.15},
		{args: []string{"--process-error-ratio", "1", "--process-failure-ratio", "0"}, failure: 0, errs: 1},
		{args: []string{"--process-error-ratio", "0.9"}, failure: 0.1, errs: 0.9},
		{args: []string{"--process-error-ratio", "0.95"}, refused: true},
		{args: []string{"--process-failure-ratio", "0", "--process-error-ratio", "0"}, noFailures: true},
		{env: map[string]string{"BATCHESD_PROCESS_FAILURE_RATIO": "1"}, failure: 1, errs: 0},
		{env: map[string]string{"BATCHESD_PROCESS_FAILURE_RATIO": "0", "BATCHESD_PROCESS_ERROR_RATIO": "0"}, noFailures: true},
	} {
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		var f processFlags
		parser, err := kong.New(&f, kong.Exit(func(int) {}), kong.Writers(io.Discard, io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.Parse(c.args); err != nil {
			t.Fatalf("%v %v: %v", c.args, c.env, err)
		}
		p, _, err := f.settings(&env{log: slog.New(slog.DiscardHandler)})
		switch {
		case c.refused:
			if err == nil {
				t.Errorf("%v %v: accepted", c.args, c.env)
			}
		case err != nil:
			t.Errorf("%v %v: %v", c.args, c.env, err)
		case p.NoFailures != c.noFailures || !c.noFailures && (p.FailureRatio != c.failure || p.ErrorRatio != c.errs):
			t.Errorf("%v %v: failure %v errors %v no failures %v, want %v %v %v", c.args, c.env, p.FailureRatio, p.ErrorRatio, p.NoFailures, c.failure, c.errs, c.noFailures)
		}
		for k := range c.env {
			os.Unsetenv(k)
		}
	}
}
