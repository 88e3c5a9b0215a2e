package batches

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// redacted replaces the API key in what the client shows.
const redacted = "[REDACTED]"

// redactor replaces an API key in text from the server, in each form a
// server may echo it: as is, percent-encoded (a URL's query or path),
// HTML-escaped (&amp; in an error page), and, in JSON, escaped in any way
// encoding/json or another encoder may write it. A nil or keyless redactor
// changes nothing.
type redactor struct {
	key   string
	forms [][]byte // the key as is, percent-encoded and HTML-escaped, longest first
}

func newRedactor(key string) *redactor {
	r := &redactor{key: key}
	if key == "" {
		return r
	}
	seen := map[string]bool{}
	for _, f := range []string{key, url.QueryEscape(key), url.PathEscape(key), html.EscapeString(key)} {
		if !seen[f] {
			seen[f] = true
			r.forms = append(r.forms, []byte(f))
		}
	}
	slices.SortFunc(r.forms, func(a, b []byte) int { return len(b) - len(a) })
	return r
}

// string redacts s: the key as is, percent-encoded and HTML-escaped.
func (r *redactor) string(s string) string {
	if r == nil || r.key == "" {
		return s
	}
	for _, f := range r.forms {
		s = strings.ReplaceAll(s, string(f), redacted)
	}
	return s
}

// bytes redacts a body: the key as is, percent-encoded and HTML-escaped,
// and every JSON string literal whose decoded text holds the key (whatever
// its escapes), which is written again, redacted; the rest stays byte for
// byte.
func (r *redactor) bytes(b []byte) []byte {
	if r == nil || r.key == "" {
		return b
	}
	for _, f := range r.forms {
		if bytes.Contains(b, f) {
			b = bytes.ReplaceAll(b, f, []byte(redacted))
		}
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return b // nothing escaped
	}
	var out []byte
	done := 0 // b[:done] is in out
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		j, escaped := i+1, false
		for ; j < len(b) && b[j] != '"'; j++ {
			if b[j] == '\\' {
				escaped = true
				j++ // the escaped character, a quote included
			}
		}
		if j >= len(b) {
			break // an unterminated literal
		}
		if lit := b[i : j+1]; escaped {
			var s string
			if json.Unmarshal(lit, &s) == nil && strings.Contains(s, r.key) {
				enc, _ := json.Marshal(r.string(s)) // a string always encodes
				out = append(append(out, b[done:i]...), enc...)
				done = j + 1
			}
		}
		i = j
	}
	if out == nil {
		return b
	}
	return append(out, b[done:]...)
}

// truncated returns a copy of b's first n bytes, without a start of the
// key the cut may leave at the end.
func (r *redactor) truncated(b []byte, n int) []byte {
	if len(b) <= n {
		return bytes.Clone(b)
	}
	b = b[:n]
	if r != nil {
		for _, f := range r.forms {
			for k := len(f) - 1; k > 0; k-- {
				if bytes.HasSuffix(b, f[:k]) {
					b = b[:len(b)-k]
					break
				}
			}
		}
	}
	return bytes.Clone(b)
}

// value redacts a decoded JSON value: strings, and the keys and values of
// objects and arrays, recursively.
func (r *redactor) value(v any) any {
	switch v := v.(type) {
	case string:
		return r.string(v)
	case map[string]any:
		if v == nil {
			return v
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[r.string(k)] = r.value(x)
		}
		return m
	case []any:
		if v == nil {
			return v
		}
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = r.value(x)
		}
		return s
	}
	return v
}

// validationError redacts every text of v.
func (r *redactor) validationError(v ValidationError) ValidationError {
	if v.Loc != nil {
		v.Loc = r.value(v.Loc).([]any)
	}
	v.Msg, v.Type, v.Input = r.string(v.Msg), r.string(v.Type), r.value(v.Input)
	if v.Ctx != nil {
		v.Ctx = r.value(v.Ctx).(map[string]any)
	}
	return v
}

// responseHeader returns a copy of an answer's headers for Error.Header:
// the values redacted, without Set-Cookie.
func (r *redactor) responseHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for name, values := range h {
		vs := make([]string, len(values))
		for i, v := range values {
			vs[i] = r.string(v)
		}
		out[name] = vs
	}
	out.Del("Set-Cookie")
	return out
}
