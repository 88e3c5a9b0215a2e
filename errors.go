package batches

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Sentinels for errors.Is. An *Error matches the one of its status; a
// request the client refuses before sending it matches ErrValidation; a
// page over the limit, or a walk of AllBatches over pages that cannot make
// up the list, ends with an error matching ErrInconsistentPage.
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
	// them; or ListBatches got a page of more results than the limit it
	// sent. The error's text names the offset, the page and total_count.
	ErrInconsistentPage = errors.New("batches: inconsistent page")
)

// maxErrorBody is how much of an error response's body Error keeps.
const maxErrorBody = 64 << 10

// Error is a call that failed after the request was sent: an answer of
// the API the client cannot use (a status other than 2xx, a 2xx whose body
// is not the operation's, a redirect it does not follow), or no answer at
// all (a connection error, a timeout, the context's end: StatusCode 0, Err
// the cause). It is returned after the retries the operation allows, with
// every attempt. Errors refused before sending (ErrValidation,
// ErrNoAPIKey, ErrNoNamespace, an option's) are not *Error, nor are pages
// that cannot belong to the list (ErrInconsistentPage).
//
// For an answer, its fields come from the body when it is Mixpeek's
// ErrorResponse ({"success":false,"status":…,"error":{"message","type",
// "details"}}) or FastAPI's HTTPValidationError (422, {"detail":[…]}); for
// other bodies (a proxy's HTML 502, say) Message is the HTTP status text and
// RawBody tells the rest. For a 2xx that is not the operation's answer,
// StatusCode is that 2xx and Message says what is wrong.
//
// Neither its fields nor its string carry the API key: it is replaced by
// "[REDACTED]" in every text taken from the answer (Message, Type, Details
// and Detail recursively, header values, RawBody) and in Message for a
// failure without an answer, whether the server echoed the key as is,
// percent-encoded, HTML-escaped, or JSON-escaped ("\u0026", "\"", every
// character as "\u00XX").
//
// errors.Is matches the sentinel of its status (see Is) and, through
// Unwrap, the cause of a failure without an answer: context.Canceled,
// context.DeadlineExceeded, io.EOF, a *net.OpError, … .
type Error struct {
	Operation  string            // the contract's operationId, e.g. "listBatches"
	Method     string            // e.g. "POST"
	Path       string            // the request's URL path, escaped, as sent (redirects aside)
	StatusCode int               // the HTTP status of the last attempt; 0 when it got no answer (Err says why)
	Type       string            // ErrorResponse.error.type, e.g. "NotFoundError"; "" when absent
	Message    string            // ErrorResponse.error.message, a string "detail", the HTTP status text, what is wrong with a 2xx or a redirect, or (StatusCode 0) the cause's text
	Details    map[string]any    // ErrorResponse.error.details; nil when null or absent
	Detail     []ValidationError // HTTPValidationError.detail (422); nil otherwise
	RequestID  string            // the server's request id (X-Request-Id and the like), if it sent one
	RetryAfter time.Duration     // the last answer's Retry-After (RFC 9110, section 10.2.3): when the server says to try again; 0 when absent or past
	Header     http.Header       // the last answer's headers, without Set-Cookie; nil when none came
	RawBody    []byte            // the last answer's body, its first 64 KiB, the API key redacted (see above); otherwise as received
	Attempts   []Attempt         // every attempt made, in order; the last one got this answer or this failure
	Err        error             // the cause of a failure without an answer, or of a redirect not followed; nil otherwise
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

// Attempt is one HTTP attempt of a call. A redirect the HTTP client
// follows (307, 308) is part of the attempt that met it; the attempt ends
// with the last answer.
type Attempt struct {
	StatusCode int           // the answer's status; 0 when none came
	RequestID  string        // the answer's request id (X-Request-Id and the like), if it sent one
	Err        error         // why the attempt failed without a usable answer (a connection error, the attempt timeout, a redirect the client does not follow); nil otherwise
	Duration   time.Duration // from sending to the end of reading the answer
	Delay      time.Duration // the wait after this attempt before the next (cut short if the context ended); 0 for the last
}

// Error returns e.g. `batches: listBatches: HTTP 404 NotFoundError: Bucket
// not found: bkt_missing (request id req_1)`. When the answer is not the
// API's own error (no error type, no validation items: a route that does
// not exist, a proxy's page, a 2xx that is not the operation's, a
// redirect), the method and path come first, as in `batches: listBatches:
// POST /v1/v1/buckets/bkt_demo/batches/list: HTTP 404: Not Found`; then
// the validation items of a 422, and a snippet of a body that is not JSON.
// A failure without an answer reads `batches: listBatches: Post
// "https://…": EOF`. The notes at the end give the request id, the
// Retry-After, and the number of attempts when there was more than one.
// Control characters of the server's text are replaced.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("batches: ")
	if e.Operation != "" {
		b.WriteString(e.Operation + ": ")
	}
	if e.StatusCode == 0 {
		b.WriteString(clean(e.Message))
	} else {
		if e.Type == "" && e.Detail == nil && e.Method != "" {
			b.WriteString(e.Method + " " + clean(e.Path) + ": ")
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
	}
	var notes []string
	if e.RequestID != "" {
		notes = append(notes, "request id "+clean(e.RequestID))
	}
	if e.RetryAfter > 0 {
		notes = append(notes, "retry after "+e.RetryAfter.String())
	}
	if len(e.Attempts) > 1 {
		notes = append(notes, strconv.Itoa(len(e.Attempts))+" attempts")
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, ", ") + ")")
	}
	return b.String()
}

