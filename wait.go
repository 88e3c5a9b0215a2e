package batches

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Sentinels of how a wait ended other than well (errors.Is; the error is a
// *StatusError, not an *Error: the API answered, and the batch or task is
// returned with it).
var (
	// ErrBatchFailed: the batch ended FAILED (Batch.Error says why).
	ErrBatchFailed = errors.New("batches: batch failed")
	// ErrBatchCanceled: the batch ended CANCELED.
	ErrBatchCanceled = errors.New("batches: batch canceled")
	// ErrBatchNotSubmitted: the batch is DRAFT, so nothing will happen
	// to it until SubmitBatch; waiting would never end.
	ErrBatchNotSubmitted = errors.New("batches: batch not submitted")
	// ErrTaskFailed: the task ended FAILED (Task.Error says why).
	ErrTaskFailed = errors.New("batches: task failed")
	// ErrTaskCanceled: the task ended CANCELED.
	ErrTaskCanceled = errors.New("batches: task canceled")
)

// StatusError is a wait that ended at a status other than success: a batch
// or task FAILED or CANCELED, or a batch DRAFT. It matches ErrBatchFailed,
// ErrBatchCanceled, ErrBatchNotSubmitted, ErrTaskFailed or ErrTaskCanceled
// by its kind and status.
type StatusError struct {
	Kind   string     // "batch" or "task"
	ID     string     // the batch's or task's id
	Status TaskStatus // FAILED, CANCELED or (a batch) DRAFT
	Reason string     // the batch's or task's error, when it has one
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("batches: %s %s ended %s", e.Kind, clean(e.ID), e.Status)
	if e.Status == TaskStatusDraft {
		s = fmt.Sprintf("batches: %s %s is DRAFT: it was never submitted, so it will not change (SubmitBatch starts its processing)", e.Kind, clean(e.ID))
	}
	if e.Reason != "" {
		s += ": " + clean(e.Reason)
	}
	return s
}

// Is reports whether target is the sentinel of e's kind and status.
func (e *StatusError) Is(target error) bool {
	switch {
	case e.Kind == "batch" && e.Status == TaskStatusFailed:
		return target == ErrBatchFailed
	case e.Kind == "batch" && e.Status == TaskStatusCanceled:
		return target == ErrBatchCanceled
	case e.Kind == "batch" && e.Status == TaskStatusDraft:
		return target == ErrBatchNotSubmitted
	case e.Kind == "task" && e.Status == TaskStatusFailed:
		return target == ErrTaskFailed
	case e.Kind == "task" && e.Status == TaskStatusCanceled:
		return target == ErrTaskCanceled
	}
	return false
}

// DefaultMaxPollFailures is how many polls in a row may fail, each after
// the retries of its call, before a wait gives up (see MaxPollFailures).
const DefaultMaxPollFailures = 3

// DefaultPollTimeout bounds each HTTP attempt of a wait (see PollTimeout).
const DefaultPollTimeout = 30 * time.Second

// WaitOption configures one WaitBatch, WaitTask or WaitBatches. An invalid
// one's error is returned by the wait before anything is sent.
type WaitOption func(*waitConfig) error

// waitConfig is the settings of one wait.
type waitConfig struct {
	minPoll, maxPoll time.Duration
	maxFailures      int
	pollTimeout      time.Duration // 0: the client's attempt timeout only
	onProgress       func(Batch)
	onTaskProgress   func(Task)
	onUnknown        func(id string, status TaskStatus)
	callOpts         []Option
	// sleep waits d or until ctx ends (nil: a timer). Tests of this
	// package record the schedule with it.
	sleep func(ctx context.Context, d time.Duration) error
}

func newWaitConfig(opts []WaitOption) (*waitConfig, error) {
	wc := &waitConfig{minPoll: PollIntervalMin, maxPoll: PollIntervalMax, maxFailures: DefaultMaxPollFailures, pollTimeout: DefaultPollTimeout, sleep: sleep}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("batches: a nil WaitOption")
		}
		if err := o(wc); err != nil {
			return nil, err
		}
	}
	return wc, nil
}

// OnProgress calls f with the batch when a wait first gets it and each
// time it changed since (its JSON differs: status, current tier, a tier's
// status, updated_at, …), terminal status included; for WaitBatches, with
// each batch that changed in a round. It is called on the waiting
// goroutine, between polls: a slow f delays the next poll. nil is refused.
func OnProgress(f func(Batch)) WaitOption {
	return func(wc *waitConfig) error {
		if f == nil {
			return errors.New("batches: OnProgress(nil)")
		}
		wc.onProgress = f
		return nil
	}
}

