package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, false, "--version")
	if r.code != 0 || !regexp.MustCompile(`^batches (\(devel\)|v\S+)( commit [0-9a-f]{12}( \S+)?( \(modified\))?)?, go1\.\d+\S* \w+/\w+\n$`).MatchString(r.stdout) {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestStatusCaseNote: a status in another case is sent in the contract's,
// and stderr says so; the exact value goes without a note.
func TestStatusCaseNote(t *testing.T) {
	url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 200, "application/json", `{"results":[],"total_count":0}`)
	})
	r := runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo", "--status", "Completed_With_Errors")
	if r.code != 0 || r.stderr != "note: --status Completed_With_Errors taken as COMPLETED_WITH_ERRORS\n" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, fakeEnv(url), false, "list", "--bucket", "bkt_demo", "--status", "FAILED")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestListHelpIsShort: batches list --help fits a screen; batches --help
// has the rest.
func TestListHelpIsShort(t *testing.T) {
	r := runCLI(t, nil, false, "list", "--help")
	if n := strings.Count(r.stdout, "\n"); r.code != 0 || n > 50 {
		t.Errorf("list --help: exit %d, %d lines", r.code, n)
	}
	r = runCLI(t, nil, false, "--help")
	for _, want := range []string{"--all walks every page", "-o jsonl writes one batch per line", "exponential backoff"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
