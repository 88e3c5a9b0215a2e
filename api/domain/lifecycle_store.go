package domain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mixpeekgo/batches"
)

// Lifecycle is what the API's operations on batches and tasks change: each
// method is one transaction of the backend (on any error it changes
// nothing), which reads the batch under a lock of its row, lets the rules
// of lifecycle.go decide, and writes the rows back. Their errors about the
// request are *[Error] values (a batch or task not found: ErrNotFound; a
// status that does not allow the operation, or an input the rules refuse:
// ErrInvalid), ready to answer; others are storage failures or a done ctx.
//
// A batch is found by its id within the bucket of s (Scope.BucketID): one
// of another bucket, namespace or organization is not found, as one that
// does not exist. The per-status and per-collection counts of List Batches
// follow every change, by the backends' triggers.
type Lifecycle interface {
	// CreateBatch stores a new DRAFT batch of objectIDs in the bucket of
	// s, with the collections and tiers of the processing's DAG, and
	// returns its canonical JSON.
	CreateBatch(ctx context.Context, s Scope, objectIDs []string) ([]byte, error)

	// AddObjects adds objectIDs to the DRAFT batch batchID and returns its
	// canonical JSON.
	AddObjects(ctx context.Context, s Scope, batchID string, objectIDs []string) ([]byte, error)

	// PatchBatch sets the metadata of the batch batchID to metadata (nil:
	// {}), in any status, when set (a patch without metadata changes
	// nothing), and returns its canonical JSON.
	PatchBatch(ctx context.Context, s Scope, batchID string, metadata map[string]any, set bool) ([]byte, error)

	// SubmitBatch submits the DRAFT batch batchID: it stores the batch
	// PENDING, its new task, and the job of its first step, which the
	// queue runs once the transaction commits; it returns the task's
	// canonical JSON.
	SubmitBatch(ctx context.Context, s Scope, batchID string, opts SubmitOptions) ([]byte, error)

	// CancelBatch cancels the batch batchID, being processed, and returns
	// its task's canonical JSON (a task is made for a batch that has none,
	// one imported PROCESSING, say).
	CancelBatch(ctx context.Context, s Scope, batchID string) ([]byte, error)

	// RetryBatch retries the batch batchID as a new task, queued as
	// SubmitBatch queues one, and returns what it did and the new task's
	// canonical JSON.
	RetryBatch(ctx context.Context, s Scope, batchID string, opts RetryOptions) (Retried, []byte, error)

	// RemoveBatch deletes the batch batchID, in any status; one being
	// processed is canceled first (its tasks CANCELED). canceled says
	// whether it was.
	RemoveBatch(ctx context.Context, s Scope, batchID string) (canceled bool, err error)

	// KillTask cancels the batch whose processing the task taskID of the
	// organization organizationID is (its task, or a tier's), when that
	// task is not terminal, as CancelBatch does; a task whose batch is gone
	// is CANCELED alone. killed is false, with no error, for a task that
	// is terminal, of another organization, or not there at all.
	KillTask(ctx context.Context, organizationID, taskID string) (killed bool, batchID string, err error)
}

// Steering is how [Admin.Steer] moves a batch's processing along at once.
type Steering int

const (
	// Advance runs the step the batch waits for (its tier's start or
	// end), the tier ending as the simulation draws it.
	Advance Steering = iota
	// Complete runs every step left, each tier succeeding.
	Complete
	// Fail runs the steps up to the end of the current (or next) tier,
	// which fails, and so the batch.
	Fail
	// CompleteWithErrors runs every step left, the current (or next)
	// tier finishing with failed documents, the others succeeding.
	CompleteWithErrors
)

// NewLifecycle returns the [Lifecycle] of a backend whose write
// transactions inTx runs (the same as its [NewAdmin]'s), processing
// batches as p says; name names the backend at the start of its errors.
// It returns an error wrapping ErrInvalid for settings p cannot have.
func NewLifecycle(name string, inTx InTx, p Processing) (*Lifecycles, error) {
	p, err := p.settled()
	if err != nil {
		return nil, err
	}
	return &Lifecycles{a: &admin{name: name, inTx: inTx}, p: p}, nil
}

