package apitest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/api/apitest"
)

const batch = `{"batch_id":"btch_a1b2c3d4e5f6","bucket_id":"bkt_demo","status":"COMPLETED","object_ids":[],` +
	`"collection_ids":null,"error":null,"error_summary":null,"type":"BUCKET","task_id":null,"metadata":{},` +
	`"current_tier":null,"total_tiers":1,"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:00Z"}`

// TestCheckTellsConformingFromNot makes sure the checker the other tests
// rely on can fail.
func TestCheckTellsConformingFromNot(t *testing.T) {
	c := apitest.Load(t)
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	newReq := func(path, body string, headers map[string]string) *http.Request {
		r, err := http.NewRequest(http.MethodPost, "http://x"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer sk_test_x")
		r.Header.Set("X-Namespace", "demo")
		r.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			if v == "" {
				r.Header.Del(k)
			} else {
				r.Header.Set(k, v)
			}
		}
		return r
	}
	const path = "/v1/buckets/bkt_demo/batches/list"
	for _, tc := range []struct {
		name            string
		path, reqBody   string
		headers         map[string]string
		status          int
		respBody        string
		wantReq, wantOK bool
	}{
		{"conforming page", path, `{"limit":1}`, nil, 200, `{"results":[` + batch + `],"total_count":1}`, true, true},
		{"no total_count", path, `{}`, nil, 200, `{"results":[]}`, true, false},
		// Only bucket_id is required, as in Mixpeek's BatchModel.
		{"batch of bucket_id alone", path, `{}`, nil, 200, `{"results":[{"bucket_id":"bkt_demo"}],"total_count":1}`, true, true},
		{"batch without bucket_id", path, `{}`, nil, 200, `{"results":[` + strings.Replace(batch, `"bucket_id":"bkt_demo",`, "", 1) + `],"total_count":1}`, true, false},
		{"batch with a null status", path, `{}`, nil, 200, `{"results":[` + strings.Replace(batch, `"status":"COMPLETED"`, `"status":null`, 1) + `],"total_count":1}`, true, false},
		{"tier task without source_type", path, `{}`, nil, 200, `{"results":[{"bucket_id":"b","tier_tasks":[{"tier_num":0}]}],"total_count":1}`, true, false},
		{"undeclared status", path, `{}`, nil, 418, `{}`, true, false},
		// success and details are optional, as in Mixpeek's ErrorResponse.
		{"ErrorResponse without success or details", path, `{}`, nil, 404, `{"status":404,"error":{"message":"x","type":"NotFoundError"}}`, true, true},
		{"ErrorResponse without error.type", path, `{}`, nil, 404, `{"success":false,"status":404,"error":{"message":"x","details":null}}`, true, false},
		{"status null in the request", path, `{"status":null}`, nil, 200, `{"results":[],"total_count":0}`, true, true},
		{"collection_id empty in the request", path, `{"collection_id":""}`, nil, 422, `{"detail":[]}`, false, true},
		{"limit 0", path, `{"limit":0}`, nil, 422, `{"detail":[{"loc":["body","limit"],"msg":"m","type":"greater_than_equal","input":0}]}`, false, true},
		{"no bearer", path, `{}`, map[string]string{"Authorization": ""}, 401, `{"success":false,"status":401,"error":{"message":"m","type":"UnauthorizedError","details":null}}`, false, true},
		{"unknown path answered as ErrorResponse", path + "s", `{}`, nil, 404, `{"success":false,"status":404,"error":{"message":"m","type":"NotFoundError","details":null}}`, false, true},
		{"unknown path answered in plain text", path + "s", `{}`, nil, 404, `404 page not found`, false, false},
	} {
		reqErr, respErr := c.Check(newReq(tc.path, tc.reqBody, tc.headers), []byte(tc.reqBody), tc.status, jsonHeader, []byte(tc.respBody))
		if (reqErr == nil) != tc.wantReq || (respErr == nil) != tc.wantOK {
			t.Errorf("%s: request error %v, response error %v; want request ok %v, response ok %v",
				tc.name, reqErr, respErr, tc.wantReq, tc.wantOK)
		}
	}
}
