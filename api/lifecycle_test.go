package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/api/river"
	"github.com/mixpeekgo/batches/generated/server"
)

// The lifecycle through HTTP, on both databases, every exchange checked
// against openapi.yaml by kin-openapi (the fixture's transport): each
// outcome, each forbidden transition, each error a client can cause, and
// tenancy on every path.

const bkt = "/v1/buckets/bkt_a/batches"

// call sends one request of A (X-Namespace production), or of key when
// given; a task path is sent without X-Namespace, as Mixpeek's SDK sends
// it. It fails the test when the request does not conform to the
// contract and conforming is true.
func (f *fixture) call(method, path, body string, conforming bool, headers ...string) exchange {
	f.t.Helper()
	r := request{method: method, path: path, headers: map[string][]string{}}
	if body != "" {
		r.body = &body
	}
	if strings.HasPrefix(path, "/v1/tasks") {
		r.headers["X-Namespace"] = nil
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			r.headers[headers[i]] = nil
		} else {
			r.headers[headers[i]] = []string{headers[i+1]}
		}
	}
	ex := f.do(r)
	if conforming && ex.requestErr != nil {
		f.t.Fatalf("%s %s: the request does not conform: %v", method, path, ex.requestErr)
	}
	return ex
}

// ok sends a conforming request that must answer 200, and decodes the
// answer into T.
func ok[T any](f *fixture, method, path, body string, headers ...string) (T, exchange) {
	f.t.Helper()
	ex := f.call(method, path, body, true, headers...)
	if ex.status != http.StatusOK {
		f.t.Fatalf("%s %s %s: status %d: %s", method, path, body, ex.status, ex.body)
	}
	var v T
	if err := json.Unmarshal(ex.body, &v); err != nil {
		f.t.Fatalf("%s %s: %v: %s", method, path, err, ex.body)
	}
	return v, ex
}

// create creates a batch of A's bucket and returns it.
func (f *fixture) create(ids ...string) domain.Batch {
	f.t.Helper()
	body, _ := json.Marshal(map[string]any{"object_ids": ids})
	b, _ := ok[domain.Batch](f, http.MethodPost, bkt, string(body))
	return b
}

func (f *fixture) submit(id string) domain.Task {
	f.t.Helper()
	task, _ := ok[domain.Task](f, http.MethodPost, bkt+"/"+id+"/submit", "")
	return task
}

func (f *fixture) getBatch(id string) (domain.Batch, []byte) {
	f.t.Helper()
	b, ex := ok[domain.Batch](f, http.MethodGet, bkt+"/"+id, "")
	return b, ex.body
}

func (f *fixture) getTask(id string) domain.Task {
	f.t.Helper()
	task, _ := ok[domain.Task](f, http.MethodGet, "/v1/tasks/"+id, "")
	return task
}

func (f *fixture) steer(id string, how domain.Steering) {
	f.t.Helper()
	if _, err := f.db.Steer(f.t.Context(), id, how); err != nil {
		f.t.Fatal(err)
	}
}

// totals is total_count of A's bucket by status, and in all.
func (f *fixture) totals() map[string]int64 {
	f.t.Helper()
	out := map[string]int64{}
	for _, s := range append([]batches.TaskStatus{""}, batches.TaskStatuses()...) {
		body := `{"limit":1}`
		if s != "" {
			body = fmt.Sprintf(`{"status":%q,"limit":1}`, s)
		}
		page, _ := ok[listBody](f, http.MethodPost, bkt+"/list", body)
		out[string(s)] = page.TotalCount
	}
	return out
}

func TestLifecycleOutcomes(t *testing.T) { eachBackend(t, testLifecycleOutcomes) }

