package batchestest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/apitest"
)

// mixpeekAnswers are List Batches answers shaped as Mixpeek documents them
// (its OpenAPI 3.1 description, version 0.81: BatchModel, TierTaskInfo,
// ExtractorJobInfo, BatchErrorDetail, and its examples): every field set;
// every nullable field null; the optional fields left out (Mixpeek's
// BatchModel requires bucket_id alone; the client needs batch_id, its
// paging key, which Mixpeek always sends); tier tasks of the smallest
// shape TierTaskInfo allows; timestamps with an offset or microseconds as
// Python writes them; and fields the contract does not have, at the top and
// nested, as a newer Mixpeek may send.
var mixpeekAnswers = map[string]string{
	"every field": `{"results":[{"batch_id":"btch_abc123xyz789","bucket_id":"bkt_products","status":"COMPLETED_WITH_ERRORS",
		"object_ids":["obj_123","obj_456"],"collection_ids":["col_tier0","col_tier1"],"error":"1 object failed",
		"error_summary":{"dependency":1},"type":"BUCKET","manifest_key":"ns_abc/manifests/btch_abc123xyz789/tier_0.parquet",
		"task_id":"task_abc123def456","loaded_object_ids":["obj_123","obj_456"],
		"internal_metadata":{"job_id":"raysubmit_1","engine_version":"0.81.1","last_health_check":{"ok":true,"at":"2025-11-03T10:01:00Z"}},
		"metadata":{"source":"import","n":2},
		"tier_tasks":[{"tier_num":0,"task_id":"task_abc123def456","status":"COMPLETED","collection_ids":["col_tier0"],
			"extractor_jobs":[{"extractor_type":"image_extractor","collection_ids":["col_tier0"],"ray_job_id":"raysubmit_1",
				"celery_task_id":"5f0c6e0a-1111-4a1b-9c1d-2e3f4a5b6c7d","status":"COMPLETED","started_at":"2025-11-03T10:00:05Z",
				"completed_at":"2025-11-03T10:02:05.5Z","duration_ms":120500.0,"documents_written":2,"errors":[],"error":null}],
			"source_type":"bucket","source_collection_ids":null,"parent_task_id":null,"started_at":"2025-11-03T10:00:05Z",
			"completed_at":"2025-11-03T10:02:05.5Z","duration_ms":120500.0,"errors":[],"error_summary":null,
			"performance":{"throughput":1.5,"p95_ms":80},"ray_job_id":"raysubmit_1","celery_task_id":"5f0c6e0a-1111-4a1b-9c1d-2e3f4a5b6c7d",
			"source_documents_fetched":2,"documents_after_source_filter":2,"documents_missing_input_fields":0,
			"documents_submitted_to_engine":2,"documents_written":2},
			{"tier_num":1,"task_id":"task_tier1","status":"FAILED","collection_ids":["col_tier1"],"extractor_jobs":[],
			"source_type":"collection","source_collection_ids":["col_tier0"],"parent_task_id":"task_abc123def456",
			"started_at":"2025-11-03T10:02:06.123456+00:00","completed_at":"2025-11-03T10:03:00+01:00","duration_ms":53876.544,
			"errors":[{"error_type":"dependency","message":"google-genai not installed","component":"GeminiExtractor",
				"stage":"embedding","traceback":"Traceback (most recent call last): ...","timestamp":"2025-11-03T10:02:59Z",
				"affected_document_ids":["doc_1"],"affected_count":1,"recovery_suggestion":"pip install google-genai",
				"metadata":{"retry_count":2,"http_status":500}}],
			"error_summary":{"dependency":1},"performance":null,"ray_job_id":null,"celery_task_id":null,
			"source_documents_fetched":2,"documents_after_source_filter":1,"documents_missing_input_fields":0,
			"documents_submitted_to_engine":1,"documents_written":0}],
		"current_tier":1,"total_tiers":2,"dag_tiers":[["col_tier0"],["col_tier1"]],
		"created_at":"2025-11-03T10:00:00Z","updated_at":"2025-11-03T10:03:00Z"}],"total_count":1}`,
	"every nullable field null": `{"results":[{"batch_id":"btch_nulls000001","bucket_id":"bkt_products","status":"DRAFT",
		"object_ids":[],"collection_ids":null,"error":null,"error_summary":null,"type":"BUCKET","manifest_key":null,
		"task_id":null,"loaded_object_ids":null,"internal_metadata":null,"metadata":{},"tier_tasks":[],"current_tier":null,
		"total_tiers":1,"dag_tiers":null,"created_at":"2025-11-03T10:00:00Z","updated_at":"2025-11-03T10:00:00Z"}],"total_count":1}`,
	"optional fields left out": `{"results":[{"batch_id":"btch_sparse00001","bucket_id":"bkt_products"},
		{"batch_id":"btch_sparse00002","bucket_id":"bkt_products","status":"PENDING","tier_tasks":[{"tier_num":0,"source_type":"bucket"}]}],
		"total_count":2}`,
	"fields the contract does not have": `{"results":[{"batch_id":"btch_newer000001","bucket_id":"bkt_products","status":"IN_PROGRESS",
		"description":"Multi-tier batch (IN_PROGRESS)","priority":{"level":3},
		"tier_tasks":[{"tier_num":0,"source_type":"bucket","status":"IN_PROGRESS","gpu":"A100",
			"extractor_jobs":[{"extractor_type":"video_extractor","queue":"fast",
				"errors":[{"error_type":"network","message":"timed out","affected_count":3,"code":"E42"}]}]}],
		"current_tier":0,"total_tiers":1,"created_at":"2025-11-03T10:00:00Z","updated_at":"2025-11-03T10:00:01Z"}],
		"total_count":1,"next_cursor":null}`,
}

