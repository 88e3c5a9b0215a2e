package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
)

// Response buffers are pooled; one that grew past maxPooledBuffer (a page
// of very large batches) is left to the garbage collector, so that the pool
// holds no more than a few of the usual size.
const (
	initialBufferSize = 64 << 10
	maxPooledBuffer   = 1 << 20
)

var buffers = sync.Pool{New: func() any {
	b := make([]byte, 0, initialBufferSize)
	return &b
}}

func getBuffer() *[]byte { return buffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		buffers.Put(b)
	}
}

// storedJSON is a 200 answer written from JSON the server already holds
// (a page or a batch as the store keeps it, in a pooled buffer) rather than
// encoded from a generated type: the bytes the generated encoder would
// write for the same value, with its trailing newline, plus Content-Length.
// An operation's response type embeds it and its Visit…Response method
// calls write. It owns buf, a pooled buffer, until it is written, which
// admission bounds (admission.go: reserved is the answer memory reserved
// for it by reservePage, nil for none).
//
// An answer kept by the page cache (cache.go) is written from its bytes
// instead, shared, never changed: kept is set and buf is nil.
type storedJSON struct {
	buf      *[]byte
	kept     []byte
	ctx      context.Context
	adm      *admission
	reserved *hold
}

func (s storedJSON) write(w http.ResponseWriter) error {
	b := s.kept
	if s.buf != nil {
		defer putBuffer(s.buf)
		b = *s.buf
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	return s.adm.writeAnswer(s.ctx, w, http.StatusOK, b, s.reserved)
}
