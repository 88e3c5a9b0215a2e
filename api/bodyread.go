package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A request's body is read, whole, before the request takes a slot
// (admission.go, gate 1): so a client that sends its body slowly holds no
// slot, and another organization's requests are not kept waiting behind
// it. The bytes it may hold meanwhile are bounded by the body memory (in
// all and for its organization), and the time by the body's schedule.

// bodyKey is the key, in a request's context, of the release of its
// body's reservation: releaseSlot calls it once the answer is made.
type bodyKey struct{}

// bufferedBody is a body readFirst read: readBody takes its bytes without
// copying them.
type bufferedBody struct {
	*bytes.Reader
	data []byte
}

func (bufferedBody) Close() error { return nil }

// readFirst reads the body of a request that has one into a buffer of its
// declared length (max at most: limitBody refused more), reserved first of
// the body memory for the request's organization (or, for a chunked body,
// reserved as it grows), on the body's schedule: all of it within the
// grace, plus a second for each rate bytes received, and within the body
// timeout at most. It answers 415 for a Content-Encoding other than
// identity (the body is not read), 503 with Retry-After when the body
// memory is held (in all or by the organization) past the queue timeout,
// 408 when the body falls behind its schedule, 413 for a chunked body over
// max, and 400 when it cannot be read; the connection is closed after
// each. The reservation is given back once the answer is made
// (releaseSlot), or when next returns.
func (a *admission) readFirst(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if enc := contentEncoding(r.Header); enc != "" {
			w.Header().Set("Connection", "close")
			w.Header().Set("Accept-Encoding", "identity")
			writeError(w, http.StatusUnsupportedMediaType,
				fmt.Sprintf("Content-Encoding %q is not supported: send the body as it is, not encoded (the server does not decode request bodies)", enc),
				map[string]any{"content_encoding": enc, "supported": []string{"identity"}})
			return
		}
		declared := r.ContentLength >= 0
		want := r.ContentLength
		if !declared {
			want = min(SmallAnswer, max)
		}
		var h *hold
		if a.bodies != nil {
			var err error
			if h, err = a.bodies.acquire(r.Context(), organizationOf(r.Context()), min(want, a.bodies.limit()), a.queueTimeout); err != nil {
				if r.Context().Err() != nil {
					return // the client is gone
				}
				w.Header().Set("Connection", "close")
				busyOf("bodies", a.bodies, err).write(w)
				return
			}
		}
		release := sync.OnceFunc(func() {
			if h != nil {
				h.release(h.n)
			}
		})
		defer release()

		body, status, took, err := a.read(w, r.Body, want, declared, max, h)
		if err != nil {
			w.Header().Set("Connection", "close")
			switch status {
			case http.StatusRequestEntityTooLarge:
				writePayloadTooLarge(w, max)
			case http.StatusServiceUnavailable:
				busyOf("bodies", a.bodies, err).write(w)
			case http.StatusRequestTimeout:
				got := strconv.Itoa(len(body))
				details := map[string]any{"received_bytes": len(body), "grace_seconds": a.bodyGrace.Seconds(),
					"min_bytes_per_second": a.bodyRate, "max_seconds": a.bodyTimeout.Seconds()}
				if declared {
					got += " of " + strconv.FormatInt(want, 10)
					details["declared_bytes"] = want
				}
				a.log.InfoContext(r.Context(), "request body cut off: it arrived too slowly", "received_bytes", len(body), "reading", took)
				writeError(w, http.StatusRequestTimeout,
					fmt.Sprintf("The request body arrived too slowly: %s bytes; a body must arrive within %s, plus 1 s for each %d bytes received, and within %s",
						got, a.bodyGrace, a.bodyRate, a.bodyTimeout), details)
			default:
				writeError(w, http.StatusBadRequest, "Could not read the request body", nil)
			}
			return
		}
		r.Body = bufferedBody{Reader: bytes.NewReader(body), data: body}
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyKey{}, release)))
	})
}

// read reads body: want bytes when declared, else until its end, growing
// the buffer (and h, the reservation) up to max. It returns the bytes
// read, how long it read and, on failure, the status to answer with its
// error.
func (a *admission) read(w http.ResponseWriter, body io.Reader, want int64, declared bool, max int64, h *hold) (_ []byte, status int, took time.Duration, _ error) {
	rc := http.NewResponseController(w)
	start := a.now()
	defer func() { took = a.now().Sub(start) }()
	scheduled := a.bodyGrace > 0
	buf := make([]byte, 0, want)
	for !declared || int64(len(buf)) < want {
		if scheduled {
			deadline := start.Add(a.bodyGrace + time.Duration(len(buf))*time.Second/time.Duration(a.bodyRate))
			if end := start.Add(a.bodyTimeout); a.bodyTimeout > 0 && deadline.After(end) {
				deadline = end
			}
			if rc.SetReadDeadline(deadline) != nil {
				scheduled = false // no deadline to keep (a recorder)
			}
		}
		if len(buf) == cap(buf) { // a chunked body, longer than reserved
			if int64(cap(buf)) >= max {
				var one [1]byte
				n, err := body.Read(one[:])
				if n == 0 && errors.Is(err, io.EOF) {
					break
				}
				return buf, http.StatusRequestEntityTooLarge, 0, fmt.Errorf("a chunked body over %d bytes", max)
			}
			more := min(int64(cap(buf)), max-int64(cap(buf)))
			if h != nil {
				if err := h.grow(more); err != nil {
					return buf, http.StatusServiceUnavailable, 0, err
				}
			}
			buf = append(make([]byte, 0, int64(cap(buf))+more), buf...)
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				return buf, http.StatusRequestEntityTooLarge, 0, err
			case errors.Is(err, os.ErrDeadlineExceeded):
				return buf, http.StatusRequestTimeout, 0, err
			}
			return buf, http.StatusBadRequest, 0, err
		}
	}
	if scheduled {
		// The whole request is read: no deadline of the body's is left
		// to cut it while it is served (net/http's read for the client's
		// going away would take one for the client gone).
		_ = rc.SetReadDeadline(time.Time{})
	}
	return buf, 0, 0, nil
}

// contentEncoding returns the first content coding of h's
// Content-Encoding other than identity, or "".
func contentEncoding(h http.Header) string {
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return c
			}
		}
	}
	return ""
}
