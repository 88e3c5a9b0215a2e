package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mixpeekgo/batches/generated/server"
)

// ErrInvalidUTF8 is wrapped by the error of BatchJSON for a batch holding a
// string that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("string is not valid UTF-8")

// BatchJSON returns the canonical JSON of b: the object a List Batches
// answer carries for it, byte for byte as the strict server's
// json.NewEncoder(w).Encode writes a batch in ListBatchesResponse.results
// (fields in the order of server.Batch, metadata keys sorted, <, > and &
// escaped as \u003c, \u003e and \u0026, no white space, no trailing
// newline). Stores keep it with each batch (written whenever the batch is)
// and answer pages from it, so that a page is served without decoding or
// encoding anything.
//
// b is read as a store keeps it: a nil ObjectIds is written [], a nil
// Metadata {}, a non-nil CollectionIds or ErrorSummary holding nil [] and {};
// CreatedAt and UpdatedAt are written in UTC (RFC 3339 with up to 9 digits
// of fraction, trailing zeros dropped); BucketId as it is (set it to the
// bucket the batch is stored in first). b is not modified.
//
// It returns an error wrapping ErrInvalidUTF8 when a string of b (a key or
// value of its metadata included) is not valid UTF-8, which JSON would
// silently turn into U+FFFD, and another error when encoding/json cannot
// encode a metadata value (NaN, ±Inf, a channel, a function).
func BatchJSON(b *server.Batch) ([]byte, error) {
	c := *b
	if c.ObjectIds == nil {
		c.ObjectIds = []string{}
	}
	if c.Metadata == nil {
		c.Metadata = map[string]any{}
	}
	if c.CollectionIds != nil && *c.CollectionIds == nil {
		c.CollectionIds = &[]string{}
	}
	if c.ErrorSummary != nil && *c.ErrorSummary == nil {
		c.ErrorSummary = &map[string]int{}
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	// json.Marshal escapes HTML as json.Encoder does by default.
	doc, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("batch JSON: %w", err)
	}
	if hasReplacementEscape(doc) {
		return nil, fmt.Errorf("batch JSON: %w", ErrInvalidUTF8)
	}
	return doc, nil
}

// hasReplacementEscape reports whether doc, written by encoding/json, holds
// the escape \ufffd: encoding/json writes it only for bytes that are not
// valid UTF-8 (a valid U+FFFD is written as is), and a backslash that is
// part of a string is written \\, so an escape is a backslash preceded by an
// even number of backslashes.
func hasReplacementEscape(doc []byte) bool {
	const esc = `\ufffd`
	for i := 0; ; {
		j := bytes.Index(doc[i:], []byte(esc))
		if j < 0 {
			return false
		}
		j += i
		k := j
		for k > 0 && doc[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return true
		}
		i = j + len(esc)
	}
}
