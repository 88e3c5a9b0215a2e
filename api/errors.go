package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/mixpeekgo/batches/generated/server"
)

// The stable names of ErrorResponse.error.type, one for each HTTP status the
// server answers with an ErrorResponse (request validation, 422, answers
// FastAPI's HTTPValidationError instead).
const (
	TypeBadRequest           = "BadRequestError"           // 400
	TypeUnauthorized         = "UnauthorizedError"         // 401
	TypeForbidden            = "ForbiddenError"            // 403
	TypeNotFound             = "NotFoundError"             // 404
	TypeMethodNotAllowed     = "MethodNotAllowedError"     // 405
	TypePayloadTooLarge      = "PayloadTooLargeError"      // 413
	TypeUnsupportedMediaType = "UnsupportedMediaTypeError" // 415
	TypeInternal             = "InternalServerError"       // 500
)

// errorTypes is the one place that maps a status to its error type.
var errorTypes = map[int]string{
	http.StatusBadRequest:            TypeBadRequest,
	http.StatusUnauthorized:          TypeUnauthorized,
	http.StatusForbidden:             TypeForbidden,
	http.StatusNotFound:              TypeNotFound,
	http.StatusMethodNotAllowed:      TypeMethodNotAllowed,
	http.StatusRequestEntityTooLarge: TypePayloadTooLarge,
	http.StatusUnsupportedMediaType:  TypeUnsupportedMediaType,
	http.StatusInternalServerError:   TypeInternal,
}

// newErrorResponse builds Mixpeek's error body for status. details may be nil.
func newErrorResponse(status int, message string, details map[string]any) server.ErrorResponse {
	typ, ok := errorTypes[status]
	if !ok {
		typ = "Error" + strconv.Itoa(status)
	}
	body := server.ErrorResponse{
		Success: false,
		Status:  status,
		Error:   server.ErrorDetail{Message: message, Type: typ},
	}
	if details != nil {
		body.Error.Details = &details
	}
	return body
}

// writeError answers an ErrorResponse with the given status.
func writeError(w http.ResponseWriter, status int, message string, details map[string]any) {
	writeJSON(w, status, newErrorResponse(status, message, details))
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
