package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// TaskType is the kind of operation a task is (openapi.yaml,
// components.schemas.TaskType, Mixpeek's lower-case values). The server
// makes two kinds.
type TaskType string

const (
	// TaskTypeBatchProcess is the processing of a batch: the batch's
	// task_id, from its submission (or retry) to its end.
	TaskTypeBatchProcess TaskType = "api_buckets_batches_process"
	// TaskTypeTierRun is the processing of one tier of a batch: a
	// tier_tasks entry's task_id, from the tier's start to its end.
	TaskTypeTierRun TaskType = "engine_feature_extractor_run"
)

// Task is an asynchronous operation as the server stores and answers it
// (openapi.yaml, components.schemas.TaskResponse). Like [Batch], its JSON
// fields are declared in the order of their names, as the generated
// server's TaskResponse, and every one is written (a nil slice, map or
// pointer as null); [TaskJSON] is that encoding. The other fields are the
// task's row, not its JSON.
type Task struct {
	AdditionalData map[string]any `json:"additional_data"` // numbers as json.Number keep their digits
	Error          *string        `json:"error"`
	Inputs         []any          `json:"inputs"`
	Outputs        []any          `json:"outputs"`
	Status         TaskStatus     `json:"status"`
	TaskID         string         `json:"task_id"`
	TaskType       TaskType       `json:"task_type"`

	// OrganizationID is the organization the task belongs to: only its
	// API keys see it.
	OrganizationID string `json:"-"`
	// BatchID is the batch the task processes (or a tier of).
	BatchID string `json:"-"`
	// CreatedAt orders the list of tasks (newest first); UpdatedAt is when
	// it last changed.
	CreatedAt time.Time `json:"-"`
	UpdatedAt time.Time `json:"-"`
}

// TaskJSON returns the canonical JSON of t, what the API answers for it,
// byte for byte as the generated strict server's json.NewEncoder writes a
// TaskResponse (without its trailing newline).
func TaskJSON(t Task) ([]byte, error) {
	doc, err := json.Marshal(&t)
	if err != nil {
		return nil, fmt.Errorf("task JSON: %w", err)
	}
	if hasReplacementEscape(doc) {
		return nil, fmt.Errorf("task JSON: %w", ErrInvalidUTF8)
	}
	return doc, nil
}

// TaskRow is a task as a backend stores it: the columns it is found and
// listed by, and its canonical JSON ([TaskJSON]).
type TaskRow struct {
	TaskID         string
	OrganizationID string
	BatchID        string
	Type           TaskType
	Status         TaskStatus
	CreatedAt      time.Time // nanoseconds, UTC
	UpdatedAt      time.Time
	Doc            []byte
}

// TaskColumns returns the columns of the tasks table, in the order of
// [TaskRow.Values]: task_id, organization_id, batch_id, task_type, status,
// created_at, updated_at, doc.
func TaskColumns() string {
	return "task_id, organization_id, batch_id, task_type, status, created_at, updated_at, doc"
}

// Values returns r's values of [TaskColumns], for an INSERT: the strings,
// the times as nanoseconds since the Unix epoch (int64), the doc as a
// string.
func (r TaskRow) Values() []any {
	return []any{r.TaskID, r.OrganizationID, r.BatchID, string(r.Type), string(r.Status),
		r.CreatedAt.UnixNano(), r.UpdatedAt.UnixNano(), string(r.Doc)}
}

// ScanTaskRow reads a row of [TaskColumns] with scan (a database row's
// Scan), and returns scan's error as is.
func ScanTaskRow(scan func(dest ...any) error) (TaskRow, error) {
	var (
		r                TaskRow
		created, updated int64
	)
	if err := scan(&r.TaskID, &r.OrganizationID, &r.BatchID, &r.Type, &r.Status, &created, &updated, &r.Doc); err != nil {
		return TaskRow{}, err
	}
	r.CreatedAt, r.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return r, nil
}

// MaxTaskBytes is the most bytes of a task's canonical JSON: the server's
// tasks are a few hundred bytes to a few KiB (their batch's first object
// ids, one output a tier); List Tasks reserves answer memory by it.
const MaxTaskBytes = 8 << 10

