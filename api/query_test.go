package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/mixpeekgo/batches/generated/server"
)

// TestQueryParametersAsFastAPI: query parameters are read as FastAPI and
// pydantic read them: the last of repeated values, integers and booleans
// parsed from pydantic's spellings, and what pydantic refuses a 422 at
// loc ["query", name] (int_parsing, bool_parsing), never the 400
// "Invalid request parameters" Go's binding answered.
func TestQueryParametersAsFastAPI(t *testing.T) { eachBackend(t, testQueryParametersAsFastAPI) }

func testQueryParametersAsFastAPI(t *testing.T, f *fixture) {
	type page struct {
		Pagination server.PaginationResponse `json:"pagination"`
	}
	for range 3 {
		f.submit(f.create("obj_q").BatchID)
	}
	// ok, for requests kin-openapi's own reading of the contract refuses
	// on the client side ("yes" is no boolean to it): the server decides.
	loose := func(method, path, body string) page {
		t.Helper()
		ex := f.call(method, path, body, false)
		var p page
		if err := json.Unmarshal(ex.body, &p); ex.status != http.StatusOK || err != nil {
			t.Fatalf("%s %s: %d %s", method, path, ex.status, ex.body)
		}
		return p
	}
	// Accepted, as pydantic accepts them.
	for query, want := range map[string]int{
		"limit=2": 2, "limit=%202%20": 2, "limit=%2B2": 2, "limit=2.0": 2, "limit=2.": 2, "limit=02": 2,
		"limit=1&limit=7": 7, "limit=1001&limit=2": 2, "limit=2&offset=0.000": 2,
	} {
		p := loose(http.MethodPost, "/v1/tasks/list?"+query, ``)
		if *p.Pagination.PageSize != want {
			t.Errorf("%s: page_size %d, want %d", query, *p.Pagination.PageSize, want)
		}
	}
	for _, v := range []string{"true", "True", "TRUE", "yes", "YES", "on", "On", "1", "t", "T", "y", "Y"} {
		p := loose(http.MethodPost, "/v1/tasks/list?include_total="+v, ``)
		if p.Pagination.Total == nil || *p.Pagination.Total != 3 {
			t.Errorf("include_total=%s: %+v", v, p.Pagination)
		}
		loose(http.MethodPost, bkt+"?skip_validation="+v, `{"object_ids":["obj_s"]}`)
	}
	for _, v := range []string{"false", "False", "no", "NO", "off", "OFF", "0", "f", "n", "N"} {
		p := loose(http.MethodPost, "/v1/tasks/list?include_total="+v, ``)
		if p.Pagination.Total != nil {
			t.Errorf("include_total=%s: %+v", v, p.Pagination)
		}
		loose(http.MethodPost, bkt+"?skip_validation="+v, `{"object_ids":["obj_s"]}`)
	}
	p := loose(http.MethodPost, "/v1/tasks/list?include_total=maybe&include_total=yes", ``)
	if p.Pagination.Total == nil {
		t.Errorf("the last include_total: %+v", p.Pagination)
	}

	// Refused, as pydantic refuses them: the exact body.
	intParsing := func(name, input string) string {
		in, _ := json.Marshal(input)
		return fmt.Sprintf(`{"input":%s,"loc":["query",%q],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}`, in, name)
	}
	boolParsing := func(name, input string) string {
		in, _ := json.Marshal(input)
		return fmt.Sprintf(`{"input":%s,"loc":["query",%q],"msg":"Input should be a valid boolean, unable to interpret input","type":"bool_parsing"}`, in, name)
	}
	bad := func(method, path, body string) exchange {
		t.Helper()
		return f.call(method, path, body, false)
	}
	for query, want := range map[string]string{
		"limit=abc":                          intParsing("limit", "abc"),
		"limit=1e3":                          intParsing("limit", "1e3"),
		"limit=5.5":                          intParsing("limit", "5.5"),
		"limit=":                             intParsing("limit", ""),
		"limit=0x10":                         intParsing("limit", "0x10"),
		"limit=1_000":                        intParsing("limit", "1_000"),
		"limit=--1":                          intParsing("limit", "--1"),
		"limit=2&limit=abc":                  intParsing("limit", "abc"),
		"offset=ten":                         intParsing("offset", "ten"),
		"include_total=maybe":                boolParsing("include_total", "maybe"),
		"include_total=":                     boolParsing("include_total", ""),
		"include_total=yes&include_total=si": boolParsing("include_total", "si"),
		"limit=2&limit=1001":                 `{"ctx":{"le":1000},"input":1001,"loc":["query","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal"}`,
		"limit=3000000000":                   `{"ctx":{"le":1000},"input":3000000000,"loc":["query","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal"}`,
		"limit=99999999999999999999":         `{"ctx":{"le":1000},"input":"99999999999999999999","loc":["query","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal"}`,
		"offset=-99999999999999999999":       `{"ctx":{"ge":0},"input":"-99999999999999999999","loc":["query","offset"],"msg":"Input should be greater than or equal to 0","type":"greater_than_equal"}`,
		"limit=0.0":                          `{"ctx":{"ge":1},"input":0,"loc":["query","limit"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"}`,
	} {
		wantValidation(t, bad(http.MethodPost, "/v1/tasks/list?"+query, ``), want)
	}
	for _, v := range []string{"", "si", "2", "yes%20"} {
		wantValidation(t, bad(http.MethodPost, bkt+"?skip_validation="+v, `{"object_ids":["obj_s"]}`), boolParsing("skip_validation", map[string]string{"yes%20": "yes "}[v]+map[bool]string{true: v}[v != "yes%20"]))
	}
	// Several at once: one item each.
	ex := bad(http.MethodPost, "/v1/tasks/list?limit=abc&include_total=maybe", ``)
	if ex.status != http.StatusUnprocessableEntity || string(ex.body) != `{"detail":[`+intParsing("limit", "abc")+`,`+boolParsing("include_total", "maybe")+`]}`+"\n" {
		t.Errorf("two bad parameters: %d %s", ex.status, ex.body)
	}
}
