package api

import (
	"fmt"
	"net/http"
)

// DefaultMaxHeaderBytes is the most bytes of request line and headers the
// API reads (NewHandler; WithMaxHeaderBytes changes it): a request with
// more answers 431 RequestHeaderFieldsTooLargeError. The http.Server of
// NewHTTPServer refuses more than HardMaxHeaderBytes before any handler
// runs; NewListener makes that refusal an ErrorResponse too.
const DefaultMaxHeaderBytes = 16 << 10

// HardMaxHeaderBytes is NewHTTPServer's MaxHeaderBytes: net/http reads at
// most this (plus 4 KiB of slack) of a request's line and headers.
const HardMaxHeaderBytes = 64 << 10

// WithMaxHeaderBytes sets the most bytes of request line and headers the
// API reads (n ≤ 0: only the http.Server's limit); the default is
// DefaultMaxHeaderBytes.
func WithMaxHeaderBytes(n int) Option { return func(c *config) { c.maxHeaderBytes = n } }

// limitHeaders answers 431 for a request whose line and headers, counted
// as sent on HTTP/1.1 ("Name: value\r\n" each), are over max bytes.
func limitHeaders(max int, next http.Handler) http.Handler {
	if max <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
		for k, vs := range r.Header {
			for _, v := range vs {
				n += len(k) + 2 + len(v) + 2
			}
		}
		n += len(r.Host) + len("Host: \r\n")
		if n > max {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestHeaderFieldsTooLarge,
				fmt.Sprintf("Request line and headers are larger than %d bytes", max), map[string]any{"max_bytes": max})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// onlyHTTP1 answers 400 BadRequestError, as NewListener answers the
// versions net/http refuses itself, for a request of an HTTP version
// other than 1.0 and 1.1 that net/http lets through: it takes any 1.x
// (HTTP/1.2, HTTP/1.9), which no client speaks.
func onlyHTTP1(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 || r.ProtoMinor > 1 {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusBadRequest, "Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1",
				map[string]any{"proto": r.Proto})
			return
		}
		next.ServeHTTP(w, r)
	})
}
