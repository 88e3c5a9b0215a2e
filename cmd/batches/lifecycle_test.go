package main

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/alecthomas/kong"
)

// The lifecycle's commands against servers of the tests' own (their runs
// against batchesd are in server_test.go). Waits poll every millisecond
// (the hidden --poll-unit).

// lifecycleBatch is a batch in status with its tier (-1: none yet).
func lifecycleBatch(status string, tier int, errText string) string {
	current := "null"
	if tier >= 0 {
		current = fmt.Sprint(tier)
	}
	var tiers []string
	for k := range 2 {
		st := "PENDING"
		if tier > k || (tier == k && status != "IN_PROGRESS") {
			st = "COMPLETED"
		}
		tiers = append(tiers, fmt.Sprintf(`{"tier_num":%d,"source_type":"bucket","status":%q}`, k, st))
	}
	return fmt.Sprintf(`{"batch_id":"btch_w","bucket_id":"bkt_demo","status":%q,"current_tier":%s,"total_tiers":2,"tier_tasks":[%s],"error":%s,"metadata":{},"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:0%dZ"}`,
		status, current, strings.Join(tiers, ","), errText, tier+1)
}

const cliTask = `{"task_id":"task_w","task_type":"api_buckets_batches_process","status":"PENDING","inputs":null,"outputs":null,"additional_data":null,"error":null}`

// lifecycleServer answers submit with a task and the GETs of the batch
// with the bodies in turn (the last again after the end), recording each
// request as "METHOD path body".
func lifecycleServer(t *testing.T, gets ...string) (string, *[]string) {
	var mu sync.Mutex
	var reqs []string
	n := 0
	url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		reqs = append(reqs, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+string(body)))
		switch {
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/buckets/"):
			n++
			writeBody(w, 200, "application/json", gets[min(n, len(gets))-1])
		case strings.HasSuffix(r.URL.Path, "/submit"), strings.HasSuffix(r.URL.Path, "/cancel"), strings.HasPrefix(r.URL.Path, "/v1/tasks/task"):
			if r.Method == "DELETE" {
				writeBody(w, 200, "application/json", `{"success":true,"message":"Task task_w killed"}`)
				return
			}
			writeBody(w, 200, "application/json", cliTask)
		case strings.HasSuffix(r.URL.Path, "/retry"):
			writeBody(w, 200, "application/json", `{"task_id":"task_r","task_type":"api_buckets_batches_process","status":"PENDING","batch_id":"btch_w","previous_task_id":"task_w","retried_tiers":[0,1,2],"retry_count":1,"message":"Retrying"}`)
		case r.URL.Path == "/v1/tasks/list":
			writeBody(w, 200, "application/json", `{"results":[`+cliTask+`],"pagination":{"next_cursor":null}}`)
		case r.Method == "DELETE":
			writeBody(w, 200, "application/json", `{"success":true,"message":"Batch btch_w deleted"}`)
		case r.Method == "PATCH":
			writeBody(w, 200, "application/json", strings.Replace(gets[0], `"metadata":{}`, `"metadata":{"team":"data"}`, 1))
		default:
			writeBody(w, 200, "application/json", gets[0])
		}
	})
	return url, &reqs
}

var fastPolls = "--poll-unit=1ms"

