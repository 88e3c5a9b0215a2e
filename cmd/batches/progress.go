package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"

	"github.com/mixpeekgo/batches"
)

// terminal is stdout when it is a terminal: its width in columns, asked
// at each redraw (0 or less when it cannot be told: 80 is assumed).
type terminal struct {
	width func() int
}

// defaultColumns is the width assumed when the terminal's cannot be told.
const defaultColumns = 80

// The schedule of the bar: a change is drawn at once unless the bar was
// drawn less than redrawEvery ago (a round of WaitBatches may bring
// thousands of changes at once: drawing each would cost a terminal write
// each); a ticker draws what is left, and moves the time, every tick.
// progressbar's own OptionThrottle is not used: it drops a render within
// its window without drawing it later, so the last change before the end
// of a wait could stay undrawn, and it has no way to force the last frame.
const (
	redrawEvery = 100 * time.Millisecond
	tickEvery   = 200 * time.Millisecond
)

// progress shows the progress of a wait: on a terminal, a bar redrawn in
// place (github.com/schollz/progressbar: the tiers done of one batch, or
// the batches ended of several, with the status and the time elapsed),
// fitted to the terminal's width so that it never wraps (a wrapped line
// cannot be redrawn in place: each redraw would leave a stale line);
// otherwise one line per change. The waiters call change on their
// goroutine; a ticker redraws the bar between polls, so the time moves.
//
// A change costs O(1) whatever the number of batches: the counts of each
// status are kept as batches change, and the bar is drawn at most every
// redrawEvery (and at the ticks and the end).
type progress struct {
	w     io.Writer
	n     int // the batches followed
	tty   *terminal
	now   func() time.Time
	start time.Time

	mu     sync.Mutex
	bar    *progressbar.ProgressBar // nil when not a terminal
	last   map[string]batches.Batch // each batch as last seen
	endAt  map[string]time.Duration // when each batch was first seen ended, since start
	counts map[batches.TaskStatus]int
	ended  int           // batches in a terminal status
	single batches.Batch // the last batch seen, for a wait of one
	dirty  bool          // a change not drawn yet
	drawn  time.Time     // when the bar was last drawn
	draws  int           // how many times (tests count them)
	desc   string        // the description drawn last
	done   chan struct{}
	wg     sync.WaitGroup
}

// progressClock is the clock and ticker of a progress; tests stop both.
type progressClock struct {
	now  func() time.Time
	tick time.Duration // 0: no ticker
}

var realClock = progressClock{now: time.Now, tick: tickEvery}

// newProgress shows the progress of a wait for n batches on w; tty is
// nil when w is not a terminal.
func newProgress(w io.Writer, tty *terminal, n int) *progress {
	return newProgressClock(w, tty, n, realClock)
}

