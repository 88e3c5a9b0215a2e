package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/sqlite"
	"github.com/mixpeekgo/batches/generated/client"
)

// demo is a reference server over a fresh SQLite file seeded with the demo
// data, as the CLI sees it.
type demo struct {
	url      string
	info     domain.DemoInfo
	requests *atomic.Int64
}

// env is the environment that points the CLI at the demo.
func (d demo) env() map[string]string {
	return map[string]string{
		"MIXPEEK_API_KEY":   d.info.APIKey,
		"MIXPEEK_NAMESPACE": d.info.NamespaceName,
		"MIXPEEK_BASE_URL":  d.url,
	}
}

func startDemo(t *testing.T) demo {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "batches.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	info, seeded, err := db.SeedDemo(ctx, "")
	if err != nil || !seeded {
		t.Fatalf("SeedDemo: %v, seeded %v", err, seeded)
	}
	real, err := api.NewHandler(db)
	if err != nil {
		t.Fatal(err)
	}
	// Every request the CLI sends and every answer must conform to the
	// contract.
	h := apitest.Handler(t, real)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return demo{url: srv.URL, info: info, requests: &n}
}

// page is a ListBatchesResponse decoded into the client's types.
type page struct {
	Results    []batches.Batch `json:"results"`
	TotalCount int64           `json:"total_count"`
}

// decodePage decodes JSON output strictly as a ListBatchesResponse (no
// field the generated client's types do not have), into the client's
// types.
func decodePage(t *testing.T, out string) page {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var strict client.ListBatchesResponse
	if err := dec.Decode(&strict); err != nil {
		t.Fatalf("output is not a ListBatchesResponse: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value in the output:\n%s", out)
	}
	var p page
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(bs []batches.Batch) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.BatchID
	}
	return out
}

