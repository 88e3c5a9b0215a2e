package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"

	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/mixpeekgo/batches/api/postgres/pgtest"
)

// The processing of batches by real batchesd processes: killed with
// SIGKILL in the middle, then started again; and two processes on one
// PostgreSQL database sharing the queue.

// processEnv is the environment of a server that processes quickly: tiers
// of about tierDuration, a step left running by a process that died
// rescued after a second, its log in JSON (the steps it ran).
func processEnv(key string, tierDuration time.Duration, tiers int) []string {
	return []string{
		"BATCHESD_DEMO_API_KEY=" + key, "BATCHESD_LOG_FORMAT=json",
		"BATCHESD_PROCESS_TIER_DURATION=" + tierDuration.String(), fmt.Sprint("BATCHESD_PROCESS_TIERS=", tiers),
		"BATCHESD_PROCESS_RESCUE_AFTER=1s", "BATCHESD_RATE_LIMIT=0",
	}
}

// lifecycleCall sends one request of the demo's key and decodes its 200
// answer into v; any other status is an error.
func lifecycleCall(baseURL, key, method, path, body string, v any) error {
	req, err := http.NewRequest(method, baseURL+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Namespace", "demo")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// submitBatches creates and submits n batches of the demo bucket through
// the servers (in turn) and returns their ids.
func submitBatches(t *testing.T, key string, n int, servers ...*server) []string {
	t.Helper()
	var ids []string
	for i := range n {
		s := servers[i%len(servers)]
		var b struct {
			BatchID string `json:"batch_id"`
		}
		if err := lifecycleCall(s.url, key, http.MethodPost, "/v1/buckets/bkt_demo/batches",
			fmt.Sprintf(`{"object_ids":["obj_%d_a","obj_%d_b","obj_%d_c"]}`, i, i, i), &b); err != nil {
			t.Fatal(err)
		}
		var task map[string]any
		if err := lifecycleCall(s.url, key, http.MethodPost, "/v1/buckets/bkt_demo/batches/"+b.BatchID+"/submit", "", &task); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.BatchID)
	}
	return ids
}

// statuses returns the status of each batch of ids, by GET.
func statuses(t *testing.T, s *server, key string, ids []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		var b struct {
			Status string `json:"status"`
		}
		if err := lifecycleCall(s.url, key, http.MethodGet, "/v1/buckets/bkt_demo/batches/"+id, "", &b); err != nil {
			t.Fatal(err)
		}
		out[id] = b.Status
	}
	return out
}

func terminal(s string) bool {
	return s == "COMPLETED" || s == "COMPLETED_WITH_ERRORS" || s == "FAILED" || s == "CANCELED"
}

// waitAll polls the batches until every one is terminal and returns when
// that happened; it fails the test after within (a bound on a test that
// would hang, not a measure).
func waitAll(t *testing.T, s *server, key string, ids []string, within time.Duration) map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := statuses(t, s, key, ids)
		done := 0
		for _, v := range st {
			if terminal(v) {
				done++
			}
		}
		if done == len(ids) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d batches not terminal after %s: %v\nstderr:\n%s", len(ids)-done, len(ids), within, st, tail(s.stderr.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// rawDB opens the database of a server, a SQLite file or a PostgreSQL URL,