// submit --wait through a pipe: a line per change, then the outcome; the
// exit status tells how the batch ended.
func TestSubmitWaitLines(t *testing.T) {
	steps := []string{lifecycleBatch("PENDING", -1, "null"), lifecycleBatch("PENDING", -1, "null"), lifecycleBatch("IN_PROGRESS", 0, "null"), lifecycleBatch("IN_PROGRESS", 1, "null")}
	line := `\d\d:\d\d:\d\d btch_w `
	for _, tc := range []struct {
		last    string
		code    int
		outcome string
	}{
		{lifecycleBatch("COMPLETED", 1, "null"), exitOK, `btch_w COMPLETED after \S+`},
		{lifecycleBatch("FAILED", 1, `"tier 1 failed: timeout"`), exitBatchFailed, `btch_w FAILED after \S+: tier 1 failed: timeout`},
		{lifecycleBatch("CANCELED", 1, "null"), exitBatchFailed, `btch_w CANCELED after \S+`},
	} {
		url, reqs := lifecycleServer(t, append(steps, tc.last)...)
		r := runCLI(t, fakeEnv(url), false, fastPolls, "submit", "--bucket", "bkt_demo", "btch_w", "--wait")
		status := regexp.MustCompile(`"status":"(\w+)"`).FindStringSubmatch(tc.last)[1]
		want := "^btch_w submitted: task task_w\n" +
			line + `PENDING, 2 tiers \(\S+\)\n` +
			line + `IN_PROGRESS, tier 1 of 2 \(\S+\)\n` +
			line + `IN_PROGRESS, tier 2 of 2 \(\S+\)\n` +
			line + status + `, tier 2 of 2 \(\S+\)\n` +
			tc.outcome + "\n$"
		if r.code != tc.code || !regexp.MustCompile(want).MatchString(r.stdout) || r.stderr != "" {
			t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
		}
		// One submit, then a GET a poll: none after the end.
		if len(*reqs) != 1+5 || (*reqs)[0] != "POST /v1/buckets/bkt_demo/batches/btch_w/submit {}" {
			t.Errorf("requests %q", *reqs)
		}
	}
}

// On a terminal, a bar redrawn in place (carriage returns), then the
// outcome on a line of its own.
func TestWaitBarOnATerminal(t *testing.T) {
	url, _ := lifecycleServer(t, lifecycleBatch("IN_PROGRESS", 0, "null"), lifecycleBatch("IN_PROGRESS", 1, "null"), lifecycleBatch("COMPLETED", 1, "null"))
	r := runCLI(t, fakeEnv(url), true, fastPolls, "wait", "--bucket", "bkt_demo", "btch_w")
	if r.code != 0 || !strings.Contains(r.stdout, "\r") || !strings.Contains(r.stdout, "btch_w IN_PROGRESS, tier 1 of 2") ||
		!strings.Contains(r.stdout, "(2/2)") || !regexp.MustCompile(`\nbtch_w COMPLETED after \S+\n$`).MatchString(r.stdout) {
		t.Errorf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	// runCLI's terminal has 80 columns: no frame reaches the last.
	for _, f := range strings.FieldsFunc(r.stdout, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if n := utf8.RuneCountInString(f); n > 79 {
			t.Errorf("a frame of %d columns: %q", n, f)
		}
	}
}

// wait's other ends: a DRAFT batch (exit 1, at once), a batch that is not
// there (exit 4), several batches (a GET each a round: they are few).
func TestWaitEnds(t *testing.T) {
	url, reqs := lifecycleServer(t, lifecycleBatch("DRAFT", -1, "null"))
	r := runCLI(t, fakeEnv(url), false, fastPolls, "wait", "--bucket", "bkt_demo", "btch_w")
	if r.code != exitFailure || r.stderr != "error: batch btch_w is DRAFT: it was never submitted, so it will not change (SubmitBatch starts its processing)\n" || len(*reqs) != 1 {
		t.Errorf("exit %d, stderr %q, %d requests", r.code, r.stderr, len(*reqs))
	}

	url, n := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 404, "application/json", `{"success":false,"status":404,"error":{"message":"Batch not found: btch_w","type":"NotFoundError","details":null}}`)
	})
	r = runCLI(t, fakeEnv(url), false, fastPolls, "wait", "--bucket", "bkt_demo", "btch_w")
	if r.code != exitNotFound || r.stderr != "error: Batch not found: btch_w (NotFoundError, HTTP 404)\n" || n.Load() != 1 {
		t.Errorf("exit %d, stderr %q, %d requests", r.code, r.stderr, n.Load())
	}

	// Two batches: a GET each a round (fewer than a page of List). Each
	// outcome says when that batch ended; btch_a ended first.
	var mu sync.Mutex
	gets := map[string]int{}
	url, n = fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		gets[id]++
		steps := map[string][]string{"btch_a": {"PENDING", "COMPLETED"}, "btch_b": {"PENDING", "IN_PROGRESS", "COMPLETED"}}[id]
		status := steps[min(gets[id], len(steps))-1]
		writeBody(w, 200, "application/json", strings.Replace(lifecycleBatch(status, 0, "null"), "btch_w", id, 1))
	})
	r = runCLI(t, fakeEnv(url), false, fastPolls, "wait", "--bucket", "bkt_demo", "btch_a", "btch_b")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || n.Load() != 5 || len(lines) != 5+2 || !strings.HasPrefix(lines[5], "btch_a COMPLETED after ") || !strings.HasPrefix(lines[6], "btch_b COMPLETED after ") {
		t.Errorf("exit %d, %d requests\nstdout:\n%s\nstderr %q", r.code, n.Load(), r.stdout, r.stderr)
	}

	// One DRAFT among them ends the wait: the other is still running.
	url, n = fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		status := "IN_PROGRESS"
		if strings.HasSuffix(r.URL.Path, "/btch_b") {
			status = "DRAFT"
		}
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		writeBody(w, 200, "application/json", strings.Replace(lifecycleBatch(status, 0, "null"), "btch_w", id, 1))
	})
	r = runCLI(t, fakeEnv(url), false, fastPolls, "wait", "--bucket", "bkt_demo", "btch_a", "btch_b")
	if r.code != exitFailure || n.Load() != 2 || !regexp.MustCompile(`\nbtch_a still running \(IN_PROGRESS\) when the wait stopped after \S+\nbtch_b DRAFT: never submitted\n$`).MatchString(r.stdout) ||
		!strings.HasPrefix(r.stderr, "error: batch btch_b is DRAFT") {
		t.Errorf("exit %d, %d requests\nstdout:\n%s\nstderr %q", r.code, n.Load(), r.stdout, r.stderr)
	}
}

