package batches

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Each operation of openapi.yaml must be named in retrySafe, so that a new
// one (a create, a submit) is never retried by default without a decision.
func TestEveryOperationHasARetryPolicy(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			if _, ok := retrySafe[op.OperationID]; !ok {
				t.Errorf("%s %s (%s) has no entry in retrySafe", method, path, op.OperationID)
			}
		}
	}
	if n == 0 {
		t.Fatal("no operations in openapi.yaml")
	}
}

// An operation not known to be safe is sent once, whatever the answer.
func TestUnsafeOperationIsNotRetried(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	for _, op := range []string{"createBatch", ""} {
		n.Store(0)
		d := newDoer(config{maxRetries: 5, maxRetryDelay: time.Millisecond, httpClient: &http.Client{}}, op, nil)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := d.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || n.Load() != 1 {
			t.Errorf("op %q: %d after %d requests", op, resp.StatusCode, n.Load())
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		{"999999999999", 24 * time.Hour, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"Sun, 01 Jun 2025 12:00:30 GMT", 30 * time.Second, true}, // IMF-fixdate
		{"Sunday, 01-Jun-25 12:01:00 GMT", time.Minute, true},     // RFC 850
		{"Sun Jun  1 12:00:05 2025", 5 * time.Second, true},       // asctime
		{"Sun, 01 Jun 2025 11:00:00 GMT", 0, true},                // past
		{"Sun, 01 Jun 2025 12:00:30 +0200", 0, false},             // not an HTTP-date
	} {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFullJitterBounds(t *testing.T) {
	b := &fullJitter{base: 100 * time.Millisecond, max: time.Second}
	for _, ceiling := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		d := b.NextBackOff()
		if d < 0 || d >= ceiling*time.Millisecond {
			t.Errorf("retry %d waits %v, want [0, %v)", b.n, d, ceiling*time.Millisecond)
		}
	}
	for range 100 {
		b.NextBackOff() // no overflow however many
	}
	if d := b.NextBackOff(); d < 0 || d >= time.Second {
		t.Errorf("after 100 retries: %v", d)
	}
	b.Reset()
	if d := b.NextBackOff(); d >= 100*time.Millisecond {
		t.Errorf("after Reset: %v", d)
	}
}
