package dedup

import "testing"

// TestChunked: elements keep their index across chunks and their
// address past the first chunk, and all returns them in order.
func TestChunked(t *testing.T) {
	for _, n := range []int32{0, 1, 16, 17, chunkLen - 1, chunkLen, chunkLen + 1, 3*chunkLen + 5} {
		var c chunked[int64]
		var first *int64 // the second chunk's first element
		for i := range n {
			if got := c.push(int64(i) * 7); got != i {
				t.Fatalf("n %d: push %d returned index %d", n, i, got)
			}
			if i == chunkLen {
				first = c.at(chunkLen)
			}
		}
		if c.len() != n {
			t.Fatalf("n %d: len %d", n, c.len())
		}
		if n > chunkLen && first != c.at(chunkLen) {
			t.Fatalf("n %d: element %d moved", n, chunkLen)
		}
		all := c.all()
		if int32(len(all)) != n {
			t.Fatalf("n %d: all has %d", n, len(all))
		}
		for i := range n {
			if *c.at(i) != int64(i)*7 || all[i] != int64(i)*7 {
				t.Fatalf("n %d: element %d is %d (all %d), want %d", n, i, *c.at(i), all[i], int64(i)*7)
			}
		}
	}
}
