package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api/postgres/pgtest"
)

var (
	orgIDRe    = regexp.MustCompile(`^org_[a-z0-9]{12}$`)
	nsIDRe     = regexp.MustCompile(`^ns_[a-z0-9]{12}$`)
	bucketIDRe = regexp.MustCompile(`^bkt_[a-z0-9]{12}$`)
	liveKeyRe  = regexp.MustCompile(`^sk_live_[A-Za-z0-9]{40}$`)
)

// wantKeys fails the test unless m has exactly the keys keys.
func wantKeys(t *testing.T, m map[string]string, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("printed keys %v, want %v", got, keys)
	}
}

// acme is an organization with namespace "production", bucket "main" and an
// API key, made by the administration commands on the database file db.
type acme struct {
	db, orgID, nsID, bucketID, key string
}

func (a acme) args(args ...string) []string { return append(dbArgs(a.db), args...) }

// dbArgs are the flags that select the database db: a SQLite file, or a
// postgres:// URL.
func dbArgs(db string) []string {
	if strings.HasPrefix(db, "postgres://") {
		return []string{"--database-url", db}
	}
	return []string{"--database", db}
}

// eachDatabase runs test as subtests on a new SQLite file ("sqlite", in a
// directory that does not exist yet) and on a new PostgreSQL database
// ("postgres", skipped without BATCHES_TEST_DATABASE_URL).
func eachDatabase(t *testing.T, test func(t *testing.T, db string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { test(t, filepath.Join(t.TempDir(), "data", "batches.db")) })
	t.Run("postgres", func(t *testing.T) { test(t, pgtest.NewDatabase(t)) })
}

func setUpAcme(t *testing.T, db string) acme {
	t.Helper()
	a := acme{db: db}

	org := parseKV(t, mustRun(t, a.args("org", "create", "--name", "Acme")...).stdout)
	wantKeys(t, org, "ORGANIZATION_ID", "NAME")
	a.orgID = org["ORGANIZATION_ID"]
	if !orgIDRe.MatchString(a.orgID) || org["NAME"] != "Acme" {
		t.Fatalf("org create printed %v", org)
	}

	ns := parseKV(t, mustRun(t, a.args("namespace", "create", "--org", a.orgID, "--name", "production")...).stdout)
	wantKeys(t, ns, "NAMESPACE_ID", "NAME", "ORGANIZATION_ID")
	a.nsID = ns["NAMESPACE_ID"]
	if !nsIDRe.MatchString(a.nsID) || ns["NAME"] != "production" || ns["ORGANIZATION_ID"] != a.orgID {
		t.Fatalf("namespace create printed %v", ns)
	}

	b := parseKV(t, mustRun(t, a.args("bucket", "create", "--namespace", a.nsID, "--name", "main")...).stdout)
	wantKeys(t, b, "BUCKET_ID", "NAME", "NAMESPACE_ID")
	a.bucketID = b["BUCKET_ID"]
	if !bucketIDRe.MatchString(a.bucketID) || b["NAME"] != "main" || b["NAMESPACE_ID"] != a.nsID {
		t.Fatalf("bucket create printed %v", b)
	}

	k := parseKV(t, mustRun(t, a.args("key", "create", "--org", a.orgID)...).stdout)
	wantKeys(t, k, "API_KEY", "KEY_ID", "ORGANIZATION_ID")
	a.key = k["API_KEY"]
	if !liveKeyRe.MatchString(a.key) || k["ORGANIZATION_ID"] != a.orgID {
		t.Fatalf("key create printed %v", k)
	}
	return a
}

// wantBatches fails the test unless the page holds exactly want, in order.
func wantBatches(t *testing.T, got listResponse, want ...map[string]any) {
	t.Helper()
	if got.TotalCount != int64(len(want)) || len(got.Results) != len(want) {
		var ids []any
		for _, b := range got.Results {
			ids = append(ids, b["batch_id"])
		}
		t.Fatalf("listed %d of total_count %d: %v, want %d", len(got.Results), got.TotalCount, ids, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got.Results[i], want[i]) {
			t.Errorf("result %d:\n got %#v\nwant %#v", i, got.Results[i], want[i])
		}
	}
}

