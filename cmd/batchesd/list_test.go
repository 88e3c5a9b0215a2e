package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api/postgres/pgtest"
)

// TestAdminLists: org, namespace, bucket and key list show what the
// database holds (keys by id and prefix, never the key), key revoke
// revokes, bucket create takes a namespace's name as well as its id; on
// both databases.
func TestAdminLists(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := []string{"--database", filepath.Join(t.TempDir(), "b.db")}
			if name == "postgres" {
				db = []string{"--database-url", pgtest.NewDatabase(t)}
			}
			run := func(args ...string) result { t.Helper(); return mustRun(t, append(db, args...)...) }
			fails := func(args ...string) string {
				t.Helper()
				r := batchesd(t, append(db, args...)...)
				if r.code != 1 {
					t.Fatalf("batchesd %s: %v, want exit 1", strings.Join(args, " "), r)
				}
				return r.stderr
			}
			a := parseKV(t, run("org", "create", "--name", "Acme").stdout)["ORGANIZATION_ID"]
			b := parseKV(t, run("org", "create", "--name", "Beta").stdout)["ORGANIZATION_ID"]
			nsA := parseKV(t, run("namespace", "create", "--org", a, "--name", "production").stdout)["NAMESPACE_ID"]
			nsB := parseKV(t, run("namespace", "create", "--org", b, "--name", "production").stdout)["NAMESPACE_ID"]
			run("namespace", "create", "--org", b, "--name", "staging")

			// bucket create --namespace: an id, a unique name, an ambiguous one.
			run("bucket", "create", "--namespace", nsA, "--name", "one", "--id", "bkt_one")
			if got := parseKV(t, run("bucket", "create", "--namespace", "staging", "--name", "two").stdout)["NAMESPACE_ID"]; got == "" || got == nsA || got == nsB {
				t.Errorf("bucket create --namespace staging went to %s", got)
			}
			if msg := fails("bucket", "create", "--namespace", "production", "--name", "three"); !strings.Contains(msg, `namespace name "production" is used in 2 organizations (`+a+", "+b+`): give --org, or the namespace's id`) {
				t.Errorf("ambiguous name: %s", msg)
			}
			if got := parseKV(t, run("bucket", "create", "--namespace", "production", "--org", b, "--name", "three").stdout)["NAMESPACE_ID"]; got != nsB {
				t.Errorf("--namespace production --org B went to %s, want %s", got, nsB)
			}
			if msg := fails("bucket", "create", "--namespace", "nowhere", "--name", "x"); !strings.Contains(msg, `namespace "nowhere" not found`) {
				t.Errorf("unknown namespace: %s", msg)
			}

			// Lists.
			var orgs []map[string]string
			if err := json.Unmarshal([]byte(run("org", "list", "-o", "json").stdout), &orgs); err != nil || len(orgs) != 2 ||
				orgs[0]["organization_id"] != a || orgs[1]["name"] != "Beta" {
				t.Errorf("org list: %v %v", err, orgs)
			}
			table := run("namespace", "list", "--org", b).stdout
			if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "NAMESPACE_ID") ||
				!strings.HasPrefix(lines[1], nsB+"  production") {
				t.Errorf("namespace list --org B:\n%s", table)
			}
			if buckets := run("bucket", "list", "--namespace", "production", "--org", b, "-o", "json").stdout; !strings.Contains(buckets, `"name": "three"`) || strings.Contains(buckets, "bkt_one") {
				t.Errorf("bucket list of B's production: %s", buckets)
			}
			if all := run("bucket", "list").stdout; strings.Count(all, "\n") != 4 {
				t.Errorf("bucket list:\n%s", all)
			}
			// An organization or namespace that does not exist is not
			// found, as in the other commands, not an empty list.
			for _, args := range [][]string{
				{"namespace", "list", "--org", "org_nope"},
				{"key", "list", "--org", "org_nope", "-o", "json"},
			} {
				if msg := fails(args...); !strings.Contains(msg, `organization "org_nope": not found`) {
					t.Errorf("%v: %s", args, msg)
				}
			}
			if msg := fails("bucket", "list", "--namespace", "ns_nope"); !strings.Contains(msg, `namespace "ns_nope" not found`) {
				t.Errorf("bucket list of an unknown namespace: %s", msg)
			}

			// Keys: listed by id and prefix, never the key; revoked by id.
			k := parseKV(t, run("key", "create", "--org", a).stdout)
			key, id := k["API_KEY"], k["KEY_ID"]
			run("key", "create", "--org", b)
			var keys []map[string]string
			out := run("key", "list", "--org", a, "-o", "json").stdout
			if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 1 || keys[0]["key_id"] != id ||
				keys[0]["prefix"] != key[:12]+"…" || keys[0]["revoked_at"] != "" || strings.Contains(out, key) {
				t.Fatalf("key list: %v\n%s", err, out)
			}
			if strings.Contains(run("key", "list").stdout, key) {
				t.Errorf("key list shows a key")
			}
			revoked := parseKV(t, run("key", "revoke", "--id", id).stdout)
			if revoked["KEY_ID"] != id {
				t.Errorf("key revoke printed %v", revoked)
			}
			if _, err := time.Parse(time.RFC3339Nano, revoked["REVOKED_AT"]); err != nil {
				t.Errorf("REVOKED_AT %q: %v", revoked["REVOKED_AT"], err)
			}
			run("key", "revoke", "--id", id) // again: nothing changes
			if out := run("key", "list", "--org", a).stdout; !strings.Contains(out, id) || strings.Count(out, "Z") < 2 {
				t.Errorf("key list after revoke:\n%s", out)
			}
			if msg := fails("key", "revoke", "--id", "key_000000000000"); !strings.Contains(msg, "no API key has the id key_000000000000") {
				t.Errorf("unknown key id: %s", msg)
			}
			if msg := fails("key", "revoke", "--id", key); !strings.Contains(msg, "a key id is key_ and 12 hexadecimal digits") || strings.Contains(msg, key) {
				t.Errorf("a key for an id: %s", msg)
			}
		})
	}
}
