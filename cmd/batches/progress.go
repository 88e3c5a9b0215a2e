package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mixpeekgo/batches"
)

// progress shows the progress of a wait: on a terminal, a bar redrawn in
// place (github.com/schollz/progressbar: the tiers done of one batch, or
// the batches ended of several, with the status and the time elapsed);
// otherwise one line per change. The waiters call change on their
// goroutine; a ticker redraws the bar between polls, so the time moves.
type progress struct {
	w     io.Writer
	n     int // the batches followed
	start time.Time

	mu   sync.Mutex
	bar  *progressbar.ProgressBar // nil when not a terminal
	last map[string]batches.Batch
	done chan struct{}
	wg   sync.WaitGroup
}

func newProgress(w io.Writer, isTerminal bool, n int) *progress {
	p := &progress{w: w, n: n, start: time.Now(), last: map[string]batches.Batch{}, done: make(chan struct{})}
	if !isTerminal {
		return p
	}
	p.bar = progressbar.NewOptions(1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetDescription("waiting for the first answer"),
		progressbar.OptionSetRenderBlankState(true),
	)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				_ = p.bar.Add(0) // a redraw: the elapsed time moves
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// describe is a batch's status and tier, e.g. "btch_… IN_PROGRESS, tier 2
// of 3" (the API's current_tier counts from 0).
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
	p.last[b.BatchID] = b
	if p.bar == nil {
		fmt.Fprintf(p.w, "%s %s (%s)\n", time.Now().UTC().Format(time.TimeOnly), batchLine(b), p.since())
		return
	}
	if p.n == 1 {
		p.bar.ChangeMax(max(b.TotalTiers, 1))
		p.bar.Describe(batchLine(b))
		_ = p.bar.Set(tiersDone(b))
		return
	}
	ended, failed := 0, 0
	counts := map[batches.TaskStatus]int{}
	for _, x := range p.last {
		counts[x.Status]++
		if x.Status.IsTerminal() {
			ended++
		}
		if x.Status == batches.TaskStatusFailed || x.Status == batches.TaskStatusCanceled {
			failed++
		}
	}
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[st], clean(string(st))))
	}
	p.bar.ChangeMax(p.n)
	p.bar.Describe(fmt.Sprintf("%d of %d ended, %d failed or canceled (%s)", ended, p.n, failed, strings.Join(parts, ", ")))
	_ = p.bar.Set(ended)
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
		_ = p.bar.RenderBlank()
	}
}

// stop ends the display: the bar's last state stays on its line.
func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
	if p.bar != nil {
		_ = p.bar.Add(0)
		fmt.Fprintln(p.w)
	}
}

func (p *progress) since() time.Duration { return time.Since(p.start).Round(100 * time.Millisecond) }

// elapsed is the time since the wait started, rounded to 0.1 s.
func (p *progress) elapsed() time.Duration { return p.since() }

// outcome is the last line of a wait for b: its status, the time, and
// what went wrong.
func outcome(b batches.Batch, elapsed time.Duration) string {
	s := fmt.Sprintf("%s %s after %s", clean(b.BatchID), clean(string(b.Status)), elapsed)
	switch {
	case b.Error != nil && *b.Error != "":
		s += ": " + clean(*b.Error)
	case len(b.ErrorSummary) > 0:
		s += " (errors: " + errorCell(b) + ")"
	}
	return s
}
