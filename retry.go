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
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// retrySafe is every operation of the contract (openapi.yaml operationId),
// each with whether it may be sent again after a failure that may have
// reached the server; the doer of a call (newDoer's op) retries only those
// true here. A read is safe; a create or submit is not unless the API gives
// it an idempotency key, so adding an operation here is a decision: the
// test TestEveryOperationHasARetryPolicy fails for an operation of
// openapi.yaml that is missing.
var retrySafe = map[string]bool{
	// POST /v1/buckets/{bucket_identifier}/batches/list: a POST only to
	// carry a body; it reads and changes nothing.
	opListBatches: true,
	// Reads.
	opGetBatch: true,
	opGetTask:  true,
	// POST /v1/tasks/list: a POST to carry a body; it changes nothing.
	opListTasks: true,
	// Idempotent by nature: PATCH sets the metadata to the value sent
	// (replaced whole, never merged), so the same request again leaves the
	// same batch and answers it.
	opPatchBatch: true,
	// Idempotent by the contract, as Mixpeek documents it: it answers 200
	// whether or not there is anything to kill, and a task killed stays
	// killed.
	opKillTask: true,
	// Not safe: sent again after it reached the server, each would do it
	// twice or answer otherwise: a second batch (create); 400 for objects
	// already added, a batch already submitted, canceled (a canceled batch
	// is terminal and cannot be canceled again: the outcome is the same,
	// the answer is not) or retried (or a second retry); 404 for a batch
	// deleted. A caller that got no answer asks GetBatch what happened;
	// KillTask of the batch's task is the cancel that may be retried.
	opCreateBatch: false,
	opAddObjects:  false,
	opSubmitBatch: false,
	opCancelBatch: false,
	opRetryBatch:  false,
	opDeleteBatch: false,
}

// The operationIds this client calls: an *Error's Operation, and the first
// word of what a call refuses before sending.
const opListBatches = "listBatches"

// baseRetryDelay is the first backoff step: a retry waits up to it, the
// next up to twice as long, and so on up to the max retry delay.
const baseRetryDelay = 500 * time.Millisecond

// maxResponseBytes bounds a response body: a page of MaxLimit batches is
// far smaller.
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

// doer sends the request of one call (it is the generated client's
// HttpRequestDoer): it makes the call's attempts, each through the
// middleware to the HTTP client, bounds each by the attempt timeout, reads
// the whole response, logs it, and retries what the policy allows. The
// HTTP client follows redirects inside an attempt, so a redirect is a hop
// of the attempt that met it, not an attempt of its own.
//
// The retry loop is github.com/cenkalti/backoff/v5's Retry (context-aware
// sleeps, a cap on tries, a hook on each retry, a server-given delay);
// this type supplies the policy: which operations and failures are retried,
// full-jitter exponential backoff, Retry-After (honoured up to the max retry
// delay; a longer one ends the retries), the attempt timeout, and the record
// of attempts. hashicorp/go-retryablehttp was not used: it has no
// per-attempt timeout, honours Retry-After only uncapped or not at all,
// discards the last response when retries run out unless given a handler,
// and logs in its own words.
type doer struct {
	cfg     config
	op      string        // the operationId
	hc      *http.Client  // cfg.httpClient's copy: CheckRedirect wrapped, Timeout 0
	timeout time.Duration // cfg.httpClient's Timeout, which bounds the whole call here
	red     *redactor
	send    MiddlewareNext // cfg.middleware in front of hc.Do

	// Do runs the attempts on the caller's goroutine (backoff.Retry calls
	// op and notify there), and the call reads these after Do returns: no
	// lock is needed.
	method   string // of the call's request
	path     string // of the call's request, escaped
	attempts []Attempt
}

// newDoer returns the doer of one call of operation op; red redacts
// cfg.apiKey (nil: nothing is redacted).
func newDoer(cfg config, op string, red *redactor) *doer {
	d := &doer{cfg: cfg, op: op, red: red}
	hc := *cfg.httpClient
	d.timeout, hc.Timeout = hc.Timeout, 0
	own := hc.CheckRedirect
	basePath := ""
	if u, err := url.Parse(cfg.baseURL); err == nil {
		basePath = u.EscapedPath()
	}
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Method != via[0].Method {
			return newRedirectError(req, via[0], basePath)
		}
		if own != nil {
			err := own(req, via)
			if err != nil && err != http.ErrUseLastResponse {
				return &redirectPolicyError{err}
			}
			return err // nil, or ErrUseLastResponse as is
		}
		if len(via) >= 10 { // net/http's default policy
			return &redirectPolicyError{errors.New("stopped after 10 redirects")}
		}
		return nil
	}
	d.hc = &hc
	d.send = d.do
	for i := len(cfg.middleware) - 1; i >= 0; i-- {
		m, inner := cfg.middleware[i], d.send
		d.send = func(r *http.Request) (*http.Response, error) { return m(r, inner) }
	}
	return d
}