func newProgressClock(w io.Writer, tty *terminal, n int, clock progressClock) *progress {
	p := &progress{
		w: w, n: n, tty: tty, now: clock.now, start: clock.now(),
		last: map[string]batches.Batch{}, endAt: map[string]time.Duration{}, counts: map[batches.TaskStatus]int{},
		done: make(chan struct{}),
	}
	if tty == nil {
		return p
	}
	p.bar = progressbar.NewOptions(1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(maxBarWidth),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetDescription(""),
	)
	p.mu.Lock()
	p.draw()
	p.drawn = time.Time{} // the first answer is drawn at once
	p.mu.Unlock()
	if clock.tick > 0 {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			t := time.NewTicker(clock.tick)
			defer t.Stop()
			for {
				select {
				case <-p.done:
					return
				case <-t.C:
					p.mu.Lock()
					p.draw() // the elapsed time moves
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

// batchLine is a batch's id, status and tier, e.g. "btch_… IN_PROGRESS,
// tier 2 of 3" (the API's current_tier counts from 0).
func batchLine(b batches.Batch) string {
	s := clean(b.BatchID) + " " + clean(string(b.Status))
	switch {
	case b.CurrentTier != nil:
		s += fmt.Sprintf(", tier %d of %d", *b.CurrentTier+1, b.TotalTiers)
	case b.TotalTiers > 0:
		s += fmt.Sprintf(", %d tiers", b.TotalTiers)
	}
	return s
}

// tiersDone is the number of b's tiers that ended.
func tiersDone(b batches.Batch) int {
	n := 0
	for _, t := range b.TierTasks {
		if t.Status.IsTerminal() {
			n++
		}
	}
	return n
}

// change takes a batch that changed (the waiters' OnProgress).
func (p *progress) change(b batches.Batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.last[b.BatchID]; ok {
		p.count(old.Status, -1)
	}
	p.count(b.Status, +1)
	p.last[b.BatchID] = b
	p.single = b
	if _, ok := p.endAt[b.BatchID]; !ok && b.Status.IsTerminal() {
		p.endAt[b.BatchID] = p.since()
	}
	if p.bar == nil {
		fmt.Fprintf(p.w, "%s %s (%s)\n", p.now().UTC().Format(time.TimeOnly), batchLine(b), p.since())
		return
	}
	p.dirty = true
	if p.now().Sub(p.drawn) >= redrawEvery {
		p.draw()
	}
}

// count adds d batches of status s.
func (p *progress) count(s batches.TaskStatus, d int) {
	p.counts[s] += d
	if p.counts[s] == 0 {
		delete(p.counts, s)
	}
	if s.IsTerminal() {
		p.ended += d
	}
}

// Widths of the bar, in columns.
const (
	maxBarWidth = 24
	minBarWidth = 10
	// What progressbar adds to the description: " 100% " (the percent
	// is 4 wide), the bar's two ends, " " and the count, " [" the
	// elapsed time "]" and a space; the elapsed time is given 9 columns
	// ("99h59m59s"); one more column stays free, so that the cursor never
	// reaches the last one (where some terminals wrap).
	barFrame   = 6 + 2 + 1 + 2 + 1 + 1
	elapsedMax = 9
)

// draw redraws the bar with the current counts, fitted to the terminal's
// width. The caller holds p.mu.
func (p *progress) draw() {
	var desc string
	var value, maxValue int
	switch {
	case len(p.last) == 0:
		desc, value, maxValue = "waiting for the first answer", 0, max(p.n, 1)
	case p.n == 1:
		desc, value, maxValue = batchLine(p.single), tiersDone(p.single), max(p.single.TotalTiers, 1)
	default:
		desc, value, maxValue = p.summary(), p.ended, p.n
	}
	count := fmt.Sprintf("(%d/%d)", value, maxValue)
	cols := defaultColumns
	if p.tty.width != nil {
		if w := p.tty.width(); w > 0 {
			cols = w
		}
	}
	room := cols - 1 - barFrame - elapsedMax - len(count) // for the description and the bar
	barWidth := min(maxBarWidth, max(minBarWidth, room-utf8.RuneCountInString(desc)))
	barWidth = max(0, min(barWidth, room))
	desc = fit(desc, room-barWidth)
	progressbar.OptionSetWidth(barWidth)(p.bar)
	if desc != p.desc {
		if p.bar.IsFinished() {
			p.bar.Describe(desc) // a finished bar is redrawn by Describe only
		} else {
			progressbar.OptionSetDescription(desc)(p.bar) // drawn by Set below
		}
		p.desc = desc
	}
	if p.bar.GetMax() != maxValue {
		p.bar.ChangeMax(maxValue)
	}
	_ = p.bar.Set(value)
	p.dirty = false
	p.drawn = p.now()
	p.draws++
}

// statusOrder is each status's place in the API's order (TaskStatuses).
var statusOrder = func() map[batches.TaskStatus]int {
	order := map[batches.TaskStatus]int{}
	for i, s := range batches.TaskStatuses() {
		order[s] = i
	}
	return order
}()

// summary is the statuses of several batches, e.g. "2 FAILED, 9000
// PENDING, 766 IN_PROGRESS, 232 COMPLETED": those that failed first, then
// those still active, then the others, each in the API's order (the count
// of those ended is the bar's).
func (p *progress) summary() string {
	rank := func(s batches.TaskStatus) int {
		switch {
		case s == batches.TaskStatusFailed || s == batches.TaskStatusCanceled:
			return 0
		case s.IsActive():
			return 1
		}
		return 2
	}
	statuses := slices.SortedFunc(maps.Keys(p.counts), func(a, b batches.TaskStatus) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		oa, aok := statusOrder[a]
		ob, bok := statusOrder[b]
		switch {
		case aok && bok:
			return oa - ob
		case aok != bok: // known statuses first
			if aok {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a), string(b))
	})
	parts := make([]string, len(statuses))
	for i, s := range statuses {
		parts[i] = fmt.Sprintf("%d %s", p.counts[s], clean(string(s)))
	}
	return strings.Join(parts, ", ")
}

// fit cuts s to at most n characters, marking the cut with "…".
func fit(s string, n int) string {
	switch {
	case n <= 0:
		return ""
	case utf8.RuneCountInString(s) <= n:
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// note prints a line, above the bar on a terminal.
func (p *progress) note(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(p.w, s)
	if p.bar != nil {
		p.draw()
	}
}

// stop ends the display: the bar's last state, drawn now, stays on its
// line.
func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
	if p.bar != nil {
		p.mu.Lock()
		p.draw()
		p.mu.Unlock()
		fmt.Fprintln(p.w)
	}
}

// since is the time since the wait started, rounded to 0.1 s.
func (p *progress) since() time.Duration { return p.now().Sub(p.start).Round(100 * time.Millisecond) }

// outcome is the last line of a wait for b: its status, when the wait saw
// it end, and what went wrong; for a batch that had not ended when the
// wait stopped (another was DRAFT), that it is still running.
func (p *progress) outcome(b batches.Batch) string {
	p.mu.Lock()
	at, ended := p.endAt[b.BatchID]
	p.mu.Unlock()
	id, status := clean(b.BatchID), clean(string(b.Status))
	switch {
	case b.Status == batches.TaskStatusDraft:
		return fmt.Sprintf("%s DRAFT: never submitted", id)
	case !ended:
		return fmt.Sprintf("%s still running (%s) when the wait stopped after %s", id, status, p.since())
	}
	s := fmt.Sprintf("%s %s after %s", id, status, at)
	switch {
	case b.Error != nil && *b.Error != "":
		s += ": " + clean(*b.Error)
	case len(b.ErrorSummary) > 0:
		s += " (errors: " + errorCell(b) + ")"
	}
	return s
}
