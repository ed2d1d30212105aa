package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"archtics/schemas"
)

// LocalFiles maps a table (schema.table) to the absolute local paths of its
// committed files, ready for DuckDB.
type LocalFiles map[string][]string

// CacheConcurrency is how many files Materialize downloads at once.
var CacheConcurrency = 4

// Materialize makes the committed files of tables (default: every known
// table) available locally, verified against the SHA-256 their commit
// records, and returns their paths.
//
// Files are cached at <cacheDir>/<key>, keeping the Hive path so DuckDB's
// hive_partitioning sees the partition columns. Partitions are immutable,
// so a cached file with the committed hash is always valid and is not
// downloaded again. When the warehouse is a local folder the files are
// verified and used in place instead of being copied.
//
// DuckDB never reads the object store itself: only files that passed
// verification reach it.
func (w *Warehouse) Materialize(ctx context.Context, cacheDir string, tables ...*schemas.Table) (LocalFiles, error) {
	if len(tables) == 0 {
		tables = knownTables()
	}
	st, err := w.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("materialize: %w", err)
	}
	root := localRoot(w)
	if root == "" {
		if cacheDir == "" {
			return nil, errors.New("materialize: a cache folder is needed for a remote warehouse")
		}
		if cacheDir, err = filepath.Abs(cacheDir); err != nil {
			return nil, fmt.Errorf("materialize: cache folder: %w", err)
		}
	}
	type job struct {
		table string
		i     int
		e     FileEntry
	}
	out := LocalFiles{}
	var jobs []job
	for _, t := range tables {
		files := st.Files(t.FullName())
		out[t.FullName()] = make([]string, len(files))
		for i, e := range files {
			jobs = append(jobs, job{t.FullName(), i, e})
		}
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan job)
	for n := 0; n < max(CacheConcurrency, 1); n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				var path string
				var err error
				if root != "" {
					path = filepath.Join(root, filepath.FromSlash(j.e.Key))
					err = checkLocal(path, j.e)
				} else {
					path = filepath.Join(cacheDir, filepath.FromSlash(j.e.Key))
					err = w.cacheFile(ctx, path, j.e)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[j.table][j.i] = path
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		work <- j
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("materialize: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("materialize: %w", err)
	}
	return out, nil
}

// localRoot returns the folder of a local-folder warehouse, or "". The
// file backend's URL is its absolute root and keys are files under it.
func localRoot(w *Warehouse) string {
	u := w.Store.URL()
	if strings.Contains(u, "://") || !filepath.IsAbs(u) {
		return ""
	}
	if fi, err := os.Stat(u); err != nil || !fi.IsDir() {
		return ""
	}
	return u
}

// checkLocal verifies a file against its entry.
func checkLocal(path string, e FileEntry) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("committed file %s: %w", e.Key, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("committed file %s: read %s: %w", e.Key, path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != e.Bytes || sum != e.SHA256 {
		return fmt.Errorf("committed file %s is corrupt: %d bytes sha256 %s, commit says %d bytes sha256 %s (run archtics verify)",
			e.Key, n, sum, e.Bytes, e.SHA256)
	}
	return nil
}

// cacheFile makes path hold the verified content of e, downloading it to a
// temporary file first so a reader never sees a partial or wrong file.
func (w *Warehouse) cacheFile(ctx context.Context, path string, e FileEntry) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == e.Bytes {
		if checkLocal(path, e) == nil {
			return nil
		}
		w.logger().Warn("cached file does not match its commit; downloading it again", "key", e.Key, "path", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cache %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".download-*")
	if err != nil {
		return fmt.Errorf("cache %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	rc, _, err := w.Store.Get(ctx, e.Key)
	if err != nil {
		tmp.Close()
		return fmt.Errorf("download %s: %w", e.Key, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	rc.Close()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s to %s: %w", e.Key, path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != e.Bytes || sum != e.SHA256 {
		return fmt.Errorf("download %s: %d bytes sha256 %s, commit says %d bytes sha256 %s: the stored file is corrupt (run archtics verify)",
			e.Key, n, sum, e.Bytes, e.SHA256)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cache %s: %w", path, err)
	}
	return nil
}
