package domain

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Processing is how the server simulates the processing of a submitted
// batch: how many tiers a batch has and which collections each writes,
// how long a tier takes, and how often one fails. The zero value is
// [DefaultProcessing]'s settings; batchesd's flags set them
// (--process-tier-duration, --process-failure-ratio,
// --process-error-ratio, --process-tiers).
//
// Every draw is a hash of the task and the tier, so that the same
// submission always goes the same way (a test may count on it), and a
// tier processed again after a crash ends as it would have.
type Processing struct {
	// TierDuration is the mean time a tier takes, from its start to its
	// end: each batch's tiers take 0.5 to 1.5 times it (so that batches
	// submitted together do not finish together). 0 means
	// DefaultTierDuration; a negative value means none (tiers finish as
	// soon as the queue runs their jobs).
	TierDuration time.Duration
	// FailureRatio is the chance (0 to 1) that a tier fails, which fails
	// the batch; ErrorRatio that it finishes with some of its documents
	// failed, which ends the batch COMPLETED_WITH_ERRORS (unless a later
	// tier fails). Negative means 0; both zero mean the defaults, unless
	// NoFailures.
	FailureRatio, ErrorRatio float64
	// NoFailures makes every tier succeed (both ratios 0).
	NoFailures bool
	// Tiers is the number of tiers of a new batch, 1 to MaxProcessingTiers; 0 means
	// DefaultTiers.
	Tiers int
	// Now is the clock of the lifecycle's timestamps; nil means
	// time.Now. Tests give a fake one.
	Now func() time.Time
}

// The defaults of [Processing], which make the demo look alive: a batch
// of two tiers ends in about six seconds, one in ten fails and one in six
// finishes with errors.
const (
	DefaultTierDuration = 3 * time.Second
	DefaultFailureRatio = 0.1
	DefaultErrorRatio   = 0.15
	DefaultTiers        = 2
	// MaxProcessingTiers is the most tiers the server gives a batch: with
	// more, what processing adds to a batch would crowd its objects out of
	// MaxBatchBytes.
	MaxProcessingTiers = 5
)

// settled returns p with its defaults filled in; it returns an error
// wrapping ErrInvalid for a ratio above 1, ratios adding to more than 1,
// or Tiers out of 0 to MaxProcessingTiers.
func (p Processing) settled() (Processing, error) {
	if p.TierDuration == 0 {
		p.TierDuration = DefaultTierDuration
	}
	if p.TierDuration < 0 {
		p.TierDuration = 0
	}
	switch {
	case p.NoFailures:
		p.FailureRatio, p.ErrorRatio = 0, 0
	case p.FailureRatio == 0 && p.ErrorRatio == 0:
		p.FailureRatio, p.ErrorRatio = DefaultFailureRatio, DefaultErrorRatio
	}
	p.FailureRatio, p.ErrorRatio = max(p.FailureRatio, 0), max(p.ErrorRatio, 0)
	if p.FailureRatio > 1 || p.ErrorRatio > 1 || p.FailureRatio+p.ErrorRatio > 1 {
		return p, fmt.Errorf("%w: the failure ratio (%g) and the error ratio (%g) must be 0 to 1 and add up to 1 at most",
			ErrInvalid, p.FailureRatio, p.ErrorRatio)
	}
	if p.Tiers == 0 {
		p.Tiers = DefaultTiers
	}
	if p.Tiers < 1 || p.Tiers > MaxProcessingTiers {
		return p, fmt.Errorf("%w: tiers %d: a batch has 1 to %d tiers", ErrInvalid, p.Tiers, MaxProcessingTiers)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p, nil
}

// CheckProcessing returns an error wrapping ErrInvalid when p cannot be
// used (see [Processing]'s fields).
func CheckProcessing(p Processing) error {
	_, err := p.settled()
	return err
}

// DAG returns the collections of each tier of a new batch of the bucket
// bucketID, tier 0 first: the rule that stands for Mixpeek's discovery of
// the bucket's collections, which the server does not model. Tier k
// writes one collection, "col_" + bucketID + "_t" + k (col_bkt_demo_t0,
// col_bkt_demo_t1, …), so that every batch of a bucket feeds the same
// collections and List Batches' collection filter finds them.
func (p Processing) DAG(bucketID string) [][]string {
	tiers := p.Tiers
	if tiers == 0 {
		tiers = DefaultTiers
	}
	dag := make([][]string, tiers)
	for k := range dag {
		dag[k] = []string{"col_" + bucketID + "_t" + strconv.Itoa(k)}
	}
	return dag
}

// Outcome is how a tier ends.
type Outcome int

const (
	// Completed: every document written.
	Completed Outcome = iota
	// CompletedWithErrors: some documents failed; the tier and the batch
	// go on, and the batch ends COMPLETED_WITH_ERRORS.
	CompletedWithErrors
	// Failed: the tier failed; the batch ends FAILED, its later tiers
	// SKIPPED.
	Failed
)

// draw returns a number in [0, 1) that is a hash of parts.
func draw(parts ...string) float64 {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(parts, "\x00")))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// outcome is how tier tier of the processing task taskID ends.
func (p Processing) outcome(taskID string, tier int) Outcome {
	u := draw("outcome", taskID, strconv.Itoa(tier))
	switch {
	case u < p.FailureRatio:
		return Failed
	case u < p.FailureRatio+p.ErrorRatio:
		return CompletedWithErrors
	}
	return Completed
}

// duration is how long tier tier of the processing task taskID takes:
// TierDuration times 0.5 to 1.5, to the millisecond.
func (p Processing) duration(taskID string, tier int) time.Duration {
	f := 0.5 + draw("duration", taskID, strconv.Itoa(tier))
	return (time.Duration(float64(p.TierDuration)*f) + time.Millisecond/2).Truncate(time.Millisecond)
}

// String returns the cursor as the API gives it (next_cursor): opaque,
// URL-safe.
func (c TaskCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + "." + c.TaskID))
}

// ParseTaskCursor returns the cursor that s, a next_cursor the API gave,
// stands for; an *Error of kind ErrInvalid (400) for a string the server
// did not give: only the exact bytes [TaskCursor.String] makes of a task's
// created_at (nanoseconds since the Unix epoch, in decimal, not negative,
// without sign or leading zeros) and id (as [NewID] makes them, task_ and
// 12 characters of [a-z0-9]) are a cursor, so that "-5.task_x" or
// "+1.task_…" are refused rather than taken as somewhere in the list.
func ParseTaskCursor(s string) (TaskCursor, error) {
	bad := &Error{Kind: ErrInvalid, Message: "cursor is not a next_cursor of this server",
		Details: map[string]any{"parameter": "cursor"}}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return TaskCursor{}, bad
	}
	ns, id, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != ns || !isNewID("task_", id) {
		return TaskCursor{}, bad
	}
	c := TaskCursor{CreatedAt: time.Unix(0, n).UTC(), TaskID: id}
	if c.String() != s {
		return TaskCursor{}, bad
	}
	return c, nil
}

// isNewID reports whether id is one [NewID] could have made with prefix.
func isNewID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != idLength {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(idAlphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}