func testLifecycleOutcomes(t *testing.T, f *fixture) {
	before := f.totals()
	for _, tc := range []struct {
		name   string
		steer  func(id string)
		status batches.TaskStatus
	}{
		{"completed", func(id string) { f.steer(id, domain.Complete) }, batches.TaskStatusCompleted},
		{"failed", func(id string) { f.steer(id, domain.Fail) }, batches.TaskStatusFailed},
		{"completed with errors", func(id string) { f.steer(id, domain.CompleteWithErrors) }, batches.TaskStatusCompletedWithErrors},
		{"canceled", func(id string) {
			f.steer(id, domain.Advance) // tier 0 in progress
			task, _ := ok[domain.Task](f, http.MethodPost, bkt+"/"+id+"/cancel", "")
			if task.Status != batches.TaskStatusCanceled {
				t.Errorf("cancel answered %s", task.Status)
			}
		}, batches.TaskStatusCanceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := f.create("obj_1", "obj_2")
			if b.Status != batches.TaskStatusDraft || b.TotalTiers != 2 || b.BucketID != "bkt_a" {
				t.Fatalf("created %+v", b)
			}
			b, _ = ok[domain.Batch](f, http.MethodPost, bkt+"/"+b.BatchID+"/objects?skip_validation=true", `{"object_ids":["obj_3"]}`)
			b, _ = ok[domain.Batch](f, http.MethodPatch, bkt+"/"+b.BatchID, `{"metadata":{"owner":"qa","n":1.50}}`)
			if len(b.ObjectIDs) != 3 || b.Metadata["owner"] != "qa" {
				t.Fatalf("after add and patch: %+v", b)
			}
			task := f.submit(b.BatchID)
			if task.Status != batches.TaskStatusPending || task.TaskType != domain.TaskTypeBatchProcess {
				t.Fatalf("submit answered %+v", task)
			}
			got, _ := f.getBatch(b.BatchID)
			if got.Status != batches.TaskStatusPending || *got.TaskID != task.TaskID || len(got.TierTasks) != 2 {
				t.Fatalf("submitted: %+v", got)
			}
			tc.steer(b.BatchID)
			got, doc := f.getBatch(b.BatchID)
			if got.Status != tc.status || f.getTask(task.TaskID).Status != tc.status {
				t.Fatalf("batch %s, task %s; want %s", got.Status, f.getTask(task.TaskID).Status, tc.status)
			}
			// The batch's JSON is what the generated server writes for it.
			wantGenerated(t, doc, func(w http.ResponseWriter, body []byte) error {
				var gb server.Batch
				dec := json.NewDecoder(bytes.NewReader(body))
				dec.UseNumber() // metadata numbers digit for digit
				if err := dec.Decode(&gb); err != nil {
					return err
				}
				return server.GetBatch200JSONResponse(gb).VisitGetBatchResponse(w)
			})
			for _, tt := range got.TierTasks {
				if tt.TaskID != nil {
					tier := f.getTask(*tt.TaskID)
					if tier.Status != tt.Status || tier.TaskType != domain.TaskTypeTierRun {
						t.Errorf("tier %d: %s, its task %+v", tt.TierNum, tt.Status, tier)
					}
				}
			}
			// The list follows: the batch under its status.
			page, _ := ok[listBody](f, http.MethodPost, bkt+"/list", fmt.Sprintf(`{"status":%q,"limit":1000}`, tc.status))
			listed := false
			for _, r := range page.Results {
				listed = listed || r.BatchID == b.BatchID
			}
			if !listed {
				t.Errorf("%s is not listed %s", b.BatchID, tc.status)
			}
		})
	}
	after := f.totals()
	if after[""] != before[""]+4 {
		t.Errorf("total_count %d, was %d", after[""], before[""])
	}
	for _, s := range []string{"COMPLETED", "FAILED", "COMPLETED_WITH_ERRORS", "CANCELED"} {
		if after[s] != before[s]+1 {
			t.Errorf("%s: total_count %d, was %d", s, after[s], before[s])
		}
	}
	if after["DRAFT"] != before["DRAFT"] || after["PENDING"] != before["PENDING"] || after["IN_PROGRESS"] != before["IN_PROGRESS"] {
		t.Errorf("active counts moved: %v, were %v", after, before)
	}

	t.Run("retry after failure", func(t *testing.T) {
		b2 := f.create("obj_f1")
		failed := f.submit(b2.BatchID)
		f.steer(b2.BatchID, domain.Fail)
		failedDoc := f.call(http.MethodGet, "/v1/tasks/"+failed.TaskID, "", true).body
		r, _ := ok[map[string]any](f, http.MethodPost, bkt+"/"+b2.BatchID+"/retry", `{}`)
		if data, _ := r["additional_data"].(map[string]any); data["retry_of"] != failed.TaskID || r["inputs"] == nil || r["error"] != nil {
			t.Errorf("the retry's answer lacks the new task's fields: %v", r)
		}
		if r["previous_task_id"] != failed.TaskID || r["task_id"] == failed.TaskID || r["status"] != "PENDING" ||
			r["task_type"] != "api_buckets_batches_process" || r["retry_count"] != 1.0 || r["batch_id"] != b2.BatchID ||
			r["message"] != fmt.Sprintf("Retry started as a new task %s from tier 0; task %s stays FAILED", r["task_id"], failed.TaskID) {
			t.Fatalf("retry answered %v", r)
		}
		if again := f.call(http.MethodGet, "/v1/tasks/"+failed.TaskID, "", true).body; !bytes.Equal(again, failedDoc) {
			t.Fatalf("the failed task changed:\n%s\nwas\n%s", again, failedDoc)
		}
		got, _ := f.getBatch(b2.BatchID)
		if got.Status != batches.TaskStatusPending || *got.TaskID != r["task_id"] {
			t.Fatalf("after retry: %s %v", got.Status, *got.TaskID)
		}
		f.steer(b2.BatchID, domain.Complete)
		if got, _ = f.getBatch(b2.BatchID); got.Status != batches.TaskStatusCompleted || got.InternalMetadata["retry_count"] != 1.0 {
			t.Fatalf("the retry ended %s (%v)", got.Status, got.InternalMetadata)
		}
	})

	t.Run("delete", func(t *testing.T) {
		draft := f.create("obj_d")
		del, _ := ok[map[string]any](f, http.MethodDelete, bkt+"/"+draft.BatchID, "")
		if del["success"] != true || del["message"] != "Batch "+draft.BatchID+" deleted" {
			t.Errorf("delete answered %v", del)
		}
		active := f.create("obj_e")
		task := f.submit(active.BatchID)
		del, _ = ok[map[string]any](f, http.MethodDelete, bkt+"/"+active.BatchID, "")
		if del["message"] != "Batch "+active.BatchID+" canceled and deleted" {
			t.Errorf("delete answered %v", del)
		}
		if ex := f.call(http.MethodGet, bkt+"/"+active.BatchID, "", true); ex.status != http.StatusNotFound {
			t.Errorf("a deleted batch answers %d", ex.status)
		}
		if st := f.getTask(task.TaskID).Status; st != batches.TaskStatusCanceled {
			t.Errorf("the deleted batch's task is %s", st)
		}
	})

	t.Run("kill", func(t *testing.T) {
		b := f.create("obj_k")
		task := f.submit(b.BatchID)
		f.steer(b.BatchID, domain.Advance)
		got, _ := f.getBatch(b.BatchID)
		k, _ := ok[map[string]any](f, http.MethodDelete, "/v1/tasks/"+*got.TierTasks[0].TaskID, "")
		if k["success"] != true || k["message"] != "Task "+*got.TierTasks[0].TaskID+" killed: batch "+b.BatchID+" canceled" {
			t.Errorf("kill answered %v", k)
		}
		if got, _ = f.getBatch(b.BatchID); got.Status != batches.TaskStatusCanceled || f.getTask(task.TaskID).Status != batches.TaskStatusCanceled {
			t.Errorf("killed: batch %s", got.Status)
		}
		// Again, and a task that does not exist: the same, nothing to kill.
		again := f.call(http.MethodDelete, "/v1/tasks/"+task.TaskID, "", true)
		none := f.call(http.MethodDelete, "/v1/tasks/task_none", "", true)
		if again.status != 200 || string(again.body) != strings.ReplaceAll(string(none.body), "task_none", task.TaskID) ||
			string(none.body) != `{"message":"Task task_none is not running: nothing to kill","success":true}`+"\n" {
			t.Errorf("kill again %d %s; kill none %s", again.status, again.body, none.body)
		}
	})
}

