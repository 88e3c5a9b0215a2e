package api

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
)

// RequestIDHeader carries the id of a request: the caller's when it sent a
// sane one ([SaneRequestID]), else one the server makes; every answer has
// it, and every log line of the request says it (request_id).
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen is the longest request id taken from a caller.
const maxRequestIDLen = 128

// SaneRequestID reports whether id, a caller's X-Request-Id, is kept as
// the request's id: 1 to 128 bytes of ASCII letters, digits and
// - _ . : / + = @ (UUIDs, ULIDs, hex, base64, "Root=1-…" trace ids and the
// ids of proxies all fit). Anything else, spaces, quotes, control
// characters, other bytes, or a longer one, is replaced by a new id, so
// that what ends in logs and headers is never the caller's arbitrary text.
func SaneRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns a new request id, "req_" and 26 random characters
// of base32 (130 bits).
func newRequestID() string { return "req_" + rand.Text() }

// requestInfo is what the server learns of a request as it goes, kept in
// its context from the start: its id, and the operation it was routed to
// (set by route and the operator endpoints; "" until then).
type requestInfo struct {
	id        string
	operation string
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// RequestIDFrom returns the id of the request whose context ctx is (or
// derives from), "" outside one.
func RequestIDFrom(ctx context.Context) string {
	if ri := infoFrom(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// setOperation records the operation r was routed to, for the metrics and
// the log line.
func setOperation(r *http.Request, op string) {
	if ri := infoFrom(r.Context()); ri != nil {
		ri.operation = op
	}
}

// operationOf returns the operation recorded for r's request ("" if none).
func operationOf(r *http.Request) string {
	if ri := infoFrom(r.Context()); ri != nil {
		return ri.operation
	}
	return ""
}

// requestIDs gives every request its id, the caller's X-Request-Id when
// sane or else a new one, sets it on the answer before anything else can
// write it, and puts it in the request's context, where logs find it
// (withRequestIDs).
func requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !SaneRequestID(id) || len(r.Header.Values(RequestIDHeader)) != 1 {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := context.WithValue(r.Context(), requestInfoKey{}, &requestInfo{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// withRequestIDs returns log with every record made with a request's
// context (InfoContext, ErrorContext, …) carrying request_id and, once
// routed, operation.
func withRequestIDs(log *slog.Logger) *slog.Logger {
	if _, ok := log.Handler().(requestIDHandler); ok {
		return log
	}
	return slog.New(requestIDHandler{log.Handler()})
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if ri := infoFrom(ctx); ri != nil {
		rec = rec.Clone()
		rec.AddAttrs(slog.String("request_id", ri.id))
		if ri.operation != "" {
			rec.AddAttrs(slog.String("operation", ri.operation))
		}
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
