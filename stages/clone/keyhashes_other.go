//go:build !unix

package clone

// allocHashes returns an empty slice with room for n key hashes.
func allocHashes(n int64) (hashes []uint64, free func()) {
	return make([]uint64, 0, n), func() {}
}