// wantGenerated fails the test unless doc, an answer's body, is the bytes
// the generated strict server writes for the same value (visit).
func wantGenerated(t *testing.T, doc []byte, visit func(w http.ResponseWriter, body []byte) error) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := visit(rec, doc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), doc) {
		t.Errorf("answered\n%s\nthe generated server writes\n%s", doc, rec.Body.Bytes())
	}
}

func TestTaskAnswersAsGenerated(t *testing.T) { eachBackend(t, testTaskAnswersAsGenerated) }

func testTaskAnswersAsGenerated(t *testing.T, f *fixture) {
	b := f.create("obj_<&>", "obj_é")
	task := f.submit(b.BatchID)
	f.steer(b.BatchID, domain.CompleteWithErrors)
	for _, id := range []string{task.TaskID} {
		doc := f.call(http.MethodGet, "/v1/tasks/"+id, "", true).body
		wantGenerated(t, doc, func(w http.ResponseWriter, body []byte) error {
			var gt server.TaskResponse
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&gt); err != nil {
				return err
			}
			return server.GetTask200JSONResponse(gt).VisitGetTaskResponse(w)
		})
	}
	page := f.call(http.MethodPost, "/v1/tasks/list?limit=2&include_total=true", `{"task_type":"api_buckets_batches_process"}`, true).body
	wantGenerated(t, page, func(w http.ResponseWriter, body []byte) error {
		var gp server.ListTasksResponse
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&gp); err != nil {
			return err
		}
		return server.ListTasks200JSONResponse(gp).VisitListTasksResponse(w)
	})
}

