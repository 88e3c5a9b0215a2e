package api

import (
	"math/big"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches/generated/server"
)

// The query parameters, read as FastAPI reads them: the last value of a
// parameter sent several times; an integer as pydantic parses a string
// into one (white space around it, a sign, decimal zeros "5.0"; else 422
// int_parsing); a boolean from pydantic's words (true, false, yes, no,
// on, off, t, f, y, n, 1, 0, in any case; else 422 bool_parsing), each
// error at loc ["query", name]. The generated server binds a parameter
// with Go's parsers, which refuse some of these ("yes") and take others
// pydantic refuses ("1e3" is no int to pydantic); a binding failure used
// to answer 400 "Invalid request parameters". checkQuery rewrites what it
// accepts into the form both Go and kin-openapi read alike, so that the
// contract's bounds are checked after it (422 less_than_equal, …).

// queryParam is a query parameter of an operation, and the type of its
// schema ("integer", "boolean", "string").
type queryParam struct {
	name, typ string
	min, max  *float64
}

// queryParams returns the query parameters of each operation of spec, by
// the operation label route records (operationIDs: openapi.yaml's
// operationId, which generated/server's spec capitalizes).
func queryParams(spec *openapi3.T) map[string][]queryParam {
	out := map[string][]queryParam{}
	if spec.Paths == nil {
		return out
	}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			id := operationIDs()[method+" "+path]
			for _, ref := range op.Parameters {
				p := ref.Value
				if p == nil || p.In != "query" || p.Schema == nil || p.Schema.Value == nil {
					continue
				}
				s := p.Schema.Value
				q := queryParam{name: p.Name, min: s.Min, max: s.Max}
				for _, t := range []string{"integer", "boolean", "string"} {
					if s.Type.Is(t) {
						q.typ = t
					}
				}
				out[id] = append(out[id], q)
			}
		}
	}
	return out
}

// checkQuery answers 422 for a query parameter of the request's operation
// that pydantic would not parse, and rewrites the others (the last value
// of each, in canonical form) for what follows.
func checkQuery(params map[string][]queryParam, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		declared := params[operationOf(r)]
		if r.URL.RawQuery == "" || len(declared) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		var items []server.ValidationError
		for _, p := range declared {
			values, sent := q[p.name]
			if !sent {
				continue
			}
			v := values[len(values)-1]
			loc := []any{"query", p.name}
			switch p.typ {
			case "integer":
				n, item, ok := pydanticInt(loc, v, p)
				if !ok {
					items = append(items, item)
					continue
				}
				v = n
			case "boolean":
				b, ok := pydanticBool(v)
				if !ok {
					items = append(items, validationItem(loc, "bool_parsing",
						"Input should be a valid boolean, unable to interpret input", v, nil))
					continue
				}
				v = strconv.FormatBool(b)
			}
			q[p.name] = []string{v}
		}
		if len(items) > 0 {
			writeValidationError(w, items...)
			return
		}
		r.URL.RawQuery = q.Encode()
		next.ServeHTTP(w, r)
	})
}

// pydanticBool reads s as pydantic reads a string into a bool.
func pydanticBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "t", "y", "on", "yes", "true":
		return true, true
	case "0", "f", "n", "no", "off", "false":
		return false, true
	}
	return false, false
}

// maxIntDigits is the longest string pydantic parses into an int
// (Python's limit on int("…")).
const maxIntDigits = 4300

// pydanticInt reads s as pydantic reads a string into an int, and returns
// it in decimal; an integer out of p's bounds answers the bound it passes
// (less_than_equal, greater_than_equal, input the number as JSON has it,
// or the string when beyond int64), as pydantic checks the bounds of the
// int it parsed: Go's binding of the parameter (an int32) never sees it.
func pydanticInt(loc []any, s string, p queryParam) (string, server.ValidationError, bool) {
	t := strings.TrimSpace(s)
	if len(t) > maxIntDigits {
		return "", validationItem(loc, "int_parsing_size",
			"Unable to parse input string as an integer, exceeded maximum size", s, nil), false
	}
	digits := t
	if i := strings.IndexByte(digits, '.'); i >= 0 && strings.Trim(digits[i+1:], "0") == "" {
		digits = digits[:i] // "5.0", "5.": pydantic strips decimal zeros
	}
	sign := ""
	if strings.HasPrefix(digits, "+") || strings.HasPrefix(digits, "-") {
		sign, digits = digits[:1], digits[1:]
	}
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok || digits == "" || strings.ContainsAny(digits, "+-_") {
		return "", validationItem(loc, "int_parsing", "Input should be a valid integer, unable to parse string as an integer", s, nil), false
	}
	if sign == "-" {
		n.Neg(n)
	}
	var input any = s
	if n.IsInt64() {
		input = n.Int64()
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	switch {
	case p.max != nil && f > *p.max:
		return "", lessThanEqual(loc, *p.max, input), false
	case p.min != nil && f < *p.min:
		return "", greaterThanEqual(loc, *p.min, input), false
	case !n.IsInt64():
		return "", integerBound(loc, "int64", s, s), false
	}
	return n.String(), server.ValidationError{}, true
}
