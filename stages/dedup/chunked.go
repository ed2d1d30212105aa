package dedup

// chunked is an append-only sequence stored in fixed-size chunks: an
// append never copies what is stored (a slice of a million contacts
// grown by append copied them at every doubling and held both copies
// meanwhile). The first chunk grows by append, so a small state stays
// small: do not keep an element's address across a push.
type chunked[T any] struct {
	chunks [][]T
	n      int32
}

const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
)

func (c *chunked[T]) len() int32 { return c.n }

// at is the i-th element (0 <= i < len).
func (c *chunked[T]) at(i int32) *T {
	return &c.chunks[i>>chunkBits][i&(chunkLen-1)]
}

// push appends v and returns its index.
func (c *chunked[T]) push(v T) int32 {
	i := c.n
	if int(i>>chunkBits) == len(c.chunks) {
		// The first chunk grows by append (small states stay small);
		// later ones are allocated whole.
		if len(c.chunks) == 0 || len(c.chunks[0]) < chunkLen {
			if len(c.chunks) == 0 {
				c.chunks = append(c.chunks, make([]T, 0, 16))
			}
		} else {
			c.chunks = append(c.chunks, make([]T, 0, chunkLen))
		}
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
	return i
}

// all returns a copy of the elements in order.
func (c *chunked[T]) all() []T {
	out := make([]T, 0, c.n)
	for _, ch := range c.chunks {
		out = append(out, ch...)
	}
	return out
}
