package batches_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// A key holding characters JSON escapes (& < > " \) is accepted by client
// and server alike; a server echoing it in an error, escaped by its JSON
// encoder in any way, or in a header, must not get it into the *Error, its
// string, or the log.
func TestEchoedKeyIsRedactedHoweverEscaped(t *testing.T) {
	const key = `sk_live_abc&def<ghi>jkl0123`
	const quoted = `sk_live_a"b\c&d<e>f0123`
	everyChar := func(s string) string { // "\u0073\u006b…"
		var b strings.Builder
		for _, r := range s {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, key string
		write     func(w http.ResponseWriter, key string)
	}{
		{"encoding/json, HTML-escaped", key, func(w http.ResponseWriter, key string) {
			// Every text of the error carries it: message, type, details
			// (nested, as a map key too), and a header.
			w.Header().Set("X-Debug-Auth", "Bearer "+key)
			w.Header().Set("Location", "https://example.com/?key="+url.QueryEscape(key))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"success": false, "status": 401, "error": map[string]any{
				"message": "Invalid API key " + key, "type": "UnauthorizedError",
				"details": map[string]any{"key": key, "seen": []any{map[string]any{"value": key}}, key: 1},
			}})
		}},
		{"quote and backslash", quoted, func(w http.ResponseWriter, key string) {
			writeJSON(w, http.StatusUnauthorized, errorBody(http.StatusUnauthorized, "UnauthorizedError", "Invalid API key "+key))
		}},
		{"every character escaped", key, func(w http.ResponseWriter, key string) {
			writeJSON(w, http.StatusUnauthorized, `{"error":{"message":"Invalid API key `+everyChar(key)+`","type":"UnauthorizedError"}}`)
		}},
		{"HTML page", key, func(w http.ResponseWriter, key string) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "<html><body><p>Invalid API key %s</p></body></html>", html.EscapeString(key))
		}},
		{"422 items", key, func(w http.ResponseWriter, key string) {
			body, _ := json.Marshal(map[string]any{"detail": []any{map[string]any{
				"loc": []any{"header", "Authorization", key}, "msg": "bad key " + key, "type": "value_error",
				"input": map[string]any{"authorization": "Bearer " + key}, "ctx": map[string]any{"key": []any{key}},
			}}})
			writeJSON(w, http.StatusUnprocessableEntity, string(body))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				if got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); got != tc.key {
					t.Errorf("sent key %q", got)
				}
				tc.write(w, tc.key)
			})
			var logs bytes.Buffer
			_, err := f.client(t, batches.WithAPIKey(tc.key), batches.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))).
				ListBatches(t.Context(), "bkt_demo", nil)
			var e *batches.Error
			if !errors.As(err, &e) {
				t.Fatalf("%T %v", err, err)
			}
			// The key in any form: as is, JSON-encoded either way, percent-encoded.
			htmlEscaped, _ := json.Marshal(tc.key)
			var plain bytes.Buffer
			enc := json.NewEncoder(&plain)
			enc.SetEscapeHTML(false)
			enc.Encode(tc.key)
			forms := []string{tc.key, strings.Trim(string(htmlEscaped), `"`), strings.Trim(strings.TrimSpace(plain.String()), `"`),
				everyChar(tc.key), url.QueryEscape(tc.key), html.EscapeString(tc.key), "ghi"}
			decodedRaw := ""
			var v any
			if json.Unmarshal(e.RawBody, &v) == nil {
				d, _ := json.Marshal(v)
				decodedRaw = fmt.Sprintf("%v %s", v, d)
			}
			for what, s := range map[string]string{
				"Error()": err.Error(), "fields": fmt.Sprintf("%+v", *e), "RawBody": string(e.RawBody), "RawBody decoded": decodedRaw,
				"Header": fmt.Sprint(e.Header), "log": logs.String(),
			} {
				for _, form := range forms {
					if strings.Contains(s, form) {
						t.Errorf("%s shows the key as %q: %s", what, form, s)
					}
				}
			}
			if !strings.Contains(err.Error()+decodedRaw, "[REDACTED]") {
				t.Errorf("nothing redacted: %v; %s", err, e.RawBody)
			}
		})
	}

	// The fields hold the redacted texts, the rest as received.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("X-Debug-Auth", "Bearer "+key)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": "Invalid API key " + key + " <here>", "type": "UnauthorizedError", "details": map[string]any{"key": key, "n": 1},
		}})
	})
	_, err := f.client(t, batches.WithAPIKey(key)).ListBatches(t.Context(), "bkt_demo", nil)
	e := asError(t, err, http.StatusUnauthorized, batches.ErrUnauthorized)
	if e.Message != "Invalid API key [REDACTED] <here>" || e.Details["key"] != "[REDACTED]" || e.Details["n"] != 1.0 ||
		e.Header.Get("X-Debug-Auth") != "Bearer [REDACTED]" {
		t.Errorf("%+v", e)
	}
	if want := `{"error":{"details":{"key":"[REDACTED]","n":1},"message":"Invalid API key [REDACTED] \u003chere\u003e","type":"UnauthorizedError"}}` + "\n"; string(e.RawBody) != want {
		t.Errorf("RawBody\n%s, want\n%s", e.RawBody, want)
	}
}