// TestMixpeekShapedAnswers: each of mixpeekAnswers conforms to our contract
// (kin-openapi, as every exchange of the tests is checked) and the client
// decodes it without loss: every field the contract has lands in the typed
// Batch, TierTask, ExtractorJob and BatchErrorDetail (re-encoded, each
// value is the one sent; a field left out is the zero value), and RawJSON
// keeps the object as sent, with the fields the contract does not have.
func TestMixpeekShapedAnswers(t *testing.T) {
	c := apitest.Load(t)
	for name, body := range mixpeekAnswers {
		t.Run(name, func(t *testing.T) {
			var compact bytes.Buffer
			if err := json.Compact(&compact, []byte(body)); err != nil {
				t.Fatal(err)
			}
			body := compact.Bytes()
			req := httptest.NewRequest(http.MethodPost, "http://mixpeek.invalid/v1/buckets/bkt_products/batches/list", strings.NewReader(`{}`))
			req.Header.Set("Authorization", "Bearer sk_test_x")
			req.Header.Set("X-Namespace", "production")
			req.Header.Set("Content-Type", "application/json")
			reqErr, respErr := c.Check(req, []byte(`{}`), http.StatusOK, http.Header{"Content-Type": {"application/json"}}, body)
			if reqErr != nil || respErr != nil {
				t.Fatalf("does not conform to openapi.yaml: request %v, response %v", reqErr, respErr)
			}

			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			cl, err := batches.New(batches.WithAPIKey("sk_test_conformance_0000"), batches.WithNamespace("production"),
				batches.WithBaseURL(srv.URL), batches.WithMaxRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			page, err := cl.ListBatches(t.Context(), "bkt_products", nil)
			if err != nil {
				t.Fatal(err)
			}
			var sent struct {
				Results    []json.RawMessage `json:"results"`
				TotalCount int64             `json:"total_count"`
			}
			if err := json.Unmarshal(body, &sent); err != nil {
				t.Fatal(err)
			}
			if page.TotalCount != sent.TotalCount || len(page.Results) != len(sent.Results) {
				t.Fatalf("%d results of %d, sent %d of %d", len(page.Results), page.TotalCount, len(sent.Results), sent.TotalCount)
			}
			schema := c.Spec.Components.Schemas["Batch"].Value
			for i, b := range page.Results {
				if !bytes.Equal(b.RawJSON(), sent.Results[i]) {
					t.Errorf("result %d: RawJSON\n%s\nsent\n%s", i, b.RawJSON(), sent.Results[i])
				}
				typed, err := json.Marshal(b)
				if err != nil {
					t.Fatal(err)
				}
				var got, want any
				_ = json.Unmarshal(typed, &got)
				_ = json.Unmarshal(sent.Results[i], &want)
				noLoss(t, fmt.Sprintf("results[%d]", i), schema, want, got)
			}
		})
	}
}

// noLoss fails t unless got, the client's typed value re-encoded, holds
// every value of sent that schema has, equal (timestamps as instants), and
// the zero value where sent left a property out; properties schema does not
// have are RawJSON's alone.
func noLoss(t *testing.T, path string, schema *openapi3.Schema, sent, got any) {
	t.Helper()
	if len(schema.AllOf) == 1 {
		schema = schema.AllOf[0].Value
	}
	switch sv := sent.(type) {
	case map[string]any:
		gv, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: decoded as %v, sent %v", path, got, sent)
			return
		}
		if len(schema.Properties) == 0 { // free-form
			if !reflect.DeepEqual(sv, gv) {
				t.Errorf("%s: decoded as %v, sent %v", path, gv, sv)
			}
			return
		}
		for prop, ref := range schema.Properties {
			p := path + "." + prop
			if v, ok := sv[prop]; ok {
				noLoss(t, p, ref.Value, v, gv[prop])
				continue
			}
			switch z := gv[prop]; z {
			case nil, "", 0.0, false, "0001-01-01T00:00:00Z":
			default:
				t.Errorf("%s: left out, decoded as %v", p, z)
			}
		}
	case []any:
		gv, ok := got.([]any)
		if !ok || len(gv) != len(sv) {
			t.Errorf("%s: decoded as %v, sent %v", path, got, sent)
			return
		}
		for i := range sv {
			noLoss(t, fmt.Sprintf("%s[%d]", path, i), schema.Items.Value, sv[i], gv[i])
		}
	case string:
		if schema.Format == "date-time" {
			a, errA := time.Parse(time.RFC3339Nano, sv)
			b, errB := time.Parse(time.RFC3339Nano, fmt.Sprint(got))
			if errA != nil || errB != nil || !a.Equal(b) {
				t.Errorf("%s: decoded as %v, sent %s", path, got, sv)
			}
			return
		}
		if got != sent {
			t.Errorf("%s: decoded as %v, sent %v", path, got, sent)
		}
	default:
		if !reflect.DeepEqual(sent, got) {
			t.Errorf("%s: decoded as %v, sent %v", path, got, sent)
		}
	}
}