// Lifecycles implements [Lifecycle], the processing's steps ([Lifecycles.Step])
// and its steering ([Lifecycles.Steer]), over a backend's transactions.
type Lifecycles struct {
	a *admin
	p Processing
}

var _ Lifecycle = (*Lifecycles)(nil)

// Processing returns the settings the lifecycle processes batches with,
// its defaults filled in.
func (l *Lifecycles) Processing() Processing { return l.p }

func (l *Lifecycles) now() time.Time { return l.p.Now().UTC() }

// lockBatch returns the batch batchID of the bucket bucketID ("" for any
// bucket), its row locked until the transaction ends: NotFound("batch")
// when there is none.
func lockBatch(ctx context.Context, tx Tx, bucketID, batchID string) (Batch, error) {
	var (
		doc   []byte
		found bool
		err   error
	)
	if IsText(batchID) {
		doc, found, err = tx.BatchDoc(ctx, batchID)
	}
	if err != nil {
		return Batch{}, err
	}
	if !found {
		return Batch{}, NotFound("batch", batchID)
	}
	b, err := DecodeBatch(doc)
	if err != nil {
		return Batch{}, fmt.Errorf("batch %q: %w", batchID, err)
	}
	if bucketID != "" && b.BucketID != bucketID {
		return Batch{}, NotFound("batch", batchID) // another bucket's, as one that does not exist
	}
	return b, nil
}

// saveBatch writes b, checked, and returns its canonical JSON.
func saveBatch(ctx context.Context, tx Tx, b Batch, room bool) ([]byte, error) {
	row, doc, err := checkedRow(b, room)
	if err != nil {
		return nil, err
	}
	if err := tx.UpdateBatch(ctx, row); err != nil {
		return nil, err
	}
	return doc, nil
}

// saveTasks stores ts, and returns the canonical JSON of the first.
func saveTasks(ctx context.Context, tx Tx, ts ...Task) ([]byte, error) {
	var first []byte
	for i, t := range ts {
		r, err := taskRow(t)
		if err != nil {
			return nil, err
		}
		if err := tx.SaveTask(ctx, r); err != nil {
			return nil, err
		}
		if i == 0 {
			first = r.Doc
		}
	}
	return first, nil
}

// loadTask returns the stored task id; found is false when there is none.
func loadTask(ctx context.Context, tx Tx, id string) (Task, bool, error) {
	if !IsText(id) {
		return Task{}, false, nil
	}
	r, found, err := tx.Task(ctx, id)
	if err != nil || !found {
		return Task{}, false, err
	}
	t, err := taskOf(r)
	return t, err == nil, err
}

func (l *Lifecycles) CreateBatch(ctx context.Context, s Scope, objectIDs []string) ([]byte, error) {
	b, err := NewDraft(s.BucketID, objectIDs, l.p.DAG(s.BucketID), l.now())
	if err != nil {
		return nil, err
	}
	row, doc, err := checkedNewRow(b, true, "The batch", Batch{})
	if err != nil {
		return nil, err
	}
	err = l.a.do(ctx, "create batch", func(ctx context.Context, tx Tx) error {
		taken, _, err := tx.InsertBatches(ctx, [][]any{row})
		if err == nil && taken >= 0 {
			err = fmt.Errorf("new batch id %s %w", b.BatchID, ErrAlreadyExists)
		}
		return err
	})
	return doc, err
}

// change runs f on the batch batchID of s's bucket, locked, in one
// transaction, and returns what f returns.
func change[T any](ctx context.Context, l *Lifecycles, op string, s Scope, batchID string, f func(ctx context.Context, tx Tx, b Batch) (T, error)) (T, error) {
	return write(ctx, l.a, op, func(ctx context.Context, tx Tx) (T, error) {
		b, err := lockBatch(ctx, tx, s.BucketID, batchID)
		if err != nil {
			var zero T
			return zero, err
		}
		return f(ctx, tx, b)
	})
}

