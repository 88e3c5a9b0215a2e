package domain

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

var (
	t0    = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	scope = Scope{OrganizationID: "org_a", NamespaceID: "ns_a", BucketID: "bkt_a"}
)

func draft(t *testing.T, ids ...string) Batch {
	t.Helper()
	b, err := NewDraft("bkt_a", ids, Processing{Tiers: 3}.DAG("bkt_a"), t0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantError checks that err is an *Error of kind, with message and the
// details given (a subset).
func wantError(t *testing.T, err error, kind error, message string, details map[string]any) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want an *Error", err, err)
	}
	if e.Kind != kind || e.Message != message {
		t.Errorf("error %v %q, want %v %q", e.Kind, e.Message, kind, message)
	}
	for k, v := range details {
		if !reflect.DeepEqual(e.Details[k], v) {
			t.Errorf("details[%s] = %#v, want %#v", k, e.Details[k], v)
		}
	}
}

func TestNewDraft(t *testing.T) {
	b := draft(t, "obj_1", "obj_2")
	if b.Status != batches.TaskStatusDraft || !strings.HasPrefix(b.BatchID, "btch_") || len(b.BatchID) != 17 ||
		b.TotalTiers != 3 || !slices.Equal(b.CollectionIDs, []string{"col_bkt_a_t0", "col_bkt_a_t1", "col_bkt_a_t2"}) ||
		len(b.DagTiers) != 3 || b.TaskID != nil || len(b.TierTasks) != 0 || !b.CreatedAt.Equal(t0) || !b.UpdatedAt.Equal(t0) {
		t.Errorf("draft %+v", b)
	}
	for _, tc := range []struct {
		ids     []string
		message string
		details map[string]any
	}{
		{[]string{"a", "b", "a"}, "object_ids[2] a repeats object_ids[0]", map[string]any{"index": 2, "object_id": "a"}},
		{[]string{"a", "b\x00"}, "object_ids[1] is not text (it holds a NUL character or is not valid UTF-8)", map[string]any{"index": 1}},
		{[]string{"a", "\xff"}, "object_ids[1] is not text (it holds a NUL character or is not valid UTF-8)", nil},
		{[]string{strings.Repeat("é", 129)}, "object_ids[0] is 258 bytes long, more than 256", map[string]any{"field": "object_ids"}},
	} {
		_, err := NewDraft("bkt_a", tc.ids, Processing{}.DAG("bkt_a"), t0)
		wantError(t, err, ErrInvalid, tc.message, tc.details)
	}
	many := make([]string, MaxObjectIDs+1)
	for i := range many {
		many[i] = fmt.Sprint("o", i)
	}
	_, err := NewDraft("bkt_a", many, Processing{}.DAG("bkt_a"), t0)
	var e *Error
	if !errors.As(err, &e) || !strings.HasSuffix(e.Message, "would hold 1001 objects, more than 1000") {
		t.Errorf("1001 objects: %v", err)
	}
	if _, err := NewDraft("bkt_a", many[:MaxObjectIDs], Processing{}.DAG("bkt_a"), t0); err != nil {
		t.Errorf("1000 objects: %v", err)
	}
}

func TestAddObjects(t *testing.T) {
	b := draft(t, "obj_1")
	got, err := AddObjects(b, []string{"obj_2", "obj_3"}, t0.Add(time.Minute))
	if err != nil || !slices.Equal(got.ObjectIDs, []string{"obj_1", "obj_2", "obj_3"}) || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%v %+v", err, got)
	}
	if len(b.ObjectIDs) != 1 {
		t.Errorf("the batch given changed: %v", b.ObjectIDs)
	}
	_, err = AddObjects(got, []string{"obj_4", "obj_2"}, t0)
	wantError(t, err, ErrInvalid, "Object obj_2 is already in batch "+b.BatchID, map[string]any{"index": 1, "object_id": "obj_2"})
	for _, s := range []TaskStatus{batches.TaskStatusPending, batches.TaskStatusCompleted, batches.TaskStatusFailed} {
		b.Status = s
		_, err := AddObjects(b, []string{"obj_9"}, t0)
		wantError(t, err, ErrInvalid, fmt.Sprintf("Batch %s is %s: only a DRAFT batch can have objects added", b.BatchID, s),
			map[string]any{"status": string(s), "allowed_statuses": []string{"DRAFT"}, "resource": "batch", "identifier": b.BatchID})
	}
}