// OnTaskProgress is OnProgress for WaitTask: f gets the task when first
// polled and each time it changed since.
func OnTaskProgress(f func(Task)) WaitOption {
	return func(wc *waitConfig) error {
		if f == nil {
			return errors.New("batches: OnTaskProgress(nil)")
		}
		wc.onTaskProgress = f
		return nil
	}
}

// OnUnknownStatus calls f with the id and status of a batch or task whose
// status the wait does not know how to follow, each time it first sees it
// there: a status this package does not know (IsKnown false: one a newer
// API added), UNKNOWN, or one that is neither active, terminal nor (for a
// batch) DRAFT (SKIPPED, ACTIVE, ARCHIVED, SUSPENDED). The wait polls on
// (the API may yet move it on; only the context ends such a wait): f may
// cancel the wait's context to stop it. nil is refused.
func OnUnknownStatus(f func(id string, status TaskStatus)) WaitOption {
	return func(wc *waitConfig) error {
		if f == nil {
			return errors.New("batches: OnUnknownStatus(nil)")
		}
		wc.onUnknown = f
		return nil
	}
}

// PollBackoff sets the wait between polls: min after the first, doubling
// with each poll up to max, less a random 0–20 % (see PollInterval). The
// default is the API's, PollIntervalMin (1 s) to PollIntervalMax (30 s);
// tests shrink it. A Retry-After longer than the next wait is waited out
// instead. min must be positive and max at least min.
func PollBackoff(min, max time.Duration) WaitOption {
	return func(wc *waitConfig) error {
		if min <= 0 || max < min {
			return fmt.Errorf("batches: PollBackoff(%v, %v): want 0 < min <= max", min, max)
		}
		wc.minPoll, wc.maxPoll = min, max
		return nil
	}
}

// MaxPollFailures sets how many polls in a row may fail (after the retries
// of their call: see below) before the wait gives up with the last one's
// error; the default is DefaultMaxPollFailures (3). n must be 1 or more.
func MaxPollFailures(n int) WaitOption {
	return func(wc *waitConfig) error {
		if n < 1 {
			return fmt.Errorf("batches: MaxPollFailures(%d): want 1 or more", n)
		}
		wc.maxFailures = n
		return nil
	}
}

// PollTimeout bounds each HTTP attempt of the wait's polls (sending the
// request and reading the whole answer; each retry of a poll, and each
// page of a WaitBatches walk, is an attempt of its own): the default is
// DefaultPollTimeout (30 s). An attempt that runs out of it fails like a
// connection error, and the error says "poll timeout 30s": the poll's
// call retries it (WithMaxRetries), then the poll counts as failed, and
// MaxPollFailures such polls in a row end the wait. So a server that
// accepts requests and never answers ends a wait with the defaults after
// 3 polls of 3 attempts, about 4.5 minutes, not never.
//
// The client's attempt timeout (WithAttemptTimeout, also given through
// CallOptions) applies when it is shorter. 0 leaves the wait's attempts
// to the client's attempt timeout only (none by default: such a wait
// ends with its context alone); a negative d is refused.
func PollTimeout(d time.Duration) WaitOption {
	return func(wc *waitConfig) error {
		if d < 0 {
			return fmt.Errorf("batches: PollTimeout(%v): want 0 or more", d)
		}
		wc.pollTimeout = d
		return nil
	}
}

// bound gives cfg, a wait's call settings, the wait's poll timeout when it
// is shorter than cfg's attempt timeout (or cfg has none), and returns the
// options that do the same for a call the wait makes through a method
// (WaitBatches' walk).
func (wc *waitConfig) bound(cfg *config) []Option {
	if wc.pollTimeout <= 0 || (cfg.attemptTimeout > 0 && cfg.attemptTimeout <= wc.pollTimeout) {
		return wc.callOpts
	}
	cfg.attemptTimeout, cfg.pollTimeout = wc.pollTimeout, true
	opt := func(c *config) error {
		c.attemptTimeout, c.pollTimeout = wc.pollTimeout, true
		return nil
	}
	return append(wc.callOpts[:len(wc.callOpts):len(wc.callOpts)], opt)
}