func TestListTasksPages(t *testing.T) { eachBackend(t, testListTasksPages) }

func testListTasksPages(t *testing.T, f *fixture) {
	var ids []string // batch tasks, newest first
	for i := range 5 {
		b := f.create(fmt.Sprint("obj_", i))
		ids = slices.Insert(ids, 0, f.submit(b.BatchID).TaskID)
	}
	type page struct {
		Results    []domain.Task             `json:"results"`
		Pagination server.PaginationResponse `json:"pagination"`
	}
	p, _ := ok[page](f, http.MethodPost, "/v1/tasks/list?limit=2&include_total=true", "")
	if len(p.Results) != 2 || p.Results[0].TaskID != ids[0] || *p.Pagination.Total != 5 || *p.Pagination.TotalPages != 3 ||
		*p.Pagination.Page != 1 || *p.Pagination.PageSize != 2 || p.Pagination.NextCursor == nil {
		t.Fatalf("first page %+v", p)
	}
	// The cursor goes on where the page ended, whatever was added since.
	f.submit(f.create("obj_new").BatchID)
	var walked []string
	for _, r := range p.Results {
		walked = append(walked, r.TaskID)
	}
	for cursor := p.Pagination.NextCursor; cursor != nil; cursor = p.Pagination.NextCursor {
		p, _ = ok[page](f, http.MethodPost, "/v1/tasks/list?limit=2&cursor="+*cursor, `{"status":"PENDING"}`)
		if p.Pagination.Total != nil || p.Pagination.TotalPages != nil {
			t.Fatalf("a total without include_total: %+v", p.Pagination)
		}
		for _, r := range p.Results {
			walked = append(walked, r.TaskID)
		}
	}
	if !slices.Equal(walked, ids) {
		t.Fatalf("walked %v, want %v", walked, ids)
	}
	p, _ = ok[page](f, http.MethodPost, "/v1/tasks/list?offset=4&limit=2", `{"status":null,"task_type":null,"filters":null,"sort":null,"search":null}`)
	if len(p.Results) != 2 || p.Results[0].TaskID != ids[3] || *p.Pagination.Page != 3 || p.Pagination.NextCursor != nil {
		t.Fatalf("offset 4: %+v", p)
	}
	// next_page and previous_page: the pages beside by offset, the rest
	// of the query kept; null at either end.
	p, _ = ok[page](f, http.MethodPost, "/v1/tasks/list?limit=2", `{"status":"PENDING"}`)
	if p.Pagination.PreviousPage != nil || p.Pagination.NextPage == nil || *p.Pagination.NextPage != "/v1/tasks/list?limit=2&offset=2" {
		t.Fatalf("first page by offset: %+v", p.Pagination)
	}
	walked = walked[:0]
	for {
		for _, r := range p.Results {
			walked = append(walked, r.TaskID)
		}
		if p.Pagination.NextPage == nil {
			break
		}
		prev := *p.Pagination.NextPage
		p, _ = ok[page](f, http.MethodPost, prev, `{"status":"PENDING"}`)
		if p.Pagination.PreviousPage == nil {
			t.Fatalf("%s: no previous_page", prev)
		}
	}
	if want := append([]string{""}, ids...); len(walked) != 6 || !slices.Equal(walked[1:], want[1:]) {
		t.Fatalf("walked by next_page %v, want the new task then %v", walked, ids)
	}
	p, _ = ok[page](f, http.MethodPost, "/v1/tasks/list?offset=3&limit=2&include_total=1", ``)
	if got := p.Pagination.PreviousPage; got == nil || *got != "/v1/tasks/list?include_total=true&limit=2&offset=1" {
		t.Fatalf("previous_page of offset 3: %v", got)
	}
	if got := p.Pagination.NextPage; got == nil || *got != "/v1/tasks/list?include_total=true&limit=2&offset=5" {
		t.Fatalf("next_page of offset 3: %v", got)
	}
	first, _ := ok[page](f, http.MethodPost, "/v1/tasks/list?limit=1", ``)
	p, _ = ok[page](f, http.MethodPost, "/v1/tasks/list?limit=1&offset=1&cursor="+*first.Pagination.NextCursor, ``)
	want := "/v1/tasks/list?cursor=" + *first.Pagination.NextCursor + "&limit=1&offset="
	if p.Pagination.NextPage == nil || *p.Pagination.NextPage != want+"2" || p.Pagination.PreviousPage == nil || *p.Pagination.PreviousPage != want+"0" {
		t.Fatalf("pages beside offset 1 after a cursor: %+v", p.Pagination)
	}
	// B sees none of A's.
	p, _ = ok[page](f, http.MethodPost, "/v1/tasks/list?include_total=true", "", "Authorization", "Bearer "+f.b.key)
	if len(p.Results) != 0 || *p.Pagination.Total != 0 {
		t.Fatalf("B lists A's tasks: %+v", p)
	}
}

