package batches

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Operations are the contract's operations (openapi.yaml operationId) this
// client calls, each with whether it may be sent again after a failure
// that may have reached the server. A read is safe; a create or submit is
// not unless the API gives it an idempotency key, so adding an operation
// here is a decision: the test TestEveryOperationHasARetryPolicy fails for
// an operation of openapi.yaml that is missing.
var retrySafe = map[string]bool{
	// POST /v1/buckets/{bucket_identifier}/batches/list: a POST only to
	// carry a body; it reads and changes nothing.
	opListBatches: true,
}

const opListBatches = "listBatches"

// baseRetryDelay is the first backoff step: a retry waits up to it, the
// next up to twice as long, and so on up to the max retry delay.
const baseRetryDelay = 500 * time.Millisecond

// maxResponseBytes bounds a response body: a page of 1000 batches is far
// smaller.
const maxResponseBytes = 64 << 20

// retryableStatus reports whether an answer with this status may succeed
// if sent again: 408 Request Timeout, 429 Too Many Requests, 500, 502, 503,
// 504.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// call is what the transport knows of the call a request belongs to; it
// travels in the request's context.
type call struct {
	op string
	mu sync.Mutex
	// attempts are recorded by the transport, read by the caller after.
	attempts []Attempt
}

type callKey struct{}

func withCall(ctx context.Context, c *call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

func (c *call) record(a Attempt) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts = append(c.attempts, a)
	return len(c.attempts) - 1
}

func (c *call) setDelay(i int, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts[i].Delay = d
}

// Attempts returns a copy of the attempts so far.
func (c *call) Attempts() []Attempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Attempt(nil), c.attempts...)
}

// transport is the http.RoundTripper handed to the generated client: it
// sends each attempt through the middleware to the base transport, bounds
// it by the attempt timeout, reads the whole response, logs it, and retries
// what the policy allows.
//
// The retry loop is github.com/cenkalti/backoff/v5's Retry (context-aware
// sleeps, a cap on tries, a hook on each retry, a server-given delay);
// this type supplies the policy: which operations and failures are retried,
// full-jitter exponential backoff, Retry-After capped by the max delay, the
// attempt timeout, and the record of attempts. hashicorp/go-retryablehttp
// was not used: it has no per-attempt timeout, honours Retry-After only
// uncapped or not at all, discards the last response when retries run out
// unless given a handler, and logs in its own words.
type transport struct {
	cfg  config
	base http.RoundTripper
}

// errRetry marks an attempt the policy retries.
type errRetry struct {
	err error
}

func (e *errRetry) Error() string { return e.err.Error() }
func (e *errRetry) Unwrap() error { return e.err }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		c = &call{} // not sent by this package: no retries
	}
	maxTries := uint(1)
	if retrySafe[c.op] && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil) {
		maxTries += uint(t.cfg.maxRetries)
	}

	var (
		last     *http.Response // the last answer with a retryable status
		lastIdx  = -1           // the index of the last attempt in c.attempts
		notified = -1           // the index of the last attempt logged as retried
	)
	op := func() (*http.Response, error) {
		if last != nil { // its body is in memory
			last.Body.Close()
			last = nil
		}
		resp, a, err := t.attempt(ctx, req, len(c.Attempts())+1)
		lastIdx = c.record(a)
		var permanent *backoff.PermanentError
		switch {
		case err != nil && (ctx.Err() != nil || errors.As(err, &permanent) || !retryableError(err)):
			return nil, backoff.Permanent(err)
		case err != nil:
			return nil, &errRetry{err}
		case !retryableStatus(resp.StatusCode):
			return resp, nil
		}
		last = resp
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return nil, &backoff.RetryAfterError{Duration: min(d, t.cfg.maxRetryDelay)}
		}
		return nil, &errRetry{fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	notify := func(_ error, next time.Duration) {
		c.setDelay(lastIdx, next)
		notified = lastIdx
		t.log(req, c.Attempts()[lastIdx], lastIdx+1, true, next)
	}
	resp, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(&fullJitter{base: baseRetryDelay, max: t.cfg.maxRetryDelay}),
		backoff.WithMaxTries(maxTries),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(notify),
	)
	if lastIdx >= 0 && lastIdx != notified {
		t.log(req, c.Attempts()[lastIdx], lastIdx+1, false, 0)
	}
	switch {
	case err == nil:
		return resp, nil
	case last != nil && ctx.Err() == nil:
		// Retries ran out on a retryable status: that answer is the call's.
		return last, nil
	case last != nil:
		last.Body.Close()
	}
	var retry *errRetry
	if errors.As(err, &retry) {
		err = retry.err
	}
	return nil, err
}