// CallOptions applies opts to every call the wait makes (WithNamespace for
// another namespace's batch, WithMaxRetries, …), as a call's options do.
func CallOptions(opts ...Option) WaitOption {
	return func(wc *waitConfig) error {
		if err := CheckOptions(opts...); err != nil {
			return err
		}
		wc.callOpts = append(wc.callOpts[:len(wc.callOpts):len(wc.callOpts)], opts...)
		return nil
	}
}

// pollInterval is PollInterval's schedule from lo doubling up to hi.
func pollInterval(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d - rand.N(d/5+1)
}

// sleep waits d, or until ctx ends (then it returns ctx's error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// transientPoll reports whether a poll's error may pass if the poll is
// made again later: an *Error of a status retried (408, 429, 5xx) or of no
// answer (a connection error, an attempt timeout), once the call's own
// retries ran out, or a walk of WaitBatches whose pages could not make up
// the list (ErrInconsistentPage).
func transientPoll(err error) bool {
	var (
		e        *Error
		timedOut *attemptTimedOut
	)
	switch {
	case errors.Is(err, ErrInconsistentPage):
		return true
	case !errors.As(err, &e):
		return false
	case e.StatusCode == 0 && errors.As(e.Err, &timedOut):
		return true // the attempt's timeout, not the wait's context
	case e.StatusCode == 0:
		return e.Err != nil && retryableError(e.Err) && !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded)
	}
	return retryableStatus(e.StatusCode)
}

// loop polls with poll until it reports done or a lasting error, waiting
// wc's schedule between polls (or a failed poll's Retry-After, when
// longer). A poll's transient failure (transientPoll) is tried again, up
// to wc.maxFailures in a row; any other error ends the loop at once, and
// so does ctx: interrupted says what was being waited for then.
func (wc *waitConfig) loop(ctx context.Context, poll func(ctx context.Context) (done bool, err error), interrupted func(error) error) error {
	failures := 0
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return interrupted(err)
		}
		done, err := poll(ctx)
		var retryAfter time.Duration
		switch {
		case err != nil && ctx.Err() != nil:
			return err // the call's *Error unwraps to the context's error
		case err != nil && !transientPoll(err):
			return err
		case err != nil:
			failures++
			if failures >= wc.maxFailures {
				return err
			}
			var e *Error
			if errors.As(err, &e) {
				retryAfter = e.RetryAfter
			}
		case done:
			return nil
		default:
			failures = 0
		}
		if err := wc.sleep(ctx, max(pollInterval(attempt, wc.minPoll, wc.maxPoll), retryAfter)); err != nil {
			return interrupted(err)
		}
	}
}

// interruption is the error of a wait its context ended: it wraps the
// context's error (and names its cause when that says more).
func interruption(ctx context.Context, err error, what string) error {
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("batches: waiting for %s: %w (%v)", what, err, cause)
	}
	return fmt.Errorf("batches: waiting for %s: %w", what, err)
}

// follows reports how a wait takes status: over (terminal), draft, or
// active (poll on); anything else is a status it cannot follow (reported
// to OnUnknownStatus, then polled on).
func follows(s TaskStatus) (over, active bool) {
	return s.IsTerminal(), s.IsActive()
}

// batchOutcome is the error of a batch that ended, or is DRAFT: nil for
// COMPLETED and COMPLETED_WITH_ERRORS (see Batch.ErrorSummary).
func batchOutcome(b Batch) error {
	switch b.Status {
	case TaskStatusFailed, TaskStatusCanceled, TaskStatusDraft:
		e := &StatusError{Kind: "batch", ID: b.BatchID, Status: b.Status}
		if b.Error != nil {
			e.Reason = *b.Error
		}
		return e
	}
	return nil
}

// watcher reports the changes of what a wait polls: to OnProgress when the
// JSON differs from the last, to OnUnknownStatus when a status it cannot
// follow differs from the last one reported.
type watcher struct {
	raw     []byte
	unknown TaskStatus
}

func (w *watcher) changed(raw []byte) bool {
	if w.raw != nil && bytes.Equal(raw, w.raw) {
		return false
	}
	w.raw = raw
	return true
}

func (w *watcher) unknownStatus(wc *waitConfig, id string, s TaskStatus) {
	if s != w.unknown && wc.onUnknown != nil {
		wc.onUnknown(id, s)
	}
	w.unknown = s
}

