//go:build unix

package clone

import (
	"syscall"
	"unsafe"
)

// allocHashes returns an empty slice with room for n key hashes, mapped
// outside the Go heap when it is large: the garbage collector lets the
// heap grow to about twice what is live, so 8 bytes a row on the heap
// would cost 16 in memory. free unmaps it (a second call does nothing);
// the slice must not be used after (an append past n moves it to the
// heap, which is safe).
func allocHashes(n int64) (hashes []uint64, free func()) {
	if n < 1<<16 {
		return make([]uint64, 0, n), func() {}
	}
	mem, err := syscall.Mmap(-1, 0, int(n)*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, 0, n), func() {}
	}
	freed := false
	return unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), n)[:0], func() {
		if !freed { // once only: the range may since be mapped again
			freed = true
			syscall.Munmap(mem)
		}
	}
}
