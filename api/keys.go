package api

import "crypto/sha256"

// HashKey returns the SHA-256 hash of an API key, the only form in which a
// Store keeps keys.
func HashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }
