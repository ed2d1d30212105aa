//go:build !linux

package views

import "io/fs"

// fileIdentity is not known on this platform: stamps then rest on size and
// modification time alone.
func fileIdentity(fs.FileInfo) (inode uint64, ctimeNs int64) { return 0, 0 }
