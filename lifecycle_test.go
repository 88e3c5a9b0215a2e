package batches_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mixpeekgo/batches"
)

// The lifecycle's methods against servers of the tests' own: what each
// sends, what it makes of the answer, which are retried, and what each
// refuses before sending. Their tests against the real handler are in
// api/batchestest/batches_lifecycle_test.go.

const batchJSON = `{"batch_id":"btch_a1b2c3d4e5f6","bucket_id":"bkt_demo","status":"DRAFT","object_ids":["obj_1","obj_2"],"collection_ids":null,"error":null,"error_summary":null,"type":"BUCKET","manifest_key":null,"task_id":null,"loaded_object_ids":null,"internal_metadata":null,"metadata":{"k":"v"},"tier_tasks":[],"current_tier":null,"total_tiers":1,"dag_tiers":null,"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:00Z"}`

const taskJSON = `{"task_id":"task_9f8e7d6c5b4a","task_type":"api_buckets_batches_process","status":"PENDING","inputs":["btch_a1b2c3d4e5f6"],"outputs":null,"additional_data":{"batch_id":"btch_a1b2c3d4e5f6","current_tier":0,"total_tiers":2},"error":null}`

const retryJSON = `{"task_id":"task_3k9z0m1xw7pq","task_type":"api_buckets_batches_process","status":"PENDING","batch_id":"btch_a1b2c3d4e5f6","previous_task_id":"task_9f8e7d6c5b4a","retried_tiers":[1,2],"retry_count":1,"message":"Retry started","extra":true}`

const deleteJSON = `{"success":true,"message":"Batch btch_a1b2c3d4e5f6 deleted"}`

// seen is a request as the server got it.
type seen struct {
	method, path, query, namespace, contentType, body string
}

// recorder answers every request with status and body, recording them.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (rec *recorder) serve(t *testing.T, status int, body string) *fake {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, _ int64) {
		data, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, strings.Join(r.Header.Values("X-Namespace"), ","), r.Header.Get("Content-Type"), string(data)})
		rec.mu.Unlock()
		writeJSON(w, status, body)
	})
}

// op is one method of the lifecycle, called with valid arguments.
type op struct {
	name   string // the operationId
	answer string // a 200's body
	safe   bool   // retried
	call   func(ctx context.Context, c *batches.Client) (any, error)
	want   seen // method, path, query, body (namespace "production" but for tasks)
}

