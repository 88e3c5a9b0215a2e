package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mixpeekgo/batches"
)

// progressBatches is n batches as a wait of n sees them in its first
// round: the first half PENDING, then IN_PROGRESS, one in ten COMPLETED.
func progressBatches(n int) []batches.Batch {
	bs := make([]batches.Batch, n)
	for i := range bs {
		st := batches.TaskStatusPending
		switch {
		case i%10 == 0:
			st = batches.TaskStatusCompleted
		case i >= n/2:
			st = batches.TaskStatusInProgress
		}
		bs[i] = batches.Batch{BatchID: fmt.Sprintf("btch_%06d", i), Status: st, TotalTiers: 2, CreatedAt: time.Unix(0, 0)}
	}
	return bs
}

// BenchmarkProgress is the bar of a wait for 10,000 batches on a
// terminal taking the 10,000 changes of one round (an op is the round).
//
//	go test ./cmd/batches -run '^$' -bench Progress
func BenchmarkProgress(b *testing.B) {
	bs := progressBatches(10000)
	for b.Loop() {
		p := newProgress(io.Discard, &terminal{}, len(bs))
		for _, x := range bs {
			p.change(x)
		}
		p.stop()
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) add(d time.Duration)  { c.t = c.t.Add(d) }
func (c *fakeClock) clock() progressClock { return progressClock{now: c.now} }
func newFakeClock() *fakeClock            { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func statusesOf(p *progress) map[string]int {
	m := map[string]int{}
	for s, n := range p.counts {
		m[string(s)] = n
	}
	return m
}

// A round of 10,000 changes is drawn once (the first change), not once a
// change; the counts follow each change without a recount; the next
// change after redrawEvery is drawn; the end is drawn whatever the time.
func TestProgressCountsAndDraws(t *testing.T) {
	clock := newFakeClock()
	var out strings.Builder
	p := newProgressClock(&out, &terminal{width: func() int { return 120 }}, 10000, clock.clock())
	bs := progressBatches(10000)
	for _, b := range bs {
		p.change(b)
	}
	if p.draws != 2 || p.dirty != true {
		t.Fatalf("%d draws after a round (want the first answer's and the first change's), dirty %v", p.draws, p.dirty)
	}
	if got := fmt.Sprint(statusesOf(p)); got != "map[COMPLETED:1000 IN_PROGRESS:4500 PENDING:4500]" || p.ended != 1000 {
		t.Fatalf("counts %s, %d ended", got, p.ended)
	}
	// The next round: every PENDING one fails, 1 ms later (not drawn),
	// then 100 ms later one more change (drawn).
	clock.add(time.Millisecond)
	for _, b := range bs {
		if b.Status == batches.TaskStatusPending {
			b.Status = batches.TaskStatusFailed
			p.change(b)
		}
	}
	clock.add(redrawEvery)
	b := bs[1]
	b.Status = batches.TaskStatusCanceled
	p.change(b)
	if p.draws != 3 || p.dirty {
		t.Fatalf("%d draws, dirty %v", p.draws, p.dirty)
	}
	if got := fmt.Sprint(statusesOf(p)); got != "map[CANCELED:1 COMPLETED:1000 FAILED:4499 IN_PROGRESS:4500]" || p.ended != 5500 {
		t.Fatalf("counts %s, %d ended", got, p.ended)
	}
	p.stop()
	if p.draws != 4 {
		t.Errorf("%d draws after stop", p.draws)
	}
	// The last frame: the failures first, then those active, then the rest.
	frames := strings.FieldsFunc(out.String(), func(r rune) bool { return r == '\r' || r == '\n' })
	if last := frames[len(frames)-1]; !strings.HasPrefix(last, "4499 FAILED, 1 CANCELED, 4500 IN_PROGRESS, 1000 COMPLETED  55% |") ||
		!strings.Contains(last, "| (5500/10000) [0s]") {
		t.Errorf("last frame %q", last)
	}
}

// Every frame of the bar fits the terminal, less its last column, however
// long the description: a line that wraps cannot be redrawn in place.
func TestProgressFitsTheTerminal(t *testing.T) {
	long := "btch_" + strings.Repeat("x", 120)
	every := batches.TaskStatuses()
	for _, width := range []int{120, 80, 60, 40} {
		for _, n := range []int{1, 10000} {
			clock := newFakeClock()
			var out strings.Builder
			p := newProgressClock(&out, &terminal{width: func() int { return width }}, n, clock.clock())
			tier := 0
			for i := range 200 {
				clock.add(redrawEvery) // each change drawn
				b := batches.Batch{BatchID: fmt.Sprintf("%s%d", long, i%n), Status: every[i%len(every)], TotalTiers: 3, CurrentTier: &tier,
					TierTasks: []batches.TierTask{{Status: batches.TaskStatusCompleted}}}
				p.change(b)
			}
			p.stop()
			frames := strings.FieldsFunc(out.String(), func(r rune) bool { return r == '\r' || r == '\n' })
			if len(frames) < 200 {
				t.Fatalf("width %d, %d batches: %d frames", width, n, len(frames))
			}
			for _, f := range frames {
				// The elapsed time (progressbar's, from the real clock)
				// may grow to 9 columns, "99h59m59s".
				cols := utf8.RuneCountInString(f)
				if i, j := strings.LastIndex(f, "["), strings.LastIndex(f, "]"); i >= 0 && j > i {
					cols += elapsedMax - (j - i - 1)
				}
				if cols > width-1 {
					t.Fatalf("width %d, %d batches: a frame of %d columns: %q", width, n, cols, f)
				}
			}
			if last := frames[len(frames)-1]; !strings.Contains(last, "…") && width > 40 {
				t.Errorf("width %d, %d batches: last frame %q", width, n, last)
			}
		}
	}
	// An unknown width is taken as 80 columns.
	var out strings.Builder
	p := newProgressClock(&out, &terminal{width: func() int { return 0 }}, 1, newFakeClock().clock())
	p.change(batches.Batch{BatchID: long, Status: batches.TaskStatusPending})
	p.stop()
	for _, f := range strings.FieldsFunc(out.String(), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if utf8.RuneCountInString(f) > 79 {
			t.Fatalf("a frame of %d columns", utf8.RuneCountInString(f))
		}
	}
}

// The outcome of each batch says when the wait saw it end, and one that
// had not ended when the wait stopped (another was DRAFT) is still
// running; server text is cleaned.
func TestProgressOutcomes(t *testing.T) {
	clock := newFakeClock()
	p := newProgressClock(io.Discard, nil, 4, clock.clock())
	why := "tier 1 failed:\x1b[2J timeout"
	p.change(batches.Batch{BatchID: "btch_a", Status: batches.TaskStatusPending})
	p.change(batches.Batch{BatchID: "btch_b", Status: batches.TaskStatusPending})
	p.change(batches.Batch{BatchID: "btch_c", Status: batches.TaskStatusPending})
	clock.add(1500 * time.Millisecond)
	p.change(batches.Batch{BatchID: "btch_a", Status: batches.TaskStatusCompleted})
	clock.add(2 * time.Second)
	p.change(batches.Batch{BatchID: "btch_b", Status: batches.TaskStatusFailed, Error: &why})
	p.change(batches.Batch{BatchID: "btch_c", Status: batches.TaskStatusInProgress})
	p.change(batches.Batch{BatchID: "btch_d\x1b[31m", Status: batches.TaskStatusDraft})
	clock.add(3 * time.Second)
	p.stop()
	for _, tc := range []struct{ id, want string }{
		{"btch_a", "btch_a COMPLETED after 1.5s"},
		{"btch_b", "btch_b FAILED after 3.5s: tier 1 failed: [2J timeout"},
		{"btch_c", "btch_c still running (IN_PROGRESS) when the wait stopped after 6.5s"},
		{"btch_d\x1b[31m", "btch_d [31m DRAFT: never submitted"},
	} {
		p.mu.Lock()
		b := p.last[tc.id]
		p.mu.Unlock()
		if got := p.outcome(b); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