func TestAdminEndToEnd(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testAdminEndToEnd)
}

func testAdminEndToEnd(t *testing.T, db string) {
	dir := t.TempDir()
	// The directory of a SQLite database does not exist yet.
	a := setUpAcme(t, db)

	// Only the key's hash is stored: the key is nowhere in the files.
	files, _ := filepath.Glob(a.db + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(a.key)) || bytes.Contains(b, []byte(a.key[8:])) {
			t.Errorf("%s holds the API key in clear", f)
		}
	}

	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b1 := batch("btch_imp000000001", a.bucketID, t0.Add(123456789), true)
	b2 := batch("btch_imp000000002", a.bucketID, t0.Add(time.Hour), false)
	b3 := batch("btch_imp000000003", a.bucketID, t0.Add(2*time.Hour+1), true)
	// The bucket_id of the file is ignored: the batches go to --bucket.
	b3File := maps(b3)
	b3File["bucket_id"] = "bkt_elsewhere"
	good := writeJSONL(t, dir, "good.jsonl", b1, "", b2, b3File)

	imp := parseKV(t, mustRun(t, a.args("import", "--bucket", a.bucketID, "--file", good)...).stdout)
	wantKeys(t, imp, "IMPORTED", "BUCKET_ID")
	if imp["IMPORTED"] != "3" || imp["BUCKET_ID"] != a.bucketID {
		t.Fatalf("import printed %v, want IMPORTED=3", imp)
	}

	url := serveInProcess(t, a.db)
	// Newest first, every field as imported.
	wantBatches(t, mustList(t, url, a.key, "production", a.bucketID, `{"limit":100}`), b3, b2, b1)
	// The namespace id works as X-Namespace too, and the filter applies.
	wantBatches(t, mustList(t, url, a.key, a.nsID, a.bucketID, `{"status":"COMPLETED"}`), b2)

	b4 := batch("btch_imp000000004", a.bucketID, t0.Add(3*time.Hour), false)
	b5 := batch("btch_imp000000005", a.bucketID, t0.Add(4*time.Hour), true)
	b6 := batch("btch_imp000000006", a.bucketID, t0.Add(5*time.Hour), false)
	missing := maps(b6)
	delete(missing, "created_at") // no default: an import keeps timestamps as given
	badStatus := maps(b6)
	badStatus["status"] = "DONE"
	badTiers := maps(b6)
	badTiers["total_tiers"] = 0
	badTime := maps(b6)
	badTime["created_at"] = "yesterday"
	for _, tc := range []struct {
		name   string
		line3  any
		reason string
	}{
		{"not JSON", `{"batch_id": "btch_imp000000006",`, "JSON"},
		{"missing field", missing, "created_at"},
		{"bad status", badStatus, "Batch schema"},
		{"total_tiers 0", badTiers, "Batch schema"},
		{"bad time", badTime, "Batch schema"},
		{"array", `[1, 2]`, "object"},
		{"two objects", `{} {}`, ""},
		{"repeats line 1", b4, "repeats line 1"},
		{"already imported", b1, "btch_imp000000001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := writeJSONL(t, t.TempDir(), "bad.jsonl", b4, b5, tc.line3, b6)
			r := batchesd(t, a.args("import", "--bucket", a.bucketID, "--file", bad)...)
			if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "line 3") ||
				!strings.Contains(r.stderr, tc.reason) || !strings.Contains(r.stderr, "nothing was imported") {
				t.Errorf("import of a file with a bad line 3 (want exit 1, no stdout, stderr naming line 3 and %q): %v", tc.reason, r)
			}
			if strings.Contains(r.stderr, "line 1:") || strings.Contains(r.stderr, "line 2:") || strings.Contains(r.stderr, "line 4") {
				t.Errorf("stderr blames another line: %s", r.stderr)
			}
			// Nothing of the file is stored, not even lines 1 and 2.
			wantBatches(t, mustList(t, url, a.key, "production", a.bucketID, `{}`), b3, b2, b1)
		})
	}

	// The same lines without the bad one import.
	imp = parseJSONObject(t, mustRun(t, a.args("import", "--bucket", a.bucketID, "--file",
		writeJSONL(t, dir, "fixed.jsonl", b4, b5, b6), "-o", "json")...).stdout)
	if imp["imported"] != "3" {
		t.Fatalf("import -o json printed %v", imp)
	}
	wantBatches(t, mustList(t, url, a.key, "production", a.bucketID, `{}`), b6, b5, b4, b3, b2, b1)
}

