package api_test

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/generated/server"
)

// TestNotFoundBytesAsGenerated: the 404 of a namespace or bucket, a domain
// error rendered by the API's one error path, is byte for byte the
// generated 404 response of List Batches for the same ErrorResponse (HTML
// characters escaped, as json.Encoder does), with its status and
// Content-Type: what the server answered when the operation returned it.
func TestNotFoundBytesAsGenerated(t *testing.T) { eachBackend(t, testNotFoundBytesAsGenerated) }

func testNotFoundBytesAsGenerated(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		namespace, path      string
		resource, identifier string
		message              string
	}{
		{"q<a>&\u2028é", "/v1/buckets/bkt_a/batches/list", "namespace", "q<a>&\u2028é", "Namespace not found: q<a>&\u2028é"},
		{"production", "/v1/buckets/b%3Cx%3E%26%22y/batches/list", "bucket", `b<x>&"y`, `Bucket not found: b<x>&"y`},
	} {
		ex := f.do(request{path: tc.path, headers: map[string][]string{"X-Namespace": {tc.namespace}}})
		want := httptest.NewRecorder()
		body := api.NewErrorResponse(404, tc.message,
			map[string]any{"resource": tc.resource, "identifier": tc.identifier})
		if err := (server.ListBatches404JSONResponse{NotFoundJSONResponse: server.NotFoundJSONResponse(body)}).VisitListBatchesResponse(want); err != nil {
			t.Fatal(err)
		}
		if ex.status != want.Code || ex.header.Get("Content-Type") != want.Header().Get("Content-Type") || !bytes.Equal(ex.body, want.Body.Bytes()) {
			t.Errorf("%s %s: %d %q\n%s\nthe generated response writes %d %q\n%s", tc.namespace, tc.path,
				ex.status, ex.header.Get("Content-Type"), ex.body, want.Code, want.Header().Get("Content-Type"), want.Body)
		}
	}
}
