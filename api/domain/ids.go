package domain

import (
	"crypto/rand"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	// idLength is the number of random characters after an id's prefix.
	idLength = 12
	// maxNameLength is the longest name, in characters, of an organization,
	// namespace or bucket.
	maxNameLength = 128
	// maxIDLength is the longest id, in bytes.
	maxIDLength = 128
)

// NewID returns prefix followed by 12 random characters of [a-z0-9] from
// crypto/rand (about 62 bits), as in "org_3kq9z0m1xw7p". The prefixes in use
// are "org_", "ns_", "bkt_" and "btch_".
func NewID(prefix string) string { return prefix + randomString(idAlphabet, idLength) }

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