var ops = []op{
	{"createBatch", batchJSON, false, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.CreateBatch(ctx, "bkt_demo", []string{"obj_1", "obj_2"})
	}, seen{method: "POST", path: "/v1/buckets/bkt_demo/batches", body: `{"object_ids":["obj_1","obj_2"]}`}},
	{"getBatch", batchJSON, true, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.GetBatch(ctx, "bkt_demo", "btch_a1b2c3d4e5f6")
	}, seen{method: "GET", path: "/v1/buckets/bkt_demo/batches/btch_a1b2c3d4e5f6"}},
	{"patchBatch", batchJSON, true, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.UpdateBatch(ctx, "bkt_demo", "btch_a1b2c3d4e5f6", map[string]any{"k": "v"})
	}, seen{method: "PATCH", path: "/v1/buckets/bkt_demo/batches/btch_a1b2c3d4e5f6", body: `{"metadata":{"k":"v"}}`}},
	{"deleteBatch", deleteJSON, false, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.DeleteBatch(ctx, "bkt_demo", "btch_a1b2c3d4e5f6")
	}, seen{method: "DELETE", path: "/v1/buckets/bkt_demo/batches/btch_a1b2c3d4e5f6"}},
	{"addObjectsToBatch", batchJSON, false, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.AddObjects(ctx, "bkt_demo", "btch_a1b2c3d4e5f6", []string{"obj_3"})
	}, seen{method: "POST", path: "/v1/buckets/bkt_demo/batches/btch_a1b2c3d4e5f6/objects", body: `{"object_ids":["obj_3"]}`}},
	{"submitBatch", taskJSON, false, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.SubmitBatch(ctx, "bkt_demo", "btch_a1b2c3d4e5f6")
	}, seen{method: "POST", path: "/v1/buckets/bkt_demo/batches/btch_a1b2c3d4e5f6/submit", body: `{}`}},
	{"cancelBatch", taskJSON, false, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.CancelBatch(ctx, "bkt_demo", "btch_a1b2c3d4e5f6")
	}, seen{method: "POST", path: "/v1/buckets/bkt_demo/batches/btch_a1b2c3d4e5f6/cancel"}},
	{"retryBatch", retryJSON, false, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.RetryBatch(ctx, "bkt_demo", "btch_a1b2c3d4e5f6", &batches.RetryParams{Mode: batches.RetryAll, TierNums: []int{1}, MaxRetryCount: 5})
	}, seen{method: "POST", path: "/v1/buckets/bkt_demo/batches/btch_a1b2c3d4e5f6/retry", body: `{"max_retry_count":5,"retry_mode":"all","tier_nums":[1]}`}},
	{"getTask", taskJSON, true, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.GetTask(ctx, "task_9f8e7d6c5b4a")
	}, seen{method: "GET", path: "/v1/tasks/task_9f8e7d6c5b4a"}},
	{"listTasks", `{"results":[` + taskJSON + `],"pagination":{"next_cursor":null,"total":1}}`, true, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.ListTasks(ctx, &batches.ListTasksParams{Status: batches.TaskStatusFailed, TaskType: batches.TaskTypeBatchProcess, Limit: 10, Offset: 5, Cursor: "abc", IncludeTotal: true})
	}, seen{method: "POST", path: "/v1/tasks/list", query: "limit=10&offset=5&cursor=abc&include_total=true", body: `{"status":"FAILED","task_type":"api_buckets_batches_process"}`}},
	{"killTask", deleteJSON, true, func(ctx context.Context, c *batches.Client) (any, error) {
		return c.KillTask(ctx, "task_9f8e7d6c5b4a")
	}, seen{method: "DELETE", path: "/v1/tasks/task_9f8e7d6c5b4a"}},
}

// Each method sends its request (the namespace only to the batch
// operations), and decodes the answer into its type.
func TestLifecycleRequestsAndAnswers(t *testing.T) {
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			var rec recorder
			f := rec.serve(t, 200, o.answer)
			v, err := o.call(t.Context(), f.client(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.reqs) != 1 {
				t.Fatalf("%d requests", len(rec.reqs))
			}
			got := rec.reqs[0]
			want := o.want
			task := strings.HasPrefix(want.path, "/v1/tasks")
			if !task {
				want.namespace = "production"
			}
			if want.body != "" {
				want.contentType = "application/json"
				var a, b any
				if json.Unmarshal([]byte(got.body), &a) == nil && json.Unmarshal([]byte(want.body), &b) == nil {
					ga, _ := json.Marshal(a)
					gb, _ := json.Marshal(b)
					got.body, want.body = string(ga), string(gb)
				}
			}
			if got != want {
				t.Errorf("sent %+v\nwant %+v", got, want)
			}
			switch v := v.(type) {
			case batches.Batch:
				if v.BatchID != "btch_a1b2c3d4e5f6" || v.Status != batches.TaskStatusDraft || len(v.ObjectIDs) != 2 || v.Metadata["k"] != "v" || string(v.RawJSON()) != batchJSON {
					t.Errorf("batch %+v", v)
				}
			case batches.Task:
				if v.TaskID != "task_9f8e7d6c5b4a" || v.TaskType != batches.TaskTypeBatchProcess || v.Status != batches.TaskStatusPending ||
					len(v.Inputs) != 1 || v.Outputs != nil || v.AdditionalData["total_tiers"] != 2.0 || v.Error != nil || string(v.RawJSON()) != taskJSON {
					t.Errorf("task %+v", v)
				}
			case batches.RetryResult:
				if v.TaskID != "task_3k9z0m1xw7pq" || v.PreviousTaskID == nil || *v.PreviousTaskID != "task_9f8e7d6c5b4a" || v.BatchID != "btch_a1b2c3d4e5f6" ||
					len(v.RetriedTiers) != 2 || v.RetryCount != 1 || v.Message != "Retry started" || string(v.RawJSON()) != retryJSON {
					t.Errorf("retry %+v", v)
				}
			case batches.DeleteResult:
				if !v.Success || v.Message != "Batch btch_a1b2c3d4e5f6 deleted" {
					t.Errorf("delete %+v", v)
				}
			case *batches.TaskPage:
				if len(v.Results) != 1 || v.NextCursor != "" || v.Total == nil || *v.Total != 1 {
					t.Errorf("page %+v", v)
				}
			default:
				t.Errorf("%T", v)
			}
		})
	}
}