// After a connection error the attempts before it are kept: the call
// fails with an *Error of status 0 that unwraps to the cause.
func TestConnectionErrorKeepsTheAttempts(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n <= 2 {
			writeJSON(w, 503, errorBody(503, "ServiceUnavailableError", "Service Unavailable"))
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	})
	_, err := f.client(t).ListBatches(t.Context(), "bkt_demo", nil)
	e := asError(t, err, 0, nil)
	if !errors.Is(err, io.EOF) || f.n.Load() != 3 || len(e.Attempts) != 3 || e.Method != "POST" || e.Path != "/v1/buckets/bkt_demo/batches/list" {
		t.Fatalf("%v after %d requests: %+v", err, f.n.Load(), e)
	}
	for i, a := range e.Attempts {
		if wantStatus := []int{503, 503, 0}[i]; a.StatusCode != wantStatus || (a.Err == nil) != (i < 2) || a.Delay > time.Millisecond || (i == 2 && a.Delay != 0) {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	want := fmt.Sprintf(`batches: listBatches: Post "%s/v1/buckets/bkt_demo/batches/list": EOF (3 attempts)`, f.srv.URL)
	if err.Error() != want || e.Message != strings.TrimSuffix(strings.TrimPrefix(want, "batches: listBatches: "), " (3 attempts)") {
		t.Errorf("reads %q, message %q; want %q", err, e.Message, want)
	}
}

// Error() names method and path when the answer is not the API's own
// error: a base URL with a path prefix that doubles /v1 gives a 404 whose
// path tells why.
func TestErrorShowsThePathOfAForeignAnswer(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
			writeJSON(w, 404, `{"detail":"Not Found"}`)
			return
		}
		writeJSON(w, 200, `{"results":[],"total_count":0}`)
	})
	_, err := f.client(t, batches.WithBaseURL(f.srv.URL+"/api/x")).ListBatches(t.Context(), "bkt_demo", nil)
	asError(t, err, 404, batches.ErrNotFound)
	if want := "batches: listBatches: POST /api/x/v1/buckets/bkt_demo/batches/list: HTTP 404: Not Found"; err.Error() != want {
		t.Errorf("reads %q, want %q", err, want)
	}
	if _, err := f.client(t, batches.WithBaseURL(f.srv.URL+"/api")).ListBatches(t.Context(), "bkt_demo", nil); err != nil {
		t.Errorf("with the right prefix: %v", err)
	}
}

// An attempt timeout says so once.
func TestAttemptTimeoutIsNamedOnce(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	_, err := f.client(t, batches.WithAttemptTimeout(50*time.Millisecond), batches.WithMaxRetries(1)).ListBatches(t.Context(), "bkt_demo", nil)
	e := asError(t, err, 0, nil)
	want := fmt.Sprintf(`batches: listBatches: Post "%s/v1/buckets/bkt_demo/batches/list": attempt timeout 50ms: context deadline exceeded (2 attempts)`, f.srv.URL)
	if err.Error() != want || len(e.Attempts) != 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("reads\n%q, want\n%q", err, want)
	}
	for i, a := range e.Attempts {
		if n := strings.Count(a.Err.Error(), "attempt timeout"); n != 1 {
			t.Errorf("attempt %d: %v", i+1, a.Err)
		}
	}
}
