package batches

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"

	"github.com/mixpeekgo/batches/generated/client"
)

// TaskType is the kind of operation a task is (openapi.yaml,
// components.schemas.TaskType, Mixpeek's lower-case values). Like
// TaskStatus, a value this package does not name decodes as is.
type TaskType string

// The task types of a batch's processing; openapi.yaml lists Mixpeek's
// others.
const (
	TaskTypeBatchProcess TaskType = "api_buckets_batches_process"  // a batch's processing: the batch's TaskID
	TaskTypeExtractorRun TaskType = "engine_feature_extractor_run" // one tier of it: a TierTask's TaskID
)

// Task is an asynchronous operation, such as the processing of a batch
// (openapi.yaml, components.schemas.TaskResponse, Mixpeek's TaskResponse).
// A field the API sends as null is nil here. RawJSON returns the object as
// the server sent it.
type Task struct {
	TaskID         string         `json:"task_id"`         // "task_" and 12 characters
	TaskType       TaskType       `json:"task_type"`       // e.g. TaskTypeBatchProcess
	Status         TaskStatus     `json:"status"`          // the task's status; terminal ones never change
	Inputs         []any          `json:"inputs"`          // what it was started with (strings or objects); nil when null
	Outputs        []any          `json:"outputs"`         // what it produced, once finished; nil when null
	AdditionalData map[string]any `json:"additional_data"` // more about it (a batch's task: batch_id, bucket_id, current_tier, total_tiers, …); nil when null
	Error          *string        `json:"error"`           // why it failed, when it did; nil when null
	raw            json.RawMessage
}

// RawJSON returns the task's JSON object exactly as the server sent it
// (nil for a Task not decoded from JSON). The caller must not modify it.
func (t Task) RawJSON() json.RawMessage { return t.raw }

// RetryResult is the answer of RetryBatch (openapi.yaml,
// components.schemas.RetryBatchResponse): the retry's new task and what
// the retry did. The task that failed keeps its status.
type RetryResult struct {
	TaskID         string     `json:"task_id"`          // the new task, now the batch's TaskID
	TaskType       TaskType   `json:"task_type"`        // TaskTypeBatchProcess
	Status         TaskStatus `json:"status"`           // the new task's status, PENDING
	BatchID        string     `json:"batch_id"`         // the batch retried
	PreviousTaskID *string    `json:"previous_task_id"` // the task that failed; nil for a batch that had none (imported)
	RetriedTiers   []int      `json:"retried_tiers"`    // the tiers processed again, in order
	RetryCount     int        `json:"retry_count"`      // the batch's retries, this one included
	Message        string     `json:"message"`          // what happened, for people
	raw            json.RawMessage
}

// RawJSON returns the answer's JSON object exactly as the server sent it,
// fields newer than this package included.
func (r RetryResult) RawJSON() json.RawMessage { return r.raw }

// DeleteResult is the answer of DeleteBatch and KillTask (openapi.yaml,
// components.schemas.GenericDeleteResponse).
type DeleteResult struct {
	Success bool   `json:"success"` // always true in a 2xx answer
	Message string `json:"message"` // what was done, for people
}

// objectDecoder is a type that decodes itself from a JSON object and
// keeps the object (Batch, Task, RetryResult): decode takes data over.
type objectDecoder interface{ decode(data []byte) error }

// decodeObject decodes data, a JSON object, into v and returns what the
// answer is not when it is not such an object: what names the schema in
// the message. An objectDecoder's decode is given data itself (the
// caller's own: call's io.ReadAll, a page decoder's copy), so the object
// is scanned once and not copied; any other v goes through json.Unmarshal.
func decodeObject(data []byte, v any, what string) error {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return fmt.Errorf("the response is not a %s: empty body", what)
	case data[0] != '{':
		return fmt.Errorf("the response is not a %s: %.20s", what, data)
	}
	var err error
	if d, ok := v.(objectDecoder); ok {
		err = d.decode(data)
	} else {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return fmt.Errorf("the response is not a %s: %v", what, err)
	}
	return nil
}

// decodeBatch decodes a Batch answer (createBatch, getBatch, patchBatch,
// addObjectsToBatch): a JSON object with a batch_id.
func decodeBatch(data []byte) (Batch, error) {
	var b Batch
	if err := decodeObject(data, &b, "Batch"); err != nil {
		return Batch{}, err
	}
	if b.BatchID == "" {
		return Batch{}, errors.New("the response is not a Batch: it has no batch_id")
	}
	return b, nil
}