// wantError fails the test unless ex is the ErrorResponse of status whose
// body is exactly want (without its newline).
func wantError(t *testing.T, ex exchange, status int, want string) {
	t.Helper()
	if ex.status != status || string(ex.body) != want+"\n" {
		t.Errorf("status %d, body\n%s\nwant %d\n%s", ex.status, ex.body, status, want)
	}
}

func TestForbiddenTransitions(t *testing.T) { eachBackend(t, testForbiddenTransitions) }

func testForbiddenTransitions(t *testing.T, f *fixture) {
	draft := f.create("obj_1")
	pending := f.create("obj_2")
	f.submit(pending.BatchID)
	inProgress := f.create("obj_3")
	f.submit(inProgress.BatchID)
	f.steer(inProgress.BatchID, domain.Advance)
	completed := f.create("obj_4")
	f.submit(completed.BatchID)
	f.steer(completed.BatchID, domain.Complete)
	failed := f.create("obj_5")
	f.submit(failed.BatchID)
	f.steer(failed.BatchID, domain.Fail)
	canceled := f.create("obj_6")
	f.submit(canceled.BatchID)
	ok[domain.Task](f, http.MethodPost, bkt+"/"+canceled.BatchID+"/cancel", "")

	const (
		draftOnly = `["DRAFT"]`
		active    = `["PENDING","IN_PROGRESS","PROCESSING"]`
		failedish = `["FAILED","COMPLETED_WITH_ERRORS"]`
	)
	for _, tc := range []struct {
		id, status, op, body string
		allowed, words       string
	}{
		{pending.BatchID, "PENDING", "submit", "", draftOnly, "can be submitted"},
		{inProgress.BatchID, "IN_PROGRESS", "submit", "{}", draftOnly, "can be submitted"},
		{failed.BatchID, "FAILED", "submit", "", draftOnly, "can be submitted"},
		{pending.BatchID, "PENDING", "objects", `{"object_ids":["obj_x"]}`, draftOnly, "can have objects added"},
		{completed.BatchID, "COMPLETED", "objects", `{"object_ids":["obj_x"]}`, draftOnly, "can have objects added"},
		{canceled.BatchID, "CANCELED", "objects", `{"object_ids":["obj_x"]}`, draftOnly, "can have objects added"},
		{draft.BatchID, "DRAFT", "cancel", "", active, "can be canceled"},
		{completed.BatchID, "COMPLETED", "cancel", "", active, "can be canceled"},
		{failed.BatchID, "FAILED", "cancel", "", active, "can be canceled"},
		{canceled.BatchID, "CANCELED", "cancel", "", active, "can be canceled"},
		{draft.BatchID, "DRAFT", "retry", "{}", failedish, "can be retried"},
		{pending.BatchID, "PENDING", "retry", "{}", failedish, "can be retried"},
		{completed.BatchID, "COMPLETED", "retry", `{"retry_mode":"all"}`, failedish, "can be retried"},
		{canceled.BatchID, "CANCELED", "retry", "{}", failedish, "can be retried"},
	} {
		name := fmt.Sprintf("%s %s", tc.op, tc.status)
		batchBefore, _ := f.getBatch(tc.id)
		_, docBefore := f.getBatch(tc.id)
		totals := f.totals()
		var task domain.Task
		if batchBefore.TaskID != nil {
			task = f.getTask(*batchBefore.TaskID)
		}
		ex := f.call(http.MethodPost, bkt+"/"+tc.id+"/"+tc.op, tc.body, true)
		which := map[string]string{draftOnly: "DRAFT", active: "PENDING, IN_PROGRESS or PROCESSING", failedish: "FAILED or COMPLETED_WITH_ERRORS"}[tc.allowed]
		wantError(t, ex, 400, fmt.Sprintf(`{"error":{"details":{"allowed_statuses":%s,"identifier":%q,"resource":"batch","status":%q},"message":"Batch %s is %s: only a %s batch %s","type":"BadRequestError"},"status":400,"success":false}`,
			tc.allowed, tc.id, tc.status, tc.id, tc.status, which, tc.words))
		if _, docAfter := f.getBatch(tc.id); !bytes.Equal(docAfter, docBefore) {
			t.Errorf("%s changed the batch:\n%s\nwas\n%s", name, docAfter, docBefore)
		}
		if after := f.totals(); fmt.Sprint(after) != fmt.Sprint(totals) {
			t.Errorf("%s changed the counts: %v, were %v", name, after, totals)
		}
		if task.TaskID != "" {
			if after := f.getTask(task.TaskID); after.Status != task.Status {
				t.Errorf("%s changed the task: %s, was %s", name, after.Status, task.Status)
			}
		}
	}
}

