package batches

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"
)

// Version is the version of this package, sent in the User-Agent header.
const Version = "0.1.0"

// DefaultBaseURL is where the Mixpeek API lives; WithBaseURL and
// MIXPEEK_BASE_URL change it.
const DefaultBaseURL = "https://api.mixpeek.com"

// Defaults of the retry policy (see WithMaxRetries, WithMaxRetryDelay).
const (
	DefaultMaxRetries    = 2
	DefaultMaxRetryDelay = 8 * time.Second
)

// The environment variables New reads. Surrounding whitespace (spaces,
// tabs, CR and LF, as a value read from a secret file often ends with) is
// trimmed; a variable empty after that counts as unset, and an option
// always wins over the environment.
const (
	EnvAPIKey    = "MIXPEEK_API_KEY"
	EnvNamespace = "MIXPEEK_NAMESPACE"
	EnvBaseURL   = "MIXPEEK_BASE_URL"
)

// userAgent is sent with every request, e.g.
// "mixpeek-batches-go/0.1.0 (github.com/mixpeekgo/batches; go1.26.0; linux/amd64)".
var userAgent = fmt.Sprintf("mixpeek-batches-go/%s (github.com/mixpeekgo/batches; %s; %s/%s)",
	Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)

// Client calls Mixpeek's Bucket Batches API. Make one with New (the zero
// Client has no settings and cannot be used). It is safe for concurrent use;
// its settings never change after New, and a call's options apply to that
// call only.
type Client struct {
	cfg config
}

// config is the settings of a client or of one call (the client's with the
// call's options applied on top).
type config struct {
	apiKey         string
	namespace      string
	baseURL        string // scheme://host[:port][/prefix], without a trailing slash
	httpClient     *http.Client
	headers        http.Header
	maxRetries     int
	maxRetryDelay  time.Duration
	attemptTimeout time.Duration // 0: none
	// pollTimeout is set by a wait when its PollTimeout is the attempt
	// timeout (shorter than the client's, or the client has none): an
	// attempt that runs out of it says so.
	pollTimeout bool
	logger      *slog.Logger // nil: no logging
	middleware  []Middleware
}

// Option configures a Client (given to New) or one call (given to a method,
// where it overrides the client's setting for that call only, e.g.
// WithNamespace to list another namespace's batches). Options are applied in
// order; a later one wins. An invalid option's error (it says what is
// wrong) is returned by New, or by the call it was given to, before
// anything is sent.
type Option func(*config) error

// Middleware wraps each HTTP attempt of a call, retries included: it may
// change the request (sign it, add headers), observe the response, or
// answer itself without calling next. It runs inside the retry loop, so it
// sees every attempt; an error it returns is handled like a connection
// error (retried when the operation is safe to retry). The request's body
// may be read only through req.GetBody. Redirects the HTTP client follows
// happen inside next, so a middleware sees the request as sent and the last
// answer.
type Middleware func(req *http.Request, next MiddlewareNext) (*http.Response, error)

// MiddlewareNext sends the request on: to the next middleware, or to the
// HTTP client (WithHTTPClient), which follows redirects.
type MiddlewareNext func(req *http.Request) (*http.Response, error)

// WithAPIKey sets the API key sent as "Authorization: Bearer <key>"
// (Mixpeek's keys look like sk_live_… or sk_test_…). The default is
// $MIXPEEK_API_KEY, its surrounding whitespace trimmed. A key that is
// empty, or holds whitespace (a space, tab, CR or LF, surrounding it or
// inside) or another control character, is refused with an error that
// says which and where (never the key); WithAPIKey does not trim, so
// strings.TrimSpace a key read from a file. Without a key a call fails
// before sending anything, with ErrNoAPIKey.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		if err := checkAPIKey(key); err != nil {
			return err
		}
		c.apiKey = key
		return nil
	}
}

func checkAPIKey(key string) error {
	if key == "" {
		return errors.New("batches: the API key is empty")
	}
	for i := 0; i < len(key); i++ {
		var what string
		switch b := key[i]; {
		case b == ' ':
			what = "a space"
		case b == '\t':
			what = "a tab"
		case b == '\r':
			what = "a carriage return (CR)"
		case b == '\n':
			what = "a line break (LF)"
		case b < ' ' || b == 0x7f:
			what = fmt.Sprintf("the control character %#02x", b)
		default:
			continue
		}
		switch {
		case i == 0:
			return fmt.Errorf("batches: the API key starts with %s: trim it", what)
		case strings.TrimRight(key[i:], " \t\r\n") == "":
			return fmt.Errorf("batches: the API key ends with %s: trim it (a key read from a file often ends with a line break)", what)
		}
		return fmt.Errorf("batches: the API key contains %s at byte %d of %d; API keys have none", what, i+1, len(key))
	}
	return nil
}

// WithNamespace sets the namespace every request is scoped to, sent as the
// X-Namespace header: its name (e.g. "production") or id ("ns_…"). The
// default is $MIXPEEK_NAMESPACE. An empty name, one longer than 128 bytes
// (the contract's maxLength) or one a header cannot carry is refused.
// Without a namespace a call fails before sending anything, with
// ErrNoNamespace.
func WithNamespace(namespace string) Option {
	return func(c *config) error {
		if err := checkNamespace(namespace); err != nil {
			return err
		}
		c.namespace = namespace
		return nil
	}
}

func checkNamespace(ns string) error {
	switch {
	case ns == "":
		return errors.New("batches: the namespace is empty")
	case len(ns) > maxIdentifier:
		return fmt.Errorf("batches: the namespace is %d bytes long, more than %d", len(ns), maxIdentifier)
	case strings.TrimSpace(ns) != ns || !validHeaderValue(ns):
		return fmt.Errorf("batches: the namespace %q cannot be sent in the X-Namespace header", ns)
	}
	return nil
}

// WithBaseURL sets the scheme and host of the API (and optionally a path
// prefix, for a proxy), e.g. "http://127.0.0.1:8080" for the reference
// server. The default is $MIXPEEK_BASE_URL, or DefaultBaseURL. A URL that is
// not absolute http or https, has user info, a query or a fragment, or whose
// path ends in /v1 (the API's paths start with /v1 already, so
// https://api.mixpeek.com/v1 would send /v1/v1/…) is refused.
func WithBaseURL(baseURL string) Option {
	return func(c *config) error {
		u, err := checkBaseURL(baseURL)
		if err != nil {
			return err
		}
		c.baseURL = u
		return nil
	}
}

func checkBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("batches: base URL %q: %w", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("batches: base URL %q: the scheme must be http or https", s)
	case u.Host == "":
		return "", fmt.Errorf("batches: base URL %q: no host", s)
	case u.User != nil:
		return "", fmt.Errorf("batches: base URL %q: user info is not allowed (use WithAPIKey)", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("batches: base URL %q: a query is not allowed", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", fmt.Errorf("batches: base URL %q: a fragment is not allowed", s)
	case strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/v1"):
		without := *u
		without.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v1")
		without.RawPath = ""
		return "", fmt.Errorf("batches: base URL %q ends in /v1, which the API's paths start with already: use %q", s, strings.TrimRight(without.String(), "/"))
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// WithHTTPClient sets the HTTP client requests are sent with; the default
// is a client over http.DefaultTransport. The client itself is not
// modified: each call uses a copy. Its Transport (connections, proxies,
// TLS) carries every attempt, its Timeout bounds a whole call with its
// retries (WithAttemptTimeout bounds one attempt), and its cookie jar and
// redirect policy (CheckRedirect) apply. A redirect is followed within the
// attempt that met it: 307 and 308 keep the POST and its body. A redirect
// that would turn the POST into a GET without its body (301 or 302 after a
// POST, 303), which the API cannot serve, is refused before CheckRedirect
// is asked, and the call fails with an *Error of that status naming the
// location (an http:// base URL redirected to https://, say); it is not
// retried. nil is refused.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("batches: WithHTTPClient(nil)")
		}
		c.httpClient = hc
		return nil
	}
}

// managedHeaders are set by the client itself and cannot be set with
// WithHeader.
var managedHeaders = []string{"Authorization", "X-Namespace", "Content-Type", "Content-Length", "Host", "Transfer-Encoding"}

// WithHeader sets a header sent with every request, replacing an earlier
// value of the same name; an empty value removes one set before. It may set
// User-Agent (replacing the client's). Headers the client manages
// (Authorization: use WithAPIKey; X-Namespace: use WithNamespace;
// Content-Type, Content-Length, Host, Transfer-Encoding) and invalid names or
// values are refused.
func WithHeader(name, value string) Option {
	return func(c *config) error {
		if !validHeaderName(name) {
			return fmt.Errorf("batches: %q is not a valid header name", name)
		}
		for _, m := range managedHeaders {
			if strings.EqualFold(name, m) {
				return fmt.Errorf("batches: the %s header is set by the client and cannot be set with WithHeader", m)
			}
		}
		if !validHeaderValue(value) {
			return fmt.Errorf("batches: the value of header %s contains characters a header cannot carry", name)
		}
		h := c.headers.Clone()
		if h == nil {
			h = http.Header{}
		}
		if value == "" {
			h.Del(name)
		} else {
			h.Set(name, value)
		}
		c.headers = h
		return nil
	}
}

