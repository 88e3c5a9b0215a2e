package batchestest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing/iotest"
	"time"

	"github.com/mixpeekgo/batches/api"
)

// Fault is one misbehaviour of the server, applied to one request in place
// of (or, for a Delay alone, before) the real server's answer. Build one with
// [Status], [RateLimited], [Unavailable], [Slow] or [Drop], or fill in the
// fields; queue it with [Server.Inject] or [Server.InjectN].
//
// In order, a request that takes a Fault is: held for Delay; then, if Drop,
// its connection is closed without an answer; else, if Status is not 0,
// answered with Status, Header, Retry-After and Body; else served by the
// real server as usual. The zero Fault (for any path) therefore passes one
// request on untouched: use it to let requests through in a sequence, as in
// Inject(Fault{}, Fault{}, Status(500)) to fail the third.
type Fault struct {
	// Path limits the fault to requests for this exact URL path, as
	// [Server.ListPath] spells it ("/v1/buckets/bkt_test/batches/list");
	// "" matches every request.
	Path string

	// Delay holds the request this long before the rest of the fault. The
	// wait ends early, with nothing answered, when the client gives up on
	// the request (its context is done, its connection closed) or the
	// Server closes.
	Delay time.Duration

	// Drop closes the connection without answering (after Delay): the
	// client sees a network error (EOF, connection reset). Status, Header
	// and Body are then ignored.
	Drop bool

	// Status, when not 0, is the HTTP status answered instead of serving
	// the request, 200 to 599.
	Status int

	// RetryAfter, when not "", is sent as the Retry-After header of the
	// Status answer, verbatim: whole seconds ("2") or an HTTP date
	// (RFC 9110, section 10.2.3). It is a string so that tests can send
	// dates and malformed values too.
	RetryAfter string

	// Header holds more headers of the Status answer.
	Header http.Header

	// Body is the body of the Status answer, sent as is (set Content-Type in
	// Header). When nil, the body is Mixpeek's ErrorResponse for Status
	// ({"success": false, "status": N, "error": {"message", "type",
	// "details"}}) with Content-Type application/json.
	Body []byte
}

// Status returns a Fault that answers code with Mixpeek's ErrorResponse
// body, whose error.type is the API's name for the status (e.g.
// "InternalServerError" for 500, "TooManyRequestsError" for 429,
// "ServiceUnavailableError" for 503), and no Retry-After.
func Status(code int) Fault { return Fault{Status: code} }

// RateLimited returns a Fault that answers 429 Too Many Requests with
// Retry-After: retryAfter in whole seconds, rounded up ("0" for 0 or less),
// and an ErrorResponse body of type "TooManyRequestsError".
func RateLimited(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfterSeconds(retryAfter)}
}

// Unavailable returns a Fault that answers 503 Service Unavailable with
// Retry-After: retryAfter in whole seconds, rounded up ("0" for 0 or less),
// and an ErrorResponse body of type "ServiceUnavailableError". For a 503
// without Retry-After use Status(503).
func Unavailable(retryAfter time.Duration) Fault {
	return Fault{Status: http.StatusServiceUnavailable, RetryAfter: retryAfterSeconds(retryAfter)}
}

// Slow returns a Fault that holds a request for d and then lets the real
// server answer it. A client whose timeout is shorter than d gives up first
// and sees its own timeout error; the server then answers nothing.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// Drop returns a Fault that closes the connection of a request without
// answering it, as a crashed server or a proxy dropping it would.
func Drop() Fault { return Fault{Drop: true} }

func retryAfterSeconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

// check returns why f cannot be applied, or nil.
func (f Fault) check() error {
	switch {
	case f.Delay < 0:
		return fmt.Errorf("negative Delay %s", f.Delay)
	case f.Drop:
		return nil
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return fmt.Errorf("Status %d is not 200 to 599", f.Status)
	case f.Status == 0 && (f.RetryAfter != "" || f.Header != nil || f.Body != nil):
		return fmt.Errorf("RetryAfter, Header or Body set without a Status")
	}
	return nil
}