// A 503 is retried by the safe operations only (2 retries: 3 requests);
// the others send once, whatever the answer. Either way the error is an
// *Error naming the operation.
func TestLifecycleRetries(t *testing.T) {
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			var rec recorder
			f := rec.serve(t, 503, errorBody(503, "ServiceUnavailableError", "busy"))
			_, err := o.call(t.Context(), f.client(t))
			var e *batches.Error
			if !errors.As(err, &e) || e.StatusCode != 503 || e.Operation != o.name {
				t.Fatalf("err %v", err)
			}
			want := 1
			if o.safe {
				want = 1 + batches.DefaultMaxRetries
			}
			if len(rec.reqs) != want {
				t.Errorf("%d requests, want %d", len(rec.reqs), want)
			}
		})
	}
}

// Each answer of the API's errors is an *Error matching its sentinel; a
// 2xx that is not the operation's answer is an *Error saying so.
func TestLifecycleErrors(t *testing.T) {
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			for status, sentinel := range map[int]error{400: batches.ErrValidation, 401: batches.ErrUnauthorized, 403: batches.ErrForbidden, 404: batches.ErrNotFound, 422: batches.ErrValidation} {
				var rec recorder
				f := rec.serve(t, status, errorBody(status, "SomeError", "no"))
				_, err := o.call(t.Context(), f.client(t))
				var e *batches.Error
				if !errors.As(err, &e) || !errors.Is(err, sentinel) || e.Message != "no" || len(rec.reqs) != 1 {
					t.Errorf("HTTP %d: %v after %d requests", status, err, len(rec.reqs))
				}
			}
			bad := []string{`[]`, `{}`, `"x"`, `{"batch_id":5}`, `{"task_id":"t"}`}
			if o.name == "deleteBatch" || o.name == "killTask" {
				bad = []string{`[]`, `"x"`, `{"success":"yes"}`} // a GenericDeleteResponse requires nothing
			}
			for _, body := range bad {
				var rec recorder
				f := rec.serve(t, 200, body)
				_, err := o.call(t.Context(), f.client(t))
				var e *batches.Error
				if !errors.As(err, &e) || e.StatusCode != 200 || !strings.Contains(e.Message, "the response is not a") {
					t.Errorf("200 %s: %v", body, err)
				}
			}
		})
	}
}

