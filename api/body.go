package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches/generated/server"
)

// Request bodies are validated with memory proportional to their size.
//
// kin-openapi decodes a body into generic values (map[string]any, []any,
// one interface a number) before it validates it: 30 to 90 times the
// body's size for arrays of numbers or deeply nested arrays, which an
// unknown field or a body that is not an object could carry by the
// megabyte. So before kin-openapi sees a body that is one JSON value,
// shapeBody rewrites it, from the bytes alone (no decoding):
//
//   - an object's fields that the operation's schema does not have are
//     dropped (the contract ignores them, as FastAPI does), and of a field
//     sent twice only the last is kept (as a decoder keeps it);
//   - an array or object where the schema takes neither (the body itself
//     when the schema is an object, or a field whose schema is a string or
//     a number) is replaced by an empty one of the same kind, which fails
//     validation in the same way, and the error's input is then the value
//     as sent (rawInputs), copied from the body's bytes.
//
// What kin-openapi decodes is then the fields it has a schema for, each a
// scalar, so a request costs a small constant times its body's size
// (BenchmarkHostileBody measures it). Depth needs no limit of its own:
// nested arrays are never decoded, and json.Valid refuses nesting deeper
// than 10,000 (422 json_invalid).

// bodyShape is what shapeBody knows of an operation's body schema.
type bodyShape struct {
	// object: the schema is an object, whose fields are known (the others
	// are dropped) unless open is set.
	object bool
	// known are the object's fields; scalar those whose schema takes no
	// array or object.
	known, scalar map[string]bool
}

// bodyShapes returns, by the ServeMux pattern of each operation of spec
// ("POST /v1/buckets/{bucket_identifier}/batches/list"), what shapeBody
// needs of its JSON body schema.
func bodyShapes(spec *openapi3.T) map[string]bodyShape {
	shapes := map[string]bodyShape{}
	if spec.Paths == nil {
		return shapes
	}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
				continue
			}
			s := mt.Schema.Value
			shape := bodyShape{}
			// Fields are dropped only where the schema lets any other
			// field through: additionalProperties absent or true.
			if s.Type.Is("object") && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) && s.AdditionalProperties.Schema == nil {
				shape.object = true
				shape.known, shape.scalar = map[string]bool{}, map[string]bool{}
				for name, p := range s.Properties {
					shape.known[name] = true
					if p != nil && p.Value != nil && rejectsContainers(p.Value) {
						shape.scalar[name] = true
					}
				}
			}
			shapes[method+" "+path] = shape
		}
	}
	return shapes
}

// rejectsContainers reports whether s refuses every array and object
// whatever its content: its type is neither, or a member of its allOf
// refuses them, or every member of its oneOf or anyOf does.
func rejectsContainers(s *openapi3.Schema) bool {
	if s.Type != nil && len(*s.Type) > 0 {
		return !s.Type.Includes("array") && !s.Type.Includes("object")
	}
	for _, a := range s.AllOf {
		if a.Value != nil && rejectsContainers(a.Value) {
			return true
		}
	}
	for _, group := range [][]*openapi3.SchemaRef{s.OneOf, s.AnyOf} {
		if len(group) == 0 {
			continue
		}
		all := true
		for _, a := range group {
			all = all && a.Value != nil && rejectsContainers(a.Value)
		}
		if all {
			return true
		}
	}
	return false
}

// rawInput is a value shapeBody replaced: where it was in the body (the
// field's name, or "" for the body itself) and its bytes as sent.
type rawInput struct {
	field string
	raw   []byte
}

type rawInputsKey struct{}

