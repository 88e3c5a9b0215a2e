package batchestest_test

// Moved from the root's redirect_test.go: see batches_helpers_test.go.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mixpeekgo/batches"
)

// 307 and 308 keep the method and body and are followed within the attempt
// that met them: a call whose redirected requests fail makes as many
// attempts as without the redirect.
func TestBodyKeepingRedirectIsPartOfTheAttempt(t *testing.T) {
	srv := newRef(t)
	bk := srv.newBucket(t, "", 3)
	for _, status := range []int{307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var target atomic.Int64
			var fail atomic.Bool
			fail.Store(true)
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				if !strings.HasPrefix(r.URL.Path, "/new/") {
					http.Redirect(w, r, "/new"+r.URL.Path, status)
					return
				}
				target.Add(1)
				if body, _ := io.ReadAll(r.Body); string(body) != `{"limit":2}` {
					t.Errorf("redirected with body %q", body)
				}
				if fail.Load() {
					writeJSON(w, 503, errorBody(503, "ServiceUnavailableError", "Service Unavailable"))
					return
				}
				r.URL.Path = strings.TrimPrefix(r.URL.Path, "/new")
				r.Body = io.NopCloser(strings.NewReader(`{"limit":2}`))
				srv.toRef(t, w, r)
			})
			_, err := f.client(t).ListBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 2})
			e := asError(t, err, 503, nil)
			if len(e.Attempts) != 3 || target.Load() != 3 || f.n.Load() != 6 || !strings.HasSuffix(err.Error(), "(3 attempts)") {
				t.Errorf("%d attempts, %d requests (%d redirected): %v", len(e.Attempts), f.n.Load(), target.Load(), err)
			}
			for i, a := range e.Attempts {
				if a.StatusCode != 503 {
					t.Errorf("attempt %d: %+v", i+1, a)
				}
			}

			fail.Store(false)
			page, err := f.client(t).ListBatches(t.Context(), bk.id, &batches.ListBatchesParams{Limit: 2})
			if err != nil || len(page.Results) != 2 || page.TotalCount != 3 {
				t.Fatalf("%+v, %v", page, err)
			}
		})
	}
}