// maps returns a shallow copy of m.
func maps(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestAdminJSONOutput(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testAdminJSONOutput)
}

func testAdminJSONOutput(t *testing.T, db string) {
	dir := t.TempDir()
	args := func(a ...string) []string { return append(dbArgs(db), a...) }

	org := parseJSONObject(t, mustRun(t, args("org", "create", "--name", "Acme Corp", "-o", "json")...).stdout)
	wantKeys(t, org, "organization_id", "name")
	if !orgIDRe.MatchString(org["organization_id"]) || org["name"] != "Acme Corp" {
		t.Fatalf("org create -o json printed %v", org)
	}
	ns := parseJSONObject(t, mustRun(t, args("namespace", "create", "--org", org["organization_id"], "--name", "production", "--output", "json")...).stdout)
	wantKeys(t, ns, "namespace_id", "name", "organization_id")
	if !nsIDRe.MatchString(ns["namespace_id"]) || ns["name"] != "production" || ns["organization_id"] != org["organization_id"] {
		t.Fatalf("namespace create -o json printed %v", ns)
	}
	b := parseJSONObject(t, mustRun(t, args("bucket", "create", "--namespace", ns["namespace_id"], "--name", "main", "--id", "bkt_main", "-o", "json")...).stdout)
	wantKeys(t, b, "bucket_id", "name", "namespace_id")
	if b["bucket_id"] != "bkt_main" || b["name"] != "main" || b["namespace_id"] != ns["namespace_id"] {
		t.Fatalf("bucket create -o json printed %v", b)
	}
	k := parseJSONObject(t, mustRun(t, args("key", "create", "--org", org["organization_id"], "-o", "json")...).stdout)
	wantKeys(t, k, "api_key", "key_id", "organization_id")
	if !liveKeyRe.MatchString(k["api_key"]) || k["organization_id"] != org["organization_id"] {
		t.Fatalf("key create -o json printed %v", k)
	}
	// A key of one's own choosing.
	k2 := parseJSONObject(t, mustRun(t, args("key", "create", "--org", org["organization_id"], "--key", "sk_test_mine_0123456789", "-o", "json")...).stdout)
	if k2["api_key"] != "sk_test_mine_0123456789" {
		t.Fatalf("key create --key printed %v", k2)
	}
	bt := batch("btch_json00000001", "bkt_main", time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), false)
	imp := parseJSONObject(t, mustRun(t, args("import", "--bucket", "bkt_main", "--file", writeJSONL(t, dir, "one.jsonl", bt), "-o", "json")...).stdout)
	wantKeys(t, imp, "imported", "bucket_id")
	if imp["imported"] != "1" || imp["bucket_id"] != "bkt_main" {
		t.Fatalf("import -o json printed %v", imp)
	}

	// Both keys work, and the default output is KEY=value again.
	url := serveInProcess(t, db)
	wantBatches(t, mustList(t, url, k["api_key"], "production", "bkt_main", `{}`), bt)
	wantBatches(t, mustList(t, url, "sk_test_mine_0123456789", "production", "bkt_main", `{}`), bt)
	if r := mustRun(t, args("org", "create", "--name", "it's")...); r.stdout == "" || parseKV(t, r.stdout)["NAME"] != "it's" {
		t.Errorf("org create with a quote in the name printed %q", r.stdout)
	}
}

func TestAdminErrors(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testAdminErrors)
}

