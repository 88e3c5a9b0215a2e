package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestVersion: --version says the build, as batchesd's and batches' do, in
// process and from the built binary (it used to be an unknown flag, exit
// 80); an unknown flag is still kong's usage error.
func TestVersion(t *testing.T) {
	re := regexp.MustCompile(`^batchesbench (\(devel\)|v\S+)( commit [0-9a-f]{12}( \S+)?( \(modified\))?)?, go1\.\d+\S* \w+/\w+\n$`)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &stdout, &stderr); code != 0 || !re.MatchString(stdout.String()) || stderr.Len() != 0 {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, &stdout, &stderr)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"--versoin"}, &stdout, &stderr); code != 80 ||
		stderr.String() != "batchesbench: error: unknown flag --versoin, did you mean \"--version\"?\n" {
		t.Errorf("--versoin: exit %d, stdout %q, stderr %q", code, &stdout, &stderr)
	}

	bin := filepath.Join(t.TempDir(), "batchesbench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !re.Match(out) {
		t.Errorf("the binary's --version: %v %q", err, out)
	}
}
