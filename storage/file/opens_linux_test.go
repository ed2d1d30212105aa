package file_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// openWatch reports the files opened under a folder tree, through inotify:
// what the kernel saw, not what the code under test says it did.
type openWatch struct {
	fd   int
	dirs map[int32]string // watch descriptor → folder
}

func watchOpens(t *testing.T, root string) *openWatch {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify unavailable: %v", err)
	}
	w := &openWatch{fd: fd, dirs: map[int32]string{}}
	t.Cleanup(func() { syscall.Close(fd) })
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		wd, err := syscall.InotifyAddWatch(fd, p, syscall.IN_OPEN|syscall.IN_ACCESS)
		if err != nil {
			return err
		}
		w.dirs[int32(wd)] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// opened returns the files (not folders) opened or read since the last
// call.
func (w *openWatch) opened(t *testing.T) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(w.fd, buf)
		if errors.Is(err, syscall.EAGAIN) {
			return out
		}
		if err != nil {
			t.Fatalf("read inotify events: %v", err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
			off += syscall.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&syscall.IN_ISDIR != 0 {
				continue // a folder opened to be read: listing needs that
			}
			name := string(nameBytes)
			for len(name) > 0 && name[len(name)-1] == 0 {
				name = name[:len(name)-1]
			}
			out = append(out, filepath.Join(w.dirs[ev.Wd], name))
		}
	}
}