// Do makes the attempts of the call of req, as the policy allows, and
// returns the last answer (its body in memory) or the last attempt's error.
func (d *doer) Do(req *http.Request) (*http.Response, error) {
	d.method, d.path = req.Method, req.URL.EscapedPath()
	ctx := req.Context()
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d.timeout,
			fmt.Errorf("the HTTP client's timeout %v: %w", d.timeout, context.DeadlineExceeded))
		defer cancel() // the answer's body is in memory
	}
	maxTries := uint(1)
	if retrySafe[d.op] && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil) {
		maxTries += uint(d.cfg.maxRetries)
	}

	var (
		last     *http.Response // the last answer with a retryable status
		notified = -1           // the index of the last attempt logged as retried
	)
	// backoff.Retry retries any error but a *backoff.PermanentError.
	op := func() (*http.Response, error) {
		if last != nil { // its body is in memory
			last.Body.Close()
			last = nil
		}
		resp, a, err := d.attempt(ctx, req, len(d.attempts)+1)
		d.attempts = append(d.attempts, a)
		var permanent *backoff.PermanentError
		switch {
		case err != nil && errors.As(err, &permanent):
			return nil, err
		case err != nil && (ctx.Err() != nil || !retryableError(err)):
			return nil, backoff.Permanent(err)
		case err != nil:
			return nil, err
		case !retryableStatus(resp.StatusCode):
			return resp, nil
		}
		last = resp
		if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if wait > d.cfg.maxRetryDelay {
				// Retrying before the server's time is futile: this
				// answer is the call's (Error.RetryAfter tells the wait).
				return nil, backoff.Permanent(errRetryAfterTooLong)
			}
			return nil, &backoff.RetryAfterError{Duration: wait}
		}
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	notify := func(_ error, next time.Duration) {
		i := len(d.attempts) - 1
		d.attempts[i].Delay = next
		notified = i
		d.log(ctx, d.attempts[i], i+1, true, next)
	}
	resp, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(&fullJitter{base: baseRetryDelay, max: d.cfg.maxRetryDelay}),
		backoff.WithMaxTries(maxTries),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(notify),
	)
	if i := len(d.attempts) - 1; i >= 0 && i != notified {
		d.log(ctx, d.attempts[i], i+1, false, 0)
	}
	switch {
	case err == nil:
		return resp, nil
	case last != nil && ctx.Err() == nil:
		// Retries ran out, or Retry-After is past the max retry delay,
		// on a retryable status: that answer is the call's.
		return last, nil
	case last != nil:
		last.Body.Close()
	}
	// backoff.Retry unwraps a permanent error, except on the last try.
	var permanent *backoff.PermanentError
	if errors.As(err, &permanent) {
		err = permanent.Err
	}
	return nil, err
}

// errRetryAfterTooLong ends the retries on an answer whose Retry-After is
// longer than the max retry delay.
var errRetryAfterTooLong = errors.New("Retry-After is longer than the max retry delay")

