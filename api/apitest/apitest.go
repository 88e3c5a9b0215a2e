// Package apitest checks HTTP exchanges against the contract, openapi.yaml,
// with kin-openapi's openapi3filter, for tests: every request is validated
// (ValidateRequest) and every response (ValidateResponse, its status among
// those the operation declares). An exchange on a path or method the
// contract does not have is still checked: its answer must be an
// ErrorResponse.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/mixpeekgo/batches/api/internal/specroute"
	"github.com/mixpeekgo/batches/generated/server"
)

// Contract is openapi.yaml (the spec embedded by go generate) with a router
// over its operations.
type Contract struct {
	Spec   *openapi3.T
	router routers.Router
}

var (
	once     sync.Once
	contract *Contract
	loadErr  error
)

// Load returns the contract; it fails t if the spec does not load.
func Load(t testing.TB) *Contract {
	t.Helper()
	once.Do(func() {
		spec, err := server.GetSpec()
		if err != nil {
			loadErr = err
			return
		}
		spec.Servers = nil
		router, err := specroute.New(spec)
		if err != nil {
			loadErr = err
			return
		}
		contract = &Contract{Spec: spec, router: router}
	})
	if loadErr != nil {
		t.Fatalf("loading openapi.yaml: %v", loadErr)
	}
	return contract
}

// Check validates one exchange. It returns the request's verdict (nil when
// the request conforms) and the response's (nil when it conforms).
func (c *Contract) Check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) (requestErr, responseErr error) {
	route, pathParams, err := c.router.FindRoute(withBody(req, reqBody))
	if err != nil {
		return err, c.checkSchema("ErrorResponse", header, respBody)
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    withBody(req, reqBody),
		PathParams: pathParams,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError: true,
			// The contract's part of authentication: a bearer credential is
			// sent. Whether the key is known is the server's to say.
			AuthenticationFunc: func(_ context.Context, ai *openapi3filter.AuthenticationInput) error {
				scheme, key, _ := strings.Cut(ai.RequestValidationInput.Request.Header.Get("Authorization"), " ")
				if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
					return ai.NewError(errors.New("no bearer credential"))
				}
				return nil
			},
		},
	}
	requestErr = openapi3filter.ValidateRequest(context.Background(), input)
	input.Request = withBody(req, reqBody)
	rvi := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	rvi.SetBodyBytes(respBody)
	return requestErr, openapi3filter.ValidateResponse(context.Background(), rvi)
}

func (c *Contract) checkSchema(name string, header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	if err := c.Spec.Components.Schemas[name].Value.VisitJSON(v); err != nil {
		return fmt.Errorf("body is not a %s: %w", name, err)
	}
	return nil
}

func withBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = http.NoBody
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return r
}

// Transport is a client-side http.RoundTripper that checks every exchange:
// a response that does not conform fails the test; the request's verdict is
// kept for the test to assert (tests of bad input send non-conforming
// requests on purpose).
type Transport struct {
	t        testing.TB
	c        *Contract
	base     http.RoundTripper
	mu       sync.Mutex
	requests []error
}

// NewTransport wraps base (http.DefaultTransport when nil).
func NewTransport(t testing.TB, base http.RoundTripper) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{t: t, c: Load(t), base: base}
}

// RequestErrors returns the verdict on every request sent so far, in order.
func (vt *Transport) RequestErrors() []error {
	vt.mu.Lock()
	defer vt.mu.Unlock()
	return append([]error(nil), vt.requests...)
}

// RoundTrip sends req and checks the exchange.
func (vt *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = withBody(req, b)
	}
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
	reqErr, respErr := vt.c.Check(req, reqBody, resp.StatusCode, resp.Header, body)
	vt.mu.Lock()
	vt.requests = append(vt.requests, reqErr)
	vt.mu.Unlock()
	if respErr != nil {
		vt.t.Errorf("%s %s: response %d does not conform to openapi.yaml: %v\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, respErr, body)
	}
	return resp, nil
}

// Handler is a server-side check: it wraps h so that every request it
// serves and every response it writes must conform to the contract, or the
// test fails. Use it where the client under test must send only conforming
// requests.
func Handler(t testing.TB, h http.Handler) http.Handler {
	c := Load(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading a request body: %v", err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, withBody(r, reqBody))
		reqErr, respErr := c.Check(r, reqBody, rec.Code, rec.Header(), rec.Body.Bytes())
		if reqErr != nil {
			t.Errorf("%s %s: request does not conform to openapi.yaml: %v\nbody: %s", r.Method, r.URL.Path, reqErr, reqBody)
		}
		if respErr != nil {
			t.Errorf("%s %s: response %d does not conform to openapi.yaml: %v\nbody: %s", r.Method, r.URL.Path, rec.Code, respErr, rec.Body.Bytes())
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}
