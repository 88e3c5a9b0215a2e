package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/postgres/pgtest"
)

// TestPostgresTwoServers starts two batchesd processes at once on one new
// PostgreSQL database: the migrations and the demo are applied once, both
// serve the demo, and while administration commands import batches into the
// demo bucket, every page either server answers holds all of its
// total_count (one snapshot) and sees whole imports only; afterwards both
// answer the same bytes.
func TestPostgresTwoServers(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	key := randomKey(t)

	var (
		servers [2]*server
		errs    [2]error
		start   sync.WaitGroup
	)
	for i := range servers {
		start.Go(func() { servers[i], errs[i] = tryStartServer(t, db, nil, []string{"BATCHESD_DEMO_API_KEY=" + key}) })
	}
	start.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starting batchesd: %v\nstdout:\n%s\nstderr:\n%s", err, servers[i].stdout, servers[i].stderr)
		}
	}
	banners := 0
	for _, s := range servers {
		if demoBannerRe.MatchString(s.stdout.String()) {
			banners++
		}
		wantDemoPage(t, mustList(t, s.url, key, "demo", "bkt_demo", `{"limit":5}`))
	}
	if banners != 1 {
		t.Errorf("%d servers created the demo, want 1:\n%s\n%s", banners, servers[0].stdout, servers[1].stdout)
	}

	// Both servers list while the imports run, in plain HTTP (not t.Fatal:
	// these are not the test's goroutine).
	const imports, perImport = 5, 20
	stop := make(chan struct{})
	var load sync.WaitGroup
	loadErrs := make(chan error, 2)
	for _, s := range servers {
		load.Go(func() {
			seen := 0
			for {
				select {
				case <-stop:
					if seen == 0 {
						loadErrs <- fmt.Errorf("%s: no list answered", s.url)
					}
					return
				default:
				}
				total, n, err := listAllOnce(s.url, key)
				if err == nil && (total-domain.DemoBatchCount)%perImport != 0 {
					err = fmt.Errorf("total_count %d: part of an import is visible", total)
				}
				if err == nil && int64(n) != total {
					err = fmt.Errorf("%d results for total_count %d", n, total)
				}
				if err != nil {
					loadErrs <- fmt.Errorf("%s: %w", s.url, err)
					return
				}
				seen++
			}
		})
	}

	dir := t.TempDir()
	t0 := time.Now().Add(time.Hour)
	for i := range imports {
		var lines []any
		for j := range perImport {
			lines = append(lines, batch(fmt.Sprintf("btch_two%02d%06d", i, j), "bkt_demo", t0.Add(time.Duration(i*perImport+j)*time.Second), j%2 == 0))
		}
		file := writeJSONL(t, dir, fmt.Sprintf("import%d.jsonl", i), lines...)
		r := mustRun(t, "--database-url", db, "import", "--bucket", "bkt_demo", "--file", file)
		if r.stdout != fmt.Sprintf("IMPORTED=%d\nBUCKET_ID=bkt_demo\n", perImport) {
			t.Fatalf("import printed %q", r.stdout)
		}
		// What one process committed, both serve at once.
		want := int64(domain.DemoBatchCount + (i+1)*perImport)
		for _, s := range servers {
			if lr := mustList(t, s.url, key, "demo", "bkt_demo", `{"limit":1}`); lr.TotalCount != want {
				t.Errorf("after import %d, %s answers total_count %d, want %d", i, s.url, lr.TotalCount, want)
			}
		}
	}
	close(stop)
	load.Wait()
	close(loadErrs)
	for err := range loadErrs {
		t.Error(err)
	}

	for _, body := range []string{`{"limit":1000}`, `{"status":"COMPLETED","offset":7,"limit":13}`, `{"offset":395}`} {
		_, a, _ := listBatches(t, servers[0].url, key, "demo", "bkt_demo", body)
		_, b, _ := listBatches(t, servers[1].url, key, "demo", "bkt_demo", body)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the servers answer differently:\n%s\n%s", body, a, b)
		}
	}
	for _, s := range servers {
		if err := s.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v\nstderr:\n%s", err, s.stderr)
		}
	}
}

