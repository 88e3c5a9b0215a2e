package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// The stable names of ErrorResponse.error.type: one for each HTTP status the
// server answers with an ErrorResponse (request validation, 422, answers
// FastAPI's HTTPValidationError instead), and, in the same style, for the
// statuses a proxy or gateway in front of it answers, which the server
// itself never does (batchestest injects them).
const (
	TypeBadRequest           = "BadRequestError"                  // 400
	TypeUnauthorized         = "UnauthorizedError"                // 401
	TypeForbidden            = "ForbiddenError"                   // 403
	TypeNotFound             = "NotFoundError"                    // 404
	TypeMethodNotAllowed     = "MethodNotAllowedError"            // 405
	TypeRequestTimeout       = "RequestTimeoutError"              // 408, a request body that arrived too slowly (bodyread.go)
	TypeConflict             = "ConflictError"                    // 409, for domain.ErrAlreadyExists; no operation answers it yet
	TypePayloadTooLarge      = "PayloadTooLargeError"             // 413
	TypeUnsupportedMediaType = "UnsupportedMediaTypeError"        // 415
	TypeHeadersTooLarge      = "RequestHeaderFieldsTooLargeError" // 431
	TypeTooManyRequests      = "TooManyRequestsError"             // 429, a key over its rate limit (ratelimit.go)
	TypeInternal             = "InternalServerError"              // 500
	TypeBadGateway           = "BadGatewayError"                  // 502, not answered by the server
	TypeServiceUnavailable   = "ServiceUnavailableError"          // 503: /readyz when the database cannot serve; the server is busy (admission.go), with Retry-After
	TypeGatewayTimeout       = "GatewayTimeoutError"              // 504, not answered by the server
)

// errorTypes is the one place that maps a status to its error type.
var errorTypes = map[int]string{
	http.StatusBadRequest:                  TypeBadRequest,
	http.StatusUnauthorized:                TypeUnauthorized,
	http.StatusForbidden:                   TypeForbidden,
	http.StatusNotFound:                    TypeNotFound,
	http.StatusMethodNotAllowed:            TypeMethodNotAllowed,
	http.StatusRequestTimeout:              TypeRequestTimeout,
	http.StatusConflict:                    TypeConflict,
	http.StatusRequestEntityTooLarge:       TypePayloadTooLarge,
	http.StatusUnsupportedMediaType:        TypeUnsupportedMediaType,
	http.StatusRequestHeaderFieldsTooLarge: TypeHeadersTooLarge,
	http.StatusTooManyRequests:             TypeTooManyRequests,
	http.StatusInternalServerError:         TypeInternal,
	http.StatusBadGateway:                  TypeBadGateway,
	http.StatusServiceUnavailable:          TypeServiceUnavailable,
	http.StatusGatewayTimeout:              TypeGatewayTimeout,
}

// ErrorType returns ErrorResponse.error.type for an HTTP status: one of the
// Type constants (e.g. "NotFoundError" for 404), or, for a status without
// a name, "Error" and its number ("Error418").
func ErrorType(status int) string {
	if typ, ok := errorTypes[status]; ok {
		return typ
	}
	return "Error" + strconv.Itoa(status)
}

// NewErrorResponse returns Mixpeek's error body for status:
// {"success": false, "status": status, "error": {"message": message,
// "type": ErrorType(status), "details": details}}, details null when nil.
// Every field is set, though the contract requires only status, error,
// message and type (as Mixpeek's does).
func NewErrorResponse(status int, message string, details map[string]any) server.ErrorResponse {
	success := server.ErrorResponseSuccessFalse
	body := server.ErrorResponse{
		Success: &success,
		Status:  status,
		Error:   server.ErrorDetail{Message: message, Type: ErrorType(status)},
	}
	if details != nil {
		body.Error.Details = &details
	}
	return body
}

// kindStatus is the one place that maps the kind of a domain.Error to the
// status that answers it.
var kindStatus = map[error]int{
	domain.ErrNotFound:      http.StatusNotFound,
	domain.ErrInvalid:       http.StatusBadRequest,
	domain.ErrAlreadyExists: http.StatusConflict,
}

// renderError answers err, the error an operation returned (or the failure
// to write its answer): a *domain.Error of a known kind as the
// ErrorResponse of its status (kindStatus) with its message and details,
// e.g. 404 {"success": false, "status": 404, "error": {"message":
// "Bucket not found: b", "type": "NotFoundError", "details": {"resource":
// "bucket", "identifier": "b"}}}; anything else as serverError does, a
// logged 500 that shows nothing of it.
//
// The body is encoded as the generated strict server encodes the responses
// of operations (<, > and & escaped as \u003c, \u003e and \u0026), which
// is how those 404s were written when operations returned them as
// responses.
func renderError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	if b, ok := errors.AsType[busy](err); ok {
		b.write(w)
		return
	}
	var de *domain.Error
	status, ok := 0, errors.As(err, &de)
	if ok {
		status, ok = kindStatus[de.Kind]
	}
	if !ok {
		serverError(log, w, r, "serving a request", err)
		return
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(NewErrorResponse(status, de.Message, de.Details)); err != nil {
		serverError(log, w, r, "rendering an error", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// writeError answers an ErrorResponse with the given status.
func writeError(w http.ResponseWriter, status int, message string, details map[string]any) {
	writeJSON(w, status, NewErrorResponse(status, message, details))
}

// writeInternalError answers the 500 ErrorResponse; it never carries
// internals, which the caller logs.
func writeInternalError(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, "Internal Server Error", nil)
}

// writeJSON encodes v as the whole response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only our own error types reach here; they always encode.
		panic(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// plural is one when n is 1, else many: the noun of a count in a message.
func plural(n float64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
