package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches/api/domain"
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
//     as sent (rawInputs), copied from the body's bytes;
//   - a string or number over maxScalarBytes (4 KiB; no valid value of a
//     request's fields is over 256 bytes), as a known field's value or as
//     the body itself, is replaced by a short stand-in that fails
//     validation in the same way (scalarStandIn): kin-openapi's errors
//     copy a value several times over (SchemaError.Error JSON-indents it
//     into the error of each member of a oneOf: 37 times the body for a
//     string of 1 MB as status), and the error's input is then omitted,
//     as for a large container.
//
// What kin-openapi decodes is then the fields it has a schema for, each a
// scalar of at most 4 KiB, so a request costs a small constant times its
// body's size (BenchmarkHostileBody measures it). Depth needs no limit of
// its own: nested arrays are never decoded, and json.Valid refuses nesting
// deeper than 10,000 (422 json_invalid).
//
// The inputs of numbers sent as floats (with a fraction or an exponent)
// are given back as pydantic gives a Python float, 2000.0 rather than 2000
// (pyFloat): the number as sent is kept for that too.

// bodyShape is what shapeBody knows of an operation's body schema.
type bodyShape struct {
	// object: the schema is an object, whose fields are known (the others
	// are dropped) unless open is set.
	object bool
	// known are the object's fields; scalar those whose schema takes no
	// array or object.
	known, scalar map[string]bool
	// standIn is the string that takes the place of a string over
	// maxScalarBytes (scalarStandIn): longer than any maxLength of the
	// fields' schemas, at least as long as any minLength, in no enum.
	standIn []byte
}

// bodyShapes returns, by the ServeMux pattern of each operation of spec
// ("POST /v1/buckets/{bucket_identifier}/batches/list"), what shapeBody
// needs of its JSON body schema.
func bodyShapes(spec *openapi3.T) (map[string]bodyShape, error) {
	shapes := map[string]bodyShape{}
	if spec.Paths == nil {
		return shapes, nil
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
				longest := 0
				for name, p := range s.Properties {
					shape.known[name] = true
					if p != nil && p.Value != nil && rejectsContainers(p.Value) {
						shape.scalar[name] = true
					}
					if p != nil && p.Value != nil {
						n, err := stringBound(p.Value)
						if err != nil {
							return nil, fmt.Errorf("%s %s, %s: %w", method, path, name, err)
						}
						longest = max(longest, n)
					}
				}
				shape.standIn = []byte(`"` + strings.Repeat("x", longest+1) + `"`)
			}
			shapes[method+" "+path] = shape
		}
	}
	return shapes, nil
}

// stringBound is the largest maxLength or minLength of s and the schemas
// it is made of (allOf, oneOf, anyOf), 0 for none. It returns an error for
// what would let a stand-in pass where the string it replaces fails, or
// fail otherwise: a bound of maxScalarBytes/4 characters or more (a string
// over maxScalarBytes may have no more characters than that), a pattern,
// or a format of a string. The contract has none (NewHandler fails on
// one).
func stringBound(s *openapi3.Schema) (int, error) {
	n := int(s.MinLength)
	if s.MaxLength != nil {
		n = max(n, int(*s.MaxLength))
	}
	if n >= maxScalarBytes/4 || s.Pattern != "" || s.Type.Is("string") && s.Format != "" {
		return 0, fmt.Errorf("a request field's string schema (length bound %d, pattern %q, format %q) that a short stand-in of a string over %d bytes could not fail alike (api/body.go)",
			n, s.Pattern, s.Format, maxScalarBytes)
	}
	for _, group := range [][]*openapi3.SchemaRef{s.AllOf, s.OneOf, s.AnyOf} {
		for _, a := range group {
			if a != nil && a.Value != nil {
				m, err := stringBound(a.Value)
				if err != nil {
					return 0, err
				}
				n = max(n, m)
			}
		}
	}
	return n, nil
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

// rawInput is a value shapeBody replaced, or a number it kept that was
// sent as a float: where it was in the body (the field's name, or "" for
// the body itself) and its bytes as sent.
type rawInput struct {
	field string
	raw   []byte
	// float: a number in float syntax, kept; its error's input is given
	// as pydantic gives a Python float (pyFloat).
	float bool
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
		value := bytes.TrimSpace(body)
		if len(value) > maxScalarBytes {
			return scalarStandIn(value, shape), []rawInput{{raw: value}}
		}
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
		switch c := m.value[0]; {
		case (c == '[' || c == '{') && shape.scalar[m.name]:
			raws = append(raws, rawInput{field: m.name, raw: m.value})
			out = append(out, c, c+2) // [] or {}
			continue
		case c != '[' && c != '{' && len(m.value) > maxScalarBytes:
			raws = append(raws, rawInput{field: m.name, raw: m.value})
			out = append(out, scalarStandIn(m.value, shape)...)
			continue
		case c == '-' || c >= '0' && c <= '9':
			switch {
			case bytes.ContainsAny(m.value, ".eE"):
				raws = append(raws, rawInput{field: m.name, raw: m.value, float: true})
			case len(m.value) > 15:
				// An integer that validation may read through a float64
				// (99999999999999999999 as 1e20): its error's input is
				// the digits sent, as pydantic's Python int.
				raws = append(raws, rawInput{field: m.name, raw: m.value})
			}
		}
		out = append(out, m.value...)
	}
	return append(out, '}'), raws
}

