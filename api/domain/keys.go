package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// The rule of the API keys one may register ([APIKey]): printable ASCII
// without spaces (a key travels in an HTTP header), MinKeyLength to
// MaxKeyLength bytes.
const (
	MinKeyLength = 20  // a shorter key is guessed
	MaxKeyLength = 128 // bytes
)

const (
	base62Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// keyLength is the number of random characters after a generated API
	// key's prefix.
	keyLength = 40
	// keyPrefix starts every generated API key.
	keyPrefix = "sk_live_"
)

// HashKey returns the SHA-256 hash of an API key, the only form in which a
// store keeps keys.
func HashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// NewAPIKey returns "sk_live_" followed by 40 random base62 characters from
// crypto/rand (about 238 bits).
func NewAPIKey() string { return keyPrefix + randomString(base62Alphabet, keyLength) }

// APIKey returns the API key to register for key: a new one ([NewAPIKey])
// when key is empty, or else key itself once checked: MinKeyLength (20) to
// MaxKeyLength (128) bytes of printable ASCII without spaces. The error
// wraps [ErrInvalid] and does not show the key.
func APIKey(key string) (string, error) {
	if key == "" {
		return NewAPIKey(), nil
	}
	if p := KeyProblem(key); p != "" {
		return "", fmt.Errorf("API key: %w: %s", ErrInvalid, p)
	}
	return key, nil
}

// KeyProblem returns what makes key, not empty, one that [APIKey] refuses
// ("shorter than 20 characters"), without showing it, or "" when it is
// fine: batchesd checks --demo-api-key with it before it opens anything.
func KeyProblem(key string) string {
	if len(key) > MaxKeyLength {
		return fmt.Sprintf("longer than %d bytes", MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c >= 0x7f {
			return "only printable ASCII without spaces is allowed"
		}
	}
	if len(key) < MinKeyLength {
		return fmt.Sprintf("shorter than %d characters", MinKeyLength)
	}
	return ""
}

// KeyID returns the id of the API key whose hash is keyHash: "key_" and
// the first 12 hexadecimal digits of the hash. It names a key in
// batchesd's key list and key revoke without showing it (the hash of a
// secret of 20 characters or more tells nothing of it); a store derives
// it from the hash it keeps.
func KeyID(keyHash [32]byte) string { return "key_" + hex.EncodeToString(keyHash[:keyIDBytes]) }

// keyIDBytes is the number of bytes of a key's hash in its id.
const keyIDBytes = 6

// KeyPrefix returns what of key a list of keys shows: its first
// characters, 12 at most and never more than a third of it ("sk_live_abc"
// of a generated key).
func KeyPrefix(key string) string { return key[:min(12, len(key)/3)] }

// APIKeyInfo is what the administration tells of an API key: never the
// key.
type APIKeyInfo struct {
	ID             string // KeyID
	OrganizationID string
	Prefix         string // KeyPrefix; "" for a key registered before prefixes were kept
	CreatedAt      time.Time
	RevokedAt      *time.Time // nil while the key is valid
}

// parseKeyID returns the bytes of the hash a key id stands for; ok is
// false for a string that is no key id.
func parseKeyID(id string) (prefix []byte, ok bool) {
	digits, found := strings.CutPrefix(id, "key_")
	if !found || len(digits) != 2*keyIDBytes {
		return nil, false
	}
	b, err := hex.DecodeString(digits)
	return b, err == nil
}