// to look behind the API.
func rawDB(t *testing.T, db string) *sql.DB {
	t.Helper()
	var raw *sql.DB
	if strings.HasPrefix(db, "postgres://") {
		cfg, err := pgx.ParseConfig(db)
		if err != nil {
			t.Fatal(err)
		}
		raw = stdlib.OpenDB(*cfg)
	} else {
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(db), RawQuery: "_pragma=busy_timeout(5000)"}
		var err error
		if raw, err = sql.Open("sqlite", u.String()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// counts reads the rows of query (key columns, then a count) into a map.
func counts(t *testing.T, raw *sql.DB, query string) map[string]int64 {
	t.Helper()
	rows, err := raw.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k1, k2 string
		var n int64
		if err := rows.Scan(&k1, &k2, &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			out[k1+" "+k2] = n
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkStored fails the test unless the per-status counts are COUNT(*),
// every batch's task has the batch's status, and the queue holds no job
// but done ones.
func checkStored(t *testing.T, db string) {
	t.Helper()
	raw := rawDB(t, db)
	kept := counts(t, raw, `SELECT bucket_id, status, n FROM batch_counts`)
	counted := counts(t, raw, `SELECT bucket_id, status, count(*) FROM batches GROUP BY bucket_id, status`)
	if !equalCounts(kept, counted) {
		t.Errorf("batch_counts %v, COUNT(*) %v", kept, counted)
	}
	keptC := counts(t, raw, `SELECT collection_id, status, n FROM batch_collection_counts`)
	countedC := counts(t, raw, `SELECT collection_id, status, count(*) FROM batch_collections GROUP BY collection_id, status`)
	if !equalCounts(keptC, countedC) {
		t.Errorf("batch_collection_counts %v, rows %v", keptC, countedC)
	}
	var mismatched int
	if err := raw.QueryRowContext(t.Context(), `SELECT count(*) FROM batches b JOIN tasks k ON k.task_id = b.task_id WHERE k.status <> b.status`).Scan(&mismatched); err != nil {
		t.Fatal(err)
	}
	if mismatched != 0 {
		t.Errorf("%d batches whose task's status is not theirs", mismatched)
	}
	jobs := counts(t, raw, `SELECT kind, CAST(state AS text), count(*) FROM river_job GROUP BY kind, state`)
	for k := range jobs {
		if !strings.HasSuffix(k, " completed") {
			t.Errorf("jobs left in the queue: %v", jobs)
			break
		}
	}
}

// TestKillMidProcessing: a server killed with SIGKILL while batches are
// being processed, then started again, processes every batch to its end;
// no step is lost or done twice (the tiers' tasks: one a tier started),
// and the counts are COUNT(*).
func TestKillMidProcessing(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "b.db")
			if name == "postgres" {
				db = pgtest.NewDatabase(t)
			}
			key := randomKey(t)
			env := processEnv(key, 300*time.Millisecond, 3)
			s := startServer(t, db, env...)
			ids := submitBatches(t, key, 30, s)
			// Killed once some batches are in their tiers and none is done.
			deadline := time.Now().Add(20 * time.Second)
			for {
				st := statuses(t, s, key, ids)
				inProgress := 0
				for _, v := range st {
					if v == "IN_PROGRESS" {
						inProgress++
					}
				}
				if inProgress > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-s.done
			killed := time.Now()
			again := startServer(t, db, env...)
			ends := waitAll(t, again, key, ids, 2*time.Minute)
			t.Logf("%s: every batch ended %s after the kill: %v", name, time.Since(killed).Round(100*time.Millisecond), histogram(ends))
			checkStored(t, db)
			raw := rawDB(t, db)
			var tiers, started int
			if err := raw.QueryRowContext(t.Context(), `SELECT count(*) FROM tasks WHERE task_type = 'engine_feature_extractor_run'`).Scan(&tiers); err != nil {
				t.Fatal(err)
			}
			if err := raw.QueryRowContext(t.Context(), `SELECT count(*) FROM tasks t WHERE task_type = 'api_buckets_batches_process'`).Scan(&started); err != nil {
				t.Fatal(err)
			}
			if started != len(ids) {
				t.Errorf("%d batch tasks for %d batches", started, len(ids))
			}
			wantTiers := 0
			for _, id := range ids {
				var doc string
				if err := raw.QueryRowContext(t.Context(), rebind(db, `SELECT doc FROM batches WHERE id = ?`), id).Scan(&doc); err != nil {
					t.Fatal(err)
				}
				wantTiers += strings.Count(doc, `"task_id":"task_`) - 1 // the tiers started, besides the batch's own
			}
			if tiers != wantTiers {
				t.Errorf("%d tier tasks, %d tiers started: a tier ran twice or was lost", tiers, wantTiers)
			}
			if err := again.stop(t, syscall.SIGTERM); err != nil {
				t.Errorf("SIGTERM: %v", err)
			}
		})
	}
}

// rebind is query with PostgreSQL's placeholder when db is a URL.
func rebind(db, query string) string {
	if strings.HasPrefix(db, "postgres://") {
		return strings.Replace(query, "?", "$1", 1)
	}
	return query
}

func histogram(m map[string]string) map[string]int {
	out := map[string]int{}
	for _, v := range m {
		out[v]++
	}
	return out
}

// TestPostgresTwoServersProcessOnce: two servers on one PostgreSQL
// database process 200 submitted batches, each tier's start and end
// once: the steps both logged, counted by batch, tier and phase; and one
// tier task a tier.
func TestPostgresTwoServersProcessOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	key := randomKey(t)
	env := append(processEnv(key, 30*time.Millisecond, 2), "BATCHESD_PROCESS_FAILURE_RATIO=0", "BATCHESD_PROCESS_ERROR_RATIO=0")
	first := startServer(t, db, env...)
	second := startServer(t, db, env...)
	ids := submitBatches(t, key, 200, first, second)
	ends := waitAll(t, first, key, ids, 2*time.Minute)
	if h := histogram(ends); h["COMPLETED"] != len(ids) {
		t.Errorf("ends %v", h)
	}
	for _, s := range []*server{first, second} {
		if err := s.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
	}
	steps := map[string]int{}
	per := [2]int{}
	for i, s := range []*server{first, second} {
		sc := bufio.NewScanner(strings.NewReader(s.stderr.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg, BatchID, Phase string
				Tier                int
			}
			var raw map[string]any
			if json.Unmarshal(sc.Bytes(), &raw) != nil || raw["msg"] != "batch step" {
				continue
			}
			line.BatchID, _ = raw["batch_id"].(string)
			line.Phase, _ = raw["phase"].(string)
			tier, _ := raw["tier"].(float64)
			steps[fmt.Sprintf("%s %d %s", line.BatchID, int(tier), line.Phase)]++
			per[i]++
		}
	}
	if len(steps) != len(ids)*2*2 {
		t.Errorf("%d distinct steps logged, want %d (2 tiers, started and finished, a batch)", len(steps), len(ids)*4)
	}
	for step, n := range steps {
		if n != 1 {
			t.Errorf("step %s ran %d times", step, n)
		}
	}
	if per[0] == 0 || per[1] == 0 {
		t.Errorf("steps by server %v: both should have worked", per)
	}
	t.Logf("steps run by each server: %v", per)
	checkStored(t, db)
	raw := rawDB(t, db)
	var tierTasks int
	if err := raw.QueryRowContext(t.Context(), `SELECT count(*) FROM tasks WHERE task_type = 'engine_feature_extractor_run'`).Scan(&tierTasks); err != nil {
		t.Fatal(err)
	}
	if tierTasks != len(ids)*2 {
		t.Errorf("%d tier tasks for %d batches of 2 tiers", tierTasks, len(ids))
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