// listAll lists every batch of the demo bucket (with --all).
func listAll(t *testing.T, d demo, extra ...string) page {
	t.Helper()
	r := runCLI(t, d.env(), false, append([]string{"list", "--bucket", d.info.BucketID, "--all", "-o", "json"}, extra...)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	return decodePage(t, r.stdout)
}

func TestDemoListJSON(t *testing.T) {
	d := startDemo(t)
	// Not a terminal and no -o: JSON.
	r := runCLI(t, d.env(), false, "list", "--bucket", "bkt_demo")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	p := decodePage(t, r.stdout)
	if len(p.Results) != 100 || p.TotalCount != 300 {
		t.Fatalf("%d results of %d, want the server's default page, 100 of 300", len(p.Results), p.TotalCount)
	}
	if !strings.HasPrefix(r.stdout, "{\n  \"results\": [\n") {
		t.Errorf("not indented:\n%.200s", r.stdout)
	}
	for i := 1; i < len(p.Results); i++ {
		a, b := p.Results[i-1], p.Results[i]
		if a.CreatedAt.Before(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.BatchID < b.BatchID {
			t.Fatalf("not newest first at %d: %s then %s", i, a.BatchID, b.BatchID)
		}
	}

	// The JSON is the server's body, indented: same as asking directly.
	req, _ := http.NewRequest(http.MethodPost, d.url+"/v1/buckets/bkt_demo/batches/list", strings.NewReader(`{"offset":7,"limit":3}`))
	req.Header.Set("Authorization", "Bearer "+d.info.APIKey)
	req.Header.Set("X-Namespace", "demo")
	req.Header.Set("Content-Type", "application/json")
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var direct any
	if err := json.NewDecoder(rsp.Body).Decode(&direct); err != nil {
		t.Fatal(err)
	}
	_ = rsp.Body.Close()
	r = runCLI(t, d.env(), false, "list", "--bucket", "bkt_demo", "--offset", "7", "--limit", "3", "-o", "json")
	var viaCLI any
	if err := json.Unmarshal([]byte(r.stdout), &viaCLI); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(direct)
	b, _ := json.Marshal(viaCLI)
	if string(a) != string(b) {
		t.Errorf("CLI JSON differs from the server's:\n%s\n%s", a, b)
	}
}

func TestDemoListTable(t *testing.T) {
	d := startDemo(t)
	all := listAll(t, d)

	// A terminal and no -o: a table.
	r := runCLI(t, d.env(), true, "list", "--bucket", "bkt_demo", "--offset", "5", "--limit", "10")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 12 {
		t.Fatalf("%d lines, want header, 10 rows, footer:\n%s", len(lines), r.stdout)
	}
	if h := strings.Fields(lines[0]); !slices.Equal(h, []string{"BATCH", "ID", "STATUS", "TYPE", "OBJECTS", "CREATED", "UPDATED", "ERROR"}) {
		t.Errorf("header %q", lines[0])
	}
	if lines[11] != "showing 6-15 of 300" {
		t.Errorf("footer %q", lines[11])
	}
	rfc3339 := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	for i, line := range lines[1:11] {
		f := strings.Fields(line)
		want := all.Results[5+i]
		if f[0] != want.BatchID || f[1] != string(want.Status) || f[2] != string(want.Type) {
			t.Errorf("row %d %q, want %s %s %s", i, line, want.BatchID, want.Status, want.Type)
		}
		if f[3] != strconv.Itoa(len(want.ObjectIDs)) {
			t.Errorf("row %d objects %s, want %d", i, f[3], len(want.ObjectIDs))
		}
		if !rfc3339.MatchString(f[4]) || f[4] != want.CreatedAt.UTC().Format(time.RFC3339) || !rfc3339.MatchString(f[5]) {
			t.Errorf("row %d times %s %s", i, f[4], f[5])
		}
	}

	// -o table when not a terminal; -o json on a terminal.
	r = runCLI(t, d.env(), false, "list", "--bucket", "bkt_demo", "-o", "table")
	if !strings.HasPrefix(r.stdout, "BATCH ID") || !strings.HasSuffix(r.stdout, "showing 1-100 of 300\n") {
		t.Errorf("-o table:\n%s", r.stdout)
	}
	r = runCLI(t, d.env(), true, "list", "--bucket", "bkt_demo", "-o", "json")
	decodePage(t, r.stdout)

	// --all as a table.
	r = runCLI(t, d.env(), false, "list", "--bucket", "bkt_demo", "--all", "-o", "table")
	if n := strings.Count(r.stdout, "\n"); n != 302 || !strings.HasSuffix(r.stdout, "showing 1-300 of 300\n") {
		t.Errorf("--all table has %d lines, ends %q", n, r.stdout[max(0, len(r.stdout)-40):])
	}
}

func TestDemoStatusFilter(t *testing.T) {
	d := startDemo(t)
	all := listAll(t, d)
	counts := map[batches.TaskStatus]int64{}
	for _, b := range all.Results {
		counts[b.Status]++
	}
	if len(counts) < 2 {
		t.Fatalf("the demo has only statuses %v", counts)
	}
	for _, s := range batches.TaskStatuses() {
		st := s
		// Lower case is accepted too.
		r := runCLI(t, d.env(), false, "list", "--bucket", "bkt_demo", "--status", strings.ToLower(string(st)), "--limit", "1000")
		if r.code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", st, r.code, r.stderr)
		}
		p := decodePage(t, r.stdout)
		if p.TotalCount != counts[st] || int64(len(p.Results)) != counts[st] {
			t.Errorf("%s: %d results, total_count %d; want %d", st, len(p.Results), p.TotalCount, counts[st])
		}
		for _, b := range p.Results {
			if b.Status != st {
				t.Errorf("%s: batch %s is %s", st, b.BatchID, b.Status)
			}
		}
	}
	// --status with --all and small pages.
	p := listAll(t, d, "--status", "COMPLETED", "--limit", "7")
	if p.TotalCount != counts[batches.TaskStatusCompleted] || int64(len(p.Results)) != p.TotalCount {
		t.Errorf("--all --status COMPLETED: %d results, total %d, want %d", len(p.Results), p.TotalCount, counts[batches.TaskStatusCompleted])
	}
}

// TestDemoCollectionFilter: --collection lists the batches whose
// collection_ids hold the collection, alone and with --status, one page and
// --all; -o json shows Mixpeek's fields, tier_tasks decoded into the
// client's types.
func TestDemoCollectionFilter(t *testing.T) {
	d := startDemo(t)
	all := listAll(t, d)
	const col = "col_products01"
	var want, wantCompleted []string
	tiers := 0
	for _, b := range all.Results {
		if slices.Contains(b.CollectionIDs, col) {
			want = append(want, b.BatchID)
			if b.Status == batches.TaskStatusCompleted {
				wantCompleted = append(wantCompleted, b.BatchID)
			}
		}
		if b.Status != batches.TaskStatusDraft {
			if len(b.TierTasks) != b.TotalTiers || b.TierTasks[0].SourceType != "bucket" || b.ManifestKey == nil {
				t.Fatalf("batch %s (%s): %d tier tasks for %d tiers: %+v", b.BatchID, b.Status, len(b.TierTasks), b.TotalTiers, b.TierTasks)
			}
			tiers += len(b.TierTasks)
		}
		if !strings.Contains(string(b.RawJSON()), `"tier_tasks":`) || !strings.Contains(string(b.RawJSON()), `"dag_tiers":`) {
			t.Fatalf("batch %s: -o json lacks Mixpeek's fields: %s", b.BatchID, b.RawJSON())
		}
	}
	if len(want) < 10 || len(wantCompleted) < 2 || tiers < 300 {
		t.Fatalf("the demo has %d batches of %s (%d COMPLETED), %d tier tasks", len(want), col, len(wantCompleted), tiers)
	}
	r := runCLI(t, d.env(), false, "list", "--bucket", "bkt_demo", "--collection", col, "--limit", "1000")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if p := decodePage(t, r.stdout); !slices.Equal(ids(p.Results), want) || p.TotalCount != int64(len(want)) {
		t.Errorf("--collection %s: %v of %d; want %v", col, ids(p.Results), p.TotalCount, want)
	}
	if p := listAll(t, d, "--collection", col, "--status", "COMPLETED", "--limit", "3"); !slices.Equal(ids(p.Results), wantCompleted) || p.TotalCount != int64(len(wantCompleted)) {
		t.Errorf("--collection %s --status COMPLETED --all: %v of %d; want %v", col, ids(p.Results), p.TotalCount, wantCompleted)
	}
	if p := listAll(t, d, "--collection", "col_none"); len(p.Results) != 0 || p.TotalCount != 0 {
		t.Errorf("--collection col_none: %d of %d", len(p.Results), p.TotalCount)
	}
	// Over the contract's 128 characters: refused before sending.
	before := d.requests.Load()
	if r := runCLI(t, d.env(), false, "list", "--bucket", "bkt_demo", "--collection", strings.Repeat("c", 129)); r.code == 0 || d.requests.Load() != before {
		t.Errorf("a 129-character collection: exit %d, %d requests", r.code, d.requests.Load()-before)
	}
}

func TestDemoAll(t *testing.T) {
	d := startDemo(t)
	before := d.requests.Load()
	p := listAll(t, d)
	if got := d.requests.Load() - before; got != 1 {
		t.Errorf("--all without --limit sent %d requests, want 1 page of 1000", got)
	}
	if p.TotalCount != 300 || len(p.Results) != 300 {
		t.Fatalf("%d results, total_count %d", len(p.Results), p.TotalCount)
	}
	seen := map[string]bool{}
	for _, id := range ids(p.Results) {
		if seen[id] {
			t.Fatalf("batch %s twice", id)
		}
		seen[id] = true
	}

	// Small pages: the same batches in the same order, ceil(300/7) requests.
	before = d.requests.Load()
	small := listAll(t, d, "--limit", "7")
	if got := d.requests.Load() - before; got != 43 {
		t.Errorf("--all --limit 7 sent %d requests, want 43", got)
	}
	if !slices.Equal(ids(small.Results), ids(p.Results)) || small.TotalCount != 300 {
		t.Errorf("--all --limit 7 differs from --all")
	}

	// From an offset on.
	tail := listAll(t, d, "--offset", "250", "--limit", "20")
	if !slices.Equal(ids(tail.Results), ids(p.Results[250:])) || tail.TotalCount != 300 {
		t.Errorf("--all --offset 250 gave %d results", len(tail.Results))
	}
}

func TestDemoErrors(t *testing.T) {
	d := startDemo(t)
	const wrongKey = "sk_live_wrongwrongwrongwrong"
	for _, tc := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"wrong key", []string{"--api-key", wrongKey, "list", "--bucket", "bkt_demo"}, "(UnauthorizedError, HTTP 401, request id req_…)", exitAuth},
		{"unknown bucket", []string{"list", "--bucket", "bkt_missing"}, "(NotFoundError, HTTP 404, request id req_…)", exitNotFound},
		{"unknown namespace", []string{"--namespace", "nope", "list", "--bucket", "bkt_demo"}, "(NotFoundError, HTTP 404, request id req_…)", exitNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, out := range []string{"json", "table", "jsonl"} {
				r := runCLI(t, d.env(), false, append(tc.args, "-o", out)...)
				r.stderr = requestIDs.ReplaceAllString(r.stderr, "request id req_…")
				if r.code != tc.code || r.stdout != "" {
					t.Errorf("exit %d, stdout %q; want %d and nothing", r.code, r.stdout, tc.code)
				}
				if !strings.HasPrefix(r.stderr, "error: ") || !strings.HasSuffix(r.stderr, tc.want+"\n") || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("stderr %q, want one line ending %q", r.stderr, tc.want)
				}
				if strings.Contains(r.stderr, wrongKey) || strings.Contains(r.stderr, d.info.APIKey) {
					t.Errorf("stderr %q shows the key", r.stderr)
				}
			}
		})
	}
	// Unknown bucket names the bucket.
	r := runCLI(t, d.env(), false, "list", "--bucket", "bkt_missing")
	if !strings.Contains(r.stderr, "bkt_missing") {
		t.Errorf("stderr %q does not name the bucket", r.stderr)
	}
}