// Each command's request and what it prints: the API's answer, indented.
func TestLifecycleCommands(t *testing.T) {
	draft := lifecycleBatch("DRAFT", -1, "null")
	for _, tc := range []struct {
		args []string
		reqs string // the requests, "; "-separated
		out  string // a part of stdout
	}{
		{[]string{"create", "--bucket", "bkt_demo", "--object-id", "obj_1", "--object-id", "obj_2"}, `POST /v1/buckets/bkt_demo/batches {"object_ids":["obj_1","obj_2"]}`, `"batch_id": "btch_w"`},
		{[]string{"create", "--bucket", "bkt_demo", "--object-id", "obj_1", "--metadata", "team=data"},
			`POST /v1/buckets/bkt_demo/batches {"object_ids":["obj_1"]}; PATCH /v1/buckets/bkt_demo/batches/btch_w {"metadata":{"team":"data"}}`, `"team": "data"`},
		{[]string{"get", "--bucket", "bkt_demo", "btch_w"}, `GET /v1/buckets/bkt_demo/batches/btch_w`, `"status": "DRAFT"`},
		{[]string{"update", "--bucket", "bkt_demo", "btch_w", "--metadata", "team=data", "--metadata", "x=a=b"}, `PATCH /v1/buckets/bkt_demo/batches/btch_w {"metadata":{"team":"data","x":"a=b"}}`, `"team": "data"`},
		{[]string{"update", "--bucket", "bkt_demo", "btch_w", "--clear"}, `PATCH /v1/buckets/bkt_demo/batches/btch_w {"metadata":{}}`, `"batch_id"`},
		// Commas are part of a value: object ids and metadata values may hold them.
		{[]string{"create", "--bucket", "bkt_demo", "--object-id", "obj,with,comma", "--metadata", "tags=a,b", "--metadata", "k,1=v"},
			`POST /v1/buckets/bkt_demo/batches {"object_ids":["obj,with,comma"]}; PATCH /v1/buckets/bkt_demo/batches/btch_w {"metadata":{"k,1":"v","tags":"a,b"}}`, `"team": "data"`},
		{[]string{"update", "--bucket", "bkt_demo", "btch_w", "--metadata", "tags=a,b"}, `PATCH /v1/buckets/bkt_demo/batches/btch_w {"metadata":{"tags":"a,b"}}`, `"batch_id"`},
		{[]string{"add-objects", "--bucket", "bkt_demo", "btch_w", "--object-id", "a,b", "--object-id", `c\,d`}, `POST /v1/buckets/bkt_demo/batches/btch_w/objects {"object_ids":["a,b","c\\,d"]}`, `"batch_id"`},
		// --tier's numbers hold no comma: kong's split stays.
		{[]string{"retry", "--bucket", "bkt_demo", "btch_w", "--tier", "0,1", "--tier", "2"}, `POST /v1/buckets/bkt_demo/batches/btch_w/retry {"tier_nums":[0,1,2]}`, `"retried_tiers": [`},
		{[]string{"delete", "--bucket", "bkt_demo", "btch_w"}, `DELETE /v1/buckets/bkt_demo/batches/btch_w`, `"message": "Batch btch_w deleted"`},
		{[]string{"add-objects", "--bucket", "bkt_demo", "btch_w", "--object-id", "obj_3"}, `POST /v1/buckets/bkt_demo/batches/btch_w/objects {"object_ids":["obj_3"]}`, `"batch_id"`},
		{[]string{"submit", "--bucket", "bkt_demo", "btch_w"}, `POST /v1/buckets/bkt_demo/batches/btch_w/submit {}`, `"task_id": "task_w"`},
		{[]string{"cancel", "--bucket", "bkt_demo", "btch_w"}, `POST /v1/buckets/bkt_demo/batches/btch_w/cancel`, `"task_id": "task_w"`},
		{[]string{"tasks", "get", "task_w"}, `GET /v1/tasks/task_w`, `"task_type": "api_buckets_batches_process"`},
		{[]string{"tasks", "kill", "task_w"}, `DELETE /v1/tasks/task_w`, `"message": "Task task_w killed"`},
		{[]string{"tasks", "list", "--status", "failed", "--all"}, `POST /v1/tasks/list {"status":"FAILED"}`, cliTask + "\n"},
	} {
		url, reqs := lifecycleServer(t, draft)
		env := fakeEnv(url)
		if tc.args[0] == "tasks" {
			delete(env, "MIXPEEK_NAMESPACE") // tasks need none
		}
		r := runCLI(t, env, false, tc.args...)
		if r.code != 0 || strings.Join(*reqs, "; ") != tc.reqs || !strings.Contains(r.stdout, tc.out) {
			t.Errorf("%v: exit %d, stderr %q\nrequests %q\nstdout %s", tc.args, r.code, r.stderr, *reqs, r.stdout)
		}
	}
}