// attempt sends one attempt and reads its whole response within the
// attempt timeout, so that a response whose body breaks off is retried too.
// n counts the attempts of the call from 1; from the second on, the body is
// a fresh one from req.GetBody.
func (t *transport) attempt(ctx context.Context, req *http.Request, n int) (*http.Response, Attempt, error) {
	start := time.Now()
	var a Attempt
	fail := func(err error) (*http.Response, Attempt, error) {
		a.Err, a.Duration = err, time.Since(start)
		return nil, a, err
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if t.cfg.attemptTimeout > 0 {
		actx, cancel = context.WithTimeoutCause(ctx, t.cfg.attemptTimeout,
			fmt.Errorf("attempt timeout %v: %w", t.cfg.attemptTimeout, context.DeadlineExceeded))
	}
	defer cancel()
	r := req.Clone(actx)
	if n > 1 && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return fail(backoff.Permanent(fmt.Errorf("replaying the request body: %w", err)))
		}
		r.Body = body
	}

	next := MiddlewareNext(t.base.RoundTrip)
	for i := len(t.cfg.middleware) - 1; i >= 0; i-- {
		m, inner := t.cfg.middleware[i], next
		next = func(r *http.Request) (*http.Response, error) { return m(r, inner) }
	}
	resp, err := next(r)
	if err == nil && resp == nil {
		err = errors.New("a middleware returned neither a response nor an error")
	}
	if err == nil && resp.Body == nil {
		resp.Body = http.NoBody
	}
	if err == nil {
		var body []byte
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		resp.Body.Close()
		switch {
		case err != nil:
			err = fmt.Errorf("reading the response (HTTP %d): %w", resp.StatusCode, err)
		case len(body) > maxResponseBytes:
			return fail(backoff.Permanent(fmt.Errorf("the response (HTTP %d) is larger than %d bytes", resp.StatusCode, maxResponseBytes)))
		default:
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
		}
	}
	if err != nil {
		if ctx.Err() == nil && actx.Err() != nil {
			// The attempt timed out, not the call: say so, whatever words
			// the transport used.
			err = fmt.Errorf("%w (%v)", context.Cause(actx), err)
		}
		return fail(err)
	}
	a.StatusCode, a.Duration = resp.StatusCode, time.Since(start)
	return resp, a, nil
}

// retryableError reports whether a transport error may not happen again:
// anything but a certificate that cannot be trusted, a host name that does
// not exist, or an error of the request itself.
func retryableError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		dns              *net.DNSError
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &verification):
		return false
	case errors.As(err, &dns) && dns.IsNotFound:
		return false
	case strings.Contains(err.Error(), "unsupported protocol scheme"),
		strings.Contains(err.Error(), "invalid header field"):
		return false
	}
	return true
}

// retryAfter parses a Retry-After header (RFC 9110, section 10.2.3):
// delay-seconds or an HTTP-date, a date in the past meaning 0.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// fullJitter is exponential backoff with full jitter: retry n waits a
// random time in [0, min(max, base·2ⁿ)) ("Exponential Backoff And
// Jitter", AWS Architecture Blog, 2015).
type fullJitter struct {
	base, max time.Duration
	n         int
}

func (b *fullJitter) Reset() { b.n = 0 }

func (b *fullJitter) NextBackOff() time.Duration {
	ceiling := b.max
	if b.n < 30 && b.base<<b.n < b.max {
		ceiling = b.base << b.n
	}
	b.n++
	return rand.N(ceiling)
}

// log writes one line for an attempt: Info when it is the last, Warn when
// it is retried after next.
func (t *transport) log(req *http.Request, a Attempt, n int, retried bool, next time.Duration) {
	l := t.cfg.logger
	if l == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.EscapedPath()),
		slog.Int("status", a.StatusCode),
		slog.Duration("duration", a.Duration),
		slog.Int("attempt", n),
	}
	if a.Err != nil {
		attrs = append(attrs, slog.String("error", redactString(a.Err.Error(), t.cfg.apiKey)))
	}
	level, msg := slog.LevelInfo, "batches: request"
	if retried {
		level, msg = slog.LevelWarn, "batches: request failed, retrying"
		attrs = append(attrs, slog.Duration("retry_in", next))
	}
	l.LogAttrs(req.Context(), level, msg, attrs...)
}
