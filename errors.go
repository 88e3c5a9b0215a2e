package batches

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Sentinels for errors.Is. An *Error matches the one of its status; a
// request the client refuses before sending it matches ErrValidation; a walk
// of AllBatches over pages that cannot make up the list ends with an error
// matching ErrInconsistentPage.
var (
	ErrUnauthorized = errors.New("batches: unauthorized")    // 401: the API key is missing, malformed or unknown
	ErrForbidden    = errors.New("batches: forbidden")       // 403: the key may not do this
	ErrNotFound     = errors.New("batches: not found")       // 404: no such namespace, bucket or route
	ErrRateLimited  = errors.New("batches: rate limited")    // 429: too many requests (retried first)
	ErrValidation   = errors.New("batches: invalid request") // 400 or 422, or refused by the client before sending

	// ErrNoAPIKey: a call had no API key (neither WithAPIKey nor
	// $MIXPEEK_API_KEY); nothing was sent.
	ErrNoAPIKey = errors.New("batches: no API key: set " + EnvAPIKey + " or use WithAPIKey")
	// ErrNoNamespace: a call had no namespace (neither WithNamespace nor
	// $MIXPEEK_NAMESPACE); nothing was sent.
	ErrNoNamespace = errors.New("batches: no namespace: set " + EnvNamespace + " or use WithNamespace")
	// ErrInconsistentPage: Client.AllBatches got a page that cannot belong
	// to a walk of the whole list (the server ignores the offset or the
	// limit, repeats pages, or counts batches it does not return), and
	// stopped rather than pass the batches it had yielded off as all of
	// them. The error's text names the offset, the page and total_count.
	ErrInconsistentPage = errors.New("batches: inconsistent page")
)

// maxErrorBody is how much of an error response's body Error keeps.
const maxErrorBody = 64 << 10

// Error is an answer of the API the client cannot use: a status other than
// 2xx, or a 2xx whose body is not the operation's (then StatusCode is that
// 2xx and Message says what is wrong). It is returned after the retries the
// operation allows; a connection error or a context's end is returned as
// that error instead, wrapped with the operation and attempts.
//
// Its fields come from the body when it is Mixpeek's ErrorResponse
// ({"success":false,"status":…,"error":{"message","type","details"}}) or
// FastAPI's HTTPValidationError (422, {"detail":[…]}); for other bodies (a
// proxy's HTML 502, say) Message is the HTTP status text and RawBody tells
// the rest. Neither its fields nor its string carry the API key.
type Error struct {
	Operation  string            // the contract's operationId, e.g. "listBatches"
	Method     string            // e.g. "POST"
	Path       string            // the request's URL path
	StatusCode int               // the HTTP status of the last attempt
	Type       string            // ErrorResponse.error.type, e.g. "NotFoundError"; "" when absent
	Message    string            // ErrorResponse.error.message, or a string "detail", or the HTTP status text
	Details    map[string]any    // ErrorResponse.error.details; nil when null or absent
	Detail     []ValidationError // HTTPValidationError.detail (422); nil otherwise
	RequestID  string            // the server's request id (X-Request-Id and the like), if it sent one
	Header     http.Header       // the response's headers, without Set-Cookie
	RawBody    []byte            // the response body as received, its first 64 KiB
	Attempts   []Attempt         // every attempt made, in order; the last one got this answer
}

// ValidationError is one item of a 422's HTTPValidationError.detail, in
// FastAPI's (pydantic's) shape.
type ValidationError struct {
	Loc   []any          `json:"loc"`   // where: "body" and the field path (["body","limit"]), or "header"/"path" and a name; items are strings or numbers
	Msg   string         `json:"msg"`   // a sentence for people
	Type  string         `json:"type"`  // a stable identifier, e.g. "less_than_equal"
	Input any            `json:"input"` // the offending value; nil when none
	Ctx   map[string]any `json:"ctx"`   // the rule's parameters, e.g. {"le": 1000}; nil when none
}

// Attempt is one HTTP attempt of a call.
type Attempt struct {
	StatusCode int           // the response's status; 0 when none came
	Err        error         // why no response came (connection error, attempt timeout); nil when one did
	Duration   time.Duration // from sending to the end of reading the response
	Delay      time.Duration // the wait after this attempt before the next (cut short if the context ended); 0 for the last
}

// Error returns e.g. `batches: listBatches: HTTP 404 NotFoundError: Bucket
// not found: bkt_missing (request id req_1)`, with the validation items of a
// 422, a snippet of a body that is not the API's JSON, and the number of
// attempts when there was more than one. Control characters of the server's
// text are replaced.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("batches: ")
	if e.Operation != "" {
		b.WriteString(e.Operation + ": ")
	}
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if e.Type != "" {
		b.WriteString(" " + clean(e.Type))
	}
	if e.Message != "" {
		b.WriteString(": " + clean(e.Message))
	}
	for i, d := range e.Detail {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(d.String())
	}
	if e.Type == "" && e.Detail == nil && len(e.RawBody) > 0 && !json.Valid(e.RawBody) {
		b.WriteString(": " + snippet(e.RawBody))
	}
	var notes []string
	if e.RequestID != "" {
		notes = append(notes, "request id "+clean(e.RequestID))
	}
	if len(e.Attempts) > 1 {
		notes = append(notes, strconv.Itoa(len(e.Attempts))+" attempts")
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, ", ") + ")")
	}
	return b.String()
}