func TestPatchMetadata(t *testing.T) {
	b := draft(t, "obj_1")
	got, changed := PatchMetadata(b, map[string]any{"k": "v"}, t0.Add(time.Second))
	if !changed || got.Metadata["k"] != "v" || !got.UpdatedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("%v %+v", changed, got)
	}
	if again, changed := PatchMetadata(got, map[string]any{"k": "v"}, t0.Add(time.Hour)); changed || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("the same metadata changed the batch")
	}
	if cleared, changed := PatchMetadata(got, nil, t0.Add(time.Hour)); !changed || len(cleared.Metadata) != 0 || cleared.Metadata == nil {
		t.Errorf("null did not empty the metadata: %v", cleared.Metadata)
	}
	// Before its creation: updated_at stays at created_at.
	if early, _ := PatchMetadata(b, map[string]any{"x": 1}, t0.Add(-time.Hour)); !early.UpdatedAt.Equal(t0) {
		t.Errorf("updated_at %s before created_at", early.UpdatedAt)
	}
}

func submitted(t *testing.T, ids ...string) (Batch, Task, Job) {
	t.Helper()
	b, run, job, err := Submit(draft(t, ids...), scope, SubmitOptions{IncludeProcessingHistory: true}, nil, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return b, run, job
}

func TestSubmit(t *testing.T) {
	b, run, job := submitted(t, "obj_1", "obj_2")
	if b.Status != batches.TaskStatusPending || b.TaskID == nil || *b.TaskID != run.TaskID || b.CurrentTier != nil ||
		len(b.TierTasks) != 3 || b.ManifestKey == nil {
		t.Fatalf("submitted batch %+v", b)
	}
	for k, tt := range b.TierTasks {
		if tt.TierNum != k || tt.Status != batches.TaskStatusPending || tt.TaskID != nil || len(tt.CollectionIDs) != 1 ||
			(k == 0) != (tt.SourceType == "bucket") || (k == 0) != (tt.SourceCollectionIDs == nil) {
			t.Errorf("tier %d: %+v", k, tt)
		}
	}
	if run.TaskType != TaskTypeBatchProcess || run.Status != batches.TaskStatusPending || run.OrganizationID != "org_a" ||
		run.BatchID != b.BatchID || !reflect.DeepEqual(run.Inputs, []any{b.BatchID}) ||
		run.AdditionalData["namespace_id"] != "ns_a" || run.AdditionalData["object_count"] != 2 ||
		run.AdditionalData["total_tiers"] != 3 || run.AdditionalData["include_processing_history"] != true {
		t.Errorf("task %+v", run)
	}
	if job != (Job{BatchID: b.BatchID, TaskID: run.TaskID, Tier: 0, At: t0.Add(time.Minute)}) {
		t.Errorf("job %+v", job)
	}
	for _, s := range []TaskStatus{batches.TaskStatusPending, batches.TaskStatusInProgress, batches.TaskStatusCompleted, batches.TaskStatusCanceled} {
		b.Status = s
		_, _, _, err := Submit(b, scope, SubmitOptions{}, nil, t0)
		wantError(t, err, ErrInvalid, fmt.Sprintf("Batch %s is %s: only a DRAFT batch can be submitted", b.BatchID, s),
			map[string]any{"allowed_statuses": []string{"DRAFT"}})
	}
	empty := draft(t, "x")
	empty.ObjectIDs = nil
	_, _, _, err := Submit(empty, scope, SubmitOptions{}, nil, t0)
	wantError(t, err, ErrInvalid, "Batch "+empty.BatchID+" has no objects: add some before submitting it", nil)
}

// process runs every step of b's processing with the outcomes given a
// tier (Completed for those not given), and returns the batch, its task
// and the tiers' tasks.
func process(t *testing.T, b Batch, run Task, job Job, outcomes map[int]Outcome) (Batch, Task, []Task) {
	t.Helper()
	p, _ := Processing{TierDuration: time.Second}.settled()
	var tiers []Task
	for {
		if !due(b, job) {
			t.Fatalf("job %s is not due: %+v", job, b)
		}
		var tier Task
		b, run, tier, job = startTier(p, b, run, job.Tier, job.At)
		if b.Status != batches.TaskStatusInProgress || *b.CurrentTier != job.Tier || run.Status != batches.TaskStatusInProgress ||
			tier.Status != batches.TaskStatusInProgress || *b.TierTasks[job.Tier].TaskID != tier.TaskID {
			t.Fatalf("tier %d started: %+v", job.Tier, b)
		}
		if job.At.Sub(*b.TierTasks[job.Tier].StartedAt) < 500*time.Millisecond || job.At.Sub(*b.TierTasks[job.Tier].StartedAt) > 1500*time.Millisecond {
			t.Errorf("tier %d takes %s", job.Tier, job.At.Sub(*b.TierTasks[job.Tier].StartedAt))
		}
		var next *Job
		b, run, tier, next = finishTier(b, run, tier, job.Tier, outcomes[job.Tier], job.At)
		tiers = append(tiers, tier)
		if next == nil {
			return b, run, tiers
		}
		job = *next
	}
}

func TestProcessingOutcomes(t *testing.T) {
	ids := []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"}
	for _, tc := range []struct {
		name     string
		outcomes map[int]Outcome
		status   TaskStatus
		tiers    []TaskStatus
	}{
		{"completed", nil, batches.TaskStatusCompleted, []TaskStatus{"COMPLETED", "COMPLETED", "COMPLETED"}},
		{"completed with errors", map[int]Outcome{1: CompletedWithErrors}, batches.TaskStatusCompletedWithErrors, []TaskStatus{"COMPLETED", "COMPLETED_WITH_ERRORS", "COMPLETED"}},
		{"failed", map[int]Outcome{0: CompletedWithErrors, 1: Failed}, batches.TaskStatusFailed, []TaskStatus{"COMPLETED_WITH_ERRORS", "FAILED", "SKIPPED"}},
		{"failed last", map[int]Outcome{2: Failed}, batches.TaskStatusFailed, []TaskStatus{"COMPLETED", "COMPLETED", "FAILED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, run, job := submitted(t, ids...)
			b, run, tiers := process(t, b, run, job, tc.outcomes)
			if b.Status != tc.status || run.Status != tc.status {
				t.Errorf("batch %s, task %s; want %s", b.Status, run.Status, tc.status)
			}
			var got []TaskStatus
			for _, tt := range b.TierTasks {
				got = append(got, tt.Status)
			}
			if !slices.Equal(got, tc.tiers) {
				t.Errorf("tiers %v, want %v", got, tc.tiers)
			}
			for i, task := range tiers {
				if task.Status != b.TierTasks[i].Status || task.TaskType != TaskTypeTierRun || task.AdditionalData["parent_task_id"] != run.TaskID {
					t.Errorf("tier %d's task %+v", i, task)
				}
			}
			last := len(tiers) - 1
			if *b.CurrentTier != last {
				t.Errorf("current_tier %d, want %d", *b.CurrentTier, last)
			}
			switch tc.status {
			case batches.TaskStatusFailed:
				if b.Error == nil || *b.Error != tierFailure || run.Error == nil || run.Outputs != nil || b.ErrorSummary["network"] < 1 {
					t.Errorf("failed batch: error %v, summary %v, task error %v outputs %v", b.Error, b.ErrorSummary, run.Error, run.Outputs)
				}
			case batches.TaskStatusCompletedWithErrors:
				if b.Error != nil || b.ErrorSummary["network"] < 1 || len(run.Outputs) != 3 {
					t.Errorf("batch with errors: error %v, summary %v, outputs %v", b.Error, b.ErrorSummary, run.Outputs)
				}
				tt := b.TierTasks[1]
				if *tt.DocumentsWritten+tt.Errors[0].AffectedCount != 8 || tt.ErrorSummary["network"] != tt.Errors[0].AffectedCount {
					t.Errorf("tier 1 wrote %d, failed %+v", *tt.DocumentsWritten, tt.Errors)
				}
				if *b.TierTasks[2].SourceDocumentsFetched != *tt.DocumentsWritten {
					t.Errorf("tier 2 read %d documents, tier 1 wrote %d", *b.TierTasks[2].SourceDocumentsFetched, *tt.DocumentsWritten)
				}
			default:
				if b.Error != nil || b.ErrorSummary != nil || len(run.Outputs) != 3 {
					t.Errorf("completed batch: error %v, summary %v, outputs %v", b.Error, b.ErrorSummary, run.Outputs)
				}
			}
			// Every step done, none is due; the batch is listable.
			if _, ok := NextJob(b, t0); ok {
				t.Errorf("a step is due after the end")
			}
			if _, _, err := checkedRow(b, false); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	b, run, job := submitted(t, "o1", "o2")
	got, tasks, err := Cancel(b, run, nil, t0.Add(time.Hour))
	if err != nil || got.Status != batches.TaskStatusCanceled || len(tasks) != 1 || tasks[0].Status != batches.TaskStatusCanceled {
		t.Fatalf("%v %s %+v", err, got.Status, tasks)
	}
	for _, tt := range got.TierTasks {
		if tt.Status != batches.TaskStatusCanceled {
			t.Errorf("tier %d %s", tt.TierNum, tt.Status)
		}
	}
	if due(got, job) {
		t.Errorf("the first step is still due once canceled")
	}
	// In progress: the tier's task too.
	p, _ := Processing{}.settled()
	b, run, tier, _ := startTier(p, b, run, 0, t0.Add(2*time.Minute))
	got, tasks, err = Cancel(b, run, map[string]Task{tier.TaskID: tier}, t0.Add(3*time.Minute))
	if err != nil || len(tasks) != 2 || tasks[1].TaskID != tier.TaskID || tasks[1].Status != batches.TaskStatusCanceled ||
		got.TierTasks[0].CompletedAt == nil || *got.TierTasks[0].DurationMs != 60000 {
		t.Fatalf("%v %+v %+v", err, tasks, got.TierTasks[0])
	}
	for _, s := range []TaskStatus{batches.TaskStatusDraft, batches.TaskStatusCompleted, batches.TaskStatusFailed, batches.TaskStatusCanceled, batches.TaskStatusCompletedWithErrors} {
		b.Status = s
		_, _, err := Cancel(b, run, nil, t0)
		wantError(t, err, ErrInvalid, fmt.Sprintf("Batch %s is %s: only a PENDING, IN_PROGRESS or PROCESSING batch can be canceled", b.BatchID, s),
			map[string]any{"allowed_statuses": []string{"PENDING", "IN_PROGRESS", "PROCESSING"}, "status": string(s)})
	}
}

func TestRetry(t *testing.T) {
	b, run, job := submitted(t, "o1", "o2", "o3", "o4")
	failed, oldRun, _ := process(t, b, run, job, map[int]Outcome{1: Failed})
	opts := RetryOptions{Mode: "transient_only", MaxRetryCount: 3}
	r, err := Retry(failed, scope, opts, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.Batch.Status != batches.TaskStatusPending || *r.Batch.TaskID != r.Task.TaskID || r.Task.TaskID == oldRun.TaskID ||
		*r.PreviousTaskID != oldRun.TaskID || r.PreviousStatus != batches.TaskStatusFailed || !slices.Equal(r.Tiers, []int{1, 2}) ||
		r.Count != 1 || r.Batch.Error != nil || r.Batch.ErrorSummary != nil || r.Job.Tier != 1 || r.Job.TaskID != r.Task.TaskID {
		t.Fatalf("retried %+v", r)
	}
	if r.Batch.TierTasks[0].Status != batches.TaskStatusCompleted || r.Batch.TierTasks[1].Status != batches.TaskStatusPending ||
		r.Batch.TierTasks[1].TaskID != nil || r.Batch.TierTasks[2].Status != batches.TaskStatusPending {
		t.Errorf("tiers after the retry: %+v", r.Batch.TierTasks)
	}
	if r.Message() != fmt.Sprintf("Retry started as a new task %s from tier 1; task %s stays FAILED", r.Task.TaskID, oldRun.TaskID) {
		t.Errorf("message %q", r.Message())
	}
	if r.Task.AdditionalData["retry_of"].(*string) == nil || r.Task.AdditionalData["retry_count"] != 1 {
		t.Errorf("task data %v", r.Task.AdditionalData)
	}
	// The retry runs to its end; a step of the old task is not due.
	if due(r.Batch, Job{BatchID: b.BatchID, TaskID: oldRun.TaskID, Tier: 1}) {
		t.Errorf("a step of the failed task is due")
	}
	done, _, _ := process(t, r.Batch, r.Task, r.Job, nil)
	if done.Status != batches.TaskStatusCompleted || retryCount(done) != 1 {
		t.Errorf("after the retry: %s, retried %d", done.Status, retryCount(done))
	}

	// tier_nums.
	_, err = Retry(failed, scope, RetryOptions{TierNums: []int{0, 3}, MaxRetryCount: 3}, t0)
	wantError(t, err, ErrInvalid, "tier_nums[1] is 3: batch "+b.BatchID+" has tiers 0 to 2", map[string]any{"index": 1})
	_, err = Retry(failed, scope, RetryOptions{TierNums: []int{0}, MaxRetryCount: 3}, t0)
	wantError(t, err, ErrInvalid, "tier_nums [0] of batch "+b.BatchID+" have no errors to retry", nil)
	// max_retry_count.
	again := failed
	again.InternalMetadata = map[string]any{"retry_count": 3}
	_, err = Retry(again, scope, RetryOptions{MaxRetryCount: 3}, t0)
	wantError(t, err, ErrInvalid, "Batch "+b.BatchID+" was retried 3 times already, max_retry_count is 3", map[string]any{"retry_count": 3})
	// Statuses.
	for _, s := range []TaskStatus{batches.TaskStatusDraft, batches.TaskStatusPending, batches.TaskStatusInProgress, batches.TaskStatusCompleted, batches.TaskStatusCanceled} {
		failed.Status = s
		_, err := Retry(failed, scope, opts, t0)
		wantError(t, err, ErrInvalid, fmt.Sprintf("Batch %s is %s: only a FAILED or COMPLETED_WITH_ERRORS batch can be retried", b.BatchID, s),
			map[string]any{"allowed_statuses": []string{"FAILED", "COMPLETED_WITH_ERRORS"}})
	}
}

// A batch's processed size is bounded by processedSize, whatever its
// processing: checked with the longest object ids and the most tiers.
func TestProcessedSizeBounds(t *testing.T) {
	for _, n := range []int{1, 3, 40} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("%0256d", i)
		}
		b, err := NewDraft("bkt_a", ids, Processing{Tiers: MaxProcessingTiers}.DAG("bkt_a"), t0)
		if err != nil {
			t.Fatal(err)
		}
		bound := processedSize(b)
		for _, outcomes := range []map[int]Outcome{
			nil, {0: Failed}, {0: CompletedWithErrors, 1: CompletedWithErrors, 2: CompletedWithErrors, 3: CompletedWithErrors, 4: Failed},
			{0: CompletedWithErrors, 1: CompletedWithErrors, 2: CompletedWithErrors, 3: CompletedWithErrors, 4: CompletedWithErrors},
		} {
			s, run, job, err := Submit(b, scope, SubmitOptions{}, nil, t0)
			if err != nil {
				t.Fatal(err)
			}
			s, _, _ = process(t, s, run, job, outcomes)
			doc, err := BatchJSON(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc) > bound {
				t.Errorf("%d ids, %v: %d bytes, more than the bound %d", n, outcomes, len(doc), bound)
			}
		}
	}
}

func TestTaskCursor(t *testing.T) {
	c := TaskCursor{CreatedAt: t0.Add(123), TaskID: "task_abc123def456"}
	got, err := ParseTaskCursor(c.String())
	if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.TaskID != c.TaskID {
		t.Errorf("%v %+v", err, got)
	}
	ns := strconv.FormatInt(c.CreatedAt.UnixNano(), 10)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	// Hand-made ones: what the server never makes, though it decodes.
	made := []string{
		enc("-5." + c.TaskID), enc("+" + ns + "." + c.TaskID), enc("0" + ns + "." + c.TaskID),
		enc(ns + ".task_x"), enc(ns + ".task_ABC123DEF456"), enc(ns + ".btch_abc123def456"),
		enc(ns + "." + c.TaskID + "x"), enc(ns + ".." + c.TaskID), enc(" " + ns + "." + c.TaskID),
		enc(ns + "." + c.TaskID + "\n"), enc("1e3." + c.TaskID), enc("9223372036854775808." + c.TaskID),
		base64.URLEncoding.EncodeToString([]byte(ns + "." + c.TaskID)), // padded
		base64.StdEncoding.EncodeToString([]byte(ns + "." + c.TaskID + "??>")),
	}
	// The same bytes with the last character's unused bits set: a
	// lenient decoder reads them as the same cursor.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	cs := c.String()
	for _, ch := range alphabet {
		alt := cs[:len(cs)-1] + string(ch)
		if raw, err := base64.RawURLEncoding.DecodeString(alt); alt != cs && err == nil && string(raw) == ns+"."+c.TaskID {
			made = append(made, alt)
		}
	}
	if _, err := ParseTaskCursor(enc("0." + c.TaskID)); err != nil {
		t.Errorf("the epoch itself: %v", err)
	}
	for _, s := range append([]string{"", "x", "!!!", "MTIz", c.String() + "="}, made...) {
		_, err := ParseTaskCursor(s)
		wantError(t, err, ErrInvalid, "cursor is not a next_cursor of this server", map[string]any{"parameter": "cursor"})
	}
}

func TestProcessingSettings(t *testing.T) {
	for _, p := range []Processing{{FailureRatio: 1.5}, {FailureRatio: 0.6, ErrorRatio: 0.6}, {Tiers: MaxProcessingTiers + 1}, {Tiers: -1}} {
		if err := CheckProcessing(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	p, err := Processing{}.settled()
	if err != nil || p.TierDuration != DefaultTierDuration || p.Tiers != DefaultTiers || p.FailureRatio != DefaultFailureRatio {
		t.Errorf("%v %+v", err, p)
	}
	if p, _ := (Processing{NoFailures: true}).settled(); p.FailureRatio != 0 || p.ErrorRatio != 0 {
		t.Errorf("NoFailures: %+v", p)
	}
	// The draws: each outcome about as often as its ratio says, and the
	// same for the same task and tier.
	p, _ = Processing{FailureRatio: 0.2, ErrorRatio: 0.3}.settled()
	counts := map[Outcome]int{}
	for i := range 10000 {
		o := p.outcome(fmt.Sprint("task_", i), i%3)
		counts[o]++
		if o != p.outcome(fmt.Sprint("task_", i), i%3) {
			t.Fatal("the same draw differs")
		}
	}
	if counts[Failed] < 1800 || counts[Failed] > 2200 || counts[CompletedWithErrors] < 2700 || counts[CompletedWithErrors] > 3300 {
		t.Errorf("outcomes %v", counts)
	}
}

// TestDocumentedFit: what openapi.yaml and README say fits in a batch — with
// two tiers, 1000 object ids of up to 25 bytes, however processing goes —
// does, and one byte more does not.
func TestDocumentedFit(t *testing.T) {
	for _, tc := range []struct {
		idBytes int
		fits    bool
	}{{16, true}, {25, true}, {26, false}} {
		ids := make([]string, MaxObjectIDs)
		for i := range ids {
			ids[i] = fmt.Sprintf("%0*d", tc.idBytes, i)
		}
		b, err := NewDraft("bkt_demo", ids, Processing{Tiers: 2}.DAG("bkt_demo"), t0)
		if err != nil {
			t.Fatal(err)
		}
		if n := processedSize(b); (n <= MaxBatchBytes) != tc.fits {
			t.Errorf("1000 ids of %d bytes at two tiers: up to %d bytes once processed; fits = %v, want %v", tc.idBytes, n, n <= MaxBatchBytes, tc.fits)
		}
	}
}

// TestTaskBoundErrors: a task over MaxTaskBytes is a 400 of the request,
// not a failure of the server; a batch stored with more tiers than a batch
// may have (before total_tiers was bounded) is refused by submit and retry
// before anything is made for its tiers; the import refuses both such a
// batch and one in flight that would not fit once canceled.
func TestTaskBoundErrors(t *testing.T) {
	big := Task{TaskID: "task_x", BatchID: "btch_x", Status: batches.TaskStatusPending,
		AdditionalData: map[string]any{"x": strings.Repeat("x", MaxTaskBytes)}}
	_, err := taskRow(big)
	wantError(t, err, ErrInvalid, fmt.Sprintf("The task of batch btch_x would be %d bytes of JSON, more than 8192", MaxTaskBytes+123),
		map[string]any{"resource": "task", "max_bytes": MaxTaskBytes})

	for _, st := range []batches.TaskStatus{batches.TaskStatusDraft, batches.TaskStatusFailed} {
		b := draft(t, "obj_1")
		b.Status = st
		b.TotalTiers = 1 << 30
		b.DagTiers = [][]string{{"c"}}
		var err error
		if st == batches.TaskStatusDraft {
			_, _, _, err = Submit(b, scope, SubmitOptions{}, nil, t0)
		} else {
			_, err = Retry(b, scope, RetryOptions{MaxRetryCount: 3}, t0)
		}
		wantError(t, err, ErrInvalid, fmt.Sprintf("Batch %s has %d tiers, more than 32: it cannot be processed", b.BatchID, 1<<30),
			map[string]any{"field": "total_tiers", "max_tiers": MaxTiers})
		if err := CheckBatch(&b); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "total_tiers 1073741824 is more than 32") {
			t.Errorf("CheckBatch of %d tiers: %v", b.TotalTiers, err)
		}
	}

	// In flight, within MaxBatchBytes, but not once canceled: its tier in
	// progress has many extractor jobs, each gaining a completion time.
	b := draft(t, "obj_1")
	b.Status = batches.TaskStatusInProgress
	b.TotalTiers, b.DagTiers = 1, nil
	tt := TierTask{TierNum: 0, SourceType: "bucket", Status: batches.TaskStatusInProgress}
	for {
		tt.ExtractorJobs = append(tt.ExtractorJobs, ExtractorJob{ExtractorType: "x", Status: batches.TaskStatusInProgress})
		b.TierTasks = []TierTask{tt}
		if doc, _ := BatchJSON(AsListed(b.BucketID, b)); len(doc) > MaxBatchBytes-300 {
			break
		}
	}
	if err := CheckBatch(&b); err != nil {
		t.Fatal(err)
	}
	if err := checkCancelRoom(b); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "once canceled") {
		t.Errorf("checkCancelRoom: %v", err)
	}
	b.Status = batches.TaskStatusFailed
	if err := checkCancelRoom(b); err != nil {
		t.Errorf("checkCancelRoom of a FAILED batch: %v", err)
	}
}
