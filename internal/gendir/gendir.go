// Package gendir replaces a generated folder whole, for the programs that
// write the repository's checked-in corpora (make testdata): the new copy
// is written beside the old one and swapped in, so files the generator no
// longer writes disappear and a failed run leaves the old copy as it was.
package gendir

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Replace calls write with a new empty folder beside dir, then puts that
// folder in dir's place. marker is a file (slash-separated, relative) that
// every output of the generator holds: write must create it, and an
// existing dir is replaced only when its marker's first line is the new
// one's, so a mistyped -out never deletes a folder the generator did not
// write.
func Replace(dir, marker string, write func(tmp string) error) error {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // after a failure; the rename empties it otherwise
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return err
	}
	want, err := firstLine(filepath.Join(tmp, filepath.FromSlash(marker)))
	if err != nil {
		return fmt.Errorf("the generator wrote no %s: %w", marker, err)
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dir)
	} else if err != nil {
		return err
	}
	if got, err := firstLine(filepath.Join(dir, filepath.FromSlash(marker))); err != nil || got != want {
		return fmt.Errorf("%s is not an earlier output of this generator (its %s is missing or begins otherwise): left as it is; remove it or choose another -out", dir, marker)
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return errors.Join(err, os.Rename(old, dir))
	}
	return os.RemoveAll(old)
}

func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	return sc.Text(), sc.Err()
}