// shapeBody returns body, one valid JSON value, rewritten for shape (see
// above), and the values it replaced. A body of another kind than the
// schema's is returned as it is, but for an array or object in place of
// an object's fields, which is replaced too.
func shapeBody(body []byte, shape bodyShape) ([]byte, []rawInput) {
	start := skipSpace(body, 0)
	if !shape.object || start >= len(body) {
		return body, nil
	}
	switch body[start] {
	case '[':
		return []byte("[]"), []rawInput{{raw: bytes.TrimSpace(body)}}
	case '{':
	default:
		return body, nil
	}
	type member struct {
		key, value []byte // the key with its quotes, the value as sent
		name       string
	}
	var kept []member
	i := start + 1
	for {
		i = skipSpace(body, i)
		if body[i] == '}' {
			break
		}
		keyEnd := skipValue(body, i)
		key := body[i:keyEnd]
		i = skipSpace(body, keyEnd) + 1 // ':'
		i = skipSpace(body, i)
		valueEnd := skipValue(body, i)
		value := body[i:valueEnd]
		i = skipSpace(body, valueEnd)
		if body[i] == ',' {
			i++
		}
		name := fieldName(key)
		if !shape.known[name] {
			continue
		}
		kept = slices.DeleteFunc(kept, func(m member) bool { return m.name == name })
		kept = append(kept, member{key: key, value: value, name: name})
	}
	out := make([]byte, 0, 64)
	var raws []rawInput
	out = append(out, '{')
	for n, m := range kept {
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, m.key...)
		out = append(out, ':')
		if c := m.value[0]; (c == '[' || c == '{') && shape.scalar[m.name] {
			raws = append(raws, rawInput{field: m.name, raw: m.value})
			out = append(out, c, c+2) // [] or {}
			continue
		}
		out = append(out, m.value...)
	}
	return append(out, '}'), raws
}

// fieldName decodes key, a JSON string with its quotes.
func fieldName(key []byte) string {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key[1 : len(key)-1])
	}
	var s string
	if err := json.Unmarshal(key, &s); err != nil {
		return "" // not reached: the body is valid JSON
	}
	return s
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value that starts at i in
// b, which is valid JSON.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '[', '{':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // a number, true, false or null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the index just past the JSON string that starts at i.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// withRawInputs records in r's context the values shapeBody replaced, for
// the validation error's inputs.
func withRawInputs(r *http.Request, raws []rawInput) *http.Request {
	if len(raws) == 0 {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), rawInputsKey{}, raws))
}

// restoreInputs sets, in the validation errors of a request whose body
// shapeBody rewrote, the input of an error about a replaced value (at
// ["body"] or ["body", field]) back to that value as sent.
func restoreInputs(r *http.Request, items []server.ValidationError) {
	raws, _ := r.Context().Value(rawInputsKey{}).([]rawInput)
	for _, raw := range raws {
		want := `["body"]`
		if raw.field != "" {
			name, _ := json.Marshal(raw.field)
			want = `["body",` + string(name) + `]`
		}
		for i := range items {
			if loc, err := json.Marshal(items[i].Loc); err == nil && string(loc) == want {
				if len(raw.raw) > maxEchoBytes || rawDepth(raw.raw) > maxEchoDepth {
					// Too large or too deep to repeat: an answer that
					// clients cannot decode (Go's encoding/json stops at
					// 10,000 levels) or that costs as much as the request.
					items[i].Input = nil
					ctx := map[string]any{"input_omitted": fmt.Sprintf("the value sent is not repeated: it is over %d bytes or nested over %d deep", maxEchoBytes, maxEchoDepth)}
					items[i].Ctx = &ctx
					continue
				}
				items[i].Input = json.RawMessage(raw.raw)
			}
		}
	}
}

// The largest and deepest value restoreInputs repeats as an error's input.
const (
	maxEchoBytes = 4 << 10
	maxEchoDepth = 32
)

// rawDepth is the deepest nesting of arrays and objects in b, valid JSON.
func rawDepth(b []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = skipString(b, i) - 1
		case '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ']', '}':
			depth--
		}
	}
	return deepest
}

// readAll reads r to its end into one buffer of the declared length (the
// body limit caps it), growing it only for a body that declared none.
func readAll(r io.Reader, declared int64) ([]byte, error) {
	if declared <= 0 || declared > DefaultMaxBodyBytes<<4 {
		return io.ReadAll(r)
	}
	var buf bytes.Buffer
	buf.Grow(int(declared) + bytes.MinRead) // ReadFrom wants MinRead free to find the end
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
