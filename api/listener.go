package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/netutil"
)

// DefaultMaxConnections is NewListener's cap when given none: the most
// client connections open at once.
const DefaultMaxConnections = 10000

// NewListener wraps ln, the listener of the server of NewHTTPServer, so
// that:
//
//   - at most maxConns connections are open at once
//     (golang.org/x/net/netutil.LimitListener; maxConns ≤ 0 means
//     DefaultMaxConnections): a connection beyond them waits in the
//     kernel's accept queue until another closes;
//   - the refusals net/http answers itself, before any handler runs, in
//     plain text are answered as ErrorResponse JSON instead (refusalConn):
//     a request line or header net/http cannot parse (400), request line
//     and headers over HardMaxHeaderBytes (431), and a Transfer-Encoding
//     it does not implement (501) or an HTTP version other than 1.x (505),
//     both answered 400 BadRequestError: they are the client's mistakes,
//     and a 5xx would tell clients (ours among them) to retry. Each such
//     answer carries a Date and a new X-Request-Id, as every answer of the
//     handler does, and is logged at Info with that id ("request refused
//     by net/http").
//
// Of opts, WithLogger applies (the log of the refusals; the default
// discards them); the others are the handler's.
func NewListener(ln net.Listener, maxConns int, opts ...Option) net.Listener {
	if maxConns <= 0 {
		maxConns = DefaultMaxConnections
	}
	cfg := config{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	return netutil.LimitListener(refusalListener{ln, cfg.log}, maxConns)
}

type refusalListener struct {
	net.Listener
	log *slog.Logger
}

func (l refusalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return refusalConn{c, l.log}, nil
}

// refusalConn rewrites the plain-text refusals of net/http's server. It
// writes each with one fmt.Fprintf on the connection, straight, not
// through the buffer of answers: "HTTP/1.1 <code> <text>" and exactly
// netHTTPErrorHeaders, then the text again (server.go, conn.serve). A
// write of that form is one of them: an answer of the API has other
// headers (Content-Length, Date, application/json), and its body never
// starts a write of its own with a status line.
type refusalConn struct {
	net.Conn
	log *slog.Logger
}

// netHTTPErrorHeaders are the headers of net/http's refusals.
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c refusalConn) Write(p []byte) (int, error) {
	if r, ok := rewriteRefusal(p); ok {
		id := newRequestID()
		answer := r.answer(id, time.Now())
		c.log.Info("request refused by net/http", "request_id", id, "status", r.status, "net_http_status", r.netHTTPStatus, "message", r.message)
		if _, err := c.Conn.Write(answer); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// refusal is the ErrorResponse answer of one of net/http's refusals.
type refusal struct {
	status, netHTTPStatus int
	message               string
	body                  []byte // the ErrorResponse, with its newline
}

// answer is the whole answer of r, with its Date (http.TimeFormat) and
// its request id.
func (r refusal) answer(id string, now time.Time) []byte {
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nDate: %s\r\n%s: %s\r\nConnection: close\r\n\r\n",
		r.status, http.StatusText(r.status), len(r.body), now.UTC().Format(http.TimeFormat), RequestIDHeader, id)
	out.Write(r.body)
	return out.Bytes()
}

// rewriteRefusal returns the refusal p is a write of, one of net/http's
// plain-text refusals, or false when p is not one.
func rewriteRefusal(p []byte) (refusal, bool) {
	const prefix = "HTTP/1.1 "
	if len(p) < len(prefix)+4 || !bytes.HasPrefix(p, []byte(prefix)) {
		return refusal{}, false
	}
	end := bytes.Index(p, []byte(netHTTPErrorHeaders))
	if end < 0 || bytes.Contains(p[:end], []byte("\r\n")) {
		return refusal{}, false
	}
	code, err := strconv.Atoi(string(p[len(prefix) : len(prefix)+3]))
	if err != nil {
		return refusal{}, false
	}
	text := string(p[end+len(netHTTPErrorHeaders):])
	var (
		status  int
		message string
		details = map[string]any{}
	)
	switch code {
	case http.StatusBadRequest:
		status, message = http.StatusBadRequest, "Malformed request line or headers"
		if reason := strings.TrimPrefix(strings.TrimPrefix(text, "400 Bad Request"), ": "); reason != "" {
			message += ": " + reason
		}
	case http.StatusRequestHeaderFieldsTooLarge:
		status = http.StatusRequestHeaderFieldsTooLarge
		message = fmt.Sprintf("Request line and headers are larger than %d bytes", HardMaxHeaderBytes)
		details["max_bytes"] = HardMaxHeaderBytes
	case http.StatusNotImplemented:
		status, message = http.StatusBadRequest, "Unsupported Transfer-Encoding: only chunked is understood"
	case http.StatusHTTPVersionNotSupported:
		status, message = http.StatusBadRequest, "Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1"
	default:
		return refusal{}, false
	}
	details["net_http_status"] = code
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewErrorResponse(status, message, details)); err != nil {
		return refusal{}, false
	}
	return refusal{status: status, netHTTPStatus: code, message: message, body: body.Bytes()}, true
}