// Is reports whether target is the sentinel of e's status: ErrUnauthorized
// (401), ErrForbidden (403), ErrNotFound (404), ErrRateLimited (429) or
// ErrValidation (400, 422).
func (e *Error) Is(target error) bool {
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusTooManyRequests:
		return target == ErrRateLimited
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return target == ErrValidation
	}
	return false
}

// String renders the item as "body.limit: Input should be less than or
// equal to 1000 (less_than_equal)".
func (v ValidationError) String() string {
	parts := make([]string, 0, len(v.Loc))
	for _, l := range v.Loc {
		switch l := l.(type) {
		case string:
			parts = append(parts, clean(l))
		case float64:
			parts = append(parts, strconv.FormatFloat(l, 'f', -1, 64))
		default:
			parts = append(parts, clean(fmt.Sprint(l)))
		}
	}
	s := clean(v.Msg)
	if len(parts) > 0 {
		s = strings.Join(parts, ".") + ": " + s
	}
	if v.Type != "" {
		s += " (" + clean(v.Type) + ")"
	}
	return s
}

// requestIDHeaders are the headers a request id is read from, first found
// wins.
var requestIDHeaders = []string{"X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Amzn-Requestid", "Cf-Ray"}

// newError describes a non-2xx answer. key is redacted from every text
// taken from the body.
func newError(op, method, path string, resp *http.Response, body []byte, attempts []Attempt, key string) *Error {
	body = redact(body, key)
	e := &Error{
		Operation:  op,
		Method:     method,
		Path:       path,
		StatusCode: resp.StatusCode,
		Header:     resp.Header.Clone(),
		RawBody:    bytes.Clone(body[:min(len(body), maxErrorBody)]),
		Attempts:   attempts,
	}
	e.Header.Del("Set-Cookie")
	for _, h := range requestIDHeaders {
		if v := resp.Header.Get(h); v != "" {
			e.RequestID = v
			break
		}
	}
	var shape struct {
		Error  json.RawMessage `json:"error"`
		Detail json.RawMessage `json:"detail"`
		// Some servers put a message at the top.
		Message *string `json:"message"`
	}
	if json.Unmarshal(body, &shape) == nil {
		var detail struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Details json.RawMessage `json:"details"` // an object by the contract; anything else is dropped
		}
		var items []ValidationError
		var text string
		switch {
		case len(shape.Error) > 0 && json.Unmarshal(shape.Error, &detail) == nil && (detail.Message != "" || detail.Type != ""):
			e.Type, e.Message = detail.Type, detail.Message
			_ = json.Unmarshal(detail.Details, &e.Details)
		case len(shape.Detail) > 0 && json.Unmarshal(shape.Detail, &items) == nil && len(items) > 0:
			e.Detail = items
		case len(shape.Detail) > 0 && json.Unmarshal(shape.Detail, &text) == nil && text != "":
			e.Message = text // FastAPI's {"detail": "Not Found"}
		case len(shape.Error) > 0 && json.Unmarshal(shape.Error, &text) == nil && text != "":
			e.Message = text
		case shape.Message != nil && *shape.Message != "":
			e.Message = *shape.Message
		}
	}
	if e.Message == "" && e.Detail == nil {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// redact replaces every occurrence of key in b.
func redact(b []byte, key string) []byte {
	if key == "" || !bytes.Contains(b, []byte(key)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(key), []byte("[REDACTED]"))
}

// redactString replaces every occurrence of key in s.
func redactString(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[REDACTED]")
}

// snippetRunes is how much of a body that is not the API's JSON Error
// shows.
const snippetRunes = 200

// snippet is the start of body on one line, for an error string.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(bytes.ToValidUTF8(body, []byte("\uFFFD")))), " ")
	if r := []rune(s); len(r) > snippetRunes {
		s = string(r[:snippetRunes]) + "…"
	}
	return clean(s)
}

// clean replaces control characters (a terminal's escapes, line breaks) of
// text from the server.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// paramError is a call the client refuses before sending anything; it
// matches ErrValidation.
type paramError struct{ msg string }

func (e *paramError) Error() string        { return "batches: " + e.msg }
func (e *paramError) Is(target error) bool { return target == ErrValidation }

// pageError is a page AllBatches cannot walk on from; it matches
// ErrInconsistentPage.
type pageError struct{ msg string }

func (e *pageError) Error() string        { return "batches: " + opListBatches + ": " + e.msg }
func (e *pageError) Is(target error) bool { return target == ErrInconsistentPage }