// maxScalarBytes is the longest string or number, as sent, that shapeBody
// passes to validation as it is.
const maxScalarBytes = 4 << 10

// scalarStandIn returns the short value that takes the place of v, a JSON
// string or number over maxScalarBytes, and fails validation as v would:
//
//   - a string: shape.standIn, a string longer than any maxLength of the
//     operation's fields (so over it, as v is), in no enum, of any type
//     but string and null alike (bodyShapes makes sure no pattern or
//     format could tell them apart);
//   - a number: one of the same float64 value in float syntax
//     (strconv.FormatFloat's shortest "e" form: 1e+00, 0e+00), which
//     validation reads as it reads v, or 1e400 or -1e400 when v is beyond
//     float64 (as every integer of over 4 KiB of digits is), which it
//     refuses as it refuses v (finite_number).
func scalarStandIn(v []byte, shape bodyShape) []byte {
	if v[0] == '"' {
		return shape.standIn
	}
	f, err := strconv.ParseFloat(shortNumber(v), 64)
	if err != nil && math.IsInf(f, 0) {
		if f < 0 {
			return []byte("-1e400")
		}
		return []byte("1e400")
	}
	return strconv.AppendFloat(nil, f, 'e', -1, 64)
}

// shortNumber returns a number of at most about 830 bytes that
// strconv.ParseFloat reads as it reads v, a JSON number of any length,
// without copying v (ParseFloat's error would copy it again): the sign,
// the first 800 significant digits (ParseFloat reads no more), a 1 after
// them when a digit left out is not 0 (so that rounding sees them, as
// ParseFloat does), and the exponent, which ParseFloat saturates anyway,
// kept within ±100,000.
func shortNumber(v []byte) string {
	var b []byte
	i := 0
	if i < len(v) && v[i] == '-' {
		b = append(b, '-')
		i++
	}
	var digits []byte
	point, sticky, seen := 0, false, false
	for ; i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.'); i++ {
		c := v[i]
		if c == '.' {
			seen = true
			continue
		}
		if c == '0' && len(digits) == 0 {
			if seen {
				point-- // a leading zero after the point
			}
			continue
		}
		if !seen {
			point++
		}
		if len(digits) < 800 {
			digits = append(digits, c)
		} else if c != '0' {
			sticky = true
		}
	}
	exp := 0
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		neg := false
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			neg = v[i] == '-'
			i++
		}
		for ; i < len(v); i++ {
			if exp < 100_000 {
				exp = exp*10 + int(v[i]-'0')
			}
		}
		if neg {
			exp = -exp
		}
	}
	if len(digits) == 0 {
		return string(append(b, '0'))
	}
	if sticky {
		digits = append(digits, '1')
	}
	b = append(append(b, "0."...), digits...)
	return string(strconv.AppendInt(append(b, 'e'), int64(point+exp), 10))
}

// pyFloat is f as Python's repr writes a float, which FastAPI's answers
// carry as the input of a number sent as a float: the shortest digits
// that read back as f, in fixed notation with at least one decimal
// (2000.0, 0.0001, -0.0) when its exponent is from -4 to 15, else in
// scientific notation with a signed exponent of at least two digits
// (1e-05, 1e+16, 1.5e+300).
func pyFloat(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mantissa, exponent, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exponent)
	if f != 0 && (exp < -4 || exp >= 16) {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mantissa, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
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
				if raw.float {
					// A number kept as sent: its input, when the error
					// gives one as a number, as pydantic's Python float.
					switch items[i].Input.(type) {
					case float64, int64, json.Number:
						if f, err := strconv.ParseFloat(string(raw.raw), 64); err == nil {
							items[i].Input = json.RawMessage(pyFloat(f))
						}
					}
					continue
				}
				if tooLargeToEcho(raw.raw) {
					omitInput(&items[i])
					continue
				}
				items[i].Input = json.RawMessage(raw.raw)
			}
		}
	}
}

// omitLargeInputs omits the inputs of items that are too large or too
// deep to repeat (a list of 1001 object ids, a header of 10 KB), as
// restoreInputs does those of the values shapeBody replaced.
func omitLargeInputs(items []server.ValidationError) {
	for i := range items {
		switch in := items[i].Input.(type) {
		case nil, json.RawMessage, bool, float64, int, int64:
		case string:
			if len(in) > maxEchoBytes {
				omitInput(&items[i])
			}
		default:
			if j, err := json.Marshal(in); err != nil || tooLargeToEcho(j) {
				omitInput(&items[i])
			}
		}
	}
}

// tooLargeToEcho reports whether raw, JSON, is too large or too deep to
// repeat as an error's input: an answer that clients cannot decode (Go's
// encoding/json stops at 10,000 levels) or that costs as much as the
// request.
func tooLargeToEcho(raw []byte) bool {
	return len(raw) > maxEchoBytes || domain.JSONDepth(raw) > maxEchoDepth
}

// omitInput sets the input of item to null and says why in its ctx.
func omitInput(item *server.ValidationError) {
	item.Input = nil
	ctx := map[string]any{}
	if item.Ctx != nil {
		maps.Copy(ctx, *item.Ctx)
	}
	ctx["input_omitted"] = fmt.Sprintf("the value sent is not repeated: it is over %d bytes or nested over %d deep", maxEchoBytes, maxEchoDepth)
	item.Ctx = &ctx
}

// The largest and deepest value restoreInputs repeats as an error's input.
const (
	maxEchoBytes = 4 << 10
	maxEchoDepth = 32
)