func (l *Lifecycles) AddObjects(ctx context.Context, s Scope, batchID string, objectIDs []string) ([]byte, error) {
	return change(ctx, l, "add objects", s, batchID, func(ctx context.Context, tx Tx, b Batch) ([]byte, error) {
		b, err := AddObjects(b, objectIDs, l.now())
		if err != nil {
			return nil, err
		}
		return saveBatch(ctx, tx, b, true)
	})
}

func (l *Lifecycles) PatchBatch(ctx context.Context, s Scope, batchID string, metadata map[string]any, set bool) ([]byte, error) {
	return change(ctx, l, "patch batch", s, batchID, func(ctx context.Context, tx Tx, b Batch) ([]byte, error) {
		changed := false
		if set {
			b, changed = PatchMetadata(b, metadata, l.now())
		}
		if !changed {
			return BatchJSON(AsListed(b.BucketID, b))
		}
		return saveBatch(ctx, tx, b, mayBeProcessed(b))
	})
}

func (l *Lifecycles) SubmitBatch(ctx context.Context, s Scope, batchID string, opts SubmitOptions) ([]byte, error) {
	return change(ctx, l, "submit batch", s, batchID, func(ctx context.Context, tx Tx, b Batch) ([]byte, error) {
		b, run, job, err := Submit(b, s, opts, l.p.DAG(b.BucketID), l.now())
		if err != nil {
			return nil, err
		}
		if _, err := saveBatch(ctx, tx, b, true); err != nil {
			return nil, err
		}
		if err := tx.Enqueue(ctx, job); err != nil {
			return nil, err
		}
		return saveTasks(ctx, tx, run)
	})
}

// runOf returns the processing task of b, the batch's task_id; when it
// has none stored (an imported batch), one made for it (and set as its
// task_id), and stored false.
func runOf(ctx context.Context, tx Tx, s Scope, b *Batch, now time.Time) (t Task, stored bool, err error) {
	if b.TaskID != nil {
		t, found, err := loadTask(ctx, tx, *b.TaskID)
		if err != nil || found {
			return t, found, err
		}
	}
	t = newRun(*b, s, now, nil)
	b.TaskID = &t.TaskID
	return t, false, nil
}

// cancel cancels b, locked, within tx, and saves it and its tasks; it
// returns its processing task's canonical JSON.
func cancel(ctx context.Context, tx Tx, s Scope, b Batch, now time.Time) ([]byte, error) {
	return cancelAnd(ctx, tx, s, b, now, true)
}

// cancelAnd is cancel, saving the canceled batch only when save: a batch
// about to be deleted is not (what the cancel adds to it might not fit
// its bound, and a delete must not fail for that).
func cancelAnd(ctx context.Context, tx Tx, s Scope, b Batch, now time.Time, save bool) ([]byte, error) {
	if !b.Status.IsActive() {
		return nil, notAllowed(&b, "can be canceled", cancelable)
	}
	run, stored, err := runOf(ctx, tx, s, &b, now)
	if err != nil {
		return nil, err
	}
	if !stored && s.OrganizationID == "" {
		// batchesd's batch delete of an imported batch: whose
		// organization the task would be is not known, and nobody
		// reads the answer.
		b.TaskID = nil
	}
	tiers := map[string]Task{}
	for _, t := range b.TierTasks {
		if t.Status == batches.TaskStatusInProgress && t.TaskID != nil {
			task, found, err := loadTask(ctx, tx, *t.TaskID)
			if err != nil {
				return nil, err
			}
			if found {
				tiers[task.TaskID] = task
			}
		}
	}
	b, tasks, err := Cancel(b, run, tiers, now)
	if err != nil {
		return nil, err
	}
	if save {
		if _, err := saveBatch(ctx, tx, b, false); err != nil {
			return nil, err
		}
	}
	if b.TaskID == nil {
		tasks = tasks[1:]
		if len(tasks) == 0 {
			return nil, nil
		}
	}
	return saveTasks(ctx, tx, tasks...)
}