// TestProcessingThroughHTTP: with the queue's workers running, submitted
// batches go through their tiers to an end, as clients polling them see;
// total_count by status follows.
func TestProcessingThroughHTTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		db, _ := b.OpenWith(t, domain.Processing{Tiers: 3, TierDuration: 5 * time.Millisecond, FailureRatio: 0.25, ErrorRatio: 0.25},
			river.Config{PollInterval: 50 * time.Millisecond, TestOnly: true})
		f := newFixtureWith(t, db)
		before := f.totals()
		if err := db.StartProcessing(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.StopProcessing(context.Background()) })
		var ids []string
		for i := range 10 {
			bt := f.create(fmt.Sprint("obj_", i), "obj_z")
			f.submit(bt.BatchID)
			ids = append(ids, bt.BatchID)
		}
		ends := storetest.WaitTerminal(t, db, "bkt_a", ids, time.Minute)
		after := f.totals()
		for _, id := range ids {
			got, _ := f.getBatch(id)
			if got.Status != ends[id] || !got.Status.IsTerminal() || f.getTask(*got.TaskID).Status != got.Status {
				t.Errorf("%s: %s", id, got.Status)
			}
			before[string(ends[id])]++
		}
		before[""] += int64(len(ids))
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("total_count by status %v, want %v", after, before)
		}
	})
}