// taskRow returns the row of t.
func taskRow(t Task) (TaskRow, error) {
	doc, err := TaskJSON(t)
	if err != nil {
		return TaskRow{}, err
	}
	if len(doc) > MaxTaskBytes {
		// What the lifecycle makes stays within the bound (its samples);
		// should a request's input ever make a task larger, it is a
		// request the server refuses (400), never a failure of its own.
		return TaskRow{}, &Error{Kind: ErrInvalid,
			Message: fmt.Sprintf("The task of batch %s would be %d bytes of JSON, more than %d", t.BatchID, len(doc), MaxTaskBytes),
			Details: map[string]any{"resource": "task", "max_bytes": MaxTaskBytes, "bytes": len(doc)}}
	}
	return TaskRow{TaskID: t.TaskID, OrganizationID: t.OrganizationID, BatchID: t.BatchID, Type: t.TaskType,
		Status: t.Status, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), Doc: doc}, nil
}

// taskOf returns the task a stored row holds.
func taskOf(r TaskRow) (Task, error) {
	var t Task
	dec := json.NewDecoder(bytes.NewReader(r.Doc))
	dec.UseNumber()
	if err := dec.Decode(&t); err != nil {
		return Task{}, fmt.Errorf("stored task %s: %w", r.TaskID, err)
	}
	t.OrganizationID, t.BatchID, t.CreatedAt, t.UpdatedAt = r.OrganizationID, r.BatchID, r.CreatedAt, r.UpdatedAt
	return t, nil
}

// TaskListParams selects one page of an organization's tasks
// ([Store.ListTasks]).
type TaskListParams struct {
	// OrganizationID is the organization whose tasks are listed.
	OrganizationID string
	// Status and Type filter the tasks; nil means every one.
	Status *TaskStatus
	Type   *TaskType
	// After, when not nil, starts the page after that task (a cursor of
	// a page before: [TaskCursor]).
	After *TaskCursor
	// Offset is the number of tasks to skip (after After), Limit the most
	// to answer (1 or more).
	Offset, Limit int
	// CountTotal asks for the number of all the tasks that match Status
	// and Type.
	CountTotal bool
}

// TaskCursor is where a page of tasks ends: the created_at and id of its
// last task, in the order of the list (created_at descending, then
// task_id descending by its bytes).
type TaskCursor struct {
	CreatedAt time.Time
	TaskID    string
}

// TaskPage assembles the results of [Store.ListTasks] from the rows a
// backend reads, newest first: up to the page's limit and one more, which
// says whether more tasks follow.
type TaskPage struct {
	dst   []byte
	limit int
	n     int
	last  TaskCursor
	more  bool
}

// NewTaskPage starts a page of at most limit tasks, appended to dst.
func NewTaskPage(dst []byte, limit int) *TaskPage {
	return &TaskPage{dst: append(dst, '['), limit: limit}
}

// Add adds the next row: a task's id, created_at (nanoseconds since the
// Unix epoch) and canonical JSON.
func (p *TaskPage) Add(taskID string, createdAt int64, doc []byte) {
	if p.n == p.limit {
		p.more = true
		return
	}
	if p.n > 0 {
		p.dst = append(p.dst, ',')
	}
	p.dst = append(p.dst, doc...)
	p.n++
	p.last = TaskCursor{CreatedAt: time.Unix(0, createdAt).UTC(), TaskID: taskID}
}

// Done returns the JSON array of the page and the cursor of its last task
// when more follow.
func (p *TaskPage) Done() ([]byte, *TaskCursor) {
	out := append(p.dst, ']')
	if !p.more {
		return out, nil
	}
	last := p.last
	return out, &last
}

// CheckTaskPage returns an error wrapping [ErrInvalid] when p.Offset is
// negative or p.Limit is less than 1: what [Store.ListTasks] refuses.
func CheckTaskPage(p TaskListParams) error {
	return CheckPage(ListParams{Offset: int64(p.Offset), Limit: p.Limit})
}
