package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
)

// TestContractDocument checks openapi.yaml itself: a strict OpenAPI 3.0
// validator accepts it, and every schema has an example.
func TestContractDocument(t *testing.T) {
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromFile(filepath.Join("..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3.0: %v", err)
	}
	c := struct{ spec *openapi3.T }{spec}
	if c.spec.OpenAPI != "3.0.3" {
		t.Errorf("openapi %s, want 3.0.3", c.spec.OpenAPI)
	}
	for name, s := range c.spec.Components.Schemas {
		if s.Value.Example == nil {
			t.Errorf("schema %s has no example", name)
		}
	}
	op := c.spec.Paths.Find("/v1/buckets/{bucket_identifier}/batches/list").Post
	if op == nil || op.OperationID != "listBatches" || op.Tags[0] != "Bucket Batches" {
		t.Fatalf("listBatches operation missing or misnamed")
	}
	checkMixpeeksRules(t, c.spec)
	if op.Security == nil || len(*op.Security) == 0 || (*op.Security)[0]["bearerAuth"] == nil {
		t.Errorf("listBatches does not require bearerAuth")
	}
	for _, p := range op.Parameters {
		if strings.EqualFold(p.Value.Name, "Authorization") {
			t.Errorf("Authorization declared as a parameter; OpenAPI ignores it")
		}
	}
	var enum []string
	for _, e := range c.spec.Components.Schemas["TaskStatus"].Value.Enum {
		enum = append(enum, e.(string))
	}
	want := "PENDING IN_PROGRESS PROCESSING COMPLETED COMPLETED_WITH_ERRORS FAILED CANCELED UNKNOWN SKIPPED DRAFT ACTIVE ARCHIVED SUSPENDED"
	if strings.Join(enum, " ") != want {
		t.Errorf("TaskStatus enum %v, want %s", enum, want)
	}
}

// checkMixpeeksRules checks what the audit against Mixpeek's contract
// (issue 9) found, row by row, in the document itself.
func checkMixpeeksRules(t *testing.T, spec *openapi3.T) {
	t.Helper()
	schemas := spec.Components.Schemas
	// 1. nullable always with a type beside it (Redocly's
	// nullable-type-sibling; OpenAPI 3.0.3 ignores nullable without one),
	// and ListBatchesRequest.status admits null.
	var walk func(path string, s *openapi3.SchemaRef, seen map[*openapi3.Schema]bool)
	walk = func(path string, s *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		seen[s.Value] = true
		v := s.Value
		if v.Nullable && (v.Type == nil || len(v.Type.Slice()) == 0) {
			t.Errorf("%s: nullable without a type", path)
		}
		for name, p := range v.Properties {
			walk(path+"."+name, p, seen)
		}
		walk(path+"[]", v.Items, seen)
		for i, x := range append(append(append(openapi3.SchemaRefs{}, v.AllOf...), v.OneOf...), v.AnyOf...) {
			walk(fmt.Sprintf("%s/%d", path, i), x, seen)
		}
		if v.AdditionalProperties.Schema != nil {
			walk(path+"{}", v.AdditionalProperties.Schema, seen)
		}
	}
	for name, s := range schemas {
		walk(name, s, map[*openapi3.Schema]bool{})
	}
	if err := schemas["ListBatchesRequest"].Value.VisitJSON(map[string]any{"status": nil, "collection_id": nil}); err != nil {
		t.Errorf(`ListBatchesRequest refuses {"status":null,"collection_id":null}: %v`, err)
	}
	// 2. collection_id, an optional nullable string.
	if c := schemas["ListBatchesRequest"].Value.Properties["collection_id"]; c == nil || !c.Value.Nullable || !c.Value.Type.Is("string") {
		t.Errorf("ListBatchesRequest.collection_id is not a nullable string")
	}
	// 3. Mixpeek's fields of BatchModel.
	for _, name := range []string{"manifest_key", "loaded_object_ids", "internal_metadata", "tier_tasks", "dag_tiers"} {
		if schemas["Batch"].Value.Properties[name] == nil {
			t.Errorf("Batch has no %s", name)
		}
	}
	// 4. Required: what Mixpeek's schemas require, no more.
	for name, want := range map[string][]string{
		"Batch": {"bucket_id"}, "TierTaskInfo": {"tier_num", "source_type"}, "ExtractorJobInfo": {"extractor_type"},
		"BatchErrorDetail": {"error_type", "message"}, "ErrorResponse": {"status", "error"}, "ErrorDetail": {"message", "type"},
		"HTTPValidationError": nil, "ValidationError": {"loc", "msg", "type"}, "ListBatchesResponse": {"results", "total_count"},
	} {
		if got := schemas[name].Value.Required; !slices.Equal(got, want) {
			t.Errorf("%s requires %v, Mixpeek's %v", name, got, want)
		}
	}
	// 5. current_tier from 0, total_tiers from 1.
	batch := schemas["Batch"].Value.Properties
	if m := batch["current_tier"].Value.Min; m == nil || *m != 0 {
		t.Errorf("current_tier has no minimum 0")
	}
	if m := batch["total_tiers"].Value.Min; m == nil || *m != 1 {
		t.Errorf("total_tiers has no minimum 1")
	}
	// 6. No 405 on an operation: no request of it can be answered so.
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses.Status(405) != nil {
				t.Errorf("%s %s declares a 405", method, path)
			}
		}
	}
	// 7. No property of a request body carries a default itself: tools
	// such as openapi-typescript would make it required.
	for name, p := range schemas["ListBatchesRequest"].Value.Properties {
		if p.Value.Default != nil {
			t.Errorf("ListBatchesRequest.%s carries a default: openapi-typescript makes it required", name)
		}
	}
}

