package batches

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/mixpeekgo/batches/generated/client"
)

// Every operation runs through this file, in two halves:
//
//   - Client.prepare, before anything is sent: the call's settings (the
//     client's with the call's options applied), the operation's own checks
//     of its arguments, and those of every operation (an API key, a
//     namespace). Its errors are not *Error.
//   - call, once a request: the generated client builds the request and
//     hands it to a doer (retry.go), which makes the attempts and retries
//     what retrySafe allows; a 2xx answer's body is decoded into this
//     package's types. Its errors are *Error.
//
// So an operation is one short function, prepare then call with its send
// and decode, and its entry in retrySafe. AllBatches prepares once and
// calls once a page.

// sender sends an operation's request with w, the generated client of one
// call; cfg is the call's settings (its namespace goes in the request's
// X-Namespace parameter). It returns what w's method returns: the last
// answer, its body in memory, or the last attempt's error.
type sender func(ctx context.Context, w *client.Client, cfg config) (*http.Response, error)

// prepare returns the settings of a call: the client's with opts applied,
// once check (the operation's checks of its arguments; nil: none), then an
// API key and a namespace are there. It returns the first error: an
// option's, check's (matching ErrValidation), ErrNoAPIKey, ErrNoNamespace.
func (c *Client) prepare(opts []Option, check func() error) (config, error) {
	cfg, err := c.prepareOrg(opts, check)
	if err == nil && cfg.namespace == "" {
		return config{}, ErrNoNamespace
	}
	return cfg, err
}

// prepareOrg is prepare for the operations scoped to the API key's
// organization, which take no namespace (the Tasks API): a call without
// one is sent all the same.
func (c *Client) prepareOrg(opts []Option, check func() error) (config, error) {
	cfg := c.cfg
	if err := cfg.apply(opts); err != nil {
		return config{}, err
	}
	if check != nil {
		if err := check(); err != nil {
			return config{}, err
		}
	}
	if cfg.apiKey == "" {
		return config{}, ErrNoAPIKey
	}
	return cfg, nil
}

// call sends one request of operation op (its operationId) with send, over
// cfg's settings and as many attempts as retrySafe[op] allows, and returns
// what decode makes of a 2xx answer's body. Every failure is an *Error: no
// usable answer (StatusCode 0, or a redirect the client does not follow),
// an answer other than 2xx, or a 2xx whose body decode refuses (the text
// of decode's error, the key redacted, is its Message).
func call[T any](ctx context.Context, cfg config, op string, send sender, decode func(data []byte) (T, error)) (T, error) {
	var zero T
	red := newRedactor(cfg.apiKey)
	d := newDoer(cfg, op, red)
	resp, err := send(ctx, wire(cfg, d), cfg)
	if err != nil {
		return zero, d.failedCall(err)
	}
	defer resp.Body.Close()
	// The doer hands back the body in memory (a bytes.Reader): reading it
	// cannot fail.
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return zero, d.newError(resp, data)
	}
	v, err := decode(data)
	if err != nil {
		e := d.answerError(resp, data)
		e.Message = red.string(err.Error())
		return zero, e
	}
	return v, nil
}

// wire is the generated client for one call's settings: its request goes
// to d, which makes the attempts over cfg's HTTP client, with the headers
// of cfg.
func wire(cfg config, d *doer) *client.Client {
	editor := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+cfg.apiKey)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		// Compressed answers, whatever the HTTP client's transport; the
		// doer undoes gzip (decompress.go). WithHeader may say otherwise.
		req.Header.Set("Accept-Encoding", "gzip")
		for name, values := range cfg.headers {
			req.Header[name] = append([]string(nil), values...)
		}
		return nil
	}
	// NewClient fails only for a base URL that does not parse, and New
	// checked it.
	c, err := client.NewClient(cfg.baseURL+"/", client.WithHTTPClient(d), client.WithRequestEditorFn(editor))
	if err != nil {
		panic(err)
	}
	return c
}

// maxIdentifier is the contract's maxLength of the identifiers a request
// carries: bucket_identifier and the other path parameters, X-Namespace,
// and ListBatchesRequest.collection_id.
const maxIdentifier = 128

// checkPathSegment refuses, before sending, a path parameter of operation
// op (what names it, e.g. "bucket identifier"; resource is what it
// identifies, e.g. "bucket") that the API would refuse or
// that could not be sent as one segment of the URL path: empty, longer than
// maxIdentifier bytes, "." or ".." (dot-segments, which a URL path resolves
// away, RFC 3986 section 5.2.4, sending the request to another route), or
// holding a control character. Its errors match ErrValidation.
func checkPathSegment(op, what, resource, s string) error {
	if s == "" {
		return &paramError{op + ": the " + what + " is empty"}
	}
	if len(s) > maxIdentifier {
		return &paramError{fmt.Sprintf("%s: the %s is %d bytes long, more than %d", op, what, len(s), maxIdentifier)}
	}
	if seg := url.PathEscape(s); seg == "." || seg == ".." {
		return &paramError{fmt.Sprintf("%s: the %s %q is not a %s: in the URL path it would mean the current or parent directory", op, what, s, resource)}
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return &paramError{fmt.Sprintf("%s: the %s %q contains a control character at byte %d", op, what, s, i+1)}
	}
	return nil
}
