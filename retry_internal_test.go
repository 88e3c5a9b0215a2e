package batches

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Each operation of openapi.yaml must be named in retrySafe, so that a new
// one (a create, a submit) is never retried by default without a decision.
func TestEveryOperationHasARetryPolicy(t *testing.T) {
	spec, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := operations(string(spec))
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	for _, op := range ops {
		if _, ok := retrySafe[op.id]; !ok {
			t.Errorf("%s %s (%s) has no entry in retrySafe", op.method, op.path, op.id)
		}
	}
	if len(ops) == 0 {
		t.Fatal("no operations in openapi.yaml")
	}
}

// operation is an operation of an OpenAPI document: its method, in upper
// case, its path, and its operationId.
type operation struct{ method, path, id string }

// methods are the fixed fields of an OpenAPI 3.0 Path Item that are
// operations, and others the fixed fields that are not.
var (
	methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	others  = []string{"summary", "description", "servers", "parameters"}
)

// yamlKey matches a line of a YAML block mapping: a plain key, and what
// follows its colon.
var yamlKey = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_-]*):(?:\s+(.*))?$`)

// operations reads the operations of the OpenAPI document src (YAML) line
// by line, without a YAML library (this package's tests import none: a
// module that imports the client would load it too). It reads the paths
// object as openapi.yaml writes it, in block style: a line "paths:", a
// line "/path:" for each path, its fields a level deeper, the operations'
// fields another level deeper. What it does not know there (flow style, a
// $ref, a quoted key, an anchor, a field that is no Path Item's, an
// operation without an operationId or with two) is an error rather than
// an operation unseen.
func operations(src string) ([]operation, error) {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimRight(l, " ") == "paths:" })
	if start < 0 {
		return nil, errors.New(`no line "paths:"`)
	}
	var (
		ops                              []operation
		path                             string
		pathIndent, itemIndent, opIndent = -1, -1, -1
		op                               *operation // the operation being read
	)
	end := func(n int) error { // the end of op, at line n
		if op != nil && op.id == "" {
			return fmt.Errorf("line %d: %s %s has no operationId", n, op.method, op.path)
		}
		if op != nil {
			ops = append(ops, *op)
		}
		op, opIndent = nil, -1
		return nil
	}
	for i := start + 1; i < len(lines); i++ {
		n, l := i+1, lines[i]
		text := strings.TrimLeft(l, " ")
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if strings.HasPrefix(text, "\t") {
			return nil, fmt.Errorf("line %d: a tab in the indentation", n)
		}
		indent := len(l) - len(text)
		if indent == 0 {
			if strings.HasPrefix(text, "paths:") {
				return nil, fmt.Errorf("line %d: a second paths", n)
			}
			break // the next field of the document
		}
		if pathIndent < 0 {
			pathIndent = indent
		}
		switch {
		case indent < pathIndent:
			return nil, fmt.Errorf("line %d: indented less than the paths before it", n)
		case indent == pathIndent: // a path
			if err := end(n); err != nil {
				return nil, err
			}
			p, rest, ok := strings.Cut(text, ":")
			if !strings.HasPrefix(p, "/") || !ok || strings.Trim(rest, " ") != "" && !strings.HasPrefix(strings.TrimLeft(rest, " "), "#") {
				return nil, fmt.Errorf("line %d: %q is not a path of the paths object, written as /path:", n, text)
			}
			path, itemIndent = p, -1
		case itemIndent < 0 || indent == itemIndent: // a field of the Path Item
			itemIndent = indent
			if err := end(n); err != nil {
				return nil, err
			}
			m := yamlKey.FindStringSubmatch(text)
			switch {
			case m == nil:
				return nil, fmt.Errorf("line %d: %q is not a field of %s written as a plain key", n, text, path)
			case slices.Contains(methods, m[1]):
				if m[2] != "" && !strings.HasPrefix(m[2], "#") {
					return nil, fmt.Errorf("line %d: %s %s is not written in block style", n, m[1], path)
				}
				op = &operation{method: strings.ToUpper(m[1]), path: path}
			case slices.Contains(others, m[1]) || strings.HasPrefix(m[1], "x-"):
			default:
				return nil, fmt.Errorf("line %d: %s of %s is not a field of a Path Item that this reading knows", n, m[1], path)
			}
		case indent < itemIndent:
			return nil, fmt.Errorf("line %d: indented between a path and its fields", n)
		case op != nil: // in an operation
			if opIndent < 0 {
				opIndent = indent
			}
			if indent < opIndent {
				return nil, fmt.Errorf("line %d: indented between the %s of %s and its fields", n, op.method, path)
			}
			if indent > opIndent { // deeper: a field's value
				continue
			}
			m := yamlKey.FindStringSubmatch(text)
			if m == nil {
				return nil, fmt.Errorf("line %d: %q is not a field of %s %s written as a plain key", n, text, op.method, path)
			}
			if m[1] != "operationId" {
				continue
			}
			id, _, _ := strings.Cut(m[2], " #")
			id = strings.Trim(strings.TrimSpace(id), `"'`)
			switch {
			case op.id != "":
				return nil, fmt.Errorf("line %d: %s %s has a second operationId", n, op.method, path)
			case id == "" || strings.ContainsAny(id, " &*{[|>"):
				return nil, fmt.Errorf("line %d: the operationId of %s %s is %q, not a plain name", n, op.method, path, m[2])
			}
			op.id = id
		}
		// Deeper than the fields of a Path Item without an operation: the
		// value of its summary, description, servers or parameters.
	}
	if err := end(len(lines)); err != nil {
		return nil, err
	}
	return ops, nil
}

