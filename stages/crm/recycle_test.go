package crm

import (
	"testing"
	"unsafe"
)

func TestRecycler(t *testing.T) {
	for _, size := range []int{1, 63, 64, 65, 1000, 4096, 100_000, 1 << 20} {
		t.Run("", func(t *testing.T) {
			r := &recycler{}
			b := r.Allocate(size)
			if len(b) != size || cap(b) < size {
				t.Fatalf("Allocate(%d): len %d cap %d", size, len(b), cap(b))
			}
			if addr := uintptr(unsafe.Pointer(&b[0])); addr%64 != 0 {
				t.Errorf("Allocate(%d) at %#x: not 64-byte aligned", size, addr)
			}
			for i := range b {
				b[i] = 0xff
			}
			r.Free(b)
			again := r.Allocate(size)
			if &again[0] != &b[0] {
				t.Errorf("Allocate(%d) after Free: a new buffer, want the freed one again", size)
			}
			for i, v := range again {
				if v != 0 {
					t.Fatalf("Allocate(%d) after Free: byte %d is %#x, want zero", size, i, v)
				}
			}
			for i := range again {
				again[i] = byte(i)
			}
			grown := r.Reallocate(2*size+1, again)
			if len(grown) != 2*size+1 {
				t.Fatalf("Reallocate(%d): len %d", 2*size+1, len(grown))
			}
			for i, v := range grown {
				if want := byte(i); i >= size {
					if v != 0 {
						t.Fatalf("Reallocate(%d): byte %d is %#x, want zero", 2*size+1, i, v)
					}
				} else if v != want {
					t.Fatalf("Reallocate(%d): byte %d is %#x, want %#x kept", 2*size+1, i, v, want)
				}
			}
		})
	}
}