func (l *Lifecycles) CancelBatch(ctx context.Context, s Scope, batchID string) ([]byte, error) {
	return change(ctx, l, "cancel batch", s, batchID, func(ctx context.Context, tx Tx, b Batch) ([]byte, error) {
		return cancel(ctx, tx, s, b, l.now())
	})
}

func (l *Lifecycles) RetryBatch(ctx context.Context, s Scope, batchID string, opts RetryOptions) (Retried, []byte, error) {
	type result struct {
		r   Retried
		doc []byte
	}
	res, err := change(ctx, l, "retry batch", s, batchID, func(ctx context.Context, tx Tx, b Batch) (result, error) {
		r, err := Retry(b, s, opts, l.now())
		if err != nil {
			return result{}, err
		}
		if _, err := saveBatch(ctx, tx, r.Batch, true); err != nil {
			return result{}, err
		}
		if err := tx.Enqueue(ctx, r.Job); err != nil {
			return result{}, err
		}
		doc, err := saveTasks(ctx, tx, r.Task)
		return result{r, doc}, err
	})
	return res.r, res.doc, err
}

// remove deletes b, locked, within tx, canceling it first when it is
// being processed.
func remove(ctx context.Context, tx Tx, s Scope, b Batch, now time.Time) (canceled bool, err error) {
	if b.Status.IsActive() {
		if _, err := cancelAnd(ctx, tx, s, b, now, false); err != nil {
			return false, err
		}
		canceled = true
	}
	found, err := tx.DeleteBatch(ctx, b.BatchID)
	if err == nil && !found {
		err = NotFound("batch", b.BatchID)
	}
	return canceled, err
}

func (l *Lifecycles) RemoveBatch(ctx context.Context, s Scope, batchID string) (bool, error) {
	return change(ctx, l, "delete batch", s, batchID, func(ctx context.Context, tx Tx, b Batch) (bool, error) {
		return remove(ctx, tx, s, b, l.now())
	})
}

func (l *Lifecycles) KillTask(ctx context.Context, organizationID, taskID string) (bool, string, error) {
	type result struct {
		killed  bool
		batchID string
	}
	res, err := write(ctx, l.a, "kill task", func(ctx context.Context, tx Tx) (result, error) {
		t, found, err := loadTask(ctx, tx, taskID)
		if err != nil || !found || t.OrganizationID != organizationID || t.Status.IsTerminal() {
			return result{}, err
		}
		// The batch first, then the task again under its lock: the
		// order every writer of a batch's tasks takes.
		b, err := lockBatch(ctx, tx, "", t.BatchID)
		switch {
		case errors.Is(err, ErrNotFound):
			t.Status, t.UpdatedAt = batches.TaskStatusCanceled, l.now()
			_, err := saveTasks(ctx, tx, t)
			return result{true, t.BatchID}, err
		case err != nil:
			return result{}, err
		}
		if t, found, err = loadTask(ctx, tx, taskID); err != nil || !found || t.Status.IsTerminal() {
			return result{}, err
		}
		if b.Status.IsActive() && b.TaskID != nil && (*b.TaskID == t.TaskID || t.AdditionalData["parent_task_id"] == *b.TaskID) {
			_, err := cancel(ctx, tx, Scope{OrganizationID: organizationID}, b, l.now())
			return result{true, b.BatchID}, err
		}
		// A task its batch no longer runs.
		t.Status, t.UpdatedAt = batches.TaskStatusCanceled, l.now()
		_, err = saveTasks(ctx, tx, t)
		return result{true, b.BatchID}, err
	})
	return res.killed, res.batchID, err
}

// Step runs job, one step of a batch's processing, within tx (a backend's
// worker calls it in the transaction that also marks the job done, so
// that each step's effects are written once): the batch is read under a
// lock of its row, and a step that is not the one it waits for (of an
// earlier task; of a batch canceled, deleted, or moved on by steering)
// does nothing. The next step's job is queued in the same transaction.
func (l *Lifecycles) Step(ctx context.Context, tx Tx, job Job) (Step, error) {
	return l.step(ctx, tx, job, nil)
}