// WithMaxRetries sets how many times a failed attempt is retried (so a call
// makes at most n+1 attempts), for operations that are safe to retry; the
// default is DefaultMaxRetries (2). 0 turns retries off; a negative n is
// refused.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("batches: max retries %d is negative", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithMaxRetryDelay caps the wait between two attempts; the default is
// DefaultMaxRetryDelay (8 s). The backoff never waits longer. A server's
// Retry-After up to d is waited out as given; a longer one ends the retries
// at once, since an attempt before the server's time would fail again: the
// call returns that answer's *Error, whose RetryAfter says how long the
// server asked to wait, for the caller to decide (openai-go instead waits
// any Retry-After out, stripe-go and aws-sdk-go-v2 ignore it). A delay that
// is not positive is refused.
func WithMaxRetryDelay(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("batches: max retry delay %v is not positive", d)
		}
		c.maxRetryDelay = d
		return nil
	}
}

// WithAttemptTimeout bounds each attempt (sending the request and reading
// the whole response); an attempt that runs out of time is retried like a
// connection error. The default, 0, sets no bound of its own; a negative
// timeout is refused. The context of a call bounds all attempts together.
// The waiters bound their attempts by default (PollTimeout): a wait runs
// in the background for minutes or hours, where a request that hangs would
// go unnoticed, while a single call's caller is waiting on it and can give
// its context a deadline; so other calls keep no bound of their own.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("batches: attempt timeout %v is negative", d)
		}
		c.attemptTimeout = d
		return nil
	}
}

// WithLogger logs one line per HTTP attempt to l: at Info level a finished
// attempt (method, path, status, duration, attempt, and the server's
// request_id when it sent one), at Warn level one that
// is retried (with the error and the delay before the next). Headers are
// never logged and the API key never appears. The default logs nothing;
// nil is refused.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("batches: WithLogger(nil)")
		}
		c.logger = l
		return nil
	}
}

// WithMiddleware adds m around each HTTP attempt. Middleware run in the
// order added, the first outermost; a call's middleware run inside the
// client's. nil is refused.
func WithMiddleware(m Middleware) Option {
	return func(c *config) error {
		if m == nil {
			return errors.New("batches: WithMiddleware(nil)")
		}
		c.middleware = append(c.middleware[:len(c.middleware):len(c.middleware)], m)
		return nil
	}
}

// New returns a client. Settings start from the defaults, then the
// environment ($MIXPEEK_API_KEY, $MIXPEEK_NAMESPACE, $MIXPEEK_BASE_URL,
// each trimmed of surrounding spaces, tabs, CR and LF; an empty variable is
// unset), then opts in order. It returns an error naming
// the option or variable when one is invalid (a base URL that is not http or
// https, negative retries, …); an invalid variable that an option replaces
// is ignored. A missing API key or namespace is not an
// error here, since each call may give its own: a call without one fails
// before sending, with ErrNoAPIKey or ErrNoNamespace.
func New(opts ...Option) (*Client, error) {
	cfg := config{
		baseURL:       DefaultBaseURL,
		httpClient:    &http.Client{},
		maxRetries:    DefaultMaxRetries,
		maxRetryDelay: DefaultMaxRetryDelay,
	}
	// A variable that does not check out is an error only if no option
	// replaces it: it is held as a marker no option can set.
	const bad = "\x00invalid"
	var envErrs []error
	fromEnv := func(name string, set *string, check func(string) (string, error)) {
		if v := strings.Trim(os.Getenv(name), " \t\r\n"); v != "" {
			if checked, err := check(v); err != nil {
				*set = bad + name
				envErrs = append(envErrs, fmt.Errorf("%s: %w", name, err))
			} else {
				*set = checked
			}
		}
	}
	fromEnv(EnvAPIKey, &cfg.apiKey, func(v string) (string, error) { return v, checkAPIKey(v) })
	fromEnv(EnvNamespace, &cfg.namespace, func(v string) (string, error) { return v, checkNamespace(v) })
	fromEnv(EnvBaseURL, &cfg.baseURL, checkBaseURL)
	if err := cfg.apply(opts); err != nil {
		return nil, err
	}
	for _, err := range envErrs {
		name, _, _ := strings.Cut(err.Error(), ":")
		if cfg.apiKey == bad+name || cfg.namespace == bad+name || cfg.baseURL == bad+name {
			return nil, err
		}
	}
	return &Client{cfg: cfg}, nil
}

// CheckOptions returns the error of the first invalid option of opts, the
// error New or a call would return for it, or nil when every option is
// valid. It reads no environment variable and makes no client, so that a
// program taking settings from several places (flags, a file) can check
// each on its own, say where a bad one came from, and then call New.
func CheckOptions(opts ...Option) error {
	var cfg config
	return cfg.apply(opts)
}

// apply applies opts to c in order.
func (c *config) apply(opts []Option) error {
	for _, o := range opts {
		if o == nil {
			return errors.New("batches: a nil Option")
		}
		if err := o(c); err != nil {
			return err
		}
	}
	return nil
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x80 || b <= ' ' || strings.IndexByte("\"(),/:;<=>?@[\\]{}", b) >= 0 || b == 0x7f {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s can be sent as an HTTP field value:
// no control characters but horizontal tab (RFC 9110, section 5.5).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