func testAdminErrors(t *testing.T, db string) {
	dir := t.TempDir()
	a := setUpAcme(t, db)
	good := writeJSONL(t, dir, "good.jsonl", batch("btch_err000000001", "x", time.Now(), false))

	const unknownOrg = "org_000000000000"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // in stderr
	}{
		{"namespace of an unknown org", a.args("namespace", "create", "--org", unknownOrg, "--name", "staging"),
			1, []string{unknownOrg, "not found"}},
		{"duplicate namespace", a.args("namespace", "create", "--org", a.orgID, "--name", "production"),
			1, []string{`"production"`, "already exists"}},
		{"duplicate bucket", a.args("bucket", "create", "--namespace", a.nsID, "--name", "main"),
			1, []string{`"main"`, "already exists"}},
		{"bucket of an unknown namespace", a.args("bucket", "create", "--namespace", "ns_000000000000", "--name", "x"),
			1, []string{"ns_000000000000", "not found"}},
		{"bad bucket id", a.args("bucket", "create", "--namespace", a.nsID, "--name", "x", "--id", "has space"),
			1, []string{"invalid"}},
		{"key of an unknown org", a.args("key", "create", "--org", unknownOrg),
			1, []string{unknownOrg, "not found"}},
		{"duplicate key", a.args("key", "create", "--org", a.orgID, "--key", a.key),
			1, []string{"already exists"}},
		{"empty org name", a.args("org", "create", "--name", ""),
			1, []string{"invalid"}},
		{"import into an unknown bucket", a.args("import", "--bucket", "bkt_nope", "--file", good),
			1, []string{"bkt_nope", "not found", "nothing was imported"}},

		{"missing --name", a.args("org", "create"),
			2, []string{"missing flags: --name", "Usage: batchesd org create", "--help"}},
		{"missing --org", a.args("namespace", "create", "--name", "x"),
			2, []string{"--org", "Usage: batchesd namespace create"}},
		{"missing --file", a.args("import", "--bucket", a.bucketID),
			2, []string{"--file", "Usage: batchesd import"}},
		{"missing file", a.args("import", "--bucket", a.bucketID, "--file", filepath.Join(dir, "nope.jsonl")),
			2, []string{"nope.jsonl", "Usage: batchesd import"}},
		{"bad output", a.args("org", "create", "--name", "x", "-o", "yaml"),
			2, []string{"yaml", "Usage:"}},
		{"unknown command", a.args("frobnicate"),
			2, []string{"frobnicate", "Usage:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := batchesd(t, tc.args...)
			if r.code != tc.code || r.stdout != "" {
				t.Errorf("want exit %d and no stdout: %v", tc.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, r.stderr)
				}
			}
			if !strings.HasPrefix(r.stderr, "batchesd: ") {
				t.Errorf("stderr does not start with the program's name: %s", r.stderr)
			}
		})
	}

	t.Run("usage error touches no database", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "sub", "never.db")
		if r := batchesd(t, "--database", db, "org", "create"); r.code != 2 {
			t.Fatalf("want exit 2: %v", r)
		}
		if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
			t.Errorf("a usage error created %s: %v", filepath.Dir(db), err)
		}
	})

	t.Run("help", func(t *testing.T) {
		for _, args := range [][]string{{"--help"}, {"import", "--help"}} {
			r := batchesd(t, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage: batchesd") {
				t.Errorf("batchesd %s: want exit 0 and usage on stdout: %v", strings.Join(args, " "), r)
			}
		}
	})

	// None of the failed commands left anything behind: the namespace still
	// has only the bucket "main", and it is empty.
	url := serveInProcess(t, a.db)
	wantBatches(t, mustList(t, url, a.key, "production", a.bucketID, `{}`))
	if status, body, _ := listBatches(t, url, a.key, "production", "bkt_nope", `{}`); status != 404 {
		t.Errorf("list of bkt_nope: %d %s", status, body)
	}
}

// TestAdminNeedsADatabase: only org create starts a database; the other
// commands on a missing one fail and leave nothing behind.
func TestAdminNeedsADatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "nope", "batches.db")
	for _, args := range [][]string{
		{"namespace", "create", "--org", "org_x", "--name", "production"},
		{"bucket", "create", "--namespace", "ns_x", "--name", "main"},
		{"key", "create", "--org", "org_x"},
	} {
		r := batchesd(t, append([]string{"--database", db}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
			t.Errorf("%v on a missing database: %v", args, r)
		}
		if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%v created %s", args, db)
		}
	}
	mustRun(t, "--database", db, "org", "create", "--name", "Acme")
	if _, err := os.Stat(db); err != nil {
		t.Errorf("org create did not create the database: %v", err)
	}
}