// Unwrap returns Err: the cause of a failure without an answer, or of a
// redirect the client does not follow.
func (e *Error) Unwrap() error { return e.Err }

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

// requestID is the request id of an answer's headers h, "" when none.
func requestID(h http.Header) string {
	for _, name := range requestIDHeaders {
		if v := h.Get(name); v != "" {
			return v
		}
	}
	return ""
}

// newError describes an answer of the call the client cannot use, its
// fields taken from body when it is the API's error (see Error). Every
// text taken from the answer goes through d.red, which redacts the API key.
func (d *doer) newError(resp *http.Response, body []byte) *Error {
	e := d.answerError(resp, body)
	e.parseBody(body, d.red)
	if e.Message == "" && e.Detail == nil {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// answerError describes an answer of the call without reading its body's
// fields: the status, headers, request id, Retry-After and RawBody.
func (d *doer) answerError(resp *http.Response, body []byte) *Error {
	e := &Error{
		Operation:  d.op,
		Method:     d.method,
		Path:       d.path,
		StatusCode: resp.StatusCode,
		Header:     d.red.responseHeader(resp.Header),
		RawBody:    d.red.truncated(d.red.bytes(body), maxErrorBody),
		Attempts:   slices.Clone(d.attempts),
	}
	e.RequestID = requestID(e.Header)
	if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = wait
	}
	return e
}

// parseBody sets Type, Message, Details and Detail from body when it is
// Mixpeek's ErrorResponse, FastAPI's HTTPValidationError, or another
// server's JSON with a message, each text redacted by red.
func (e *Error) parseBody(body []byte, red *redactor) {
	// The body is decoded as received and each text redacted after, since
	// a key the server escaped does not match in the raw bytes.
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
			var details map[string]any
			if json.Unmarshal(detail.Details, &details) == nil && details != nil {
				e.Details = red.value(details).(map[string]any)
			}
		case len(shape.Detail) > 0 && json.Unmarshal(shape.Detail, &items) == nil && len(items) > 0:
			for i := range items {
				items[i] = red.validationError(items[i])
			}
			e.Detail = items
		case len(shape.Detail) > 0 && json.Unmarshal(shape.Detail, &text) == nil && text != "":
			e.Message = text // FastAPI's {"detail": "Not Found"}
		case len(shape.Error) > 0 && json.Unmarshal(shape.Error, &text) == nil && text != "":
			e.Message = text
		case shape.Message != nil && *shape.Message != "":
			e.Message = *shape.Message
		}
	}
	e.Type, e.Message = red.string(e.Type), red.string(e.Message)
}

// failedCall describes a call whose attempts ended without an answer it
// can use (err: a connection error, a timeout, the context's end, a
// redirect the client does not follow), or that failed before an attempt.
func (d *doer) failedCall(err error) *Error {
	e := &Error{Operation: d.op, Method: d.method, Path: d.path, Message: d.red.string(err.Error()), Attempts: slices.Clone(d.attempts), Err: err}
	var redirect *redirectError
	if errors.As(err, &redirect) {
		e.Err, e.StatusCode, e.Message = redirect, redirect.status, d.red.string(redirect.Error())
		if redirect.header != nil {
			e.Header = d.red.responseHeader(redirect.header)
		}
	}
	return e
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
type pageError struct {
	msg string
	op  string // the operation: listBatches, listTasks
}

func (e *pageError) Error() string        { return "batches: " + e.op + ": " + e.msg }
func (e *pageError) Is(target error) bool { return target == ErrInconsistentPage }
