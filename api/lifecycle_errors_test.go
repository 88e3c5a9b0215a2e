package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/api/domain"
)

// wantValidation fails the test unless ex is a 422 whose one detail is
// exactly want (JSON, without the array around it).
func wantValidation(t *testing.T, ex exchange, want string) {
	t.Helper()
	if ex.status != http.StatusUnprocessableEntity || string(ex.body) != `{"detail":[`+want+`]}`+"\n" {
		t.Errorf("status %d, body\n%s\nwant 422\n%s", ex.status, ex.body, `{"detail":[`+want+`]}`)
	}
}

func TestLifecycleErrors(t *testing.T) { eachBackend(t, testLifecycleErrors) }

func testLifecycleErrors(t *testing.T, f *fixture) {
	d := f.create("obj_1", "obj_2")
	id := d.BatchID
	bad := func(method, path, body string) exchange {
		t.Helper()
		return f.call(method, path, body, false)
	}
	// The contract's rules: 422, as FastAPI words them.
	wantValidation(t, bad(http.MethodPost, bkt, `{}`), `{"input":null,"loc":["body","object_ids"],"msg":"Field required","type":"missing"}`)
	wantValidation(t, bad(http.MethodPost, bkt, ``), `{"input":null,"loc":["body"],"msg":"Field required","type":"missing"}`)
	wantValidation(t, bad(http.MethodPost, bkt, `{"object_ids":[]}`),
		`{"ctx":{"actual_length":0,"field_type":"List","min_length":1},"input":[],"loc":["body","object_ids"],"msg":"List should have at least 1 item after validation, not 0","type":"too_short"}`)
	// The list as input, as pydantic gives it, when it is at most 4 KiB
	// of JSON; else omitted, and said so.
	manyIDs := `["` + strings.Repeat(`o","`, 1000) + `o"]`
	wantValidation(t, bad(http.MethodPost, bkt, `{"object_ids":`+manyIDs+`}`),
		`{"ctx":{"actual_length":1001,"field_type":"List","max_length":1000},"input":`+manyIDs+`,"loc":["body","object_ids"],"msg":"List should have at most 1000 items after validation, not 1001","type":"too_long"}`)
	wantValidation(t, bad(http.MethodPost, bkt, `{"object_ids":["`+strings.Repeat(`obj","`, 1000)+`obj"]}`),
		`{"ctx":{"actual_length":1001,"field_type":"List","input_omitted":"the value sent is not repeated: it is over 4096 bytes or nested over 32 deep","max_length":1000},"input":null,"loc":["body","object_ids"],"msg":"List should have at most 1000 items after validation, not 1001","type":"too_long"}`)
	wantValidation(t, bad(http.MethodPost, bkt, `{"object_ids":["obj_1",""]}`),
		`{"ctx":{"min_length":1},"input":"","loc":["body","object_ids",1],"msg":"String should have at least 1 character","type":"string_too_short"}`)
	wantValidation(t, bad(http.MethodPost, bkt, `{"object_ids":["obj_1",7]}`),
		`{"input":7,"loc":["body","object_ids",1],"msg":"Input should be a valid string","type":"string_type"}`)
	wantValidation(t, bad(http.MethodPatch, bkt+"/"+id, ``), `{"input":null,"loc":["body"],"msg":"Field required","type":"missing"}`)
	wantValidation(t, bad(http.MethodPatch, bkt+"/"+id, `{"metadata":[1]}`),
		`{"input":[1],"loc":["body","metadata"],"msg":"Input should be a valid dictionary or object to extract fields from","type":"model_attributes_type"}`)
	wantValidation(t, bad(http.MethodPost, bkt+"/"+id+"/retry", `{"max_retry_count":11}`),
		`{"ctx":{"le":10},"input":11,"loc":["body","max_retry_count"],"msg":"Input should be less than or equal to 10","type":"less_than_equal"}`)
	// An integer past float64's exact ones is repeated as sent, as
	// pydantic's Python int; a number beyond float64 in a free-form value
	// is not a finite number.
	wantValidation(t, bad(http.MethodPost, bkt+"/"+id+"/retry", `{"max_retry_count":99999999999999999999}`),
		`{"ctx":{"le":10},"input":99999999999999999999,"loc":["body","max_retry_count"],"msg":"Input should be less than or equal to 10","type":"less_than_equal"}`)
	wantValidation(t, bad(http.MethodPatch, bkt+"/"+id, `{"metadata":{"a":{"b":[{"c":1e400}]}}}`),
		`{"input":"1e400","loc":["body","metadata"],"msg":"Input should be a finite number","type":"finite_number"}`)
	wantValidation(t, bad(http.MethodPost, bkt+"/"+id+"/retry", `{"retry_mode":"some"}`),
		`{"ctx":{"expected":"'transient_only' or 'all'"},"input":"some","loc":["body","retry_mode"],"msg":"Input should be 'transient_only' or 'all'","type":"enum"}`)
	wantValidation(t, bad(http.MethodPost, bkt+"/"+id+"/submit", `{"include_processing_history":"yes"}`),
		`{"input":"yes","loc":["body","include_processing_history"],"msg":"Input should be a valid boolean","type":"bool_type"}`)
	wantValidation(t, bad(http.MethodPost, "/v1/tasks/list?limit=0", ``),
		`{"ctx":{"ge":1},"input":0,"loc":["query","limit"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"}`)
	wantValidation(t, bad(http.MethodPost, "/v1/tasks/list?offset=10001", ``),
		`{"ctx":{"le":10000},"input":10001,"loc":["query","offset"],"msg":"Input should be less than or equal to 10000","type":"less_than_equal"}`)
	wantValidation(t, bad(http.MethodPost, "/v1/tasks/list", `{"task_type":"API_BUCKETS_BATCHES_PROCESS"}`),
		`{"ctx":{"expected":"'api_namespaces_create', 'api_namespaces_delete', 'api_namespaces_migrations_run', 'api_buckets_objects_create', 'api_buckets_delete', 'api_buckets_batches_process', 'api_buckets_batches_submit', 'api_buckets_uploads_create', 'api_buckets_uploads_confirm', 'api_buckets_uploads_batch_confirm', 'api_collections_documents_create', 'api_collections_extraction_artifacts', 'api_taxonomies_create', 'api_taxonomies_execute', 'api_taxonomies_materialize', 'api_evaluations_run', 'api_evaluations_dataset_create', 'api_retrievers_publish', 'api_collections_export', 'api_collections_trigger', 'engine_feature_extractor_run', 'engine_inference_run', 'engine_object_processing', 'engine_cluster_build', 'thumbnail', 'video_segment', 'audio_segment', 'materialize', 'plugin_custom' or 'model_custom'"},"input":"API_BUCKETS_BATCHES_PROCESS","loc":["body","task_type"],"msg":"Input should be 'api_namespaces_create', 'api_namespaces_delete', 'api_namespaces_migrations_run', 'api_buckets_objects_create', 'api_buckets_delete', 'api_buckets_batches_process', 'api_buckets_batches_submit', 'api_buckets_uploads_create', 'api_buckets_uploads_confirm', 'api_buckets_uploads_batch_confirm', 'api_collections_documents_create', 'api_collections_extraction_artifacts', 'api_taxonomies_create', 'api_taxonomies_execute', 'api_taxonomies_materialize', 'api_evaluations_run', 'api_evaluations_dataset_create', 'api_retrievers_publish', 'api_collections_export', 'api_collections_trigger', 'engine_feature_extractor_run', 'engine_inference_run', 'engine_object_processing', 'engine_cluster_build', 'thumbnail', 'video_segment', 'audio_segment', 'materialize', 'plugin_custom' or 'model_custom'","type":"enum"}`)

	// The domain's rules: 400 BadRequestError, naming what is wrong.
	wantError(t, f.call(http.MethodPost, bkt, `{"object_ids":["obj_a","obj_b","obj_a"]}`, true), 400,
		`{"error":{"details":{"field":"object_ids","index":2,"object_id":"obj_a"},"message":"object_ids[2] obj_a repeats object_ids[0]","type":"BadRequestError"},"status":400,"success":false}`)
	wantError(t, f.call(http.MethodPost, bkt+"/"+id+"/objects", `{"object_ids":["obj_3","obj_1"]}`, true), 400,
		fmt.Sprintf(`{"error":{"details":{"field":"object_ids","identifier":%q,"index":1,"object_id":"obj_1","resource":"batch"},"message":"Object obj_1 is already in batch %s","type":"BadRequestError"},"status":400,"success":false}`, id, id))
	long := strings.Repeat("é", 129) // 129 characters, 258 bytes
	wantError(t, f.call(http.MethodPost, bkt, `{"object_ids":["`+long+`"]}`, true), 400,
		`{"error":{"details":{"field":"object_ids","index":0},"message":"object_ids[0] is 258 bytes long, more than 256","type":"BadRequestError"},"status":400,"success":false}`)
	wantError(t, f.call(http.MethodPost, bkt, `{"object_ids":["obj\u0000x"]}`, true), 400,
		`{"error":{"details":{"field":"object_ids","index":0},"message":"object_ids[0] is not text (it holds a NUL character or is not valid UTF-8)","type":"BadRequestError"},"status":400,"success":false}`)
	// 1000 objects of 27 bytes: the batch fits in 32 KiB, but not once
	// processed.
	var ids []string
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("obj_%023d", i))
	}
	body, _ := json.Marshal(map[string]any{"object_ids": ids})
	ex := f.call(http.MethodPost, bkt, string(body), true)
	var e errorBody
	if err := json.Unmarshal(ex.body, &e); ex.status != 400 || err != nil || e.Error.Type != "BadRequestError" ||
		!strings.HasPrefix(e.Error.Message, "The batch would be ") || !strings.Contains(e.Error.Message, "bytes of JSON once processed, more than 32768") || e.Error.Details["max_bytes"] != 32768.0 {
		t.Errorf("a batch too large: %d %s", ex.status, ex.body)
	}
	// Metadata over its limit.
	big := `{"metadata":{"x":"` + strings.Repeat("m", domain.MaxMetadataBytes) + `"}}`
	ex = f.call(http.MethodPatch, bkt+"/"+id, big, true)
	wantError(t, ex, 400, fmt.Sprintf(`{"error":{"details":{"identifier":%q,"resource":"batch"},"message":"Batch %s cannot be stored: metadata is %d bytes of JSON, more than %d","type":"BadRequestError"},"status":400,"success":false}`,
		id, id, domain.MaxMetadataBytes+8, domain.MaxMetadataBytes))
	// Retry: tiers, and the retries a batch may have.
	f.submit(id)
	f.steer(id, domain.Fail)
	wantError(t, f.call(http.MethodPost, bkt+"/"+id+"/retry", `{"tier_nums":[0,2]}`, true), 400,
		fmt.Sprintf(`{"error":{"details":{"field":"tier_nums","identifier":%q,"index":1,"resource":"batch","total_tiers":2},"message":"tier_nums[1] is 2: batch %s has tiers 0 to 1","type":"BadRequestError"},"status":400,"success":false}`, id, id))
	wantError(t, f.call(http.MethodPost, bkt+"/"+id+"/retry", `{"tier_nums":[1]}`, true), 400,
		fmt.Sprintf(`{"error":{"details":{"field":"tier_nums","identifier":%q,"resource":"batch"},"message":"tier_nums [1] of batch %s have no errors to retry","type":"BadRequestError"},"status":400,"success":false}`, id, id))
	ok[map[string]any](f, http.MethodPost, bkt+"/"+id+"/retry", `{"max_retry_count":1}`)
	f.steer(id, domain.Fail)
	wantError(t, f.call(http.MethodPost, bkt+"/"+id+"/retry", `{"max_retry_count":1}`, true), 400,
		fmt.Sprintf(`{"error":{"details":{"identifier":%q,"max_retry_count":1,"resource":"batch","retry_count":1},"message":"Batch %s was retried 1 times already, max_retry_count is 1","type":"BadRequestError"},"status":400,"success":false}`, id, id))
	// List Tasks: what the server does not support, and a cursor it did not give.
	for _, field := range []string{"filters", "sort", "search"} {
		value := map[string]string{"filters": `{"AND":[]}`, "sort": `{"field":"created_at"}`, "search": `"x"`}[field]
		wantError(t, f.call(http.MethodPost, "/v1/tasks/list", `{"`+field+`":`+value+`}`, true), 400,
			fmt.Sprintf(`{"error":{"details":{"field":%q},"message":"%s is not supported by this server: send null or leave it out (tasks come newest first; filter by status and task_type)","type":"BadRequestError"},"status":400,"success":false}`, field, field))
	}
	// Hand-made cursors, though they decode: only the bytes the server makes.
	task := f.submit(f.create("obj_cursor").BatchID)
	for _, raw := range []string{"nope", "-5.task_x", "+1." + task.TaskID, "-5." + task.TaskID, "01." + task.TaskID, "1.task_x", "1." + task.TaskID + " "} {
		cursor := raw
		if raw != "nope" {
			cursor = base64.RawURLEncoding.EncodeToString([]byte(raw))
		}
		wantError(t, f.call(http.MethodPost, "/v1/tasks/list?cursor="+cursor, ``, true), 400,
			`{"error":{"details":{"parameter":"cursor"},"message":"cursor is not a next_cursor of this server","type":"BadRequestError"},"status":400,"success":false}`)
	}
	ok[map[string]any](f, http.MethodPost, "/v1/tasks/list?cursor="+base64.RawURLEncoding.EncodeToString([]byte("1."+task.TaskID)), ``)
	// Not found.
	for _, path := range []string{bkt + "/btch_none", "/v1/tasks/task_none"} {
		resource := map[bool]string{true: "batch", false: "task"}[strings.Contains(path, "batches")]
		name := path[strings.LastIndex(path, "/")+1:]
		wantError(t, f.call(http.MethodGet, path, "", true), 404, fmt.Sprintf(
			`{"error":{"details":{"identifier":%q,"resource":%q},"message":"%s not found: %s","type":"NotFoundError"},"status":404,"success":false}`,
			name, resource, strings.ToUpper(resource[:1])+resource[1:], name))
	}
}

