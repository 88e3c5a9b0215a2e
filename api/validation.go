package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/specroute"
	"github.com/mixpeekgo/batches/generated/server"
)

// validationItem builds one item of FastAPI's HTTPValidationError.detail.
func validationItem(loc []any, typ, msg string, input any, ctx map[string]any) server.ValidationError {
	item := server.ValidationError{Type: typ, Msg: msg, Input: input}
	for _, l := range loc {
		var li server.ValidationError_Loc_Item
		switch v := l.(type) {
		case int:
			_ = li.FromValidationErrorLoc1(v)
		default:
			_ = li.FromValidationErrorLoc0(fmt.Sprint(v))
		}
		item.Loc = append(item.Loc, li)
	}
	if ctx != nil {
		item.Ctx = &ctx
	}
	return item
}

// writeValidationError answers 422 with FastAPI's HTTPValidationError body,
// detail always set.
func writeValidationError(w http.ResponseWriter, items ...server.ValidationError) {
	if items == nil {
		items = []server.ValidationError{}
	}
	writeJSON(w, http.StatusUnprocessableEntity, server.HTTPValidationError{Detail: &items})
}

// readBody reads and checks the request body before the contract is
// validated, for what kin-openapi does not tell apart clearly: a body over
// the limit (413), one that is not JSON (415), and one that is not exactly
// one JSON value (422 json_invalid, as FastAPI answers, with the byte offset
// in loc; white space alone is not JSON either). An empty body is taken as
// no body, so the request gets the defaults; a body without Content-Type is
// read as JSON, as FastAPI does.
//
// A body that is one JSON value is then rewritten by shapeBody (body.go),
// from the schema of the operation in shapes, so that validating it costs
// memory proportional to its size.
func readBody(shapes map[string]bodyShape) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return readShapedBody(shapes, next) }
}

func readShapedBody(shapes map[string]bodyShape, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// readFirst read every body but an empty one, under its bounds.
		var body []byte
		if b, ok := r.Body.(bufferedBody); ok {
			body = b.data
		}
		_ = r.Body.Close()
		if len(body) == 0 {
			r.Body = http.NoBody
			r.ContentLength = 0
			r.Header.Del("Content-Type")
			next.ServeHTTP(w, r)
			return
		}
		// A UTF-8 byte order mark is not JSON but is read past, as
		// Python's json does for bytes.
		body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
		if ct := r.Header.Get("Content-Type"); ct == "" {
			r.Header.Set("Content-Type", "application/json")
		} else if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType,
				"Content-Type must be application/json, got "+strconv.Quote(ct),
				map[string]any{"content_type": ct, "supported": []string{"application/json"}})
			return
		} else if ct != "application/json" {
			// kin-openapi matches the media type with its parameters; the
			// body was already checked to be JSON above.
			r.Header.Set("Content-Type", "application/json")
		}
		if !json.Valid(body) {
			var v any
			err := json.Unmarshal(body, &v)
			// loc carries the 0-based index of the offending character, as
			// Python's json reports it; Go's offset is just past it, or
			// the length for a body that ends too soon.
			offset := int64(len(body))
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) {
				offset = syntax.Offset
				if offset > 0 && !strings.HasPrefix(syntax.Error(), "unexpected end") {
					offset--
				}
			}
			reason := "Invalid JSON"
			if err != nil {
				reason = strings.TrimPrefix(err.Error(), "json: ")
			}
			// Python counts characters, not bytes.
			pos := utf8.RuneCount(body[:min(offset, int64(len(body)))])
			writeValidationError(w, validationItem([]any{"body", pos}, "json_invalid",
				"JSON decode error", map[string]any{}, map[string]any{"error": reason}))
			return
		}
		sent := body
		body, raws := shapeBody(body, shapes[r.Pattern])
		// Text no UTF-8 string holds (bytes that are not UTF-8, a lone
		// surrogate escape) would be decoded as U+FFFD, silently: refused
		// where the body keeps it (fields dropped unread aside) as
		// pydantic's JSON parser refuses it, at its character in the body
		// sent.
		if at := domain.NotText(body); at >= 0 {
			writeNotText(w, sent, body, at)
			return
		}
		r = withRawInputs(r, raws)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// writeNotText answers 422 json_invalid for what domain.NotText found at