// UnmarshalJSON decodes t from the API's JSON object and keeps the object
// for RawJSON. It returns encoding/json's error, leaving t unchanged, when
// data is not such an object; unknown fields are no error.
func (t *Task) UnmarshalJSON(data []byte) error {
	return t.decode(bytes.Clone(data))
}

// decode sets t from the JSON object data, which t keeps as its RawJSON:
// the caller gives it up.
func (t *Task) decode(data []byte) error {
	type plain Task // without UnmarshalJSON
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*t = Task(p)
	t.raw = data
	return nil
}

// decodeTask decodes a TaskResponse answer (submitBatch, cancelBatch,
// getTask): a JSON object with a task_id and a status.
func decodeTask(data []byte) (Task, error) {
	var t Task
	if err := decodeObject(data, &t, "TaskResponse"); err != nil {
		return Task{}, err
	}
	if t.TaskID == "" || t.Status == "" {
		return Task{}, errors.New("the response is not a TaskResponse: it has no task_id or no status")
	}
	return t, nil
}

// UnmarshalJSON decodes r from the API's JSON object and keeps the object
// for RawJSON.
func (r *RetryResult) UnmarshalJSON(data []byte) error {
	return r.decode(bytes.Clone(data))
}

// decode sets r from the JSON object data, which r keeps as its RawJSON:
// the caller gives it up.
func (r *RetryResult) decode(data []byte) error {
	type plain RetryResult // without UnmarshalJSON
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*r = RetryResult(p)
	r.raw = data
	return nil
}

// decodeRetry decodes a RetryBatchResponse: a JSON object with the new
// task's task_id and status.
func decodeRetry(data []byte) (RetryResult, error) {
	var r RetryResult
	if err := decodeObject(data, &r, "RetryBatchResponse"); err != nil {
		return RetryResult{}, err
	}
	if r.TaskID == "" || r.Status == "" {
		return RetryResult{}, errors.New("the response is not a RetryBatchResponse: it has no task_id or no status")
	}
	return r, nil
}

// decodeDelete decodes a GenericDeleteResponse.
func decodeDelete(data []byte) (DeleteResult, error) {
	var d DeleteResult
	err := decodeObject(data, &d, "GenericDeleteResponse")
	return d, err
}

// The operationIds of the Tasks API.
const (
	opGetTask   = "getTask"
	opListTasks = "listTasks"
	opKillTask  = "killTask"
)

// Bounds of ListTasksParams (openapi.yaml, listTasks' query).
const (
	maxTaskOffset = 10000
	maxCursor     = 512
)

// checkTaskID refuses a task id that checkPathSegment refuses.
func checkTaskID(op, taskID string) error {
	return checkPathSegment(op, "task id", "task", taskID)
}

// GetTask returns a task of the API key's organization (GET
// /v1/tasks/{task_id}): a batch's processing task (Batch.TaskID) or one of
// its tiers' (TierTask.TaskID). Tasks take no namespace: a client without
// one may call it. A task of another organization is an *Error matching
// ErrNotFound, like one that does not exist; an answer whose task_id is
// not taskID is an *Error of its 2xx status saying so. It is a read, retried as
// ListBatches is; to wait for a task's outcome use WaitTask.
//
// It returns, without sending anything, an error matching ErrValidation
// for a task id that checkPathSegment refuses, and ErrNoAPIKey or an
// option's error.
func (c *Client) GetTask(ctx context.Context, taskID string, opts ...Option) (Task, error) {
	cfg, err := c.prepareOrg(opts, func() error { return checkTaskID(opGetTask, taskID) })
	if err != nil {
		return Task{}, err
	}
	return getTask(ctx, cfg, taskID)
}

// getTask is GetTask's call with checked settings. An answer for another
// task than taskID is not the answer: a 2xx *Error.
func getTask(ctx context.Context, cfg config, taskID string) (Task, error) {
	send := func(ctx context.Context, w *client.Client, _ config) (*http.Response, error) {
		return w.GetTask(ctx, taskID)
	}
	return call(ctx, cfg, opGetTask, send, func(data []byte) (Task, error) {
		t, err := decodeTask(data)
		if err == nil && t.TaskID != taskID {
			return Task{}, fmt.Errorf("the response is task %q, not %q: the server answered for another task", t.TaskID, taskID)
		}
		return t, err
	})
}

