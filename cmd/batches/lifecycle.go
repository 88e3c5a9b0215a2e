package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mixpeekgo/batches"
)

// The lifecycle's commands: each is one call of the client (two for
// create --metadata), its answer printed as the API sent it, indented;
// wait and submit --wait follow the batch with the client's waiters and
// show its progress (progress.go).

// batchArg is the bucket and batch of a command on one batch.
type batchArg struct {
	Bucket  string `name:"bucket" required:"" placeholder:"BUCKET" help:"Bucket id or name."`
	BatchID string `arg:"" name:"batch-id" help:"The batch, btch_…"`
}

// Repeatable flags whose values are text take each value whole
// (sep:"none"): kong would otherwise split them at commas, and object ids
// and metadata values may hold commas. --tier's numbers hold none, so it
// keeps kong's split (--tier 0,1). TestRepeatableFlagsKeepCommas checks
// every flag of the command line.

type createCmd struct {
	Bucket   string   `name:"bucket" required:"" placeholder:"BUCKET" help:"Bucket id or name."`
	ObjectID []string `name:"object-id" required:"" sep:"none" placeholder:"ID" help:"An object of the bucket (repeat for more, 1 to 1000)."`
	Metadata []string `name:"metadata" sep:"none" placeholder:"KEY=VALUE" help:"Metadata to set once created (repeat for more)."`
}

type getCmd struct{ batchArg }

type updateCmd struct {
	batchArg
	Metadata []string `name:"metadata" sep:"none" placeholder:"KEY=VALUE" help:"The batch's new metadata, replacing it whole (repeat for more)."`
	Clear    bool     `name:"clear" help:"Set the metadata to {}."`
}

type deleteCmd struct{ batchArg }

type addObjectsCmd struct {
	batchArg
	ObjectID []string `name:"object-id" required:"" sep:"none" placeholder:"ID" help:"An object to add (repeat for more); the batch must be DRAFT."`
}

type submitCmd struct {
	batchArg
	Wait bool `name:"wait" help:"Then wait for the batch to end, showing its progress (see wait --help)."`
}

type cancelCmd struct{ batchArg }

type retryCmd struct {
	batchArg
	Mode          string `name:"mode" enum:"transient_only,all," default:"" placeholder:"MODE" help:"transient_only (the API's default) or all."`
	Tier          []int  `name:"tier" placeholder:"N" help:"A tier to retry from, 0-based (repeat, or 0,1; default: every tier with errors)."`
	MaxRetryCount int    `name:"max-retry-count" placeholder:"N" help:"Retries the batch may have had, 1 to 10 (default 3)."`
}

type waitCmd struct {
	Bucket   string   `name:"bucket" required:"" placeholder:"BUCKET" help:"Bucket id or name."`
	BatchIDs []string `arg:"" name:"batch-id" help:"The batches to wait for (several: a walk of List a round, or a GET each when few)."`
}

type tasksCmd struct {
	Get  taskGetCmd  `cmd:"" help:"Print a task."`
	List taskListCmd `cmd:"" help:"List tasks, newest first, one a line (JSON)."`
	Kill taskKillCmd `cmd:"" help:"Kill a task (cancels its batch if running); idempotent."`
}

type taskGetCmd struct {
	TaskID string `arg:"" name:"task-id" help:"The task, task_…"`
}

type taskKillCmd struct {
	TaskID string `arg:"" name:"task-id" help:"The task, task_…"`
}

type taskListCmd struct {
	Status string `name:"status" placeholder:"STATUS" help:"Only this status (any case)."`
	Type   string `name:"type" placeholder:"TYPE" help:"Only this task type, e.g. api_buckets_batches_process."`
	Limit  *int   `name:"limit" placeholder:"N" help:"Tasks a page, 1..1000 (default 100)."`
	All    bool   `name:"all" help:"Every page, following the cursors."`
}

// waitHelp is the detail of wait --help and submit --help.
const waitHelp = `Polls as the API says (1 s doubling up to 30 s, Retry-After honoured) until
the batch ends. On a terminal a bar shows its tiers, status and time;
otherwise one line is printed per change, then the outcome.

Exit status: 0 COMPLETED or COMPLETED_WITH_ERRORS; 6 FAILED or CANCELED;
1 DRAFT (never submitted) or another failure; 3, 4, 5, 130 as in batches --help.`

func (w *waitCmd) Help() string     { return waitHelp }
func (k *taskKillCmd) Help() string { return killHelp }