// tasks list says, as list does, which status a --status of another case
// was taken as.
func TestTasksListStatusNote(t *testing.T) {
	url, reqs := lifecycleServer(t, lifecycleBatch("DRAFT", -1, "null"))
	env := fakeEnv(url)
	delete(env, "MIXPEEK_NAMESPACE")
	r := runCLI(t, env, false, "tasks", "list", "--status", "failed", "--limit", "2")
	if r.code != 0 || r.stderr != "note: --status failed taken as FAILED\n" || strings.Join(*reqs, "; ") != `POST /v1/tasks/list {"status":"FAILED"}` {
		t.Errorf("exit %d, stderr %q, requests %q", r.code, r.stderr, *reqs)
	}
}

// The lifecycle's usage errors, each sending nothing.
func TestLifecycleUsageErrors(t *testing.T) {
	url, reqs := lifecycleServer(t, lifecycleBatch("DRAFT", -1, "null"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"update", "--bucket", "b", "btch_w"}, "error: update: give --metadata KEY=VALUE (the new metadata, whole) or --clear\n"},
		{[]string{"update", "--bucket", "b", "btch_w", "--clear", "--metadata", "a=b"}, "error: update: --metadata and --clear exclude each other\n"},
		{[]string{"update", "--bucket", "b", "btch_w", "--metadata", "novalue"}, "error: --metadata \"novalue\": want KEY=VALUE\n"},
		{[]string{"create", "--bucket", "b", "--object-id", "o", "--metadata", "k=1", "--metadata", "k=2"}, "error: --metadata: the key \"k\" is given twice\n"},
		{[]string{"create", "--bucket", "b"}, "error: missing flags: --object-id=ID\n"},
		{[]string{"create", "--bucket", "b", "--object-id", "a", "--object-id", "a"}, "error: createBatch: object id \"a\" is given twice (1 and 2)\n"},
		{[]string{"retry", "--bucket", "b", "btch_w", "--max-retry-count", "11"}, "error: retryBatch: max retry count 11 is not 1 to 10 (0: the API's default)\n"},
		{[]string{"retry", "--bucket", "b", "btch_w", "--mode", "some"}, "error: --mode must be one of \"transient_only\",\"all\",\"\" but got \"some\"\n"},
		{[]string{"wait", "--bucket", "b"}, "error: expected \"<batch-id> ...\"\n"},
		{[]string{"get", "--bucket", "b", ".."}, "error: getBatch: the batch id \"..\" is not a batch: in the URL path it would mean the current or parent directory\n"},
		{[]string{"tasks", "list", "--status", "done"}, "error: --status \"done\" is not a status; want one of PENDING, IN_PROGRESS, PROCESSING, COMPLETED, COMPLETED_WITH_ERRORS, FAILED, CANCELED, UNKNOWN, SKIPPED, DRAFT, ACTIVE, ARCHIVED, SUSPENDED\n"},
		{[]string{"tasks", "list", "--limit", "1001"}, "error: listTasks: limit 1001 is not 1 to 1000 (0: the API's default)\n"},
		{[]string{"tasks", "list", "--limit", "0"}, "error: --limit must be between 1 and 1000, got 0\n"},
		{[]string{"--poll-unit=0s", "wait", "--bucket", "b", "btch_w"}, "error: --poll-unit must be positive, got 0s\n"},
	} {
		r := runCLI(t, fakeEnv(url), false, tc.args...)
		// The hint names the command that failed.
		var cmd []string
		for _, a := range tc.args {
			if strings.HasPrefix(a, "-") {
				break
			}
			cmd = append(cmd, a)
		}
		if len(cmd) == 0 { // --poll-unit comes first
			cmd = []string{"wait"}
		}
		hint := "run 'batches " + strings.Join(cmd, " ") + " --help' for usage\n"
		if r.code != exitUsage || r.stderr != tc.want+hint {
			t.Errorf("%v: exit %d, stderr %q\nwant %q", tc.args, r.code, r.stderr, tc.want+hint)
		}
	}
	if len(*reqs) != 0 {
		t.Errorf("requests %q", *reqs)
	}
	// The batch commands need a namespace; tasks do not.
	env := fakeEnv(url)
	delete(env, "MIXPEEK_NAMESPACE")
	if r := runCLI(t, env, false, "get", "--bucket", "b", "btch_w"); r.code != exitUsage || !strings.HasPrefix(r.stderr, "error: missing namespace") {
		t.Errorf("get without a namespace: exit %d, stderr %q", r.code, r.stderr)
	}
}