func (l *Lifecycles) step(ctx context.Context, tx Tx, job Job, force *Outcome) (Step, error) {
	res := Step{Job: job}
	b, err := lockBatch(ctx, tx, "", job.BatchID)
	if errors.Is(err, ErrNotFound) {
		return res, nil // deleted
	}
	if err != nil {
		return res, err
	}
	now := l.now()
	job.At = now
	if !due(b, job) {
		res.BatchStatus = b.Status
		return res, nil
	}
	run, found, err := loadTask(ctx, tx, job.TaskID)
	if err != nil {
		return res, err
	}
	if !found {
		return res, fmt.Errorf("batch %s: its task %s is not stored", b.BatchID, job.TaskID)
	}
	var (
		tier Task
		next *Job
	)
	if !job.Finish {
		var n Job
		b, run, tier, n = startTier(l.p, b, run, job.Tier, now)
		next = &n
	} else {
		tt := b.TierTasks[job.Tier]
		if tt.TaskID == nil {
			return res, fmt.Errorf("batch %s: tier %d in progress has no task", b.BatchID, job.Tier)
		}
		if tier, found, err = loadTask(ctx, tx, *tt.TaskID); err != nil || !found {
			return res, cmpErr(err, fmt.Errorf("batch %s: the task %s of tier %d is not stored", b.BatchID, *tt.TaskID, job.Tier))
		}
		o := l.p.outcome(run.TaskID, job.Tier)
		if force != nil {
			o = *force
		}
		b, run, tier, next = finishTier(b, run, tier, job.Tier, o, now)
	}
	if _, err := saveBatch(ctx, tx, b, false); err != nil {
		return res, err
	}
	if _, err := saveTasks(ctx, tx, run, tier); err != nil {
		return res, err
	}
	if next != nil {
		if err := tx.Enqueue(ctx, *next); err != nil {
			return res, err
		}
	}
	res.Applied, res.TierStatus, res.BatchStatus, res.Next = true, b.TierTasks[job.Tier].Status, b.Status, next
	return res, nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// Steer moves the processing of the batch batchID (in whichever bucket)
// along at once, as how says, each step one transaction as the queue's
// (its job, still queued, then does nothing), and returns the steps it
// ran. It returns an error wrapping ErrNotFound when there is no such
// batch, and ErrInvalid when the batch is not being processed.
func (l *Lifecycles) Steer(ctx context.Context, batchID string, how Steering) ([]Step, error) {
	var steps []Step
	for {
		var done bool
		err := l.a.do(ctx, "steer batch", func(ctx context.Context, tx Tx) error {
			b, err := lockBatch(ctx, tx, "", batchID)
			if err != nil {
				return err
			}
			job, ok := NextJob(b, l.now())
			if !ok {
				if len(steps) == 0 {
					return fmt.Errorf("%w: batch %s is %s, not being processed", ErrInvalid, batchID, b.Status)
				}
				done = true
				return nil
			}
			var force *Outcome
			if job.Finish {
				o, ok := steered(l.p, how, b, job)
				if ok {
					force = &o
				}
			}
			st, err := l.step(ctx, tx, job, force)
			if err != nil {
				return err
			}
			steps = append(steps, st)
			done = how == Advance || st.BatchStatus.IsTerminal() ||
				(how == Fail && st.TierStatus == batches.TaskStatusFailed)
			return nil
		})
		if err != nil {
			return steps, err
		}
		if done {
			return steps, nil
		}
	}
}

// steered is the outcome Steer forces on the end of job's tier: none for
// Advance (the simulation's); for Fail and CompleteWithErrors, the
// batch's first tier to end fails or has errors; Complete succeeds.
func steered(p Processing, how Steering, b Batch, job Job) (Outcome, bool) {
	switch how {
	case Complete:
		return Completed, true
	case Fail:
		return Failed, true
	case CompleteWithErrors:
		for _, t := range b.TierTasks[:job.Tier] {
			if t.Status == batches.TaskStatusCompletedWithErrors {
				return Completed, true
			}
		}
		return CompletedWithErrors, true
	}
	return p.outcome(job.TaskID, job.Tier), false
}