// the offset at of shaped, the body sent as shapeBody kept it: at the
// same bytes in sent, the first such at or after at (shaping only drops
// bytes).
func writeNotText(w http.ResponseWriter, sent, shaped []byte, at int) {
	_, n := domain.NotTextAt(shaped, at)
	if i := bytes.Index(sent[at:], shaped[at:at+n]); i >= 0 {
		at += i
	}
	what, _ := domain.NotTextAt(sent, at)
	writeValidationError(w, validationItem([]any{"body", utf8.RuneCount(sent[:at])}, "json_invalid",
		"JSON decode error", map[string]any{}, map[string]any{"error": what}))
}

// paramError renders the generated server's parameter binding errors: a
// missing X-Namespace is 422 `missing` (FastAPI's answer for a required
// header), a repeated or empty one 400.
func paramError(w http.ResponseWriter, r *http.Request, err error) {
	var missing *server.RequiredHeaderError
	var tooMany *server.TooManyValuesForParamError
	var format *server.InvalidParamFormatError
	switch {
	case errors.As(err, &missing):
		writeValidationError(w, validationItem([]any{"header", strings.ToLower(missing.ParamName)},
			"missing", "Field required", nil, nil))
	case errors.As(err, &tooMany):
		writeError(w, http.StatusBadRequest,
			fmt.Sprintf("%s header must be sent once, got %d values", tooMany.ParamName, tooMany.Count),
			map[string]any{"header": tooMany.ParamName})
	case errors.As(err, &format) && strings.EqualFold(format.ParamName, "X-Namespace"):
		// A string header fails to bind only when it is empty: it names no
		// namespace.
		writeError(w, http.StatusBadRequest, "X-Namespace header must not be empty",
			map[string]any{"header": "X-Namespace"})
	default:
		writeError(w, http.StatusBadRequest, "Invalid request parameters", nil)
	}
}

// newValidator returns the kin-openapi request validator, its errors
// rendered as FastAPI's HTTPValidationError. Authentication is done before
// it, by authenticate. It routes by method and path (specroute), as the
// mux does, so that a request is checked against the operation that
// serves it.
func newValidator(spec *openapi3.T) (func(http.Handler) http.Handler, error) {
	router, err := specroute.New(spec)
	if err != nil {
		return nil, err
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         true,
		// Null is not absent: {"limit": null} is a 422, as pydantic
		// answers. The handler applies the defaults.
		SkipSettingDefaults: true,
		// The strict server binds the validated value (ValidatedValue)
		// rather than decode the body again.
		KeepValidatedValue: true,
	}
	// The contract's route of each pattern the mux serves, found once:
	// finding one walks the contract's paths with gorilla/mux's regular
	// expressions, about a tenth of a small request's time. A request
	// takes its route from the pattern the mux matched and its parameters
	// from the mux, but for an escaped path (%…), which the mux decodes
	// and kin-openapi's router does not: it is routed as kin-openapi
	// routes it (…/batches/%6cist is the batch "%6cist" there).
	routes, err := patternRoutes(spec, router)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// HEAD of a GET operation is that GET without the answer's
			// body (the mux routes it so, and net/http drops the body):
			// it is checked as the GET.
			checked := r
			if r.Method == http.MethodHead {
				checked = r.Clone(r.Context())
				checked.Method = http.MethodGet
			}
			var (
				route  *routers.Route
				params map[string]string
				err    error
			)
			if pr, ok := routes[r.Pattern]; ok && !strings.Contains(r.URL.EscapedPath(), "%") {
				route, params = pr.route, make(map[string]string, len(pr.params))
				for _, name := range pr.params {
					params[name] = r.PathValue(name)
				}
			} else {
				route, params, err = router.FindRoute(checked)
			}
			if err == nil {
				err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
					Request: checked, PathParams: params, QueryParams: r.URL.Query(), Route: route, Options: opts,
				})
			}
			if err != nil {
				renderRequestError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// patternRoute is the contract's route of a mux pattern and the names of
// its path parameters.
type patternRoute struct {
	route  *routers.Route
	params []string
}

// pathParam is a parameter of a path template: {bucket_identifier}.
var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// patternRoutes finds, through router, the route of each operation of
// spec by the mux's pattern of it ("GET /v1/tasks/{task_id}"), routing a
// path of the template with each parameter "x".
func patternRoutes(spec *openapi3.T, router routers.Router) (map[string]patternRoute, error) {
	routes := map[string]patternRoute{}
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			req, err := http.NewRequest(method, pathParam.ReplaceAllString(path, "x"), nil)
			if err != nil {
				return nil, err
			}
			route, _, err := router.FindRoute(req)
			if err != nil || route.Path != path || route.Method != method {
				return nil, fmt.Errorf("routing %s %s in the contract: %v", method, path, err)
			}
			pr := patternRoute{route: route}
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				pr.params = append(pr.params, m[1])
			}
			routes[method+" "+path] = pr
		}
	}
	return routes, nil
}