// The help of the waits and --help document exit status 6; the
// subcommands' help stays short.
func TestLifecycleHelp(t *testing.T) {
	r := runCLI(t, nil, false, "--help")
	if !strings.Contains(r.stdout, "6    wait, submit --wait: a batch ended FAILED or CANCELED") {
		t.Errorf("--help lacks exit status 6:\n%s", r.stdout)
	}
	for _, cmd := range []string{"create", "get", "update", "delete", "add-objects", "submit", "cancel", "retry", "wait", "tasks get", "tasks list", "tasks kill"} {
		r := runCLI(t, nil, false, append(strings.Fields(cmd), "--help")...)
		if n := strings.Count(r.stdout, "\n"); r.code != 0 || n > 40 {
			t.Errorf("%s --help: exit %d, %d lines", cmd, r.code, n)
		}
		if (cmd == "wait" || cmd == "submit") && !strings.Contains(r.stdout, "6 FAILED or CANCELED") {
			t.Errorf("%s --help lacks exit status 6:\n%s", cmd, r.stdout)
		}
	}
}

// Every repeatable flag whose values are text takes each value whole:
// kong splits a slice flag's value at commas unless told sep:"none", and
// object ids and metadata may hold commas. A flag of numbers may split.
func TestRepeatableFlagsKeepCommas(t *testing.T) {
	var c cli
	parser, err := newParser(&c, func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			if !f.Value.IsSlice() {
				continue
			}
			checked++
			if el := f.Value.Target.Type().Elem().Kind(); el == reflect.String && f.Value.Tag.Sep != -1 {
				t.Errorf("%s --%s splits its values at %q: give it sep:\"none\"", n.Path(), f.Name, f.Value.Tag.Sep)
			}
		}
		for _, child := range n.Children {
			walk(child)
		}
	}
	walk(parser.Model.Node)
	if checked != 5 { // create --object-id, --metadata; update --metadata; add-objects --object-id; retry --tier
		t.Errorf("%d repeatable flags checked, want 5", checked)
	}
}