// operations reads what openapi.yaml writes, and refuses what it would
// read wrong.
func TestOperationsReadsTheContractsForm(t *testing.T) {
	ok := `openapi: 3.0.3
paths:
  /a:
    summary: A
    parameters:
      - name: x
        in: query
    get:
      description: |
        operationId: notThis
      operationId: getA  # a comment
      responses:
        '200':
          description: ok
          links:
            next:
              operationId: notThisEither
    post:
      operationId: 'postA'
  /b/{id}:
    x-internal: true
    delete:
      operationId: "deleteB"
components:
  schemas: {}
`
	ops, err := operations(ok)
	want := []operation{{"GET", "/a", "getA"}, {"POST", "/a", "postA"}, {"DELETE", "/b/{id}", "deleteB"}}
	if err != nil || !slices.Equal(ops, want) {
		t.Errorf("operations: %v, %v; want %v", ops, err, want)
	}
	for _, bad := range []string{
		"paths: {}\n", // no "paths:" line of its own
		"paths:\n  /a:\n    get:\n      summary: x\n",         // no operationId
		"paths:\n  /a:\n    get: {operationId: x}\n",          // flow style
		"paths:\n  /a:\n    $ref: '#/x'\n",                    // a $ref
		"paths:\n  /a:\n    \"get\":\n      operationId: x\n", // a quoted key
		"paths:\n  /a:\n    get: &op\n      operationId: x\n", // an anchor
		"paths:\n  /a:\n    got:\n      operationId: x\n",     // not a field of a Path Item
		"paths:\n  /a:\n    get:\n      operationId: x\n      operationId: y\n",
		"paths:\n  /a:\n    get:\n      operationId: \n",
		"paths:\n  a:\n    get:\n      operationId: x\n", // not a path
		"paths:\n  /a: {get: {operationId: x}}\n",
		"paths:\n    /a:\n      get:\n        operationId: x\n  /b:\n",
		"paths:\n  /a:\n      get:\n        operationId: x\n    post:\n      operationId: y\n",
		"paths:\n  /a:\n    get:\n        operationId: x\n      summary: y\n",
		"paths:\n  /a:\n\tget:\n      operationId: x\n",
	} {
		if ops, err := operations(bad); err == nil {
			t.Errorf("operations(%q) = %v, want an error", bad, ops)
		}
	}
}

// An operation not known to be safe is sent once, whatever the answer.
func TestUnsafeOperationIsNotRetried(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	for _, op := range []string{"createBatch", ""} {
		n.Store(0)
		d := newDoer(config{maxRetries: 5, maxRetryDelay: time.Millisecond, httpClient: &http.Client{}}, op, nil)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := d.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || n.Load() != 1 {
			t.Errorf("op %q: %d after %d requests", op, resp.StatusCode, n.Load())
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		{"999999999999", 24 * time.Hour, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"Sun, 01 Jun 2025 12:00:30 GMT", 30 * time.Second, true}, // IMF-fixdate
		{"Sunday, 01-Jun-25 12:01:00 GMT", time.Minute, true},     // RFC 850
		{"Sun Jun  1 12:00:05 2025", 5 * time.Second, true},       // asctime
		{"Sun, 01 Jun 2025 11:00:00 GMT", 0, true},                // past
		{"Sun, 01 Jun 2025 12:00:30 +0200", 0, false},             // not an HTTP-date
	} {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFullJitterBounds(t *testing.T) {
	b := &fullJitter{base: 100 * time.Millisecond, max: time.Second}
	for _, ceiling := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		d := b.NextBackOff()
		if d < 0 || d >= ceiling*time.Millisecond {
			t.Errorf("retry %d waits %v, want [0, %v)", b.n, d, ceiling*time.Millisecond)
		}
	}
	for range 100 {
		b.NextBackOff() // no overflow however many
	}
	if d := b.NextBackOff(); d < 0 || d >= time.Second {
		t.Errorf("after 100 retries: %v", d)
	}
	b.Reset()
	if d := b.NextBackOff(); d >= 100*time.Millisecond {
		t.Errorf("after Reset: %v", d)
	}
}