// killHelp is the detail of tasks kill --help.
const killHelp = `A running task of a batch cancels the batch. The API answers 200 whatever
there is to kill, so a failed request is retried (--max-retries): when an
attempt killed the task but its answer was lost, the retry's answer says
"Task … is not running: nothing to kill". The task was killed all the same,
by the first attempt; tasks get tells its status (CANCELED).`

func (s *submitCmd) Help() string { return "Submits a DRAFT batch; with --wait:\n" + waitHelp }

// parseMetadata turns KEY=VALUE flags into metadata (values are strings).
func parseMetadata(flags []string) (map[string]any, error) {
	m := make(map[string]any, len(flags))
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case !ok || k == "":
			return nil, usagef("--metadata %q: want KEY=VALUE", f)
		case m[k] != nil:
			return nil, usagef("--metadata: the key %q is given twice", k)
		}
		m[k] = v
	}
	return m, nil
}

// printJSON prints raw (an answer as the API sent it) indented, or v
// encoded when raw is nil.
func printJSON(w io.Writer, raw json.RawMessage, v any) error {
	raw, err := rawOrMarshal(raw, v)
	if err != nil {
		return err
	}
	return writeJSON(w, raw)
}

// lifecycle runs the command named cmd (kong's path, without arguments)
// with c.
func (cl *cli) lifecycle(ctx context.Context, cmd string, c *batches.Client, s settings, stdout, stderr io.Writer, tty *terminal) int {
	// answer prints a call's answer, or fails with its error.
	answer := func(raw json.RawMessage, v any, err error) int {
		if err != nil {
			return fail(stderr, s, err)
		}
		if err := printJSON(stdout, raw, v); err != nil {
			return writeFailed(stderr, s, err)
		}
		return exitOK
	}
	switch cmd {
	case "create":
		md, err := parseMetadata(cl.Create.Metadata)
		if err != nil {
			return reportUsage(stderr, cmd, err)
		}
		b, err := c.CreateBatch(ctx, cl.Create.Bucket, cl.Create.ObjectID)
		if err == nil && len(md) > 0 {
			var patched batches.Batch
			if patched, err = c.UpdateBatch(ctx, cl.Create.Bucket, b.BatchID, md); err != nil {
				fmt.Fprintf(stderr, "error: batch %s was created, but its metadata was not set:\n", clean(b.BatchID))
			} else {
				b = patched
			}
		}
		return answer(b.RawJSON(), b, err)
	case "get":
		b, err := c.GetBatch(ctx, cl.Get.Bucket, cl.Get.BatchID)
		return answer(b.RawJSON(), b, err)
	case "update":
		if len(cl.Update.Metadata) == 0 && !cl.Update.Clear {
			return reportUsage(stderr, cmd, usagef("update: give --metadata KEY=VALUE (the new metadata, whole) or --clear"))
		}
		if len(cl.Update.Metadata) > 0 && cl.Update.Clear {
			return reportUsage(stderr, cmd, usagef("update: --metadata and --clear exclude each other"))
		}
		md, err := parseMetadata(cl.Update.Metadata)
		if err != nil {
			return reportUsage(stderr, cmd, err)
		}
		b, err := c.UpdateBatch(ctx, cl.Update.Bucket, cl.Update.BatchID, md)
		return answer(b.RawJSON(), b, err)
	case "delete":
		d, err := c.DeleteBatch(ctx, cl.Delete.Bucket, cl.Delete.BatchID)
		return answer(nil, d, err)
	case "add-objects":
		b, err := c.AddObjects(ctx, cl.AddObjects.Bucket, cl.AddObjects.BatchID, cl.AddObjects.ObjectID)
		return answer(b.RawJSON(), b, err)
	case "submit":
		t, err := c.SubmitBatch(ctx, cl.Submit.Bucket, cl.Submit.BatchID)
		if err != nil || !cl.Submit.Wait {
			return answer(t.RawJSON(), t, err)
		}
		fmt.Fprintf(stdout, "%s submitted: task %s\n", clean(cl.Submit.BatchID), clean(t.TaskID))
		return waitBatches(ctx, c, s, cl.Submit.Bucket, []string{cl.Submit.BatchID}, stdout, stderr, tty)
	case "cancel":
		t, err := c.CancelBatch(ctx, cl.Cancel.Bucket, cl.Cancel.BatchID)
		return answer(t.RawJSON(), t, err)
	case "retry":
		r, err := c.RetryBatch(ctx, cl.Retry.Bucket, cl.Retry.BatchID, &batches.RetryParams{
			Mode: batches.RetryMode(cl.Retry.Mode), TierNums: cl.Retry.Tier, MaxRetryCount: cl.Retry.MaxRetryCount})
		return answer(r.RawJSON(), r, err)
	case "wait":
		return waitBatches(ctx, c, s, cl.Wait.Bucket, cl.Wait.BatchIDs, stdout, stderr, tty)
	case "tasks get":
		t, err := c.GetTask(ctx, cl.Tasks.Get.TaskID)
		return answer(t.RawJSON(), t, err)
	case "tasks kill":
		d, err := c.KillTask(ctx, cl.Tasks.Kill.TaskID)
		return answer(nil, d, err)
	case "tasks list":
		return listTasks(ctx, c, s, cl.Tasks.List, stdout, stderr)
	}
	return reportUsage(stderr, cmd, usagef("unknown command %q", cmd))
}