// Text from the server is printed cleaned, escapes and line breaks made
// spaces: the task id of submit --wait, the batch id of a create whose
// metadata was not set, the ids and statuses of a wait's lines.
func TestServerTextIsCleaned(t *testing.T) {
	evil := "btch_w\u001b[2J\nx"
	url, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/submit"):
			writeBody(w, 200, "application/json", strings.Replace(cliTask, `"task_w"`, `"task_\u001b[2J\rz"`, 1))
		case r.Method == "PATCH":
			writeBody(w, 400, "application/json", `{"success":false,"status":400,"error":{"message":"metadata too large","type":"BadRequestError","details":null}}`)
		case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/batches"):
			writeBody(w, 200, "application/json", strings.Replace(lifecycleBatch("DRAFT", -1, "null"), `"btch_w"`, `"btch_w\u001b[2J\nx"`, 1))
		default:
			writeBody(w, 200, "application/json", lifecycleBatch("FAILED", 1, `"tier 2\u001b[31m failed"`))
		}
	})
	r := runCLI(t, fakeEnv(url), false, fastPolls, "submit", "--bucket", "bkt_demo", "btch_w", "--wait")
	if r.code != exitBatchFailed || !strings.HasPrefix(r.stdout, "btch_w submitted: task task_ [2J z\n") || strings.ContainsAny(r.stdout, "\x1b\r") ||
		!regexp.MustCompile(`\nbtch_w FAILED after \S+: tier 2 \[31m failed\n$`).MatchString(r.stdout) {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	// The client refuses to send the PATCH of such an id.
	r = runCLI(t, fakeEnv(url), false, "create", "--bucket", "bkt_demo", "--object-id", "o", "--metadata", "k=v")
	if !strings.HasPrefix(r.stderr, "error: batch btch_w [2J x was created, but its metadata was not set:\nerror: patchBatch: ") || strings.Contains(r.stderr, evil) {
		t.Errorf("stderr %q", r.stderr)
	}
}

// A usage error names the command that failed in its hint: the one kong
// parsed so far, the lifecycle's checks, the client's refusals before
// sending; batches --help when there is none.
func TestUsageHintNamesTheCommand(t *testing.T) {
	url, reqs := lifecycleServer(t, lifecycleBatch("DRAFT", -1, "null"))
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"frobnicate"}, "run 'batches --help' for usage"},
		{nil, "run 'batches --help' for usage"},
		{[]string{"tasks", "kill"}, "run 'batches tasks kill --help' for usage"},
		{[]string{"tasks", "get", ".."}, "run 'batches tasks get --help' for usage"},
		{[]string{"add-objects", "--bucket", "b", "btch_w"}, "run 'batches add-objects --help' for usage"},
		{[]string{"--max-retries=-1", "cancel", "--bucket", "b", "btch_w"}, "run 'batches cancel --help' for usage"},
		{[]string{"list", "--bucket", "b", "--limit", "0"}, "run 'batches list --help' for usage"},
	} {
		r := runCLI(t, fakeEnv(url), false, tc.args...)
		if r.code != exitUsage || !strings.HasSuffix(r.stderr, "\n"+tc.hint+"\n") {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
	if len(*reqs) != 0 {
		t.Errorf("requests %q", *reqs)
	}
	if r := runCLI(t, nil, false, "tasks", "kill", "--help"); !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), "is not running: nothing to kill") {
		t.Errorf("tasks kill --help:\n%s", r.stdout)
	}
}