// WaitBatch polls a batch (GetBatch) until it ends, and returns it, as the
// API says to: while it is PENDING, IN_PROGRESS or PROCESSING, at
// PollInterval's schedule (1 s doubling up to 30 s, with jitter;
// PollBackoff changes it), until a terminal status.
//
// It returns the batch and nil when it ended COMPLETED or
// COMPLETED_WITH_ERRORS (some objects failed: see ErrorSummary); the batch
// and a *StatusError matching ErrBatchFailed or ErrBatchCanceled when it
// ended FAILED or CANCELED; the batch and one matching
// ErrBatchNotSubmitted, at once, when it is DRAFT (never submitted, so it
// would never end). A status it cannot follow (one this package does not
// know, UNKNOWN, SKIPPED, …) is reported to OnUnknownStatus and polled on.
//
// A poll that fails with an answer no retry can change (401, 403, 404, 400,
// 422, a 2xx that is not a batch, or is another batch than batchID) ends
// the wait at once with that *Error.
// One that fails after its call's retries (408, 429, 5xx, no answer, or
// none within PollTimeout, 30 s by default: the call retries a read,
// honouring Retry-After up to the max retry delay) is made again at the
// next poll, or after the answer's Retry-After when that
// is longer, and ends the wait once MaxPollFailures polls in a row have
// failed. The context ends the wait at once, between polls or during one,
// with an error matching its error (context.Canceled,
// context.DeadlineExceeded). Each error comes with the last batch seen (the
// zero Batch if none). The options refused (ErrValidation and the others
// of GetBatch, an invalid WaitOption) are returned before anything is
// sent.
func (c *Client) WaitBatch(ctx context.Context, bucketIdentifier, batchID string, opts ...WaitOption) (Batch, error) {
	wc, err := newWaitConfig(opts)
	if err != nil {
		return Batch{}, err
	}
	cfg, err := c.prepare(wc.callOpts, func() error { return checkBatchPath(opGetBatch, bucketIdentifier, batchID) })
	if err != nil {
		return Batch{}, err
	}
	wc.bound(&cfg)
	var (
		last Batch
		w    watcher
	)
	poll := func(ctx context.Context) (bool, error) {
		b, err := getBatch(ctx, cfg, bucketIdentifier, batchID)
		if err != nil {
			return false, err
		}
		last = b
		if w.changed(b.RawJSON()) && wc.onProgress != nil {
			wc.onProgress(b)
		}
		switch over, active := follows(b.Status); {
		case over, b.Status == TaskStatusDraft:
			return true, batchOutcome(b)
		case !active:
			w.unknownStatus(wc, b.BatchID, b.Status)
		}
		return false, nil
	}
	err = wc.loop(ctx, poll, func(err error) error {
		return interruption(ctx, err, fmt.Sprintf("batch %s (last seen %s)", batchID, orNone(last.Status)))
	})
	return last, err
}

// orNone is s, or "nothing" before anything was seen.
func orNone(s TaskStatus) string {
	if s == "" {
		return "nothing yet"
	}
	return string(s)
}

// WaitTask polls a task (GetTask) until it ends, and returns it, as
// WaitBatch does a batch: the task and nil when it ended COMPLETED or
// COMPLETED_WITH_ERRORS; the task and a *StatusError matching
// ErrTaskFailed or ErrTaskCanceled when it ended FAILED or CANCELED. A
// task has no DRAFT: any status neither active nor terminal is reported to
// OnUnknownStatus and polled on. Failed polls, the context and refused
// options are as for WaitBatch; OnTaskProgress reports the task's changes.
func (c *Client) WaitTask(ctx context.Context, taskID string, opts ...WaitOption) (Task, error) {
	wc, err := newWaitConfig(opts)
	if err != nil {
		return Task{}, err
	}
	cfg, err := c.prepareOrg(wc.callOpts, func() error { return checkTaskID(opGetTask, taskID) })
	if err != nil {
		return Task{}, err
	}
	wc.bound(&cfg)
	var (
		last Task
		w    watcher
	)
	poll := func(ctx context.Context) (bool, error) {
		t, err := getTask(ctx, cfg, taskID)
		if err != nil {
			return false, err
		}
		last = t
		if w.changed(t.RawJSON()) && wc.onTaskProgress != nil {
			wc.onTaskProgress(t)
		}
		switch over, active := follows(t.Status); {
		case over:
			if t.Status == TaskStatusFailed || t.Status == TaskStatusCanceled {
				e := &StatusError{Kind: "task", ID: t.TaskID, Status: t.Status}
				if t.Error != nil {
					e.Reason = *t.Error
				}
				return true, e
			}
			return true, nil
		case !active:
			w.unknownStatus(wc, t.TaskID, t.Status)
		}
		return false, nil
	}
	err = wc.loop(ctx, poll, func(err error) error {
		return interruption(ctx, err, fmt.Sprintf("task %s (last seen %s)", taskID, orNone(last.Status)))
	})
	return last, err
}

