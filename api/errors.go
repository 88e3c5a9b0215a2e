package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/mixpeekgo/batches/generated/server"
)

// The stable names of ErrorResponse.error.type: one for each HTTP status the
// server answers with an ErrorResponse (request validation, 422, answers
// FastAPI's HTTPValidationError instead), and, in the same style, for the
// statuses a proxy, gateway or rate limiter in front of it answers, which
// the server itself never does (batchestest injects them).
const (
	TypeBadRequest           = "BadRequestError"           // 400
	TypeUnauthorized         = "UnauthorizedError"         // 401
	TypeForbidden            = "ForbiddenError"            // 403
	TypeNotFound             = "NotFoundError"             // 404
	TypeMethodNotAllowed     = "MethodNotAllowedError"     // 405
	TypeRequestTimeout       = "RequestTimeoutError"       // 408, not answered by the server
	TypeConflict             = "ConflictError"             // 409, not answered by the server
	TypePayloadTooLarge      = "PayloadTooLargeError"      // 413
	TypeUnsupportedMediaType = "UnsupportedMediaTypeError" // 415
	TypeTooManyRequests      = "TooManyRequestsError"      // 429, not answered by the server
	TypeInternal             = "InternalServerError"       // 500
	TypeBadGateway           = "BadGatewayError"           // 502, not answered by the server
	TypeServiceUnavailable   = "ServiceUnavailableError"   // 503, not answered by the server
	TypeGatewayTimeout       = "GatewayTimeoutError"       // 504, not answered by the server
)

// errorTypes is the one place that maps a status to its error type.
var errorTypes = map[int]string{
	http.StatusBadRequest:            TypeBadRequest,
	http.StatusUnauthorized:          TypeUnauthorized,
	http.StatusForbidden:             TypeForbidden,
	http.StatusNotFound:              TypeNotFound,
	http.StatusMethodNotAllowed:      TypeMethodNotAllowed,
	http.StatusRequestTimeout:        TypeRequestTimeout,
	http.StatusConflict:              TypeConflict,
	http.StatusRequestEntityTooLarge: TypePayloadTooLarge,
	http.StatusUnsupportedMediaType:  TypeUnsupportedMediaType,
	http.StatusTooManyRequests:       TypeTooManyRequests,
	http.StatusInternalServerError:   TypeInternal,
	http.StatusBadGateway:            TypeBadGateway,
	http.StatusServiceUnavailable:    TypeServiceUnavailable,
	http.StatusGatewayTimeout:        TypeGatewayTimeout,
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
// "type": ErrorType(status), "details": details}}, details omitted when
// nil.
func NewErrorResponse(status int, message string, details map[string]any) server.ErrorResponse {
	body := server.ErrorResponse{
		Success: false,
		Status:  status,
		Error:   server.ErrorDetail{Message: message, Type: ErrorType(status)},
	}
	if details != nil {
		body.Error.Details = &details
	}
	return body
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
