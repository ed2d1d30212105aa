package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"archtics/storage"
)

var _ storage.UploadLister = (*Store)(nil)

// ListUploads lists the temporary files under .tmp/: each is the content
// of a write that has not been published, and one that is old was left by
// a writer that was killed.
func (s *Store) ListUploads(ctx context.Context, fn func(storage.Upload) error) error {
	dir := filepath.Join(s.root, tmpDir)
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("file list uploads in %s: %w", dir, err)
	}
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := de.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue // gone meanwhile, or not ours
		}
		if err := fn(storage.Upload{Key: tmpDir + "/" + de.Name(), ID: de.Name(), Initiated: fi.ModTime(), Size: fi.Size()}); err != nil {
			return err
		}
	}
	return nil
}

// AbortUpload removes a temporary file ListUploads returned.
func (s *Store) AbortUpload(ctx context.Context, u storage.Upload) error {
	if u.ID == "" || u.ID != filepath.Base(u.ID) {
		return fmt.Errorf("file abort upload: bad id %q", u.ID)
	}
	if err := os.Remove(filepath.Join(s.root, tmpDir, u.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("file abort upload %s: %w", u.ID, err)
	}
	return nil
}
