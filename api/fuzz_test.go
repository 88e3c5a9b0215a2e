package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/apitest"
	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/internal/storetest"
)

// FuzzRequest sends requests that net/http parses, of any path, header and
// body, with a valid API key, through the real handler over SQLite (no
// network: what net/http refuses before any handler runs is
// TestHeaderLimit's). Every answer is below 500, JSON, and conforms to the
// contract (apitest: the operation's answer of its status). The seeds are the hostile-clients issue's cases.
//
//	go test -run '^$' -fuzz '^FuzzRequest$' -fuzztime 5m ./api
func FuzzRequest(f *testing.F) {
	// One fixture a run of the target (its cleanup closes it): each fuzz
	// worker process runs the target once, -count=N runs it N times.
	fx := newFixtureOn(f, storetest.SQLite)
	fuzzHandler, err := api.NewHandler(fx.db)
	if err != nil {
		f.Fatal(err)
	}
	fuzzKey := fx.a.key
	contract := apitest.Load(f)
	hostile := benchmark.HostileBodies()
	for _, s := range []struct{ path, header, value, body string }{
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `{"limit":5}`},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", string(hostile["ints"][:2000]) + "]"},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `{"limit":10,"x":[1,2,3,4,5,6,7,8,9]}`},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", strings.Repeat("[", 200) + strings.Repeat("]", 200)},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `{"status":"\ud800x","limit":[[1]],"offset":{"a":1}}`},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `{"lim\u0069t":1e3,"limit":[],"offset":9223372036854775807}`},
		{"/v1/buckets/bkt_a/batches/list", "Content-Type", "text/plain", `{}`},
		{"/v1/buckets/bkt_a%2F..%2Fbkt_b/batches/list", "X-Namespace", "production", ``},
		{"/v1/buckets/%ff/batches/list", "X-Pad", strings.Repeat("p", 17000), `{}`},
		{"/v1//buckets/./bkt_a/batches/list", "X-Namespace", "", `null`},
		// Large scalars, and numbers sent as floats.
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `{"status":"` + strings.Repeat("s", 5000) + `"}`},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `{"limit":` + strings.Repeat("9", 5000) + `}`},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `"` + strings.Repeat("s", 5000) + `"`},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `{"limit":0.` + strings.Repeat("0", 5000) + `7e5001,"offset":-1e-400}`},
		{"/v1/buckets/bkt_a/batches/list", "X-Namespace", "production", `{"limit":2000.0,"collection_id":"` + strings.Repeat("c", 5000) + `"}`},
		{"/v1/tasks/list", "X-Namespace", "production", `{"search":"` + strings.Repeat("s", 5000) + `","task_type":1e` + strings.Repeat("9", 5000) + `}`},
	} {
		f.Add(s.path, s.header, s.value, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, path, header, value string, body []byte) {
		var raw bytes.Buffer
		raw.WriteString("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + fuzzKey + "\r\n")
		if !strings.EqualFold(header, "X-Namespace") {
			raw.WriteString("X-Namespace: production\r\n")
		}
		if !strings.EqualFold(header, "Content-Type") {
			raw.WriteString("Content-Type: application/json\r\n")
		}
		raw.WriteString(header + ": " + value + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		raw.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			t.Skip("net/http refuses it before any handler")
		}
		rec := httptest.NewRecorder()
		fuzzHandler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d for %q %q: %q %s", rec.Code, path, header+": "+value, body, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%d with Content-Type %q: %s", rec.Code, ct, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%d: the answer is not JSON: %.500s", rec.Code, rec.Body)
		}
		if _, err := contract.Check(req, body, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Fatalf("%d for %q: the answer does not conform: %v\n%.500s", rec.Code, path, err, rec.Body)
		}
	})
}