// renderRequestError answers a kin-openapi validation error.
func renderRequestError(w http.ResponseWriter, r *http.Request, err error) {
	// The mux and kin-openapi's router may disagree on a path the mux
	// matched after decoding it (…/batches/%6cist, which kin-openapi reads
	// as the batch "%6cist", whose path has no POST): no route, all the
	// same.
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		writeRouteNotFound(w, r)
		return
	}
	var all []server.ValidationError
	collectRequestErrors(err, &all)
	// One error a place, the first, as pydantic stops at a field's first
	// failed rule.
	var items []server.ValidationError
	seen := map[string]bool{}
	for _, it := range all {
		key, _ := json.Marshal(it.Loc)
		if !seen[string(key)] {
			seen[string(key)] = true
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		items = append(items, validationItem([]any{"body"}, "value_error", err.Error(), nil, nil))
	}
	restoreInputs(r, items)
	omitLargeInputs(items)
	writeValidationError(w, items...)
}

func collectRequestErrors(err error, items *[]server.ValidationError) {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, x := range e {
			collectRequestErrors(x, items)
		}
	case *openapi3filter.RequestError:
		base := []any{"body"}
		if p := e.Parameter; p != nil {
			name := p.Name
			if p.In == "header" {
				name = strings.ToLower(name)
			}
			base = []any{p.In, name}
		}
		appendSchemaError(base, e.Err, items)
	default:
		*items = append(*items, validationItem([]any{"body"}, "value_error", err.Error(), nil, nil))
	}
}

// appendSchemaError adds one item for each schema violation in err, at base
// and the violation's JSON pointer.
func appendSchemaError(base []any, err error, items *[]server.ValidationError) {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, x := range e {
			appendSchemaError(base, x, items)
		}
		return
	case *openapi3.SchemaError:
		loc := append([]any{}, base...)
		for _, p := range e.JSONPointer() {
			if n, err := strconv.Atoi(p); err == nil {
				loc = append(loc, n)
			} else {
				loc = append(loc, p)
			}
		}
		// A violation inside allOf (a nullable $ref) is described by the
		// innermost schema error, at the outer one's place.
		inner := e
		for inner.Origin != nil {
			var next *openapi3.SchemaError
			if !errors.As(inner.Origin, &next) {
				break
			}
			inner = next
		}
		*items = append(*items, describeSchemaError(loc, inner))
		return
	}
	if errors.Is(err, openapi3filter.ErrInvalidRequired) {
		// A required body (or parameter) that was not sent, as FastAPI
		// words it.
		*items = append(*items, validationItem(base, "missing", "Field required", nil, nil))
		return
	}
	var parse *openapi3filter.ParseError
	if errors.As(err, &parse) {
		*items = append(*items, validationItem(base, "json_invalid", "JSON decode error", nil,
			map[string]any{"error": parse.Error()}))
		return
	}
	*items = append(*items, validationItem(base, "value_error", err.Error(), nil, nil))
}

