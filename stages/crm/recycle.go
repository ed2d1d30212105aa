package crm

import (
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// recycler is a memory.Allocator that hands out again the buffers freed
// to it: a rowWriter builds record after record of about the same size,
// and each record's buffers are freed once the table writer has encoded
// them. With Go's allocator every record's buffers were new garbage, a
// gigabyte over a first run's million contact and mapping rows, each
// collection of it marking the engine's whole heap again. Buffers are
// powers of two of at least 64 bytes (so 64-byte aligned, as Arrow's
// allocator makes them), zeroed as Go's allocator hands them out.
type recycler struct {
	mu   sync.Mutex
	free [64][][]byte // by log2 of the capacity
}

var _ memory.Allocator = (*recycler)(nil)

// recycleKeep bounds the buffers kept per size: a writer holds a record
// being built, one queued and one being encoded.
const recycleKeep = 64

func sizeClass(size int) int { return max(6, bits.Len(uint(size-1))) }

func (r *recycler) Allocate(size int) []byte {
	if size <= 0 {
		return []byte{}
	}
	c := sizeClass(size)
	r.mu.Lock()
	if n := len(r.free[c]); n > 0 {
		b := r.free[c][n-1]
		r.free[c][n-1] = nil
		r.free[c] = r.free[c][:n-1]
		r.mu.Unlock()
		b = b[:size]
		clear(b)
		return b
	}
	r.mu.Unlock()
	return make([]byte, size, 1<<c)
}

func (r *recycler) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		if size > len(b) {
			clear(b[len(b):size])
		}
		return b[:size]
	}
	out := r.Allocate(size)
	copy(out, b)
	r.Free(b)
	return out
}

func (r *recycler) Free(b []byte) {
	c := cap(b)
	if c < 64 || c&(c-1) != 0 {
		return // not one of ours
	}
	k := bits.Len(uint(c)) - 1
	r.mu.Lock()
	if len(r.free[k]) < recycleKeep {
		r.free[k] = append(r.free[k], b[:0])
	}
	r.mu.Unlock()
}