// KillTask kills a task (DELETE /v1/tasks/{task_id}): a running task of a
// batch being processed cancels that batch, as CancelBatch does, and the
// answer's Message says so. It is idempotent, as Mixpeek documents it: a
// task already ended, one that does not exist and one of another
// organization answer 200 and change nothing; so it is retried as a read
// is. Tasks take no namespace.
//
// So when an attempt kills the task but its answer is lost (a connection
// that breaks, an attempt timeout, a 5xx of a proxy after the server
// acted), the retry's answer says the task "is not running: nothing to
// kill": the task was killed all the same, by the earlier attempt. The
// result's Message is the last attempt's; GetTask tells the task's status
// (CANCELED), and the *Error's Attempts, or DeleteResult alone, cannot
// tell the two apart.
//
// It returns, without sending anything, an error matching ErrValidation
// for a task id that checkPathSegment refuses, and ErrNoAPIKey or an
// option's error.
func (c *Client) KillTask(ctx context.Context, taskID string, opts ...Option) (DeleteResult, error) {
	cfg, err := c.prepareOrg(opts, func() error { return checkTaskID(opKillTask, taskID) })
	if err != nil {
		return DeleteResult{}, err
	}
	send := func(ctx context.Context, w *client.Client, _ config) (*http.Response, error) {
		return w.KillTask(ctx, taskID)
	}
	return call(ctx, cfg, opKillTask, send, decodeDelete)
}

// ListTasksParams filters and pages List Tasks (openapi.yaml, listTasks:
// the filters in the body, the page in the query). The zero value asks for
// the first page of every task.
type ListTasksParams struct {
	Status       TaskStatus // only tasks of this status; "" every status (sent as given)
	TaskType     TaskType   // only tasks of this type; "" every type (sent as given)
	Limit        int        // the page size, 1 to MaxLimit; 0 leaves it to the API (100)
	Offset       int        // tasks to skip (after Cursor), 0 to 10000
	Cursor       string     // the NextCursor of the page before; "" starts from the newest task
	IncludeTotal bool       // count the matching tasks into TaskPage.Total
}

// check refuses what the API would refuse, before sending.
func (p ListTasksParams) check() error {
	switch {
	case p.Limit < 0 || p.Limit > MaxLimit:
		return &paramError{fmt.Sprintf("%s: limit %d is not 1 to %d (0: the API's default)", opListTasks, p.Limit, MaxLimit)}
	case p.Offset < 0 || p.Offset > maxTaskOffset:
		return &paramError{fmt.Sprintf("%s: offset %d is not 0 to %d", opListTasks, p.Offset, maxTaskOffset)}
	case len(p.Cursor) > maxCursor:
		return &paramError{fmt.Sprintf("%s: the cursor is %d bytes long, more than %d", opListTasks, len(p.Cursor), maxCursor)}
	}
	return nil
}

// TaskPage is one page of List Tasks (openapi.yaml, ListTasksResponse).
type TaskPage struct {
	Results    []Task // the page, newest first
	NextCursor string // the Cursor of the next page; "" on the last page
	Total      *int64 // the number of matching tasks, with IncludeTotal; nil otherwise
}

// ListTasks returns one page of the tasks of the API key's organization,
// newest first (POST /v1/tasks/list). params may be nil (the first page of
// every task). Tasks take no namespace. It is a read, retried as
// ListBatches is.
//
// It returns, without sending anything, an error matching ErrValidation
// for a Limit outside 0..MaxLimit, an Offset outside 0..10000 or a Cursor
// over 512 bytes, and ErrNoAPIKey or an option's error. Once sent, every
// failure is an *Error; a page of more tasks than the Limit sent matches
// ErrInconsistentPage.
func (c *Client) ListTasks(ctx context.Context, params *ListTasksParams, opts ...Option) (*TaskPage, error) {
	var p ListTasksParams
	if params != nil {
		p = *params
	}
	cfg, err := c.prepareOrg(opts, p.check)
	if err != nil {
		return nil, err
	}
	return listTasks(ctx, cfg, p)
}

