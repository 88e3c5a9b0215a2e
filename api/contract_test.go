package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/sqlite"
	"github.com/mixpeekgo/batches/generated/server"
)

// contract is openapi.yaml as the tests check every exchange against it.
type contract struct {
	spec   *openapi3.T
	router routers.Router
}

var (
	contractOnce sync.Once
	theContract  contract
	contractErr  error
)

func loadContract(t testing.TB) contract {
	t.Helper()
	contractOnce.Do(func() {
		loader := openapi3.NewLoader()
		spec, err := loader.LoadFromFile(filepath.Join("..", "openapi.yaml"))
		if err != nil {
			contractErr = err
			return
		}
		if err := spec.Validate(loader.Context); err != nil {
			contractErr = fmt.Errorf("openapi.yaml is not valid OpenAPI 3.0: %w", err)
			return
		}
		spec.Servers = nil
		router, err := gorillamux.NewRouter(spec)
		if err != nil {
			contractErr = err
			return
		}
		theContract = contract{spec: spec, router: router}
	})
	if contractErr != nil {
		t.Fatal(contractErr)
	}
	return theContract
}

// exchange is one request and its answer, with the contract's verdicts.
type exchange struct {
	status     int
	header     http.Header
	body       []byte
	requestErr error // nil when the request conforms to openapi.yaml
}

// validatingTransport checks every request against openapi.yaml (the
// verdict is kept for the test to assert) and every response, failing the
// test on any response that does not conform.
type validatingTransport struct {
	t        testing.TB
	c        contract
	base     http.RoundTripper
	mu       sync.Mutex
	requests []error
}

func (vt *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	route, pathParams, routeErr := vt.c.router.FindRoute(cloneWithBody(req, reqBody))
	var input *openapi3filter.RequestValidationInput
	reqErr := routeErr
	if routeErr == nil {
		input = &openapi3filter.RequestValidationInput{
			Request:    cloneWithBody(req, reqBody),
			PathParams: pathParams,
			Route:      route,
			Options: &openapi3filter.Options{
				MultiError: true,
				// The contract's part of authentication: a bearer
				// credential is sent. Whether the key is known is the
				// server's to say.
				AuthenticationFunc: func(_ context.Context, ai *openapi3filter.AuthenticationInput) error {
					scheme, key, _ := strings.Cut(ai.RequestValidationInput.Request.Header.Get("Authorization"), " ")
					if !strings.EqualFold(scheme, "Bearer") || key == "" {
						return ai.NewError(errors.New("no bearer credential"))
					}
					return nil
				},
			},
		}
		reqErr = openapi3filter.ValidateRequest(context.Background(), input)
		input.Request = cloneWithBody(req, reqBody)
	}
	vt.mu.Lock()
	vt.requests = append(vt.requests, reqErr)
	vt.mu.Unlock()

	resp, err := vt.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))

	if input != nil {
		rvi := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: input,
			Status:                 resp.StatusCode,
			Header:                 resp.Header,
			Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
		}
		rvi.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), rvi); err != nil {
			vt.t.Errorf("%s %s: response %d does not conform to openapi.yaml: %v\nbody: %s",
				req.Method, req.URL.Path, resp.StatusCode, err, body)
		}
	} else {
		// No operation for this method and path: the answer is still an
		// ErrorResponse.
		vt.checkSchema(req, "ErrorResponse", resp, body)
	}
	return resp, nil
}

func (vt *validatingTransport) checkSchema(req *http.Request, name string, resp *http.Response, body []byte) {
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		vt.t.Errorf("%s %s: Content-Type %q, want application/json", req.Method, req.URL.Path, ct)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		vt.t.Errorf("%s %s: body is not JSON: %v: %s", req.Method, req.URL.Path, err, body)
		return
	}
	if err := vt.c.spec.Components.Schemas[name].Value.VisitJSON(v); err != nil {
		vt.t.Errorf("%s %s: body is not a %s: %v: %s", req.Method, req.URL.Path, name, err, body)
	}
}

func cloneWithBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = http.NoBody
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return r
}

// tenant is one organization of the fixture.
type tenant struct {
	org       api.Organization
	namespace api.Namespace
	bucket    api.Bucket
	key       string
	batches   []server.Batch // newest first, as listed
}

// fixture is a real server on a real SQLite file with two organizations
// whose names and resources look alike.
type fixture struct {
	t      testing.TB
	url    string
	db     *sqlite.DB
	a, b   tenant
	client *http.Client
	vt     *validatingTransport
}

var statuses = []server.TaskStatus{
	server.TaskStatusPENDING, server.TaskStatusINPROGRESS, server.TaskStatusPROCESSING,
	server.TaskStatusCOMPLETED, server.TaskStatusCOMPLETEDWITHERRORS, server.TaskStatusFAILED,
	server.TaskStatusCANCELED, server.TaskStatusUNKNOWN, server.TaskStatusSKIPPED,
	server.TaskStatusDRAFT, server.TaskStatusACTIVE, server.TaskStatusARCHIVED, server.TaskStatusSUSPENDED,
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "batches.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	f := &fixture{t: t, db: db}
	f.a = f.newTenant(ctx, "Acme", "bkt_a", 250)
	f.b = f.newTenant(ctx, "ACME", "bkt_b", 40)

	h, err := api.NewHandler(db)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.vt = &validatingTransport{t: t, c: loadContract(t), base: http.DefaultTransport}
	f.client = &http.Client{Transport: f.vt, Timeout: 30 * time.Second}
	return f
}

func (f *fixture) newTenant(ctx context.Context, orgName, bucketID string, n int) tenant {
	t := f.t
	org, err := f.db.CreateOrganization(ctx, orgName)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := f.db.CreateNamespace(ctx, org.ID, "production")
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := f.db.CreateBucket(ctx, ns.ID, "main", bucketID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := f.db.CreateAPIKey(ctx, org.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// Timestamps collide in pairs so the batch_id tie-break is exercised.
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	batches := make([]server.Batch, n)
	for i := range batches {
		created := base.Add(time.Duration(i/2) * time.Minute)
		batches[i] = server.Batch{
			BatchId:    fmt.Sprintf("btch_%s%07d", bucketID[4:5], i),
			BucketId:   bucket.ID,
			Status:     statuses[i%len(statuses)],
			ObjectIds:  []string{fmt.Sprintf("obj_%012d", i)},
			Type:       server.BatchTypeBUCKET,
			Metadata:   map[string]any{"seq": float64(i)},
			TotalTiers: 1,
			CreatedAt:  created,
			UpdatedAt:  created.Add(time.Second),
		}
	}
	if err := f.db.InsertBatches(ctx, bucket.ID, batches); err != nil {
		t.Fatal(err)
	}
	// Newest first: created_at descending, then batch_id descending.
	listed := make([]server.Batch, n)
	for i := range batches {
		listed[n-1-i] = batches[i]
	}
	return tenant{org: org, namespace: ns, bucket: bucket, key: key, batches: listed}
}

// request describes one raw HTTP request; zero fields take the defaults of
// the bad-input table: POST …/bkt_a/batches/list with A's key, X-Namespace
// production and Content-Type application/json.
type request struct {
	method  string
	path    string
	body    *string
	headers map[string][]string // nil value deletes the header
}

func (f *fixture) do(r request) exchange {
	f.t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	path := r.path
	if path == "" {
		path = "/v1/buckets/bkt_a/batches/list"
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader([]byte(*r.body))
	}
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.a.key)
	req.Header.Set("X-Namespace", "production")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range r.headers {
		if v == nil {
			req.Header.Del(k)
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	before := len(f.vt.requests)
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	var reqErr error
	if len(f.vt.requests) > before {
		reqErr = f.vt.requests[len(f.vt.requests)-1]
	}
	return exchange{status: resp.StatusCode, header: resp.Header, body: b, requestErr: reqErr}
}

func str(s string) *string { return &s }