// TestLifecycleTenancy: another organization's batch or task, by every
// path of the lifecycle, and a batch under another bucket or namespace,
// answer the same bytes as one that does not exist.
func TestLifecycleTenancy(t *testing.T) { eachBackend(t, testLifecycleTenancy) }

func testLifecycleTenancy(t *testing.T, f *fixture) {
	// B's batch, submitted, and a batch of A in a second bucket.
	bBatch := f.create("obj_x") // A's, then moved below
	_ = bBatch
	keyB := "Bearer " + f.b.key
	create := func(key, bucket, namespace string) domain.Batch {
		b, _ := ok[domain.Batch](f, http.MethodPost, "/v1/buckets/"+bucket+"/batches", `{"object_ids":["obj_1"]}`,
			"Authorization", key, "X-Namespace", namespace)
		return b
	}
	theirs := create(keyB, "bkt_b", "production")
	theirTask, _ := ok[domain.Task](f, http.MethodPost, "/v1/buckets/bkt_b/batches/"+theirs.BatchID+"/submit", "",
		"Authorization", keyB, "X-Namespace", "production")
	if _, err := f.db.CreateBucket(t.Context(), f.a.namespace.ID, "second", "bkt_a2"); err != nil {
		t.Fatal(err)
	}
	other := create("Bearer "+f.a.key, "bkt_a2", "production")
	stagingNS, err := f.db.CreateNamespace(t.Context(), f.a.org.ID, "qa")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateBucket(t.Context(), stagingNS.ID, "main", "bkt_qa"); err != nil {
		t.Fatal(err)
	}
	qa := create("Bearer "+f.a.key, "bkt_qa", "qa")

	type op struct{ method, suffix, body string }
	ops := []op{
		{http.MethodGet, "", ""}, {http.MethodPatch, "", `{"metadata":{}}`}, {http.MethodDelete, "", ""},
		{http.MethodPost, "/objects", `{"object_ids":["obj_9"]}`}, {http.MethodPost, "/submit", ""},
		{http.MethodPost, "/cancel", ""}, {http.MethodPost, "/retry", `{}`},
	}
	for _, o := range ops {
		missing := f.call(o.method, bkt+"/btch_missing00"+o.suffix, o.body, true)
		if missing.status != 404 {
			t.Fatalf("%s %s: %d", o.method, o.suffix, missing.status)
		}
		for _, tc := range []struct{ name, id, path string }{
			{"another organization's batch", theirs.BatchID, bkt + "/" + theirs.BatchID},
			{"another bucket's batch", other.BatchID, bkt + "/" + other.BatchID},
			{"another namespace's batch", qa.BatchID, bkt + "/" + qa.BatchID},
		} {
			ex := f.call(o.method, tc.path+o.suffix, o.body, true)
			if want := strings.ReplaceAll(string(missing.body), "btch_missing00", tc.id); ex.status != 404 || string(ex.body) != want {
				t.Errorf("%s %s of %s: %d\n%s\nwant 404\n%s", o.method, o.suffix, tc.name, ex.status, ex.body, want)
			}
		}
	}
	// The batches are as they were.
	if got, _ := ok[domain.Batch](f, http.MethodGet, "/v1/buckets/bkt_b/batches/"+theirs.BatchID, "", "Authorization", keyB); got.Status != "PENDING" {
		t.Errorf("B's batch is %s", got.Status)
	}
	// Tasks: by id, another organization's as a missing one.
	missing := f.call(http.MethodGet, "/v1/tasks/task_missing000", "", true)
	ex := f.call(http.MethodGet, "/v1/tasks/"+theirTask.TaskID, "", true)
	if want := strings.ReplaceAll(string(missing.body), "task_missing000", theirTask.TaskID); ex.status != 404 || string(ex.body) != want {
		t.Errorf("another organization's task: %d %s, want %s", ex.status, ex.body, want)
	}
	killMissing := f.call(http.MethodDelete, "/v1/tasks/task_missing000", "", true)
	ex = f.call(http.MethodDelete, "/v1/tasks/"+theirTask.TaskID, "", true)
	if want := strings.ReplaceAll(string(killMissing.body), "task_missing000", theirTask.TaskID); ex.status != 200 || string(ex.body) != want {
		t.Errorf("killing another organization's task: %d %s, want %s", ex.status, ex.body, want)
	}
	if got := f.call(http.MethodGet, "/v1/tasks/"+theirTask.TaskID, "", true, "Authorization", keyB); !strings.Contains(string(got.body), `"status":"PENDING"`) {
		t.Errorf("B's task after A's kill: %s", got.body)
	}
	// The task operations need no X-Namespace; one sent is not looked at.
	if ex := f.call(http.MethodGet, "/v1/tasks/"+theirTask.TaskID, "", true, "Authorization", keyB, "X-Namespace", "nowhere"); ex.status != 200 {
		t.Errorf("a task with an X-Namespace: %d", ex.status)
	}
}