// listAllOnce lists up to 1000 batches of the demo bucket and returns the
// total_count and the number of results.
func listAllOnce(baseURL, key string) (total int64, n int, err error) {
	req, err := http.NewRequest(http.MethodPost, baseURL+"/v1/buckets/bkt_demo/batches/list", strings.NewReader(`{"limit":1000}`))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Namespace", "demo")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	var lr struct {
		Results    []json.RawMessage `json:"results"`
		TotalCount int64             `json:"total_count"`
	}
	if err := json.Unmarshal(body, &lr); err != nil {
		return 0, 0, err
	}
	return lr.TotalCount, len(lr.Results), nil
}

// TestDatabaseFlags: one database at a time, a PostgreSQL URL or
// keyword/value string only, malformed ones said so without their
// password, and a bad --statement-timeout a usage error.
func TestDatabaseFlags(t *testing.T) {
	file := t.TempDir() + "/batches.db"
	const neither = "is neither a postgres:// or postgresql:// URL nor a keyword/value string"
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		code int
		want []string
	}{
		{"both flags", []string{"--database", file, "--database-url", "postgres://localhost/x", "org", "create", "--name", "A"}, nil,
			1, []string{"both --database (BATCHESD_DATABASE) and --database-url (DATABASE_URL) are set"}},
		{"both variables", []string{"org", "create", "--name", "A"}, []string{"BATCHESD_DATABASE=" + file, "DATABASE_URL=postgres://localhost/x"},
			1, []string{"both --database (BATCHESD_DATABASE) and --database-url (DATABASE_URL) are set"}},
		{"not postgres", []string{"--database-url", "mysql://localhost/x", "org", "create", "--name", "A"}, nil, 1, []string{neither}},
		{"a file name", []string{"--database-url", file, "org", "create", "--name", "A"}, nil, 1, []string{neither}},
		{"malformed host", []string{"--database-url", "postgres://u:s3cret@%zz/x", "org", "create", "--name", "A"}, nil,
			1, []string{`--database-url (DATABASE_URL) is a malformed URL: invalid URL escape "%zz"`}},
		{"malformed port", []string{"--database-url", "postgresql://u:s3cret@host:port/x", "org", "create", "--name", "A"}, nil,
			1, []string{`is a malformed URL: invalid port ":port" after host`}},
		{"malformed password", []string{"--database-url", "postgres://u:s3cret%zz@host/x", "org", "create", "--name", "A"}, nil,
			1, []string{"is a malformed URL: its password is not valid in a URL; percent-encode"}},
		{"URL's statement_timeout", []string{"--database-url", "postgres://u:s3cret@127.0.0.1:1/x?statement_timeout=abc", "org", "create", "--name", "A"}, nil,
			1, []string{`statement_timeout: "abc" is not a duration`}},
		{"keyword/value unreachable", []string{"--database-url", "host=127.0.0.1 port=1 dbname=x password=s3cret connect_timeout=2", "org", "create", "--name", "A"}, nil,
			1, []string{"postgres: open"}},
		{"negative timeout", []string{"--database-url", "postgres://localhost/x", "--statement-timeout=-1s", "org", "create", "--name", "A"}, nil,
			2, []string{"--statement-timeout: -1s is negative", "Usage: batchesd"}},
		{"garbage timeout", []string{"--database-url", "postgres://localhost/x", "--statement-timeout=soon", "org", "create", "--name", "A"}, nil,
			2, []string{`--statement-timeout: "soon" is not a duration`, "Usage: batchesd"}},
		{"negative timeout variable", []string{"--database-url", "postgres://localhost/x", "org", "create", "--name", "A"}, []string{"BATCHESD_STATEMENT_TIMEOUT=-5s"},
			2, []string{"-5s is negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			r := batchesd(t, tc.args...)
			if r.code != tc.code || r.stdout != "" || strings.Contains(r.stderr, "s3cret") {
				t.Errorf("want exit %d, no stdout, no password: %v", tc.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %v", w, r)
				}
			}
		})
	}
}

