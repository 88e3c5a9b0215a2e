package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// errorBody is Mixpeek's ErrorResponse.
type errorBody struct {
	Success *bool `json:"success"`
	Status  int   `json:"status"`
	Error   struct {
		Message string         `json:"message"`
		Type    string         `json:"type"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// validationBody is FastAPI's HTTPValidationError.
type validationBody struct {
	Detail []struct {
		Loc   []any          `json:"loc"`
		Msg   string         `json:"msg"`
		Type  string         `json:"type"`
		Input any            `json:"input"`
		Ctx   map[string]any `json:"ctx"`
	} `json:"detail"`
}

type listBody struct {
	Results []struct {
		BatchID string `json:"batch_id"`
		Status  string `json:"status"`
	} `json:"results"`
	TotalCount int64 `json:"total_count"`
}

func decodeStrict[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %T: %v\nbody: %s", v, err, b)
	}
	return v
}

func assertErrorResponse(t *testing.T, ex exchange, status int, typ string) errorBody {
	t.Helper()
	if ex.status != status {
		t.Fatalf("status %d, want %d; body: %s", ex.status, status, ex.body)
	}
	if ct := ex.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	e := decodeStrict[errorBody](t, ex.body)
	if e.Success == nil || *e.Success || e.Status != status || e.Error.Type != typ || e.Error.Message == "" {
		t.Errorf("ErrorResponse = %s, want success false, status %d, type %s and a message", ex.body, status, typ)
	}
	return e
}

func assertValidation(t *testing.T, ex exchange, typ string, loc ...any) {
	t.Helper()
	if ex.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body: %s", ex.status, ex.body)
	}
	v := decodeStrict[validationBody](t, ex.body)
	if len(v.Detail) == 0 {
		t.Fatalf("no detail in %s", ex.body)
	}
	for _, d := range v.Detail {
		if (typ == "" || d.Type == typ) && (loc == nil || fmt.Sprint(d.Loc) == fmt.Sprint(append([]any{}, loc...))) && d.Msg != "" {
			return
		}
	}
	t.Errorf("no detail with type %q at loc %v in %s", typ, loc, ex.body)
}

func assertPage(t *testing.T, ex exchange, wantLen int, wantTotal int64) listBody {
	t.Helper()
	if ex.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body: %s", ex.status, ex.body)
	}
	if ex.requestErr != nil {
		t.Errorf("a request answered 200 does not conform to openapi.yaml: %v", ex.requestErr)
	}
	var page listBody
	if err := json.Unmarshal(ex.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != wantLen || page.TotalCount != wantTotal {
		t.Errorf("%d results of %d, want %d of %d", len(page.Results), page.TotalCount, wantLen, wantTotal)
	}
	return page
}

// TestBadInput is the table of inputs of the foundation issue, each with its
// exact answer, and more of the same kinds.
func TestBadInput(t *testing.T) { eachBackend(t, testBadInput) }

func testBadInput(t *testing.T, f *fixture) {
	all := int64(len(f.a.batches))
	pending := int64(0)
	for _, b := range f.a.batches {
		if b.Status == "PENDING" {
			pending++
		}
	}

	t.Run("status not in the enum", func(t *testing.T) {
		for _, body := range []string{`{"status":"DONE"}`, `{"status":"pending"}`, `{"status":"Completed"}`, `{"status":""}`, `{"status":5}`, `{"status":["PENDING"]}`} {
			ex := f.do(request{body: str(body)})
			assertValidation(t, ex, "enum", "body", "status")
			if ex.requestErr == nil {
				t.Errorf("%s: the contract accepts it", body)
			}
		}
	})
	t.Run("empty object takes the defaults", func(t *testing.T) {
		page := assertPage(t, f.do(request{body: str(`{}`)}), 100, all)
		if page.Results[0].BatchID != f.a.batches[0].BatchID {
			t.Errorf("first result %s, want the newest %s", page.Results[0].BatchID, f.a.batches[0].BatchID)
		}
	})
	t.Run("no body at all", func(t *testing.T) {
		assertPage(t, f.do(request{}), 100, all)
		assertPage(t, f.do(request{headers: map[string][]string{"Content-Type": nil}}), 100, all)
	})
	t.Run("body null or not an object", func(t *testing.T) {
		for _, body := range []string{`null`, `[]`, `"x"`, `5`, `true`} {
			assertValidation(t, f.do(request{body: str(body)}), "model_attributes_type", "body")
		}
	})
	t.Run("status null means no filter", func(t *testing.T) {
		assertPage(t, f.do(request{body: str(`{"status":null}`)}), 100, all)
		assertPage(t, f.do(request{body: str(`{"status":"PENDING","limit":1000}`)}), int(pending), pending)
	})
	t.Run("collection_id", func(t *testing.T) {
		// The fixture's batches feed no collection: a filter matches none.
		assertPage(t, f.do(request{body: str(`{"collection_id":null}`)}), 100, all)
		assertPage(t, f.do(request{body: str(`{"collection_id":"col_none","status":"PENDING"}`)}), 0, 0)
		assertPage(t, f.do(request{body: str(`{"collection_id":"` + strings.Repeat("c", 128) + `"}`)}), 0, 0)
		for body, typ := range map[string]string{
			`{"collection_id":""}`:                                 "string_too_short",
			`{"collection_id":"` + strings.Repeat("c", 129) + `"}`: "string_too_long",
			`{"collection_id":5}`:                                  "string_type",
			`{"collection_id":["col_a"]}`:                          "string_type",
			`{"collection_id":"` + strings.Repeat("é", 129) + `"}`: "string_too_long",
		} {
			ex := f.do(request{body: str(body)})
			assertValidation(t, ex, typ, "body", "collection_id")
			if ex.requestErr == nil {
				t.Errorf("%.40s: the contract accepts it", body)
			}
		}
	})
	t.Run("whole numbers in any spelling", func(t *testing.T) {
		for _, body := range []string{`{"offset":0,"limit":10.0}`, `{"limit":1e1}`, `{"limit":1E1,"offset":0.0}`, `{"limit":10.000,"offset":-0}`, `{"limit":100e-1}`} {
			assertPage(t, f.do(request{body: str(body)}), 10, all)
		}
		page := assertPage(t, f.do(request{body: str(`{"offset":2e0,"limit":1}`)}), 1, all)
		if page.Results[0].BatchID != f.a.batches[2].BatchID {
			t.Errorf("offset 2e0 gave %s, want %s", page.Results[0].BatchID, f.a.batches[2].BatchID)
		}
	})
	t.Run("limit bounds", func(t *testing.T) {
		assertPage(t, f.do(request{body: str(`{"limit":1000}`)}), int(all), all)
		assertPage(t, f.do(request{body: str(`{"limit":1}`)}), 1, all)
		assertValidation(t, f.do(request{body: str(`{"limit":1001}`)}), "less_than_equal", "body", "limit")
		assertValidation(t, f.do(request{body: str(`{"limit":0}`)}), "greater_than_equal", "body", "limit")
		assertValidation(t, f.do(request{body: str(`{"limit":-5}`)}), "greater_than_equal", "body", "limit")
		assertValidation(t, f.do(request{body: str(`{"offset":-1}`)}), "greater_than_equal", "body", "offset")
		assertValidation(t, f.do(request{body: str(`{"limit":1e3000}`)}), "", "body", "limit")
	})
	t.Run("numbers that are not integers", func(t *testing.T) {
		assertValidation(t, f.do(request{body: str(`{"limit":"10"}`)}), "int_type", "body", "limit")
		assertValidation(t, f.do(request{body: str(`{"offset":"0"}`)}), "int_type", "body", "offset")
		assertValidation(t, f.do(request{body: str(`{"limit":true}`)}), "int_type", "body", "limit")
		assertValidation(t, f.do(request{body: str(`{"limit":null}`)}), "", "body", "limit")
		assertValidation(t, f.do(request{body: str(`{"limit":10.5}`)}), "int_from_float", "body", "limit")
		assertValidation(t, f.do(request{body: str(`{"offset":0.5}`)}), "int_from_float", "body", "offset")
	})
	t.Run("offset beyond int64", func(t *testing.T) {
		for _, body := range []string{`{"offset":9223372036854775808}`, `{"offset":1e19}`, `{"offset":99999999999999999999999}`} {
			ex := f.do(request{body: str(body)})
			assertValidation(t, ex, "", "body", "offset")
		}
		// The largest offset is fine: an empty page and the full count.
		assertPage(t, f.do(request{body: str(`{"offset":9223372036854775807}`)}), 0, all)
		assertPage(t, f.do(request{body: str(`{"offset":1000}`)}), 0, all)
	})
	t.Run("several errors at once", func(t *testing.T) {
		ex := f.do(request{body: str(`{"limit":0,"offset":-1,"status":"X"}`)})
		v := decodeStrict[validationBody](t, ex.body)
		if ex.status != 422 || len(v.Detail) != 3 {
			t.Errorf("status %d with %d details, want 422 with 3: %s", ex.status, len(v.Detail), ex.body)
		}
	})
	t.Run("not exactly one JSON value", func(t *testing.T) {
		for _, body := range []string{" \n", `{"offset":0,"limit":10} {"limit":5000}`, `{"limit":10}x`, `{"limit":`, `{limit:10}`, `{"limit":10,}`, "\xff"} {
			assertValidation(t, f.do(request{body: str(body)}), "json_invalid")
		}
	})
	t.Run("as pydantic words and counts them", func(t *testing.T) {
		// One error a field, input always present (null when none).
		for body, want := range map[string]string{
			`{"limit":null}`:                     `{"detail":[{"input":null,"loc":["body","limit"],"msg":"Input should be a valid integer","type":"int_type"}]}`,
			`{"limit":0.5}`:                      `{"detail":[{"input":0.5,"loc":["body","limit"],"msg":"Input should be a valid integer, got a number with a fractional part","type":"int_from_float"}]}`,
			`{"limit":1e400}`:                    `{"detail":[{"input":"1e400","loc":["body","limit"],"msg":"Input should be a finite number","type":"finite_number"}]}`,
			`{"offset":99999999999999999999999}`: `{"detail":[{"ctx":{"le":9223372036854775807},"input":99999999999999999999999,"loc":["body","offset"],"msg":"Input should be less than or equal to 9223372036854775807","type":"less_than_equal"}]}`,
			`{"a":1,}`:                           `{"detail":[{"ctx":{"error":"invalid character '}' looking for beginning of object key string"},"input":{},"loc":["body",7],"msg":"JSON decode error","type":"json_invalid"}]}`,
			`{"limit":1} x`:                      `{"detail":[{"ctx":{"error":"invalid character 'x' after top-level value"},"input":{},"loc":["body",12],"msg":"JSON decode error","type":"json_invalid"}]}`,
			`{"limit":`:                          `{"detail":[{"ctx":{"error":"unexpected end of JSON input"},"input":{},"loc":["body",9],"msg":"JSON decode error","type":"json_invalid"}]}`,
		} {
			ex := f.do(request{body: str(body)})
			if ex.status != 422 || strings.TrimSpace(string(ex.body)) != want {
				t.Errorf("%s: %d %s\nwant 422 %s", body, ex.status, ex.body, want)
			}
		}
		ex := f.do(request{headers: map[string][]string{"X-Namespace": nil}})
		if want := `{"detail":[{"input":null,"loc":["header","x-namespace"],"msg":"Field required","type":"missing"}]}`; strings.TrimSpace(string(ex.body)) != want {
			t.Errorf("missing header: %s\nwant %s", ex.body, want)
		}
		// Whole as float64 reads them: pydantic accepts these.
		for _, body := range []string{`{"offset":5.00000000000000000001,"limit":1}`, `{"offset":1e-400,"limit":1}`, `{"limit":1.00000000000000001}`} {
			assertPage(t, f.do(request{body: str(body)}), 1, all)
		}
		// A byte order mark is read past (the contract's JSON has none, so
		// the request itself does not conform).
		bom := f.do(request{body: str("\ufeff{\"limit\":2}")})
		var page listBody
		if err := json.Unmarshal(bom.body, &page); err != nil || bom.status != 200 || len(page.Results) != 2 {
			t.Errorf("body with a BOM: %d %s", bom.status, bom.body)
		}
	})
	t.Run("unknown fields are ignored, as FastAPI does", func(t *testing.T) {
		assertPage(t, f.do(request{body: str(`{"limit":5,"sort":"asc","huge":1e999999}`)}), 5, all)
	})
	t.Run("content types", func(t *testing.T) {
		for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"} {
			assertPage(t, f.do(request{body: str(`{"limit":3}`), headers: map[string][]string{"Content-Type": {ct}}}), 3, all)
		}
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "application/vnd.api+json", "garbage;;"} {
			e := assertErrorResponse(t, f.do(request{body: str(`{"limit":3}`), headers: map[string][]string{"Content-Type": {ct}}}), 415, "UnsupportedMediaTypeError")
			if !strings.Contains(e.Error.Message, "application/json") {
				t.Errorf("415 message %q does not say what is supported", e.Error.Message)
			}
		}
	})
	t.Run("authorization", func(t *testing.T) {
		// Any key the store takes authenticates: printable ASCII, no space.
		odd, err := f.db.CreateAPIKey(context.Background(), f.a.org.ID, "sk_test_a,b=c/d+e~0123")
		if err != nil {
			t.Fatal(err)
		}
		assertPage(t, f.do(request{body: str(`{"limit":2}`), headers: map[string][]string{"Authorization": {"Bearer " + odd}}}), 2, all)
		for _, scheme := range []string{"bearer", "BEARER", "Bearer", "bEaReR"} {
			assertPage(t, f.do(request{body: str(`{"limit":2}`), headers: map[string][]string{"Authorization": {scheme + " " + f.a.key}}}), 2, all)
		}
		bad := map[string][]string{
			"unknown key":    {"Bearer sk_live_unknownunknownunknown"},
			"basic scheme":   {"Basic " + f.a.key},
			"no scheme":      {f.a.key},
			"empty":          {""},
			"scheme only":    {"Bearer"},
			"two keys":       {"Bearer " + f.a.key, "Bearer " + f.b.key},
			"key with space": {"Bearer " + f.a.key + " x"},
			"wrong case key": {"Bearer " + strings.ToUpper(f.a.key)},
			"missing":        nil,
		}
		for name, v := range bad {
			headers := map[string][]string{"Authorization": v}
			// Checked before the body: a bad body still answers 401.
			for _, body := range []string{`{"limit":2}`, `{"limit":"x"}`} {
				ex := f.do(request{body: str(body), headers: headers})
				e := assertErrorResponse(t, ex, 401, "UnauthorizedError")
				if wa := ex.header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer") {
					t.Errorf("%s: WWW-Authenticate %q, want Bearer", name, wa)
				}
				if strings.Contains(string(ex.body), f.a.key) {
					t.Errorf("%s: the key is echoed in the body: %s", name, ex.body)
				}
				_ = e
			}
		}
	})
	t.Run("X-Namespace header", func(t *testing.T) {
		assertErrorResponse(t, f.do(request{headers: map[string][]string{"X-Namespace": {"production", "production"}}}), 400, "BadRequestError")
		assertErrorResponse(t, f.do(request{headers: map[string][]string{"X-Namespace": {"production", "other"}}}), 400, "BadRequestError")
		assertErrorResponse(t, f.do(request{headers: map[string][]string{"X-Namespace": {""}}}), 400, "BadRequestError")
		assertErrorResponse(t, f.do(request{headers: map[string][]string{"X-Namespace": {"   "}}}), 400, "BadRequestError")
		assertValidation(t, f.do(request{headers: map[string][]string{"X-Namespace": nil}}), "missing", "header", "x-namespace")
		assertPage(t, f.do(request{body: str(`{"limit":1}`), headers: map[string][]string{"X-Namespace": {f.a.namespace.ID}}}), 1, all)
		assertErrorResponse(t, f.do(request{headers: map[string][]string{"X-Namespace": {"qa"}}}), 404, "NotFoundError")
		assertValidation(t, f.do(request{headers: map[string][]string{"X-Namespace": {strings.Repeat("n", 129)}}}), "string_too_long", "header", "x-namespace")
		assertErrorResponse(t, f.do(request{headers: map[string][]string{"X-Namespace": {strings.Repeat("n", 128)}}}), 404, "NotFoundError")
	})
	t.Run("paths", func(t *testing.T) {
		for _, path := range []string{
			"/v1/buckets/bkt_a%2F..%2Fbkt_b/batches/list",
			"/v1/buckets/bkt_a%2f..%2fbkt_b/batches/list",
			"/v1/buckets/..%2Fbkt_b/batches/list",
			"/v1/buckets/bkt_b/batches/list",
			"/v1/buckets/" + f.b.bucket.ID + "%00/batches/list",
		} {
			ex := f.do(request{path: path})
			assertErrorResponse(t, ex, 404, "NotFoundError")
			if strings.Contains(string(ex.body), "btch_b") {
				t.Errorf("%s leaks B's batches: %s", path, ex.body)
			}
		}
		// Paths that are not clean name no route, whatever they resolve to.
		for _, path := range []string{
			"/v1/buckets/bkt_b/../bkt_a/batches/list",
			"/v1//buckets/bkt_a/batches/list",
			"/v1/buckets/./bkt_a/batches/list",
			"/v1/buckets/bkt_a/batches/./list",
		} {
			ex := f.do(request{path: path})
			assertErrorResponse(t, ex, 404, "NotFoundError")
		}
		// "list " is a batch id: a batch's path, which POST is not a
		// method of, and which GET finds no batch at.
		ex := f.do(request{path: "/v1/buckets/bkt_%61/batches/list%20"})
		assertErrorResponse(t, ex, 405, "MethodNotAllowedError")
		if allow := ex.header.Get("Allow"); allow != "GET, HEAD, PATCH, DELETE" {
			t.Errorf("Allow %q, want GET, HEAD, PATCH, DELETE", allow)
		}
		ex = f.do(request{method: http.MethodGet, path: "/v1/buckets/bkt_%61/batches/list%20"})
		if e := assertErrorResponse(t, ex, 404, "NotFoundError"); e.Error.Message != "Batch not found: list " {
			t.Errorf("message %q", e.Error.Message)
		}
		assertValidation(t, f.do(request{path: "/v1/buckets/" + strings.Repeat("b", 129) + "/batches/list"}), "string_too_long", "path", "bucket_identifier")
		// The bucket by its name works too, as by its id.
		assertPage(t, f.do(request{path: "/v1/buckets/main/batches/list", body: str(`{"limit":1}`)}), 1, all)
		assertPage(t, f.do(request{path: "/v1/buckets/bkt_%61/batches/list", body: str(`{"limit":1}`)}), 1, all)
	})
	t.Run("methods", func(t *testing.T) {
		// …/batches/list is also the path of the batch "list" (GET, PATCH,
		// DELETE …/batches/{batch_id}), which no bucket has: a 404, as on
		// Mixpeek's API. PUT is no method of either.
		ex := f.do(request{method: http.MethodPut})
		assertErrorResponse(t, ex, 405, "MethodNotAllowedError")
		if allow := ex.header.Get("Allow"); allow != "GET, HEAD, POST, PATCH, DELETE" {
			t.Errorf("PUT: Allow %q, want GET, HEAD, POST, PATCH, DELETE", allow)
		}
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			ex := f.do(request{method: m, body: nil})
			if e := assertErrorResponse(t, ex, 404, "NotFoundError"); e.Error.Message != "Batch not found: list" {
				t.Errorf("%s: message %q", m, e.Error.Message)
			}
		}
		// PATCH needs a body; with one, it is the batch "list" too.
		assertValidation(t, f.do(request{method: http.MethodPatch}), "missing", "body")
		assertErrorResponse(t, f.do(request{method: http.MethodPatch, body: str(`{}`)}), 404, "NotFoundError")
	})
	t.Run("unknown routes", func(t *testing.T) {
		// An encoded letter the mux decodes and kin-openapi's router does
		// not: no route, in the same words.
		assertErrorResponse(t, f.do(request{path: "/v1/buckets/bkt_a/batches/%6cist"}), 404, "NotFoundError")
		for _, path := range []string{"/", "/v1", "/v2/buckets/bkt_a/batches/list", "/v1/buckets/bkt_a/batches/list/", "/v1/tasks", "/v1/tasks/"} {
			for _, m := range []string{http.MethodPost, http.MethodGet} {
				assertErrorResponse(t, f.do(request{method: m, path: path}), 404, "NotFoundError")
			}
		}
		// Paths of operations, with another method.
		for path, allow := range map[string]string{
			"/v1/buckets/bkt_a/batches/lists":        "GET, HEAD, PATCH, DELETE", // the batch "lists"
			"/v1/buckets/bkt_a/batches":              "POST",                     // create
			"/v1/buckets/bkt_a/batches/lists/submit": "POST",
			"/v1/tasks/task_x":                       "GET, HEAD, DELETE",
		} {
			ex := f.do(request{method: http.MethodPut, path: path})
			assertErrorResponse(t, ex, 405, "MethodNotAllowedError")
			if got := ex.header.Get("Allow"); got != allow {
				t.Errorf("PUT %s: Allow %q, want %q", path, got, allow)
			}
		}
	})
	t.Run("body over 1 MiB", func(t *testing.T) {
		big := `{"limit":5,"pad":"` + strings.Repeat("x", 2<<20) + `"}`
		assertErrorResponse(t, f.do(request{body: &big}), 413, "PayloadTooLargeError")
		// Exactly at the limit is read.
		edge := `{"limit":5,"pad":"` + strings.Repeat("x", 1<<20-len(`{"limit":5,"pad":""}`)) + `"}`
		assertPage(t, f.do(request{body: &edge}), 5, all)
	})
	t.Run("another organization's namespace and bucket", func(t *testing.T) {
		missing := f.do(request{headers: map[string][]string{"X-Namespace": {"ns_doesnotexist"}}})
		assertErrorResponse(t, missing, 404, "NotFoundError")
		byID := f.do(request{headers: map[string][]string{"X-Namespace": {f.b.namespace.ID}}})
		assertErrorResponse(t, byID, 404, "NotFoundError")
		if got, want := string(byID.body), strings.ReplaceAll(string(missing.body), "ns_doesnotexist", f.b.namespace.ID); got != want {
			t.Errorf("another organization's namespace answers\n%s\nnot like a missing one\n%s", got, want)
		}
		// "staging" is a namespace of B only; "stagin" of nobody.
		byName := f.do(request{headers: map[string][]string{"X-Namespace": {"staging"}}})
		missingName := f.do(request{headers: map[string][]string{"X-Namespace": {"stagin"}}})
		assertErrorResponse(t, byName, 404, "NotFoundError")
		if got, want := string(byName.body), strings.ReplaceAll(string(missingName.body), `stagin"`, `staging"`); got != want {
			t.Errorf("another organization's namespace by name answers\n%s\nnot like a missing one\n%s", got, want)
		}
		bucketB := f.do(request{path: "/v1/buckets/" + f.b.bucket.ID + "/batches/list"})
		bucketNone := f.do(request{path: "/v1/buckets/bkt_none/batches/list"})
		assertErrorResponse(t, bucketB, 404, "NotFoundError")
		if got, want := string(bucketB.body), strings.ReplaceAll(string(bucketNone.body), "bkt_none", f.b.bucket.ID); got != want {
			t.Errorf("another organization's bucket answers\n%s\nnot like a missing one\n%s", got, want)
		}
	})
}
