package views

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
	"time"

	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage"
)

// LocalFiles maps a table (schema.table) to the absolute local paths of its
// committed files, ready for DuckDB.
type LocalFiles map[string][]string

// CacheConcurrency is how many files Materialize downloads at once.
var CacheConcurrency = 4

// Materialize makes the committed files of tables (default: every known
// table), and of the tables their views depend on, available locally,
// verified against the SHA-256 their commit records, and returns their
// paths.
//
// Files are cached at <cacheDir>/<key>, keeping the Hive path so DuckDB's
// hive_partitioning sees the partition columns. When the warehouse is a
// local folder the files are verified and used in place instead of being
// copied. Either way a file is hashed once: a stamp in <cacheDir>/.stamps
// (see stamp.go) then vouches for it until its size, times or inode change.
// With cacheDir "" (allowed for a local folder) nothing is stamped and
// every file is hashed on every call.
//
// DuckDB never reads the object store itself: only files that passed
// verification reach it.
func Materialize(ctx context.Context, w *txlog.Log, cacheDir string, tables ...*schemas.Table) (LocalFiles, error) {
	files, _, err := materialize(ctx, w, cacheDir, tables)
	return files, err
}

// MaterializeAt is Materialize for the files tables have in a state the
// caller read (st holds at least their owning streams), for a reader that
// must name the files as that state does: LocalFiles[t][i] is the file of
// st.Files(t)[i].
func MaterializeAt(ctx context.Context, w *txlog.Log, cacheDir string, st *txlog.State, tables ...*schemas.Table) (LocalFiles, error) {
	return materializeFiles(ctx, w, cacheDir, st, tables)
}

// DefaultCacheDir is a warehouse's cache folder unless one is given: a
// folder per warehouse in the user's cache directory, so two warehouses
// never share cached keys.
func DefaultCacheDir(warehouseURL string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	name := strings.NewReplacer("/", "_", ":", "_").Replace(strings.TrimPrefix(warehouseURL, "/"))
	return filepath.Join(base, "archtics", name)
}

// stateFor is the committed state a reader of tables sees: only the
// streams that own them (a damaged stream fails only its own tables'
// readers), each at its head or as of the warehouse's as-of point.
func stateFor(ctx context.Context, w *txlog.Log, tables []*schemas.Table) (*txlog.State, error) {
	return w.StateOf(ctx, tables...)
}

// materialize is Materialize, also returning the state it read.
func materialize(ctx context.Context, w *txlog.Log, cacheDir string, tables []*schemas.Table) (LocalFiles, *txlog.State, error) {
	tables, err := schemas.ReadSet(tables, w.Tables)
	if err != nil {
		return nil, nil, fmt.Errorf("materialize: %w", err)
	}
	st, err := stateFor(ctx, w, tables)
	if err != nil {
		return nil, nil, fmt.Errorf("materialize: %w", err)
	}
	out, err := materializeFiles(ctx, w, cacheDir, st, tables)
	return out, st, err
}

// materializeFiles makes the files tables have in st local.
func materializeFiles(ctx context.Context, w *txlog.Log, cacheDir string, st *txlog.State, tables []*schemas.Table) (LocalFiles, error) {
	var err error
	root := localRoot(w)
	if root == "" && cacheDir == "" {
		return nil, errors.New("materialize: a cache folder is needed for a remote warehouse")
	}
	if cacheDir != "" {
		if cacheDir, err = filepath.Abs(cacheDir); err != nil {
			return nil, fmt.Errorf("materialize: cache folder: %w", err)
		}
	}
	stamps := newStamps(cacheDir, logger(w))
	type job struct {
		table string
		i     int
		e     txlog.FileEntry
	}
	out := LocalFiles{}
	var jobs []job
	for _, t := range tables {
		files := st.Files(t.FullName())
		out[t.FullName()] = make([]string, len(files))
		for i, e := range files {
			jobs = append(jobs, job{t.FullName(), i, e})
		}
		if len(files) > 0 {
			stamps.load(t.FullName())
		}
	}
	var mu sync.Mutex
	firstErr := eachFile(ctx, CacheConcurrency, jobs, func(j job) error {
		var path string
		var err error
		if root != "" {
			path = filepath.Join(root, filepath.FromSlash(j.e.Key))
			err = checkLocal(ctx, stamps, j.table, path, j.e)
		} else {
			path = filepath.Join(cacheDir, filepath.FromSlash(j.e.Key))
			err = cacheFile(ctx, w, stamps, j.table, path, j.e)
		}
		mu.Lock()
		out[j.table][j.i] = path
		mu.Unlock()
		return err
	})
	// What was verified stays verified, even if another file failed.
	stamps.save()
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
func localRoot(w *txlog.Log) string {
	u := w.Store.URL()
	if strings.Contains(u, "://") || !filepath.IsAbs(u) {
		return ""
	}
	if fi, err := os.Stat(u); err != nil || !fi.IsDir() {
		return ""
	}
	return u
}

// checkLocal verifies a committed file used in place: trusted on a
// matching stamp, hashed (and stamped) otherwise.
func checkLocal(ctx context.Context, stamps *stamps, table, path string, e txlog.FileEntry) error {
	if stamps.trusted(table, e, path) {
		return nil
	}
	st, ok, err := verifyLocalFile(ctx, path, e)
	if err != nil {
		return err
	}
	if ok {
		stamps.add(table, e, st)
	}
	return nil
}

// cacheFile makes path hold the verified content of e, downloading it to a
// temporary file first so a reader never sees a partial or wrong file.
func cacheFile(ctx context.Context, w *txlog.Log, stamps *stamps, table, path string, e txlog.FileEntry) error {
	if stamps.trusted(table, e, path) {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() == e.Bytes {
		st, ok, err := verifyLocalFile(ctx, path, e)
		if err == nil {
			if ok {
				stamps.add(table, e, st)
			}
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		logger(w).Warn("cached file does not match its commit; downloading it again", "key", e.Key, "path", path, "err", err)
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
	n, err := io.Copy(io.MultiWriter(tmp, h), storage.ContextReader(ctx, rc))
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
	// The bytes just hashed are the file's: stamp it now rather than hash
	// it again on the next run. Its modification time is set a minute back
	// first, so the stamp is clear of racyWindow: any later write to the
	// file stamps it with the current time, which the stamp does not match.
	verifiedAt := time.Now()
	if err := os.Chtimes(tmp.Name(), time.Time{}, verifiedAt.Add(-time.Minute)); err != nil {
		return fmt.Errorf("cache %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cache %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() == e.Bytes && !fi.ModTime().After(verifiedAt.Add(-time.Minute)) {
		stamps.add(table, e, observe(path, fi, verifiedAt))
	}
	return nil
}