// describeSchemaError words a schema violation the way pydantic v2 does, so
// that clients written for FastAPI's answers read ours alike.
func describeSchemaError(loc []any, se *openapi3.SchemaError) server.ValidationError {
	input := jsonInput(se.Value)
	schema := se.Schema
	if len(loc) == 1 && loc[0] == "body" && (se.SchemaField == "type" || se.SchemaField == "nullable") {
		return validationItem(loc, "model_attributes_type",
			"Input should be a valid dictionary or object to extract fields from", input, nil)
	}
	if schema != nil && len(schema.Enum) > 0 || se.SchemaField == "enum" {
		var allowed []string
		if schema != nil {
			for _, e := range schema.Enum {
				allowed = append(allowed, fmt.Sprintf("'%v'", e))
			}
		}
		expected := joinOr(allowed)
		return validationItem(loc, "enum", "Input should be "+expected, input,
			map[string]any{"expected": expected})
	}
	switch se.SchemaField {
	case "minimum", "maximum", "format":
		// The contract's bound where the value passes one (limit ≤ 1000),
		// else the integer format's (int64).
		if f, ok := se.Value.(float64); ok && schema != nil {
			if schema.Max != nil && f > *schema.Max {
				return lessThanEqual(loc, *schema.Max, input)
			}
			if schema.Min != nil && f < *schema.Min {
				return greaterThanEqual(loc, *schema.Min, input)
			}
		}
		if se.SchemaField == "format" && schema != nil && schema.Type.Is("integer") {
			return integerBound(loc, schema.Format, input, se.Value)
		}
	case "type":
		if n, ok := se.Value.(json.Number); ok {
			if _, err := n.Float64(); err != nil {
				return validationItem(loc, "finite_number", "Input should be a finite number", n.String(), nil)
			}
		}
		if schema != nil {
			if _, ok := se.Value.(float64); ok && schema.Type.Is("integer") {
				return validationItem(loc, "int_from_float",
					"Input should be a valid integer, got a number with a fractional part", input, nil)
			}
			return describeType(loc, schema, input)
		}
	case "minItems", "maxItems":
		if list, ok := se.Value.([]any); ok && schema != nil {
			n := len(list)
			noun := func(k uint64) string { return plural(float64(k), "item", "items") }
			if se.SchemaField == "minItems" {
				return validationItem(loc, "too_short",
					fmt.Sprintf("List should have at least %d %s after validation, not %d", schema.MinItems, noun(schema.MinItems), n),
					input, map[string]any{"field_type": "List", "min_length": schema.MinItems, "actual_length": n})
			}
			if schema.MaxItems != nil {
				// As pydantic words it, with the list as input unless
				// it is too large to repeat (omitLargeInputs).
				return validationItem(loc, "too_long",
					fmt.Sprintf("List should have at most %d %s after validation, not %d", *schema.MaxItems, noun(*schema.MaxItems), n),
					input, map[string]any{"field_type": "List", "max_length": *schema.MaxItems, "actual_length": n})
			}
		}
	case "minLength":
		if schema != nil {
			noun := plural(float64(schema.MinLength), "character", "characters")
			return validationItem(loc, "string_too_short",
				fmt.Sprintf("String should have at least %d %s", schema.MinLength, noun), input,
				map[string]any{"min_length": schema.MinLength})
		}
	case "maxLength":
		if schema != nil && schema.MaxLength != nil {
			return validationItem(loc, "string_too_long",
				fmt.Sprintf("String should have at most %d characters", *schema.MaxLength), input,
				map[string]any{"max_length": *schema.MaxLength})
		}
	case "nullable":
		return describeType(loc, schema, nil)
	case "required":
		return validationItem(loc, "missing", "Field required", nil, nil)
	}
	return validationItem(loc, "value_error", se.Reason, input, nil)
}

// describeType words a value of the wrong JSON type (null included) for a
// schema, as pydantic does.
func describeType(loc []any, schema *openapi3.Schema, input any) server.ValidationError {
	switch {
	case schema == nil:
	case schema.Type.Is("integer"):
		return validationItem(loc, "int_type", "Input should be a valid integer", input, nil)
	case schema.Type.Is("number"):
		return validationItem(loc, "float_type", "Input should be a valid number", input, nil)
	case schema.Type.Is("string"):
		return validationItem(loc, "string_type", "Input should be a valid string", input, nil)
	case schema.Type.Is("boolean"):
		return validationItem(loc, "bool_type", "Input should be a valid boolean", input, nil)
	case schema.Type.Is("array"):
		return validationItem(loc, "list_type", "Input should be a valid list", input, nil)
	case schema.Type.Is("object"):
		return validationItem(loc, "model_attributes_type",
			"Input should be a valid dictionary or object to extract fields from", input, nil)
	}
	return validationItem(loc, "value_error", "Input is not valid", input, nil)
}

// integerBound words an integer beyond its format (int32, int64) as the
// bound it passes: less_than_equal, or greater_than_equal below zero.
func integerBound(loc []any, format string, input, value any) server.ValidationError {
	max := int64(math.MaxInt64)
	if format == "int32" {
		max = math.MaxInt32
	}
	negative := false
	switch v := value.(type) {
	case float64:
		negative = v < 0
	case json.Number:
		negative = strings.HasPrefix(v.String(), "-")
	case string:
		negative = strings.HasPrefix(v, "-")
	}
	if negative {
		return greaterThanEqual(loc, -max-1, input)
	}
	return lessThanEqual(loc, max, input)
}