func TestDemoEnvAndFlags(t *testing.T) {
	d := startDemo(t)
	// Only the environment.
	r := runCLI(t, d.env(), false, "list", "--bucket", "bkt_demo", "--limit", "1")
	if r.code != 0 || decodePage(t, r.stdout).TotalCount != 300 {
		t.Fatalf("env only: exit %d, stderr %q", r.code, r.stderr)
	}
	// Only flags, the namespace by id.
	r = runCLI(t, nil, false, "--api-key", d.info.APIKey, "--namespace", d.info.NamespaceID, "--base-url", d.url,
		"list", "--bucket", "bkt_demo", "--limit", "1")
	if r.code != 0 || decodePage(t, r.stdout).TotalCount != 300 {
		t.Fatalf("flags only: exit %d, stderr %q", r.code, r.stderr)
	}
	// Flags win over the environment.
	env := map[string]string{
		"MIXPEEK_API_KEY":   "sk_live_wrongwrongwrongwrong",
		"MIXPEEK_NAMESPACE": "nope",
		"MIXPEEK_BASE_URL":  "http://127.0.0.1:1",
	}
	r = runCLI(t, env, false, "--api-key", d.info.APIKey, "--namespace", "demo", "--base-url", d.url, "list", "--bucket", "bkt_demo", "--limit", "1")
	if r.code != 0 {
		t.Fatalf("flags over env: exit %d, stderr %q", r.code, r.stderr)
	}
	// The environment is used: a wrong key there fails.
	env = d.env()
	env["MIXPEEK_API_KEY"] = "sk_live_wrongwrongwrongwrong"
	r = runCLI(t, env, false, "list", "--bucket", "bkt_demo")
	if r.code != exitAuth || !strings.Contains(r.stderr, "UnauthorizedError") {
		t.Fatalf("wrong env key: exit %d, stderr %q", r.code, r.stderr)
	}
	// A trailing slash on the base URL is fine, in a flag or the environment.
	env = d.env()
	env["MIXPEEK_BASE_URL"] = d.url + "/"
	r = runCLI(t, env, false, "list", "--bucket", "bkt_demo", "--limit", "2")
	if r.code != 0 || len(decodePage(t, r.stdout).Results) != 2 {
		t.Fatalf("trailing slash: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, d.env(), false, "--base-url", d.url+"/", "list", "--bucket", "bkt_demo", "--limit", "2")
	if r.code != 0 {
		t.Fatalf("trailing slash flag: exit %d, stderr %q", r.code, r.stderr)
	}
	// /v1 on the base URL is a usage error, and nothing is sent.
	before := d.requests.Load()
	r = runCLI(t, d.env(), false, "--base-url", d.url+"/v1", "list", "--bucket", "bkt_demo")
	if r.code != exitUsage || !strings.Contains(r.stderr, "ends in /v1") || d.requests.Load() != before {
		t.Fatalf("/v1: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestDemoUsageErrorsSendNothing: flags the contract refuses are caught
// before a request.
func TestDemoUsageErrorsSendNothing(t *testing.T) {
	d := startDemo(t)
	for _, args := range [][]string{
		{"--status", "DONE"},
		{"--limit", "1001"},
		{"--limit", "0"},
		{"--offset=-5"},
	} {
		before := d.requests.Load()
		r := runCLI(t, d.env(), false, append([]string{"list", "--bucket", "bkt_demo"}, args...)...)
		if r.code != exitUsage || r.stdout != "" || !strings.HasPrefix(r.stderr, "error: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
		if d.requests.Load() != before {
			t.Errorf("%v: a request was sent", args)
		}
	}
}
