package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/domain"
)

// mayBeLeftOut are the properties the server leaves out of an answer when
// it has no value for them (the contract allows neither null nor an empty
// list there), or when there is nothing to say (ctx, when a rule has no
// parameters, as pydantic does). Every other property of every schema is
// always sent.
var mayBeLeftOut = map[string]bool{
	"TierTaskInfo.collection_ids":     true,
	"ExtractorJobInfo.collection_ids": true,
	"BatchErrorDetail.timestamp":      true,
	"ValidationError.ctx":             true,
}

// TestEveryFieldIsSent: though the contract requires only what Mixpeek's
// does (bucket_id of a Batch; status and error of an ErrorResponse, message
// and type of its error; loc, msg and type of a ValidationError), the
// server sends every field of every schema in every answer, so that clients
// of the contract before 2.0.0 see no change: a page (of the demo's
// batches, with their tier tasks, extractor jobs and errors), a page
// filtered by status and collection, and each error of the README's table.
func TestEveryFieldIsSent(t *testing.T) { eachBackend(t, testEveryFieldIsSent) }

func testEveryFieldIsSent(t *testing.T, f *fixture) {
	ctx := t.Context()
	if _, err := f.db.CreateBucket(ctx, f.a.namespace.ID, "demo", "bkt_demo_a"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.InsertBatches(ctx, "bkt_demo_a", domain.DemoBatches(f.a.batches[0].CreatedAt, "bkt_demo_a")); err != nil {
		t.Fatal(err)
	}
	spec := apitest.Load(t).Spec
	schema := func(name string) *openapi3.Schema { return spec.Components.Schemas[name].Value }
	big := `{"limit":` + strings.Repeat(" ", 1<<20) + `1}`
	for _, tc := range []struct {
		name    string
		r       request
		status  int
		schema  string
		failing bool // answer 500: a store that fails
	}{
		{"a page", request{path: "/v1/buckets/bkt_demo_a/batches/list", body: str(`{"limit":1000}`)}, 200, "ListBatchesResponse", false},
		{"a filtered page", request{path: "/v1/buckets/bkt_demo_a/batches/list", body: str(`{"status":"FAILED","collection_id":"col_products01"}`)}, 200, "ListBatchesResponse", false},
		{"status null", request{path: "/v1/buckets/bkt_demo_a/batches/list", body: str(`{"status":null,"collection_id":null}`)}, 200, "ListBatchesResponse", false},
		{"no key", request{headers: map[string][]string{"Authorization": nil}}, 401, "ErrorResponse", false},
		{"unknown key", request{headers: map[string][]string{"Authorization": {"Bearer sk_test_unknown_key_000000"}}}, 401, "ErrorResponse", false},
		{"X-Namespace empty", request{headers: map[string][]string{"X-Namespace": {""}}}, 400, "ErrorResponse", false},
		{"X-Namespace twice", request{headers: map[string][]string{"X-Namespace": {"production", "production"}}}, 400, "ErrorResponse", false},
		{"X-Namespace missing", request{headers: map[string][]string{"X-Namespace": nil}}, 422, "HTTPValidationError", false},
		{"unknown bucket", request{path: "/v1/buckets/bkt_none/batches/list"}, 404, "ErrorResponse", false},
		{"unknown path", request{path: "/v1/buckets/bkt_a/batches/list/x"}, 404, "ErrorResponse", false},
		{"another method", request{method: http.MethodPut}, 405, "ErrorResponse", false},
		{"body over 1 MiB", request{body: &big}, 413, "ErrorResponse", false},
		{"not JSON", request{body: str(`x`), headers: map[string][]string{"Content-Type": {"text/plain"}}}, 415, "ErrorResponse", false},
		{"JSON invalid", request{body: str(`{"limit":`)}, 422, "HTTPValidationError", false},
		{"not the contract", request{body: str(`{"status":"DONE","limit":1001,"collection_id":""}`)}, 422, "HTTPValidationError", false},
		{"a failure of the server", request{}, 500, "ErrorResponse", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := f.do(tc.r)
			if tc.failing {
				h, err := api.NewHandler(failingStore{Store: f.db})
				if err != nil {
					t.Fatal(err)
				}
				req := httptest.NewRequest(http.MethodPost, "/v1/buckets/bkt_a/batches/list", nil)
				req.Header.Set("Authorization", "Bearer "+f.a.key)
				req.Header.Set("X-Namespace", "production")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				ex = exchange{status: rec.Code, body: rec.Body.Bytes()}
			}
			if ex.status != tc.status {
				t.Fatalf("status %d, want %d: %s", ex.status, tc.status, ex.body)
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(ex.body))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			var missing []string
			everyField(spec, tc.schema, schema(tc.schema), v, "", &missing)
			if len(missing) > 0 {
				t.Errorf("the answer leaves out %v: %.600s", missing, ex.body)
			}
			if tc.status == 200 && !bytes.Contains(ex.body, []byte(`"tier_tasks":[{`)) && tc.name == "a page" {
				t.Errorf("the demo's page has no tier task")
			}
		})
	}
}

// everyField appends to missing the path of every property of schema s
// (named name) that the value v leaves out, and walks its properties,
// items and additional properties.
func everyField(spec *openapi3.T, name string, s *openapi3.Schema, v any, path string, missing *[]string) {
	// A property of a named schema is $ref or allOf of one.
	if len(s.AllOf) == 1 && s.AllOf[0].Ref != "" {
		ref := s.AllOf[0].Ref
		name = ref[strings.LastIndex(ref, "/")+1:]
		s = s.AllOf[0].Value
	}
	switch t := v.(type) {
	case map[string]any:
		for prop, ref := range s.Properties {
			pv, ok := t[prop]
			if !ok {
				if !mayBeLeftOut[name+"."+prop] {
					*missing = append(*missing, path+"/"+prop)
				}
				continue
			}
			pname := ""
			if ref.Ref != "" {
				pname = ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
			}
			everyField(spec, pname, ref.Value, pv, path+"/"+prop, missing)
		}
	case []any:
		if s.Items == nil {
			return
		}
		iname := ""
		if s.Items.Ref != "" {
			iname = s.Items.Ref[strings.LastIndex(s.Items.Ref, "/")+1:]
		}
		for i, e := range t {
			everyField(spec, iname, s.Items.Value, e, fmt.Sprintf("%s/%d", path, i), missing)
		}
	}
}
