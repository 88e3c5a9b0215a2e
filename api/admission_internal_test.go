package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// scheduleWriter records the write deadlines set on it and the writes
// made, and fails the write number failAt (1-based) with a deadline's
// error.
type scheduleWriter struct {
	header    http.Header
	deadlines []time.Time
	writes    []int
	failAt    int
}

func (w *scheduleWriter) Header() http.Header { return w.header }
func (w *scheduleWriter) WriteHeader(int)     {}
func (w *scheduleWriter) Write(b []byte) (int, error) {
	w.writes = append(w.writes, len(b))
	if len(w.writes) == w.failAt {
		return 0, os.ErrDeadlineExceeded
	}
	return len(b), nil
}
func (w *scheduleWriter) SetWriteDeadline(t time.Time) error {
	w.deadlines = append(w.deadlines, t)
	return nil
}

// TestWriteSchedule: an answer is written 64 KiB at a time, the k-th
// within k times the write timeout of its start and all within 60 s,
// whatever the earlier writes took (the kernel's buffer takes the first
// at once); a write past its deadline ends the answer, logged at Info
// with what the client took.
func TestWriteSchedule(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	a := newAdmission(config{log: slog.New(slog.NewTextHandler(&logs, nil)), chunkTimeout: 10 * time.Second})
	now := start
	a.now = func() time.Time { now = now.Add(time.Second); return now } // a second a look: what the writes take does not count

	w := &scheduleWriter{header: http.Header{}}
	answer := make([]byte, 9*SmallAnswer+100) // 10 writes
	if err := a.writeAnswer(context.Background(), w, http.StatusOK, answer, nil); err != nil {
		t.Fatal(err)
	}
	wantWrites := []int{SmallAnswer, SmallAnswer, SmallAnswer, SmallAnswer, SmallAnswer, SmallAnswer, SmallAnswer, SmallAnswer, SmallAnswer, 100}
	if !slices.Equal(w.writes, wantWrites) {
		t.Errorf("writes %v, want %v", w.writes, wantWrites)
	}
	first := start.Add(time.Second) // the answer's start, its first look
	var want []time.Time
	for k := 1; k <= 10; k++ {
		want = append(want, first.Add(min(time.Duration(k)*10*time.Second, DefaultAnswerTimeout)))
	}
	if !slices.Equal(w.deadlines, want) {
		t.Errorf("deadlines %v\nwant %v", w.deadlines, want)
	}

	w = &scheduleWriter{header: http.Header{}, failAt: 3}
	if err := a.writeAnswer(context.Background(), w, http.StatusOK, answer, nil); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 3 || !strings.Contains(logs.String(), `level=INFO msg="answer cut off: the client did not read it in time"`) ||
		!strings.Contains(logs.String(), "bytes_taken=131072 bytes_left=458852") {
		t.Errorf("a write past its deadline: %d writes; log %s", len(w.writes), logs.String())
	}
}