// listTasks prints tasks, one a line as the server sent it.
func listTasks(ctx context.Context, c *batches.Client, s settings, l taskListCmd, stdout, stderr io.Writer) int {
	p := &batches.ListTasksParams{TaskType: batches.TaskType(l.Type)}
	if l.Limit != nil {
		if err := checkLimit(*l.Limit); err != nil {
			return reportUsage(stderr, "tasks list", err)
		}
		p.Limit = *l.Limit
	}
	if l.Status != "" {
		st, err := parseStatus(l.Status, "status")
		if err != nil {
			return reportUsage(stderr, "tasks list", err)
		}
		noteStatus(stderr, l.Status, st)
		p.Status = st
	}
	if !l.All {
		page, err := c.ListTasks(ctx, p)
		if err != nil {
			return fail(stderr, s, err)
		}
		for _, t := range page.Results {
			if err := writeJSONLine(stdout, t.RawJSON()); err != nil {
				return writeFailed(stderr, s, err)
			}
		}
		if page.NextCursor != "" {
			fmt.Fprintln(stderr, "note: more tasks follow (--all lists them)")
		}
		return exitOK
	}
	for t, err := range c.AllTasks(ctx, p) {
		if err != nil {
			return fail(stderr, s, err)
		}
		if err := writeJSONLine(stdout, t.RawJSON()); err != nil {
			return writeFailed(stderr, s, err)
		}
	}
	return exitOK
}

// waitBatches waits for the batches, showing their progress on stdout,
// and ends with a line for each outcome. Its exit status: exitOK when
// every batch ended COMPLETED or COMPLETED_WITH_ERRORS, exitBatchFailed
// when one ended FAILED or CANCELED, else the failure's.
func waitBatches(ctx context.Context, c *batches.Client, s settings, bucket string, ids []string, stdout, stderr io.Writer, tty *terminal) int {
	show := newProgress(stdout, tty, len(slices.Compact(slices.Sorted(slices.Values(ids)))))
	var (
		bs  []batches.Batch
		err error
	)
	// The API's schedule is in whole seconds: 1 s up to 30 s of pollUnit.
	lo, hi := batches.PollIntervalMin/time.Second, batches.PollIntervalMax/time.Second
	opts := []batches.WaitOption{
		batches.PollBackoff(s.pollUnit*lo, s.pollUnit*hi),
		batches.OnProgress(show.change),
		batches.OnUnknownStatus(func(id string, st batches.TaskStatus) {
			show.note(fmt.Sprintf("note: %s has status %s, which the API does not say how to follow; waiting on", clean(id), clean(string(st))))
		}),
	}
	if len(ids) == 1 {
		var b batches.Batch
		b, err = c.WaitBatch(ctx, bucket, ids[0], opts...)
		bs = []batches.Batch{b}
	} else {
		bs, err = c.WaitBatches(ctx, bucket, ids, opts...)
	}
	show.stop()
	var se *batches.StatusError
	if err != nil && !errors.As(err, &se) {
		return fail(stderr, s, err)
	}
	code := exitOK
	printed := map[string]bool{}
	for _, b := range bs {
		if b.BatchID == "" || printed[b.BatchID] {
			continue
		}
		printed[b.BatchID] = true
		fmt.Fprintln(stdout, show.outcome(b))
		if b.Status == batches.TaskStatusFailed || b.Status == batches.TaskStatusCanceled {
			code = exitBatchFailed
		}
	}
	if errors.Is(err, batches.ErrBatchNotSubmitted) {
		return fail(stderr, s, err)
	}
	return code
}