// lessThanEqual and greaterThanEqual are pydantic's bound errors; bound is
// an int64 or a float64 (a whole one is shown as an integer, 1000 not 1e+03).
func lessThanEqual(loc []any, bound, input any) server.ValidationError {
	bound = wholeAsInt(bound)
	return validationItem(loc, "less_than_equal", fmt.Sprintf("Input should be less than or equal to %v", bound),
		input, map[string]any{"le": bound})
}

func greaterThanEqual(loc []any, bound, input any) server.ValidationError {
	bound = wholeAsInt(bound)
	return validationItem(loc, "greater_than_equal", fmt.Sprintf("Input should be greater than or equal to %v", bound),
		input, map[string]any{"ge": bound})
}

func wholeAsInt(v any) any {
	if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return v
}

// jsonInput gives the offending value as JSON would show it; a number
// beyond float64 is given as the string it was sent as.
func jsonInput(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		if f, err := n.Float64(); err == nil {
			return f
		}
		return n.String()
	}
	return v
}

// writeBindError answers a body that conforms to the contract but does not
// fit the Go type it binds to: an integer beyond int64 (JSON Schema's
// integers have no bound; int64 offsets do). Anything else is a 422 on the
// whole body.
func writeBindError(w http.ResponseWriter, err error) {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		loc := []any{"body"}
		for _, p := range strings.Split(typeErr.Field, ".") {
			loc = append(loc, p)
		}
		input := strings.TrimPrefix(typeErr.Value, "number ")
		if _, err := strconv.ParseInt(input, 10, 64); err != nil && !strings.ContainsAny(input, ".eE") {
			switch typeErr.Type.Kind() {
			case reflect.Int64, reflect.Int:
				writeValidationError(w, integerBound(loc, "int64", input, input))
				return
			case reflect.Int32:
				writeValidationError(w, integerBound(loc, "int32", input, input))
				return
			}
		}
		switch typeErr.Type.Kind() {
		case reflect.Float64, reflect.Float32, reflect.Interface:
			// A number beyond float64 (1e400) in a number or a free-form
			// value (metadata): Go holds no such number.
			writeValidationError(w, validationItem(loc, "finite_number", "Input should be a finite number", input, nil))
			return
		}
		writeValidationError(w, validationItem(loc, "int_type", "Input should be a valid integer", input, nil))
		return
	}
	writeValidationError(w, validationItem([]any{"body"}, "value_error", "Invalid request body", nil, nil))
}

// joinOr lists values as pydantic does: 'A', 'B' or 'C'.
func joinOr(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

// integralNumbers makes the validated body bind into Go integers whatever
// the spelling of a whole number: JSON Schema counts 10.0 and 1e2 as
// integers, encoding/json does not. Numbers in integer syntax, and numbers
// that are not whole, are left as they are.
func integralNumbers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vb, ok := r.Body.(interface{ ValidatedValue() any }); ok {
			v := canonicalNumbers(vb.ValidatedValue())
			r.Body = validatedBody{ReadCloser: r.Body, value: v}
			r = r.WithContext(context.WithValue(r.Context(), validatedBodyKey{}, v))
		}
		next.ServeHTTP(w, r)
	})
}

type validatedBodyKey struct{}

// validatedBodyFrom returns the request's body as validated (decoded JSON:
// map[string]any for an object), nil when it has none: for an operation
// that must tell a field sent null from one left out, which the generated
// body types do not.
func validatedBodyFrom(ctx context.Context) any { return ctx.Value(validatedBodyKey{}) }

// validatedBody carries the validated value to the strict server's body
// binding (oapi-codegen's runtime.BindJSONBody reads ValidatedValue).
type validatedBody struct {
	io.ReadCloser
	value any
}

func (b validatedBody) ValidatedValue() any { return b.value }

func canonicalNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = canonicalNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = canonicalNumbers(e)
		}
	case json.Number:
		if _, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return t
		}
		// As kin-openapi validated it, and as pydantic reads it: a float64
		// that is whole, within int64.
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
			return t
		}
		return json.Number(strconv.FormatInt(int64(f), 10))
	}
	return v
}