// TestStatementTimeoutPrecedence: --statement-timeout (or its variable) is
// passed on only when given, so that the URL's statement_timeout applies
// otherwise (postgres.Open's default is 10s).
func TestStatementTimeoutPrecedence(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want timeoutFlag
	}{
		{nil, "", timeoutFlag{}},
		{[]string{"--statement-timeout=3s"}, "", timeoutFlag{3 * time.Second, true}},
		{[]string{"--statement-timeout=0"}, "", timeoutFlag{0, true}},
		{nil, "1500ms", timeoutFlag{1500 * time.Millisecond, true}},
		{[]string{"--statement-timeout=2s"}, "1500ms", timeoutFlag{2 * time.Second, true}},
	} {
		if tc.env != "" {
			t.Setenv("BATCHESD_STATEMENT_TIMEOUT", tc.env)
		}
		var c cli
		p, err := kong.New(&c, vars())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(append(tc.args, "--database-url", "postgres://localhost/x", "serve")); err != nil {
			t.Fatal(err)
		}
		if c.StatementTimeout != tc.want {
			t.Errorf("%v %s: %+v, want %+v", tc.args, tc.env, c.StatementTimeout, tc.want)
		}
	}
}

// TestPostgresKeywordValue: the keyword/value form of the connection
// string serves as well as the URL, and its password stays out of the log.
func TestPostgresKeywordValue(t *testing.T) {
	t.Parallel()
	cfg, err := pgconn.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	dsn := fmt.Sprintf("host=%s port=%d dbname=%s user=%s password=hunter2secret sslmode=disable", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	if cfg.Password != "" {
		dsn = strings.Replace(dsn, "hunter2secret", "'"+strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(cfg.Password)+"'", 1)
	}
	org := parseKV(t, mustRun(t, "--database-url", dsn, "org", "create", "--name", "Acme").stdout)
	if !strings.HasPrefix(org["ORGANIZATION_ID"], "org_") {
		t.Fatalf("org create printed %v", org)
	}
	s := startServer(t, dsn, "BATCHESD_NO_DEMO=1")
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, s.stderr)
	}
	if log := s.stderr.String(); strings.Contains(log, "hunter2secret") || (cfg.Password != "" && strings.Contains(log, cfg.Password)) || !strings.Contains(log, cfg.Database) {
		t.Errorf("the log should name the database without its password:\n%s", log)
	}
}

// TestPostgresAdminNeedsTheTables: on a PostgreSQL database without the
// tables, only org create (and serve) create them.
func TestPostgresAdminNeedsTheTables(t *testing.T) {
	db := pgtest.NewDatabase(t)
	r := batchesd(t, "--database-url", db, "namespace", "create", "--org", "org_x", "--name", "production")
	if r.code != 1 || !strings.Contains(r.stderr, "has no batches tables") {
		t.Fatalf("namespace create on an empty database: %v", r)
	}
	// It did not create them either: this still fails the same way.
	if r := batchesd(t, "--database-url", db, "key", "create", "--org", "org_x"); !strings.Contains(r.stderr, "has no batches tables") {
		t.Fatalf("key create on an empty database: %v", r)
	}
	org := parseKV(t, mustRun(t, "--database-url", db, "org", "create", "--name", "Acme").stdout)
	mustRun(t, "--database-url", db, "namespace", "create", "--org", org["ORGANIZATION_ID"], "--name", "production")
}

// TestPostgresPasswordNotLogged: the log names the database without its
// password. On a cluster that trusts every login (.ci/with-postgres) the
// URL gets a password of the test's, which the server ignores; on one that
// asks for passwords the URL's own is kept, and must not show either.
func TestPostgresPasswordNotLogged(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	password := "hunter2secret"
	if p, ok := u.User.Password(); ok && p != "" {
		password = p
	} else {
		u.User = url.UserPassword(u.User.Username(), password)
	}
	s := startServer(t, u.String(), "BATCHESD_NO_DEMO=1")
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\nstderr:\n%s", err, s.stderr)
	}
	log := s.stderr.String()
	if strings.Contains(log, password) || !strings.Contains(log, "xxxxx") || !strings.Contains(log, u.Path) {
		t.Errorf("the log should name the database without its password:\n%s", log)
	}
}