// TestServeRefusesAnEmptyAddr: an empty address would listen on every
// interface; it is a usage error.
func TestServeRefusesAnEmptyAddr(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	r := batchesd(t, "--database", db, "serve", "--addr", "")
	if r.code != 2 || !strings.HasPrefix(r.stderr, `batchesd: serve: --addr "": empty: give host:port, such as 127.0.0.1:8080 (:8080 listens on every interface)`+"\n") {
		t.Errorf("serve --addr '': %v", r)
	}
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused start created the database")
	}
}

// TestAdminBatchCommands changes a batch's status and deletes another with
// batch set-status and batch delete, and lists the bucket after each.
func TestAdminBatchCommands(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testAdminBatchCommands)
}

func testAdminBatchCommands(t *testing.T, db string) {
	dir := t.TempDir()
	a := setUpAcme(t, db)
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b1 := batch("btch_cmd000000001", a.bucketID, t0, false)
	b2 := batch("btch_cmd000000002", a.bucketID, t0.Add(time.Hour), true)
	mustRun(t, a.args("import", "--bucket", a.bucketID, "--file", writeJSONL(t, dir, "b.jsonl", b1, b2))...)
	url := serveInProcess(t, a.db)

	before := time.Now()
	out := parseKV(t, mustRun(t, a.args("batch", "set-status", "--id", "btch_cmd000000001", "--status", "ARCHIVED")...).stdout)
	wantKeys(t, out, "BATCH_ID", "STATUS")
	if out["BATCH_ID"] != "btch_cmd000000001" || out["STATUS"] != "ARCHIVED" {
		t.Errorf("batch set-status printed %v", out)
	}
	page := mustList(t, url, a.key, "production", a.bucketID, `{"status":"ARCHIVED"}`)
	if page.TotalCount != 1 || len(page.Results) != 1 || page.Results[0]["batch_id"] != "btch_cmd000000001" {
		t.Fatalf("ARCHIVED: %+v", page)
	}
	if updated, err := time.Parse(time.RFC3339Nano, page.Results[0]["updated_at"].(string)); err != nil || updated.Before(before.Add(-time.Second)) {
		t.Errorf("updated_at %v (%v), want about now", page.Results[0]["updated_at"], err)
	}

	out = parseJSONObject(t, mustRun(t, a.args("batch", "delete", "--id", "btch_cmd000000002", "-o", "json")...).stdout)
	if out["batch_id"] != "btch_cmd000000002" {
		t.Errorf("batch delete printed %v", out)
	}
	page = mustList(t, url, a.key, "production", a.bucketID, `{}`)
	if page.TotalCount != 1 || len(page.Results) != 1 || page.Results[0]["batch_id"] != "btch_cmd000000001" {
		t.Fatalf("after delete: %+v", page)
	}

	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{a.args("batch", "delete", "--id", "btch_cmd000000002"), 1, []string{`batchesd: batch "btch_cmd000000002" not found`}},
		{a.args("batch", "set-status", "--id", "btch_nope", "--status", "FAILED"), 1, []string{`batchesd: batch "btch_nope" not found`}},
		{a.args("batch", "set-status", "--id", "btch_cmd000000001", "--status", "DONE"), 2, []string{"DONE", "Usage: batchesd batch set-status"}},
		{a.args("batch", "set-status", "--id", "btch_cmd000000001"), 2, []string{"--status", "Usage: batchesd batch set-status"}},
	} {
		r := batchesd(t, tc.args...)
		if r.code != tc.code || r.stdout != "" {
			t.Errorf("%v: want exit %d and no stdout: %v", tc.args[2:], tc.code, r)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr lacks %q: %s", tc.args[2:], w, r.stderr)
			}
		}
	}
	// The failed commands changed nothing.
	page = mustList(t, url, a.key, "production", a.bucketID, `{"status":"ARCHIVED"}`)
	if page.TotalCount != 1 {
		t.Errorf("ARCHIVED after failed commands: %+v", page)
	}
}
