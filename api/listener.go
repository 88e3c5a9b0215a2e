package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

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
//     and a 5xx would tell clients (ours among them) to retry.
func NewListener(ln net.Listener, maxConns int) net.Listener {
	if maxConns <= 0 {
		maxConns = DefaultMaxConnections
	}
	return netutil.LimitListener(refusalListener{ln}, maxConns)
}

type refusalListener struct{ net.Listener }

func (l refusalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return refusalConn{c}, nil
}

// refusalConn rewrites the plain-text refusals of net/http's server. It
// writes each with one fmt.Fprintf on the connection, straight, not
// through the buffer of answers: "HTTP/1.1 <code> <text>" and exactly
// netHTTPErrorHeaders, then the text again (server.go, conn.serve). A
// write of that form is one of them: an answer of the API has other
// headers (Content-Length, Date, application/json), and its body never
// starts a write of its own with a status line.
type refusalConn struct{ net.Conn }

// netHTTPErrorHeaders are the headers of net/http's refusals.
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c refusalConn) Write(p []byte) (int, error) {
	if answer := rewriteRefusal(p); answer != nil {
		if _, err := c.Conn.Write(answer); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// rewriteRefusal returns the ErrorResponse answer of p, a write of one of
// net/http's plain-text refusals, or nil when p is not one.
func rewriteRefusal(p []byte) []byte {
	const prefix = "HTTP/1.1 "
	if len(p) < len(prefix)+4 || !bytes.HasPrefix(p, []byte(prefix)) {
		return nil
	}
	end := bytes.Index(p, []byte(netHTTPErrorHeaders))
	if end < 0 || bytes.Contains(p[:end], []byte("\r\n")) {
		return nil
	}
	code, err := strconv.Atoi(string(p[len(prefix) : len(prefix)+3]))
	if err != nil {
		return nil
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
		return nil
	}
	details["net_http_status"] = code
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewErrorResponse(status, message, details)); err != nil {
		return nil
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), body.Len())
	out.Write(body.Bytes())
	return out.Bytes()
}