// failingStore fails or panics on ListBatches, after real lookups.
type failingStore struct {
	domain.Store
	panics bool
}

func (s failingStore) ListBatches(ctx context.Context, p domain.ListParams, dst []byte) ([]byte, int64, error) {
	if s.panics {
		panic("secret internal state: /var/lib/db")
	}
	return nil, 0, errSecret
}

type secretError struct{}

func (secretError) Error() string { return "disk I/O error at /var/lib/secret.db" }

var errSecret = secretError{}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestFailuresAnswer500WithoutInternals(t *testing.T) {
	eachBackend(t, testFailuresAnswer500WithoutInternals)
}

func testFailuresAnswer500WithoutInternals(t *testing.T, f *fixture) {
	for _, panics := range []bool{false, true} {
		var logs syncBuffer
		h, err := api.NewHandler(failingStore{Store: f.db, panics: panics},
			api.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		f.url = srv.URL
		ex := f.do(request{body: str(`{"limit":5}`)})
		srv.Close()
		assertErrorResponse(t, ex, http.StatusInternalServerError, "InternalServerError")
		if strings.Contains(string(ex.body), "secret") {
			t.Errorf("500 body leaks internals: %s", ex.body)
		}
		if !strings.Contains(logs.String(), "secret") {
			t.Errorf("the failure is not logged: %s", logs.String())
		}
		if strings.Contains(logs.String(), f.a.key) {
			t.Errorf("the API key is in the log")
		}
	}
}

func TestStoreClosedAnswers500(t *testing.T) { eachBackend(t, testStoreClosedAnswers500) }

func testStoreClosedAnswers500(t *testing.T, f *fixture) {
	f.db.Close()
	assertErrorResponse(t, f.do(request{}), http.StatusInternalServerError, "InternalServerError")
}

// brokenWriter is a client connection that fails every write of the body,
// counting the statuses written.
type brokenWriter struct {
	header   http.Header
	statuses []int
}

func (w *brokenWriter) Header() http.Header         { return w.header }
func (w *brokenWriter) WriteHeader(status int)      { w.statuses = append(w.statuses, status) }
func (w *brokenWriter) Write(b []byte) (int, error) { return 0, errors.New("write: broken pipe") }

// TestClientGone checks the answers to a client that is no longer there:
// one whose request is canceled gets nothing written and an Info line
// (not an Error), whether it went during authentication or listing; one
// whose connection breaks while the body is written gets no second status,
// and the failure is logged.
func TestClientGone(t *testing.T) { eachBackend(t, testClientGone) }

func testClientGone(t *testing.T, f *fixture) {
	var logs syncBuffer
	h, err := api.NewHandler(f.db, api.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	newRequest := func(ctx context.Context) *http.Request {
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/buckets/bkt_a/batches/list", strings.NewReader(`{"limit":5}`))
		r.Header.Set("Authorization", "Bearer "+f.a.key)
		r.Header.Set("X-Namespace", "production")
		r.Header.Set("Content-Type", "application/json")
		return r
	}

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	w := &brokenWriter{header: http.Header{}}
	h.ServeHTTP(w, newRequest(canceled))
	if len(w.statuses) != 0 || strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "request was canceled") {
		t.Errorf("canceled request: statuses %v, log:\n%s", w.statuses, logs.String())
	}

	logs = syncBuffer{}
	h, err = api.NewHandler(f.db, api.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	w = &brokenWriter{header: http.Header{}}
	h.ServeHTTP(w, newRequest(t.Context()))
	if len(w.statuses) != 1 || w.statuses[0] != http.StatusOK {
		t.Errorf("broken connection: statuses %v, want one 200", w.statuses)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "broken pipe") {
		t.Errorf("the failed write is not logged:\n%s", logs.String())
	}
}
