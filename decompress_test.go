package batches_test

import (
	"compress/gzip"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches"
)

const onePage = `{"results":[{"batch_id":"btch_1","bucket_id":"bkt_a","status":"COMPLETED","type":"BUCKET","object_ids":[],"collection_ids":null,"error":null,"metadata":{},"total_tiers":1,"current_tier":null,"tier_tasks":null,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}],"total_count":1}`

// gzipFake answers onePage, gzip-compressed when the request accepts gzip,
// and records the Accept-Encoding of each request.
func gzipFake(t *testing.T, seen *[]string, broken bool) *fake {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, _ int64) {
		ae := r.Header.Get("Accept-Encoding")
		*seen = append(*seen, ae)
		if !strings.Contains(ae, "gzip") {
			writeJSON(w, 200, onePage)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(200)
		if broken {
			w.Write([]byte("not gzip at all"))
			return
		}
		zw := gzip.NewWriter(w)
		zw.Write([]byte(onePage))
		zw.Close()
	})
}

// TestGzipAnswers: the client asks for gzip and reads it over Go's
// transport, over one that never compresses by itself (whose
// Accept-Encoding would otherwise be none), and not when told otherwise.
func TestGzipAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []batches.Option
		accept string
	}{
		{"default transport", nil, "gzip"},
		{"transport without compression", []batches.Option{batches.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableCompression: true}})}, "gzip"},
		{"identity asked", []batches.Option{batches.WithHeader("Accept-Encoding", "identity")}, "identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			f := gzipFake(t, &seen, false)
			page, err := f.client(t, tc.opts...).ListBatches(t.Context(), "bkt_a", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Results) != 1 || page.Results[0].BatchID != "btch_1" || string(page.Results[0].RawJSON()) == "" {
				t.Errorf("page %+v", page)
			}
			if len(seen) != 1 || seen[0] != tc.accept {
				t.Errorf("Accept-Encoding sent: %q, want %q", seen, tc.accept)
			}
		})
	}
	// A body that is not the gzip it says is a failed attempt, retried,
	// then an error saying so.
	var seen []string
	f := gzipFake(t, &seen, true)
	_, err := f.client(t).ListBatches(t.Context(), "bkt_a", nil)
	var e *batches.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "decompressing the answer (Content-Encoding: gzip)") || len(seen) != 3 {
		t.Errorf("broken gzip: %v after %d requests", err, len(seen))
	}
}