// What each method refuses is refused before anything is sent, matching
// ErrValidation, in the words below.
func TestLifecycleRefusesBeforeSending(t *testing.T) {
	var rec recorder
	f := rec.serve(t, 200, batchJSON)
	c := f.client(t)
	ctx := t.Context()
	tooMany := make([]string, batches.MaxObjectIDs+1)
	for i := range tooMany {
		tooMany[i] = "obj_" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
	}
	for _, tc := range []struct {
		call func() error
		want string
	}{
		{func() error { _, err := c.CreateBatch(ctx, "", []string{"o"}); return err }, "batches: createBatch: the bucket identifier is empty"},
		{func() error { _, err := c.CreateBatch(ctx, "bkt", nil); return err }, "batches: createBatch: no object ids: give 1 to 1000"},
		{func() error { _, err := c.CreateBatch(ctx, "bkt", tooMany); return err }, "batches: createBatch: 1001 object ids, more than 1000"},
		{func() error { _, err := c.CreateBatch(ctx, "bkt", []string{"a", ""}); return err }, "batches: createBatch: object id 2 is empty"},
		{func() error { _, err := c.CreateBatch(ctx, "bkt", []string{strings.Repeat("é", 257)}); return err }, "batches: createBatch: object id 1 is 257 characters long, more than 256"},
		{func() error { _, err := c.CreateBatch(ctx, "bkt", []string{"a", "b", "a"}); return err }, `batches: createBatch: object id "a" is given twice (1 and 3)`},
		{func() error { _, err := c.GetBatch(ctx, "bkt", ".."); return err }, `batches: getBatch: the batch id ".." is not a batch: in the URL path it would mean the current or parent directory`},
		{func() error { _, err := c.GetBatch(ctx, "bkt", strings.Repeat("b", 129)); return err }, "batches: getBatch: the batch id is 129 bytes long, more than 128"},
		{func() error { _, err := c.UpdateBatch(ctx, "bkt", "b\n", nil); return err }, `batches: patchBatch: the batch id "b\n" contains a control character at byte 2`},
		{func() error {
			_, err := c.UpdateBatch(ctx, "bkt", "b", map[string]any{"c": make(chan int)})
			return err
		}, "batches: patchBatch: the metadata does not encode as JSON: json: unsupported type: chan int"},
		{func() error { _, err := c.DeleteBatch(ctx, "bkt", ""); return err }, "batches: deleteBatch: the batch id is empty"},
		{func() error { _, err := c.AddObjects(ctx, "bkt", "b", []string{}); return err }, "batches: addObjectsToBatch: no object ids: give 1 to 1000"},
		{func() error { _, err := c.SubmitBatch(ctx, ".", "b"); return err }, `batches: submitBatch: the bucket identifier "." is not a bucket: in the URL path it would mean the current or parent directory`},
		{func() error { _, err := c.CancelBatch(ctx, "bkt", ""); return err }, "batches: cancelBatch: the batch id is empty"},
		{func() error { _, err := c.RetryBatch(ctx, "bkt", "b", &batches.RetryParams{Mode: "some"}); return err }, `batches: retryBatch: retry mode "some" is not "transient_only" or "all"`},
		{func() error {
			_, err := c.RetryBatch(ctx, "bkt", "b", &batches.RetryParams{TierNums: []int{0, -1}})
			return err
		}, "batches: retryBatch: tier -1 is negative; tiers count from 0"},
		{func() error {
			_, err := c.RetryBatch(ctx, "bkt", "b", &batches.RetryParams{MaxRetryCount: 11})
			return err
		}, "batches: retryBatch: max retry count 11 is not 1 to 10 (0: the API's default)"},
		{func() error { _, err := c.GetTask(ctx, ""); return err }, "batches: getTask: the task id is empty"},
		{func() error { _, err := c.KillTask(ctx, ".."); return err }, `batches: killTask: the task id ".." is not a task: in the URL path it would mean the current or parent directory`},
		{func() error { _, err := c.ListTasks(ctx, &batches.ListTasksParams{Limit: 1001}); return err }, "batches: listTasks: limit 1001 is not 1 to 1000 (0: the API's default)"},
		{func() error { _, err := c.ListTasks(ctx, &batches.ListTasksParams{Offset: 10001}); return err }, "batches: listTasks: offset 10001 is not 0 to 10000"},
		{func() error {
			_, err := c.ListTasks(ctx, &batches.ListTasksParams{Cursor: strings.Repeat("c", 513)})
			return err
		}, "batches: listTasks: the cursor is 513 bytes long, more than 512"},
		{func() error {
			for _, err := range c.AllTasks(ctx, &batches.ListTasksParams{Limit: -1}) {
				return err
			}
			return nil
		}, "batches: listTasks: limit -1 is not 1 to 1000 (0: the API's default)"},
	} {
		err := tc.call()
		if !errors.Is(err, batches.ErrValidation) || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
	if len(rec.reqs) != 0 {
		t.Errorf("%d requests sent", len(rec.reqs))
	}
}

// The Tasks API takes no namespace: a client without one calls it; the
// batch operations refuse to send without one.
func TestTasksNeedNoNamespace(t *testing.T) {
	var rec recorder
	f := rec.serve(t, 200, taskJSON)
	c, err := batches.New(batches.WithBaseURL(f.srv.URL), batches.WithAPIKey(testKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(batches.EnvNamespace, "")
	if _, err := c.GetTask(t.Context(), "task_9f8e7d6c5b4a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitBatch(t.Context(), "bkt", "b"); !errors.Is(err, batches.ErrNoNamespace) {
		t.Fatalf("submit without a namespace: %v", err)
	}
	if len(rec.reqs) != 1 || rec.reqs[0].namespace != "" {
		t.Errorf("requests %+v", rec.reqs)
	}
}

// UpdateBatch with nil metadata clears it: it sends {} (the API's null and
// {} do the same).
func TestUpdateBatchNilClears(t *testing.T) {
	var rec recorder
	f := rec.serve(t, 200, batchJSON)
	if _, err := f.client(t).UpdateBatch(t.Context(), "bkt", "b", nil); err != nil {
		t.Fatal(err)
	}
	if rec.reqs[0].body != `{"metadata":{}}` {
		t.Errorf("sent %s", rec.reqs[0].body)
	}
}

// AllTasks follows next_cursor until a page has none, yielding a task
// once; a cursor answered twice, or an empty page with a cursor, ends it
// with ErrInconsistentPage.
func TestAllTasks(t *testing.T) {
	task := func(id string) string { return strings.Replace(taskJSON, "task_9f8e7d6c5b4a", id, 1) }
	page := func(next string, tasks ...string) answer {
		cursor := "null"
		if next != "" {
			cursor = `"` + next + `"`
		}
		return ok(`{"results":[` + strings.Join(tasks, ",") + `],"pagination":{"next_cursor":` + cursor + `}}`)
	}
	var queries []string
	serve := func(answers ...answer) *fake {
		queries = nil
		return newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
			queries = append(queries, r.URL.RawQuery)
			a := answers[min(int(n), len(answers))-1]
			writeJSON(w, a.status, a.body)
		})
	}
	walk := func(f *fake, p *batches.ListTasksParams) ([]string, error) {
		var got []string
		for tk, err := range f.client(t).AllTasks(t.Context(), p) {
			if err != nil {
				return got, err
			}
			got = append(got, tk.TaskID)
		}
		return got, nil
	}
	f := serve(page("c1", task("task_1"), task("task_2")), page("c2", task("task_2"), task("task_3")), page("", task("task_4")))
	got, err := walk(f, &batches.ListTasksParams{Limit: 2, Offset: 3})
	if err != nil || fmt.Sprint(got) != "[task_1 task_2 task_3 task_4]" ||
		fmt.Sprint(queries) != "[limit=2&offset=3 limit=2&cursor=c1 limit=2&cursor=c2]" {
		t.Errorf("%v, %v; queries %v", got, err, queries)
	}
	f = serve(page("c1", task("task_1")), page("c1", task("task_2")))
	got, err = walk(f, nil)
	if !errors.Is(err, batches.ErrInconsistentPage) || fmt.Sprint(got) != "[task_1 task_2]" || len(queries) != 2 ||
		err.Error() != `batches: listTasks: the cursor "c1" was answered before (2 tasks yielded): the server repeats pages` {
		t.Errorf("%v, %v", got, err)
	}
	f = serve(page("c1"))
	if _, err = walk(f, nil); !errors.Is(err, batches.ErrInconsistentPage) || len(queries) != 1 {
		t.Errorf("%v after %d", err, len(queries))
	}
	f = serve(page("", task("task_1"), task("task_2"), task("task_3")))
	if _, err = walk(f, &batches.ListTasksParams{Limit: 2}); !errors.Is(err, batches.ErrInconsistentPage) {
		t.Errorf("a page over the limit: %v", err)
	}
}
