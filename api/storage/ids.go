package storage

import (
	"crypto/rand"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	idAlphabet     = "abcdefghijklmnopqrstuvwxyz0123456789"
	base62Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

	// idLength is the number of random characters after an id's prefix.
	idLength = 12
	// keyLength is the number of random characters after a generated API
	// key's prefix.
	keyLength = 40
	// keyPrefix starts every generated API key.
	keyPrefix = "sk_live_"
	// MinKeyLength is the shortest API key that may be registered: a
	// short one is guessed.
	MinKeyLength = 20
	// maxNameLength is the longest name, in characters, of an organization,
	// namespace or bucket.
	maxNameLength = 128
	// maxIDLength is the longest bucket id and API key, in bytes.
	maxIDLength = 128
)

// NewID returns prefix followed by 12 random characters of [a-z0-9] from
// crypto/rand (about 62 bits), as in "org_3kq9z0m1xw7p". The prefixes in use
// are "org_", "ns_", "bkt_" and "btch_".
func NewID(prefix string) string { return prefix + randomString(idAlphabet, idLength) }

// NewAPIKey returns "sk_live_" followed by 40 random base62 characters from
// crypto/rand (about 238 bits).
func NewAPIKey() string { return keyPrefix + randomString(base62Alphabet, keyLength) }

// randomString returns n characters of alphabet (at most 256 of them), each
// drawn uniformly from crypto/rand by rejection sampling.
func randomString(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet) // bytes ≥ limit would bias the draw
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails (see crypto/rand.Read)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// CheckName returns an error wrapping ErrInvalid unless name, the name of a
// kind ("organization", "namespace", "bucket"), is valid UTF-8, non-empty,
// free of leading and trailing white space and of control characters, and at
// most 128 characters long.
func CheckName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name: %w: empty", kind, ErrInvalid)
	case !utf8.ValidString(name):
		return fmt.Errorf("%s name %q: %w: not valid UTF-8", kind, name, ErrInvalid)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%s name %q: %w: leading or trailing white space", kind, name, ErrInvalid)
	case utf8.RuneCountInString(name) > maxNameLength:
		return fmt.Errorf("%s name %q: %w: longer than %d characters", kind, name, ErrInvalid, maxNameLength)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%s name %q: %w: control character", kind, name, ErrInvalid)
	case kind == "bucket" && (strings.Contains(name, "/") || name == "." || name == ".."):
		// A bucket is named in URL paths, where these are not one segment.
		return fmt.Errorf("%s name %q: %w: a URL path segment cannot be %q or hold /", kind, name, ErrInvalid, name)
	}
	return nil
}

// CheckID returns an error wrapping ErrInvalid unless id, a what ("bucket
// id"), is 1 to 128 characters of [A-Za-z0-9_.-]: it travels in URL paths.
func CheckID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s: %w: empty", what, ErrInvalid)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("%s %q: %w: not a URL path segment", what, id, ErrInvalid)
	}
	if len(id) > maxIDLength {
		return fmt.Errorf("%s: %w: longer than %d characters", what, ErrInvalid, maxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%s %q: %w: only letters, digits, '_', '.' and '-' are allowed", what, id, ErrInvalid)
		}
	}
	return nil
}

// CheckToken returns an error wrapping ErrInvalid unless s, a what ("API
// key"), is 1 to 128 bytes of printable ASCII without spaces: it travels in
// HTTP headers. s is not quoted in the error, as it may be a secret.
func CheckToken(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s: %w: empty", what, ErrInvalid)
	}
	if len(s) > maxIDLength {
		return fmt.Errorf("%s: %w: longer than %d bytes", what, ErrInvalid, maxIDLength)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%s: %w: only printable ASCII without spaces is allowed", what, ErrInvalid)
		}
	}
	return nil
}

// APIKey returns the API key to register for key: a new one ([NewAPIKey])
// when key is empty, or else key itself once checked: 20 to 128 bytes of
// printable ASCII without spaces. The error wraps [ErrInvalid] and does not
// show the key.
func APIKey(key string) (string, error) {
	if key == "" {
		return NewAPIKey(), nil
	}
	if err := CheckToken("API key", key); err != nil {
		return "", err
	}
	if len(key) < MinKeyLength {
		return "", fmt.Errorf("API key: %w: shorter than %d characters", ErrInvalid, MinKeyLength)
	}
	return key, nil
}
