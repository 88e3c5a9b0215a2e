package api

import "sync"

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