// ErrorType returns the error.type of the ErrorResponse that a Fault of
// Status code answers, the API's name for the status ([api.ErrorType]):
// e.g. "ServiceUnavailableError" for 503; a status without a name gets
// "Error" and its number ("Error418").
func ErrorType(code int) string { return api.ErrorType(code) }

// errorBody is the ErrorResponse of an injected status.
func errorBody(code int) []byte {
	msg := http.StatusText(code)
	if msg == "" {
		msg = "HTTP " + strconv.Itoa(code)
	}
	body, err := json.Marshal(api.NewErrorResponse(code, msg, map[string]any{"injected_by": "batchestest"}))
	if err != nil {
		panic(err) // a fixed shape of strings and numbers always encodes
	}
	return append(body, '\n')
}

// Attempt is one request the Server received, faulted or not.
type Attempt struct {
	Time   time.Time   // when it arrived
	Method string      // e.g. "POST"
	Path   string      // the URL path, e.g. "/v1/buckets/bkt_test/batches/list"
	Header http.Header // as received, Authorization included
	// Body is the request body, its first MaxRecordedBody bytes.
	Body []byte
	// Fault is the fault the request took, or nil when it reached the real
	// server untouched.
	Fault *Fault
	// Status is the status answered: 0 while the request is in flight, and
	// for good when nothing was answered (a Drop, or a client that gave up
	// during a Delay).
	Status int
}

// MaxRecordedBody is the most of a request body that an [Attempt] keeps;
// the whole body still reaches the server.
const MaxRecordedBody = 64 << 10

// faults is the fault queue and the record of attempts, safe for
// concurrent use.
type faults struct {
	mu       sync.Mutex
	queue    []Fault
	attempts []*Attempt
	closing  chan struct{} // closed when the Server closes
}

// take removes and returns the first queued fault that matches r, if any.
func (fs *faults) take(path string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.queue {
		if f.Path == "" || f.Path == path {
			fs.queue = append(fs.queue[:i:i], fs.queue[i+1:]...)
			return f, true
		}
	}
	return Fault{}, false
}

// middleware records every request and applies the queued faults in front
// of next.
func (fs *faults) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := &Attempt{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
		if r.Body != nil && r.Body != http.NoBody {
			head, err := io.ReadAll(io.LimitReader(r.Body, MaxRecordedBody))
			a.Body = head
			rest := r.Body
			if err != nil {
				rest = io.NopCloser(iotest.ErrReader(err))
			}
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(head), rest), r.Body}
		}
		f, faulted := fs.take(r.URL.Path)
		if faulted {
			a.Fault = &f
		}
		fs.mu.Lock()
		fs.attempts = append(fs.attempts, a)
		fs.mu.Unlock()

		rw := &recorder{ResponseWriter: w, fs: fs, a: a}
		if !faulted {
			next.ServeHTTP(rw, r)
			return
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				drop(w) // returning would answer an empty 200
				return
			case <-fs.closing:
				t.Stop()
				drop(w)
				return
			}
		}
		switch {
		case f.Drop:
			drop(w)
		case f.Status != 0:
			h := rw.Header()
			for k, v := range f.Header {
				h[k] = append([]string(nil), v...)
			}
			if f.RetryAfter != "" {
				h.Set("Retry-After", f.RetryAfter)
			}
			body := f.Body
			if body == nil {
				body = errorBody(f.Status)
				h.Set("Content-Type", "application/json")
			}
			h.Set("Content-Length", strconv.Itoa(len(body)))
			rw.WriteHeader(f.Status)
			_, _ = rw.Write(body)
		default:
			next.ServeHTTP(rw, r)
		}
	})
}

// drop closes the connection of w without answering.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not HTTP/1 (HTTP/2 cannot hijack): abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// recorder notes the status answered in its Attempt.
type recorder struct {
	http.ResponseWriter
	fs    *faults
	a     *Attempt
	wrote bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		w.fs.mu.Lock()
		w.a.Status = code
		w.fs.mu.Unlock()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
