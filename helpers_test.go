package batches_test

// The client's tests here need nothing but the standard library: its
// mechanics (options, retries, redirects, errors, paging) are tested
// against servers of the tests' own that answer canned bytes. Its tests
// against the real server (api.NewHandler) live in api/batchestest, in the
// files batches_*_test.go, so that go mod tidy in a module that imports the
// client, which loads the client's test imports, finds none of the server's
// (TestImportWeight). The examples run against a batchesd process
// (batchesd_test.go).

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// fake is a server of the test's own (faults a real server does not
// make), counting requests; handle gets the request number from 1.
type fake struct {
	srv *httptest.Server
	n   atomic.Int64
}

func newFake(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int64)) *fake {
	t.Helper()
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, f.n.Add(1))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// client is a client of the fake server; retries wait at most 1 ms unless
// opts say otherwise.
func (f *fake) client(t testing.TB, opts ...batches.Option) *batches.Client {
	t.Helper()
	base := []batches.Option{
		batches.WithBaseURL(f.srv.URL),
		batches.WithAPIKey(testKey),
		batches.WithNamespace("production"),
		batches.WithMaxRetryDelay(time.Millisecond),
	}
	c, err := batches.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testKey is the key sent to fake servers.
const testKey = "sk_test_FAKEkey0123456789abcdef"

// writeJSON answers status with body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// errorBody is Mixpeek's ErrorResponse.
func errorBody(status int, typ, message string) string {
	return fmt.Sprintf(`{"success":false,"status":%d,"error":{"message":%q,"type":%q,"details":null}}`, status, message, typ)
}

// collect walks an iterator to the end or the first error.
func collect(seq func(func(batches.Batch, error) bool)) ([]string, error) {
	var ids []string
	for b, err := range seq {
		if err != nil {
			return ids, err
		}
		ids = append(ids, b.BatchID)
	}
	return ids, nil
}
