package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/postgres"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// binDir holds the batchesd binary that the tests which need a real process
// (signals, a second process on the same database) run; it is built once,
// on first use, by binary.
var binDir string

func TestMain(m *testing.M) {
	// run reads BATCHESD_ variables (kong's env tags): keep the developer's
	// settings out of the in-process runs too.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "BATCHESD_") || k == "DATABASE_URL" {
			os.Unsetenv(k)
		}
	}
	dir, err := os.MkdirTemp("", "batchesd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "batchesd")
	// go test puts $GOROOT/bin first in PATH, so this is the go command
	// that runs the tests.
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// binary returns the path of the built batchesd.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// cleanEnv is the environment of the process without BATCHESD_ variables
// and DATABASE_URL, so that the developer's settings do not leak into the
// tests.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BATCHESD_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// result is what one run of batchesd did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// batchesd runs the command in-process through run, as main would.
func batchesd(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs the command and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := batchesd(t, args...)
	if r.code != 0 {
		t.Fatalf("batchesd %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// parseKV parses KEY=value lines, as a shell's eval would (values are
// simple words or single-quoted).
func parseKV(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || k == "" || strings.ToUpper(k) != k {
			t.Fatalf("not a KEY=value line: %q in\n%s", sc.Text(), out)
		}
		if strings.HasPrefix(v, "'") {
			v = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'"), `'\''`, "'")
		}
		if _, dup := m[k]; dup {
			t.Fatalf("%s printed twice in\n%s", k, out)
		}
		m[k] = v
	}
	return m
}

// parseJSONObject parses out as exactly one JSON object of strings.
func parseJSONObject(t *testing.T, out string) map[string]string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var m map[string]string
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not a JSON object of strings: %v\n%s", err, out)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("more than one JSON value in\n%s", out)
	}
	for k := range m {
		if k != strings.ToLower(k) {
			t.Errorf("JSON key %q is not lower-case in %s", k, out)
		}
	}
	return m
}

// listResponse is the body of a 200 answer of List Batches, its batches
// kept as generic JSON (numbers as json.Number) to compare field by field.
type listResponse struct {
	Results    []map[string]any `json:"results"`
	TotalCount int64            `json:"total_count"`
}

// listBatches calls List Batches at baseURL and returns the status, the raw
// body, and the decoded body when the status is 200.
func listBatches(t *testing.T, baseURL, key, namespace, bucket, body string) (int, []byte, listResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/v1/buckets/"+bucket+"/batches/list", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Namespace", namespace)
	req.Header.Set("Content-Type", "application/json")
	// The exchange is checked against openapi.yaml.
	client := &http.Client{Timeout: 10 * time.Second, Transport: apitest.NewTransport(t, nil)}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var lr listResponse
	if resp.StatusCode == http.StatusOK {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&lr); err != nil {
			t.Fatalf("200 body is not a ListBatchesResponse: %v\n%s", err, raw)
		}
	}
	return resp.StatusCode, raw, lr
}

// mustList is listBatches that fails the test unless the answer is 200.
func mustList(t *testing.T, baseURL, key, namespace, bucket, body string) listResponse {
	t.Helper()
	status, raw, lr := listBatches(t, baseURL, key, namespace, bucket, body)
	if status != http.StatusOK {
		t.Fatalf("list %s in %s: status %d: %s", bucket, namespace, status, raw)
	}
	return lr
}

// serveInProcess serves the database at path, a SQLite file or a
// postgres:// URL, over real HTTP on 127.0.0.1, with the same handler
// batchesd serves, to look at what the administration commands stored.
func serveInProcess(t *testing.T, path string) string {
	t.Helper()
	var db domain.DB
	var err error
	if strings.HasPrefix(path, "postgres://") {
		db, err = postgres.Open(context.Background(), path)
	} else {
		db, err = sqlite.Open(context.Background(), path)
	}
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewHandler(db)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(apitest.Handler(t, h))
	t.Cleanup(func() {
		srv.Close()
		db.Close()
	})
	return srv.URL
}

// batch returns a Batch object as the List endpoint returns it, every field
// present: with full set, every nullable field has a value; otherwise they
// are null.
func batch(id, bucket string, created time.Time, full bool) map[string]any {
	b := map[string]any{
		"batch_id":       id,
		"bucket_id":      bucket,
		"status":         "COMPLETED",
		"object_ids":     []any{"obj_" + id[5:] + "a", "obj_" + id[5:] + "b"},
		"collection_ids": nil,
		"error":          nil,
		"error_summary":  nil,
		"type":           "BUCKET",
		"task_id":        nil,
		"metadata":       map[string]any{"source": "nightly-import"},
		"current_tier":   nil,
		"total_tiers":    json.Number("1"),
		"created_at":     created.UTC().Format(time.RFC3339Nano),
		"updated_at":     created.Add(4*time.Minute + 31*time.Second).UTC().Format(time.RFC3339Nano),
		// Mixpeek's fields, which the contract gained in 2.0.0.
		"manifest_key":      nil,
		"loaded_object_ids": nil,
		"internal_metadata": nil,
		"tier_tasks":        []any{},
		"dag_tiers":         nil,
	}
	if full {
		started := created.Add(5 * time.Second).UTC().Format(time.RFC3339Nano)
		done := created.Add(4*time.Minute + 30*time.Second).UTC().Format(time.RFC3339Nano)
		b["manifest_key"] = "manifests/bkt/" + id + "/tier_0.parquet"
		b["loaded_object_ids"] = []any{"obj_" + id[5:] + "a"}
		b["internal_metadata"] = map[string]any{"engine_version": "0.81.1", "ratio": json.Number("0.50")}
		b["dag_tiers"] = []any{[]any{"col_products01"}, []any{"col_videos2025"}}
		job := map[string]any{
			"extractor_type": "video_extractor", "collection_ids": []any{"col_videos2025"}, "ray_job_id": "raysubmit_1",
			"celery_task_id": nil, "status": "COMPLETED_WITH_ERRORS", "started_at": started, "completed_at": done,
			"duration_ms": json.Number("265000.5"), "documents_written": json.Number("1"), "error": nil,
			"errors": []any{map[string]any{
				"error_type": "network", "message": "timed out", "component": "video_extractor", "stage": nil,
				"traceback": nil, "timestamp": done, "affected_document_ids": []any{"obj_" + id[5:] + "b"},
				"affected_count": json.Number("1"), "recovery_suggestion": "retry", "metadata": map[string]any{},
			}},
		}
		b["tier_tasks"] = []any{map[string]any{
			"tier_num": json.Number("0"), "task_id": "task_" + id[5:], "status": "COMPLETED", "collection_ids": []any{"col_products01"},
			"extractor_jobs": []any{}, "source_type": "bucket", "source_collection_ids": nil, "parent_task_id": nil,
			"started_at": started, "completed_at": started, "duration_ms": json.Number("0"), "errors": []any{},
			"error_summary": nil, "performance": map[string]any{"docs_per_second": json.Number("12.5")}, "ray_job_id": nil,
			"celery_task_id": nil, "source_documents_fetched": json.Number("2"), "documents_after_source_filter": json.Number("2"),
			"documents_missing_input_fields": json.Number("0"), "documents_submitted_to_engine": json.Number("2"),
			"documents_written": json.Number("2"),
		}, map[string]any{
			"tier_num": json.Number("1"), "task_id": "task_" + id[5:] + "_1", "status": "COMPLETED_WITH_ERRORS",
			"collection_ids": []any{"col_videos2025"}, "extractor_jobs": []any{job}, "source_type": "collection",
			"source_collection_ids": []any{"col_products01"}, "parent_task_id": "task_" + id[5:], "started_at": started,
			"completed_at": done, "duration_ms": json.Number("265000.5"), "errors": job["errors"],
			"error_summary": map[string]any{"timeout": json.Number("1")}, "performance": nil, "ray_job_id": "raysubmit_1",
			"celery_task_id": "c1", "source_documents_fetched": json.Number("2"), "documents_after_source_filter": json.Number("2"),
			"documents_missing_input_fields": json.Number("0"), "documents_submitted_to_engine": json.Number("2"),
			"documents_written": json.Number("1"),
		}}
		b["status"] = "COMPLETED_WITH_ERRORS"
		b["type"] = "COLLECTION"
		b["collection_ids"] = []any{"col_products01", "col_videos2025"}
		b["error"] = "2 objects failed"
		b["error_summary"] = map[string]any{"timeout": json.Number("2"), "unsupported_format": json.Number("1")}
		b["task_id"] = "task_" + id[5:]
		b["metadata"] = map[string]any{
			"source":  "api",
			"big":     json.Number("12345678901234567890"),
			"ratio":   json.Number("0.25"),
			"nested":  map[string]any{"tags": []any{"a", "b"}, "ok": true, "none": nil},
			"unicode": "naïve ☃",
		}
		b["current_tier"] = json.Number("2")
		b["total_tiers"] = json.Number("3")
	}
	return b
}

// writeJSONL writes one line a value to a new file in dir and returns its
// path; a string value is written as is.
func writeJSONL(t *testing.T, dir, name string, lines ...any) string {
	t.Helper()
	var buf bytes.Buffer
	for _, l := range lines {
		if s, ok := l.(string); ok {
			buf.WriteString(s)
		} else {
			j, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(j)
		}
		buf.WriteByte('\n')
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