// attempt sends one attempt and reads its whole response within the
// attempt timeout, so that a response whose body breaks off is retried too.
// n counts the attempts of the call from 1; from the second on, the body is
// a fresh one from req.GetBody.
func (d *doer) attempt(ctx context.Context, req *http.Request, n int) (*http.Response, Attempt, error) {
	start := time.Now()
	var a Attempt
	fail := func(err error) (*http.Response, Attempt, error) {
		a.Err, a.Duration = err, time.Since(start)
		return nil, a, err
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if d.cfg.attemptTimeout > 0 {
		what := "attempt timeout"
		if d.cfg.pollTimeout {
			what = "poll timeout"
		}
		actx, cancel = context.WithTimeoutCause(ctx, d.cfg.attemptTimeout,
			fmt.Errorf("%s %v: %w", what, d.cfg.attemptTimeout, context.DeadlineExceeded))
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

	resp, err := d.send(r)
	switch {
	case err != nil && resp != nil:
		// A redirect the client refuses comes with the response that
		// asked for it, its body closed.
		a.StatusCode, a.RequestID = resp.StatusCode, d.red.string(requestID(resp.Header))
		resp.Body.Close()
	case err == nil && resp == nil:
		err = errors.New("a middleware returned neither a response nor an error")
	case err == nil && resp.Body == nil:
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
			// The attempt timed out, not the call: say so once, whatever
			// words the transport used.
			if cause := context.Cause(actx); !strings.Contains(err.Error(), cause.Error()) {
				err = fmt.Errorf("%w (%v)", cause, err)
			}
			err = &attemptTimedOut{err}
		}
		return fail(err)
	}
	a.StatusCode, a.Duration = resp.StatusCode, time.Since(start)
	a.RequestID = d.red.string(requestID(resp.Header))
	return resp, a, nil
}

// attemptTimedOut is an attempt that ran out of its attempt timeout (or a
// wait's poll timeout) while the call's context had not ended: a failure
// without an answer like a connection error, which a wait polls again
// (transientPoll), unlike the end of the caller's context. It matches
// context.DeadlineExceeded through Unwrap.
type attemptTimedOut struct{ err error }

func (e *attemptTimedOut) Error() string { return e.err.Error() }
func (e *attemptTimedOut) Unwrap() error { return e.err }

// redirectError is a redirect the client refuses: one that changes the
// method (a 301 or 302 after a POST, or a 303), which net/http would follow
// with a GET without the request's body, a request the API does not serve.
type redirectError struct {
	status   int         // the redirect's status
	header   http.Header // the redirect's headers
	from, to string      // the methods
	location string      // the URL redirected to
	baseURL  string      // the base URL that would reach it directly; "" when unknown
}

// newRedirectError describes the redirect of via (the request the client
// sent) to req. basePath is the escaped path of the base URL, so that the
// base URL the server points at can be told from the location.
func newRedirectError(req, via *http.Request, basePath string) *redirectError {
	e := &redirectError{from: via.Method, to: req.Method, location: req.URL.String()}
	if resp := req.Response; resp != nil {
		e.status, e.header = resp.StatusCode, resp.Header.Clone()
	}
	// The operation's path (/v1/...) after the base URL's; the location
	// ending with it gives the base URL the server means.
	opPath := strings.TrimPrefix(via.URL.EscapedPath(), basePath)
	if loc := req.URL; strings.HasPrefix(opPath, "/") && strings.HasSuffix(loc.EscapedPath(), opPath) {
		base := url.URL{Scheme: loc.Scheme, Host: loc.Host, Path: strings.TrimSuffix(loc.Path, mustUnescape(opPath))}
		e.baseURL = strings.TrimRight(base.String(), "/")
	}
	return e
}

// redirectPolicyError is a redirect the redirect policy refused (the HTTP
// client's CheckRedirect, or net/http's default limit of 10): a decision,
// not retried.
type redirectPolicyError struct{ err error }

func (e *redirectPolicyError) Error() string { return e.err.Error() }
func (e *redirectPolicyError) Unwrap() error { return e.err }

func mustUnescape(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

func (e *redirectError) Error() string {
	s := fmt.Sprintf("the server redirected %s to %s at %s (HTTP %d); the client does not follow a redirect that drops the request's body", e.from, e.to, e.location, e.status)
	if e.baseURL != "" {
		s += ": set the base URL to " + e.baseURL
	}
	return s
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
		redirect         *redirectError
		policy           *redirectPolicyError
	)
	switch {
	case errors.As(err, &redirect), errors.As(err, &policy):
		return false
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
func (d *doer) log(ctx context.Context, a Attempt, n int, retried bool, next time.Duration) {
	l := d.cfg.logger
	if l == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", d.method),
		slog.String("path", d.path),
		slog.Int("status", a.StatusCode),
		slog.Duration("duration", a.Duration),
		slog.Int("attempt", n),
	}
	if a.RequestID != "" {
		attrs = append(attrs, slog.String("request_id", a.RequestID))
	}
	if a.Err != nil {
		attrs = append(attrs, slog.String("error", d.red.string(a.Err.Error())))
	}
	level, msg := slog.LevelInfo, "batches: request"
	if retried {
		level, msg = slog.LevelWarn, "batches: request failed, retrying"
		attrs = append(attrs, slog.Duration("retry_in", next))
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}