// waited is one batch of WaitBatches.
type waited struct {
	b Batch // as last seen; see replaces it only while it is not over
	w watcher
}

// known reports whether the batch was seen at least once: every batch a
// round sees has its batch_id (decodeBatch and decodePage refuse one
// without, and see takes only the ids waited for).
func (x *waited) known() bool { return x.b.BatchID != "" }

// over reports whether the batch was seen terminal.
func (x *waited) over() bool { return x.b.Status.IsTerminal() }

// MaxGetEach is how many batches WaitBatches asks for with a GetBatch each
// rather than a walk of the list, whatever the walk would cost: so few
// GETs cost less than a page of MaxLimit batches (a page of 1000 is about
// 2 MB; a batch about 1 KB), and the first round needs no walk to know.
const MaxGetEach = 10

// WaitBatches waits until every batch of ids, in the bucket, has ended,
// and returns them in the order of ids (an id given twice is waited for
// once and returned twice). A round polls every batch still waited for in
// one of two ways, whichever costs fewer requests:
//
//   - a walk of List Batches: pages of MaxLimit, newest first, from the
//     top of the list down to the oldest batch still waited for, then the
//     walk stops. So 10,000 batches created together cost 10 requests a
//     round, and fewer as the oldest end; batches created after them add
//     a request a thousand.
//   - a GetBatch each, when at most MaxGetEach (10) are still waited for,
//     or fewer than the pages the last walk needed: 2 old batches under
//     15,000 newer ones cost 2 GETs a round, not 16 pages.
//
// A walk lists only the batches of a collection that every batch still
// waited for feeds when, by the last walk of the whole list, that saves a
// page: batches often share their collections with all their bucket's
// (on the reference server, each batch of bucket b feeds col_b_t0), and
// the filter then saves nothing. A walk does not filter by status: a batch
// changes status during a walk, and the wait needs each batch's final
// value, which a list of the active statuses would not hold.
//
// In the first round a walk goes on until it has found every id (to the
// end of the list when one is not in the bucket). An id a walk did not
// find is asked for with GetBatch: a 404 (the batch was deleted, or never
// was) ends the wait with that *Error, as it does in a round of GETs.
//
// It returns when every batch is terminal: the batches and nil when each
// ended COMPLETED or COMPLETED_WITH_ERRORS, or an error joining a
// *StatusError for each that ended FAILED or CANCELED (errors.Is matches
// ErrBatchFailed, ErrBatchCanceled). A DRAFT batch ends the wait at once
// with its *StatusError (ErrBatchNotSubmitted). Rounds follow the schedule
// of WaitBatch, and so do statuses it cannot follow (OnUnknownStatus),
// failed rounds (MaxPollFailures; a walk whose pages cannot make up the
// list, ErrInconsistentPage, counts as one), the poll timeout, the context,
// and refused arguments (an id checkPathSegment refuses matches
// ErrValidation). OnProgress gets each batch when first seen and when it
// changed. With no ids it returns at once, having sent nothing. On an
// error, the batches returned are the last seen (zero Batches for those
// not seen).
func (c *Client) WaitBatches(ctx context.Context, bucketIdentifier string, ids []string, opts ...WaitOption) ([]Batch, error) {
	wc, err := newWaitConfig(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := c.prepare(wc.callOpts, func() error {
		if err := checkPathSegment(opListBatches, "bucket identifier", "bucket", bucketIdentifier); err != nil {
			return err
		}
		for _, id := range ids {
			if err := checkPathSegment(opGetBatch, "batch id", "batch", id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	walkOpts := wc.bound(&cfg)
	if len(ids) == 0 {
		return []Batch{}, nil
	}
	state := make(map[string]*waited, len(ids))
	var unique []string // ids, each once, in order
	for _, id := range ids {
		if state[id] == nil {
			state[id] = &waited{}
			unique = append(unique, id)
		}
	}
	remaining := len(state)
	results := func() []Batch {
		out := make([]Batch, len(ids))
		for i, id := range ids {
			out[i] = state[id].b
		}
		return out
	}
	var failed []error
	// see takes a batch the round got: a change goes to OnProgress; a
	// DRAFT batch ends the wait.
	see := func(x *waited, b Batch) error {
		x.b = b
		if x.w.changed(b.RawJSON()) && wc.onProgress != nil {
			wc.onProgress(b)
		}
		switch over, active := follows(b.Status); {
		case over:
			remaining--
			if err := batchOutcome(b); err != nil {
				failed = append(failed, err)
			}
		case b.Status == TaskStatusDraft:
			return batchOutcome(b)
		case !active:
			x.w.unknownStatus(wc, b.BatchID, b.Status)
		}
		return nil
	}
	// get asks for each batch still waited for that found does not hold.
	get := func(ctx context.Context, found map[string]bool) error {
		for _, id := range unique {
			if x := state[id]; !x.over() && !found[id] {
				b, err := getBatch(ctx, cfg, bucketIdentifier, id)
				if err != nil {
					return err
				}
				if err := see(x, b); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var (
		lastPages int // the pages the last walk read; 0 before the first
		// Of the last walk of the whole list: the batches it read, and
		// how many of them feed each collection.
		walked       int
		walkedWith   map[string]int
		filterChosen string // the collection the walks list; "" none
	)
	round := func(ctx context.Context) (bool, error) {
		if remaining <= MaxGetEach || remaining < lastPages {
			if err := get(ctx, nil); err != nil {
				return false, err
			}
			return remaining == 0, nil
		}
		// The oldest batch still waited for that a round before has seen
		// bounds the walk; and the collections all of them feed.
		var floor time.Time
		var common []string
		first, unseen := true, false
		for _, id := range unique {
			x := state[id]
			switch {
			case x.over():
				continue
			case !x.known():
				unseen = true
				continue
			}
			if floor.IsZero() || x.b.CreatedAt.Before(floor) {
				floor = x.b.CreatedAt
			}
			if first {
				common, first = slices.Clone(x.b.CollectionIDs), false
			} else {
				common = slices.DeleteFunc(common, func(c string) bool { return !slices.Contains(x.b.CollectionIDs, c) })
			}
		}
		p := ListBatchesParams{Limit: MaxLimit}
		switch {
		case unseen:
			floor = time.Time{} // the walk goes on until it has found them
		case filterChosen != "" && slices.Contains(common, filterChosen):
			p.CollectionID = filterChosen
		case walkedWith != nil:
			// The collection in common that the last walk of the whole
			// list met least, if listing it alone saves a page.
			slices.Sort(common)
			for _, c := range common {
				if pages(walkedWith[c]) < pages(walked) && (p.CollectionID == "" || walkedWith[c] < walkedWith[p.CollectionID]) {
					p.CollectionID = c
				}
			}
			filterChosen = p.CollectionID
		}
		if p.CollectionID == "" {
			walked, walkedWith = 0, map[string]int{}
		}
		want := remaining
		found := make(map[string]bool, want)
		n := 0
		for b, err := range c.AllBatches(ctx, bucketIdentifier, &p, walkOpts...) {
			if err != nil {
				return false, err
			}
			n++
			if p.CollectionID == "" {
				walked++
				for _, c := range b.CollectionIDs {
					walkedWith[c]++
				}
			}
			if x := state[b.BatchID]; x != nil && !x.over() && !found[b.BatchID] {
				found[b.BatchID] = true
				if err := see(x, b); err != nil {
					return false, err
				}
			}
			if len(found) == want || (!floor.IsZero() && b.CreatedAt.Before(floor)) {
				break
			}
		}
		lastPages = max(pages(n), 1)
		// Those the walk missed: deleted (GetBatch answers 404), or moved
		// by changes of the list during the walk.
		if err := get(ctx, found); err != nil {
			return false, err
		}
		return remaining == 0, nil
	}
	err = wc.loop(ctx, round, func(err error) error {
		return interruption(ctx, err, fmt.Sprintf("%d batches of %d", remaining, len(state)))
	})
	if err != nil {
		return results(), err
	}
	return results(), errors.Join(failed...)
}

// pages is the number of pages of MaxLimit that n batches take.
func pages(n int) int { return (n + MaxLimit - 1) / MaxLimit }
