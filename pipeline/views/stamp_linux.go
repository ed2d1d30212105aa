package views

import (
	"io/fs"
	"syscall"
)

// fileIdentity returns the inode and change time of fi. The change time
// cannot be set by a user (unlike the modification time, which `touch -d`
// or a restore tool can put back), so a stamp recording it notices a file
// rewritten and then back-dated.
func fileIdentity(fi fs.FileInfo) (inode uint64, ctimeNs int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino, st.Ctim.Nano()
	}
	return 0, 0
}