// listTasks asks for one page with checked settings and parameters.
func listTasks(ctx context.Context, cfg config, p ListTasksParams) (*TaskPage, error) {
	var query client.ListTasksParams
	if p.Limit != 0 {
		l := int32(p.Limit)
		query.Limit = &l
	}
	if p.Offset != 0 {
		o := int32(p.Offset)
		query.Offset = &o
	}
	if p.Cursor != "" {
		query.Cursor = &p.Cursor
	}
	if p.IncludeTotal {
		query.IncludeTotal = &p.IncludeTotal
	}
	var body client.ListTasksRequest
	if p.Status != "" {
		s := client.TaskStatus(p.Status)
		body.Status = &s
	}
	if p.TaskType != "" {
		t := client.TaskType(p.TaskType)
		body.TaskType = &t
	}
	send := func(ctx context.Context, w *client.Client, _ config) (*http.Response, error) {
		return w.ListTasks(ctx, &query, body)
	}
	page, err := call(ctx, cfg, opListTasks, send, decodeTaskPage)
	if err != nil {
		return nil, err
	}
	if p.Limit > 0 && len(page.Results) > p.Limit {
		return nil, &pageError{op: opListTasks, msg: fmt.Sprintf("the page holds %d tasks, more than the limit of %d asked for: the server ignores the limit", len(page.Results), p.Limit)}
	}
	return page, nil
}

// decodeTaskPage decodes a ListTasksResponse: results, each a task with a
// task_id and a status, and pagination.
func decodeTaskPage(data []byte) (*TaskPage, error) {
	const notPage = "the response is not a ListTasksResponse with results and pagination"
	var shape struct {
		Results    *[]json.RawMessage `json:"results"`
		Pagination *struct {
			NextCursor *string `json:"next_cursor"`
			Total      *int64  `json:"total"`
		} `json:"pagination"`
	}
	if err := decodeObject(data, &shape, "ListTasksResponse"); err != nil {
		return nil, err
	}
	if shape.Results == nil || shape.Pagination == nil {
		return nil, errors.New(notPage)
	}
	page := &TaskPage{Results: make([]Task, len(*shape.Results)), Total: shape.Pagination.Total}
	if shape.Pagination.NextCursor != nil {
		page.NextCursor = *shape.Pagination.NextCursor
	}
	for i, raw := range *shape.Results {
		t, err := decodeTask(raw)
		if err != nil {
			return nil, fmt.Errorf("results[%d]: %v", i, err)
		}
		page.Results[i] = t
	}
	return page, nil
}

// AllTasks returns every task from params on (nil: every task of the API
// key's organization), newest first, fetching a page as the loop reaches
// it: the first page at params' Cursor and Offset, each next one at the
// NextCursor of the page before, until a page has none. Tasks created
// during the walk are not yielded (they sort before the first page); a
// task is yielded at most once. An error is yielded once, with a zero
// Task, and ends the walk: one of ListTasks's, or one matching
// ErrInconsistentPage when the server's cursors cannot walk the list (a
// cursor answered twice, or an empty page with a next cursor).
func (c *Client) AllTasks(ctx context.Context, params *ListTasksParams, opts ...Option) iter.Seq2[Task, error] {
	return func(yield func(Task, error) bool) {
		var p ListTasksParams
		if params != nil {
			p = *params
		}
		cfg, err := c.prepareOrg(opts, p.check)
		if err != nil {
			yield(Task{}, err)
			return
		}
		if p.Limit == 0 {
			p.Limit = DefaultLimit
		}
		seen := map[string]bool{}
		cursors := map[string]bool{}
		for {
			page, err := listTasks(ctx, cfg, p)
			if err != nil {
				yield(Task{}, err)
				return
			}
			for _, t := range page.Results {
				if seen[t.TaskID] {
					continue
				}
				seen[t.TaskID] = true
				if !yield(t, nil) {
					return
				}
			}
			switch next := page.NextCursor; {
			case next == "":
				return
			case len(page.Results) == 0:
				yield(Task{}, &pageError{op: opListTasks, msg: fmt.Sprintf("an empty page has a next cursor (%d tasks yielded): the server's cursors do not end", len(seen))})
				return
			case cursors[next] || next == p.Cursor:
				yield(Task{}, &pageError{op: opListTasks, msg: fmt.Sprintf("the cursor %q was answered before (%d tasks yielded): the server repeats pages", next, len(seen))})
				return
			default:
				cursors[next] = true
				p.Cursor, p.Offset = next, 0
			}
		}
	}
}
