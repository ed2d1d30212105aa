// Package file is the local-folder backend of storage.Store.
//
// Layout: every key is a regular file at <root>/<key>. Three hidden folders
// at the root hold internal state and are never listed:
//
//	.tmp/     content being written; renamed or hard-linked into place when
//	          complete, so a crash never leaves a partial object at a key.
//	.locks/   one lock file per key ever written through CompareAndSwap
//	          (named by the SHA-256 of the key), flock'ed so that CAS is
//	          atomic across goroutines and processes sharing the folder.
//	.graves/  deleted objects, moved here by Delete and removed graveHold
//	          later (see below).
//
// ETags come from file metadata alone, "<size>-<mtime ns>-<inode>" (hex),
// so Stat and List never read an object: a listing of the warehouse costs a
// directory read and a stat per file, whatever the files' sizes. Objects are
// never written in place (every write makes a new file, published by link
// or rename), so an open file and the metadata it was opened with always
// describe the same bytes. For CompareAndSwap to be as safe as S3's, where
// an ETag is the content's MD5, a stale ETag must never match an object
// with other content. A new version at a key is a new inode, but an inode
// number can be reused once freed, and modification times are coarse (a
// kernel tick, a second, or two on FAT), so size+mtime+inode alone could
// repeat. Two rules prevent it:
//
//   - A CompareAndSwap replacing a version, under the key's lock, sets the
//     new version's modification time strictly after the current one's
//     (checking what the filesystem stored, so a coarse filesystem gets a
//     whole tick more). Successive versions of a key thus have strictly
//     increasing times, and no version's ETag equals an earlier one's, even
//     when the inode number and size repeat.
//   - Delete does not free the inode: it renames the object into .graves/,
//     which keeps the inode number allocated for graveHold (ten minutes).
//     An object created at the same key meanwhile gets another inode; one
//     created later that reuses the number is written at least graveHold
//     after the deleted version's last write, so its modification time is
//     later. This holds unless the clock steps back by more than graveHold.
//     Deleted files' space comes back when their grave is swept, by the
//     next Delete or New after graveHold.
//
// The backend relies on flock(2) and hard links, so it needs a Unix-like OS
// and a local filesystem (flock over NFS is not dependable).
package file

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"archtics/storage"
)

const (
	tmpDir   = ".tmp"
	lockDir  = ".locks"
	graveDir = ".graves"
	staleTmp = 24 * time.Hour
)

// graveHold is how long a deleted object's inode stays allocated in
// .graves (see the package comment). A variable so tests can shorten it.
var graveHold = 10 * time.Minute

// Store is a storage.Store on a local folder.
type Store struct {
	root string // absolute, cleaned

	sweepMu   sync.Mutex
	lastSweep time.Time
}

// graveSeq makes grave names unique within a process; the process id and
// the time make them unique across processes.
var graveSeq atomic.Uint64

var _ storage.Store = (*Store)(nil)

// New opens (creating if missing) the folder root as a store.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("file store: empty root path")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("file store %s: %w", root, err)
	}
	for _, d := range []string{abs, filepath.Join(abs, tmpDir), filepath.Join(abs, lockDir), filepath.Join(abs, graveDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("file store %s: %w", abs, err)
		}
	}
	s := &Store{root: abs}
	s.removeStaleTemps()
	s.sweepGraves(true)
	return s, nil
}

// removeStaleTemps deletes leftovers of writers that crashed. Only old files
// go, because another live process may be writing into the same folder.
func (s *Store) removeStaleTemps() {
	dir := filepath.Join(s.root, tmpDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-staleTmp)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// sweepGraves removes the graves older than graveHold. Unless forced it
// runs at most every graveHold/10 per Store, so deleting many objects does
// not read the folder each time.
func (s *Store) sweepGraves(force bool) {
	s.sweepMu.Lock()
	now := time.Now()
	if !force && now.Sub(s.lastSweep) < graveHold/10 {
		s.sweepMu.Unlock()
		return
	}
	s.lastSweep = now
	s.sweepMu.Unlock()
	dir := filepath.Join(s.root, graveDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := now.Add(-graveHold).UnixNano()
	for _, e := range ents {
		buried, _, _ := strings.Cut(e.Name(), "-")
		if ns, err := strconv.ParseInt(buried, 10, 64); err == nil && ns < cutoff {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// URL returns the absolute root folder.
func (s *Store) URL() string { return s.root }

func (s *Store) path(key string) (string, error) {
	if err := storage.ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// writeTemp streams r into a new file under .tmp, fsyncs it and returns its
// path. On error nothing is left behind.
func (s *Store) writeTemp(ctx context.Context, r io.Reader, size int64) (string, error) {
	f, err := os.CreateTemp(filepath.Join(s.root, tmpDir), "obj-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", err
	}
	n, err := io.Copy(f, storage.ContextReader(ctx, r))
	if err != nil {
		return fail(err)
	}
	if size >= 0 && n != size {
		return fail(fmt.Errorf("content is %d bytes, caller said %d", n, size))
	}
	// The data must be durable before the key becomes visible, or a power
	// loss could leave a published key with missing content.
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// syncDir makes a link/rename in dir durable. Failure is ignored: some
// filesystems refuse fsync on directories and the object is already visible.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// publish hard-links tmp to final: link(2) fails with EEXIST if final is
// present, which makes it an atomic create-if-absent.
func publish(tmp, final string) error {
	dir := filepath.Dir(final)
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		err := os.Link(tmp, final)
		// A concurrent Delete may prune the freshly made parent folder
		// between MkdirAll and Link; make it again.
		if errors.Is(err, fs.ErrNotExist) && attempt < 5 {
			continue
		}
		if err == nil {
			syncDir(dir)
		}
		return err
	}
}

// PutIfAbsent implements storage.Store.
func (s *Store) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	final, err := s.path(key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file put: %w", err)
	}
	// Cheap early exit so a losing writer does not stream a large body.
	if fi, err := os.Lstat(final); err == nil {
		return storage.ObjectInfo{}, existsErr("file put", key, fi)
	}
	tmp, err := s.writeTemp(ctx, r, size)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file put %s: %w", key, err)
	}
	defer os.Remove(tmp)
	if err := publish(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			fi, _ := os.Lstat(final)
			return storage.ObjectInfo{}, existsErr("file put", key, fi)
		}
		return storage.ObjectInfo{}, fmt.Errorf("file put %s: %w", key, err)
	}
	return s.statPath(key, final)
}

// existsErr explains a create that found something at the key's path. A
// folder there means other keys live below it ("a" vs "a/b"), which a
// filesystem cannot hold side by side; that is not ErrExists, because
// retrying or skipping would be the wrong reaction.
func existsErr(op, key string, fi fs.FileInfo) error {
	if fi != nil && fi.IsDir() {
		return fmt.Errorf("%s %s: keys exist below %s/, and a folder store cannot hold a key that is also a key prefix", op, key, key)
	}
	return fmt.Errorf("%s %s: %w", op, key, storage.ErrExists)
}

// lock takes the per-key exclusive flock used by CompareAndSwap.
func (s *Store) lock(key string) (*os.File, error) {
	sum := sha256.Sum256([]byte(key))
	name := filepath.Join(s.root, lockDir, hex.EncodeToString(sum[:]))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	// flock locks belong to the open file description, so separate opens
	// exclude each other within one process as well as across processes.
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CompareAndSwap implements storage.Store. ETags may be given quoted or not.
func (s *Store) CompareAndSwap(ctx context.Context, key string, data []byte, etag string) (storage.ObjectInfo, error) {
	final, err := s.path(key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file cas: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file cas %s: %w", key, err)
	}
	etag = strings.Trim(etag, `"`)
	lf, err := s.lock(key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file cas %s: lock: %w", key, err)
	}
	defer lf.Close() // closing releases the flock

	tmp, err := s.writeTemp(ctx, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file cas %s: %w", key, err)
	}
	defer os.Remove(tmp)

	if etag == "" {
		// Link rather than rename: PutIfAbsent does not take the lock, so
		// only link's EEXIST keeps us from clobbering its object.
		if err := publish(tmp, final); err != nil {
			if errors.Is(err, fs.ErrExist) {
				fi, _ := os.Lstat(final)
				return storage.ObjectInfo{}, existsErr("file cas", key, fi)
			}
			return storage.ObjectInfo{}, fmt.Errorf("file cas %s: %w", key, err)
		}
		return s.statPath(key, final)
	}

	cur, err := s.statPath(key, final)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.ObjectInfo{}, fmt.Errorf("file cas %s: expected etag %s, object is missing: %w", key, etag, storage.ErrConflict)
	}
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file cas %s: %w", key, err)
	}
	if cur.ETag != etag {
		return storage.ObjectInfo{}, fmt.Errorf("file cas %s: expected etag %s, found %s: %w", key, etag, cur.ETag, storage.ErrConflict)
	}
	if err := laterThan(tmp, cur.LastModified); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file cas %s: %w", key, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file cas %s: %w", key, err)
	}
	syncDir(filepath.Dir(final))
	return s.statPath(key, final)
}

// laterThan sets the modification time of the file at p strictly after
// prev (see the package comment), as the filesystem stores it: a
// filesystem keeping coarser times gets the next whole step.
func laterThan(p string, prev time.Time) error {
	next := time.Now()
	for step := time.Nanosecond; ; step *= 10 {
		if !next.After(prev) {
			next = prev.Add(step)
		}
		if err := os.Chtimes(p, next, next); err != nil {
			return err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.ModTime().After(prev) {
			return nil
		}
		if step >= time.Hour {
			return fmt.Errorf("cannot give %s a modification time after %s", p, prev)
		}
		next = prev // retry with a larger step
	}
}

// info describes an object from its metadata (see the package comment for
// the ETag).
func info(key string, fi fs.FileInfo) storage.ObjectInfo {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = uint64(st.Ino)
	}
	etag := strconv.FormatInt(fi.Size(), 16) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 16) + "-" + strconv.FormatUint(ino, 16)
	return storage.ObjectInfo{Key: key, Size: fi.Size(), ETag: etag, LastModified: fi.ModTime()}
}

// notObject maps "no file here" errors to ErrNotFound.
func notObject(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return storage.ErrNotFound
	}
	return err
}

// statPath describes the object file at p without opening it. A folder at
// p is not an object, so it reports ErrNotFound like a missing file.
func (s *Store) statPath(key, p string) (storage.ObjectInfo, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return storage.ObjectInfo{}, notObject(err)
	}
	if !fi.Mode().IsRegular() {
		return storage.ObjectInfo{}, storage.ErrNotFound
	}
	return info(key, fi), nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file stat: %w", err)
	}
	info, err := s.statPath(key, p)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file stat %s: %w", key, err)
	}
	return info, nil
}

// Get implements storage.Store. The ETag comes from the open file itself,
// so it describes the bytes read even if the key is swapped meanwhile.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, storage.ObjectInfo{}, fmt.Errorf("file get: %w", err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, storage.ObjectInfo{}, fmt.Errorf("file get %s: %w", key, notObject(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = storage.ErrNotFound
	}
	if err != nil {
		f.Close()
		return nil, storage.ObjectInfo{}, fmt.Errorf("file get %s: %w", key, err)
	}
	return f, info(key, fi), nil
}

type sectionReadCloser struct {
	io.Reader
	io.Closer
}

// GetRange implements storage.Store.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, fmt.Errorf("file get range: %w", err)
	}
	if offset < 0 || length < -1 {
		return nil, fmt.Errorf("file get range %s: invalid range offset %d length %d", key, offset, length)
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			err = storage.ErrNotFound
		}
		return nil, fmt.Errorf("file get range %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = storage.ErrNotFound
		}
		return nil, fmt.Errorf("file get range %s: %w", key, err)
	}
	if length == -1 {
		length = max(fi.Size()-offset, 0)
	}
	return sectionReadCloser{io.NewSectionReader(f, offset, length), f}, nil
}

// Delete implements storage.Store. Empty parent folders are pruned so that
// retention does not leave a tree of empty folders behind.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return fmt.Errorf("file delete: %w", err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("file delete %s: %w", key, err)
	}
	if fi.IsDir() {
		return nil // a folder is not an object
	}
	// Into a grave rather than unlinked, so the inode number is not reused
	// while an ETag of this object could still match (package comment).
	grave := filepath.Join(s.root, graveDir, fmt.Sprintf("%020d-%d-%d", time.Now().UnixNano(), os.Getpid(), graveSeq.Add(1)))
	if err := os.Rename(p, grave); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("file delete %s: %w", key, err)
	}
	s.sweepGraves(false)
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty (or gone): stop
			break
		}
	}
	return nil
}

// List implements storage.Store.
//
// Keys sort as whole strings, so a folder "a" must be visited as "a/" when
// ordered among its siblings ("a-b" < "a/c"); sorting each folder's entries
// that way and descending depth-first yields global ascending key order
// without reading the whole tree first. Folders that cannot hold a key
// matching prefix, or that only hold keys <= startAfter, are not read.
func (s *Store) List(ctx context.Context, prefix, startAfter string, fn func(storage.ObjectInfo) error) error {
	err := s.walk(ctx, "", prefix, startAfter, fn)
	if err != nil {
		return fmt.Errorf("file list %s (prefix %q): %w", s.root, prefix, err)
	}
	return nil
}

type entry struct {
	name  string // relative key, with a trailing "/" for folders
	isDir bool
	de    fs.DirEntry
}

func (s *Store) walk(ctx context.Context, rel, prefix, startAfter string, fn func(storage.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && rel != "" {
			return nil // deleted while listing
		}
		return err
	}
	ents := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if rel == "" && strings.HasPrefix(name, ".") {
			continue // internal folders and anything that could not be a valid key
		}
		e := entry{name: rel + name, de: de}
		if de.IsDir() {
			e.name += "/"
			e.isDir = true
		} else if !de.Type().IsRegular() {
			continue
		}
		ents = append(ents, e)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
	for _, e := range ents {
		if e.isDir {
			// Skip unless the folder and prefix overlap.
			if !strings.HasPrefix(e.name, prefix) && !strings.HasPrefix(prefix, e.name) {
				continue
			}
			// Every key inside starts with e.name; if that is below
			// startAfter and not a prefix of it, all of them are.
			if e.name < startAfter && !strings.HasPrefix(startAfter, e.name) {
				continue
			}
			if err := s.walk(ctx, e.name, prefix, startAfter, fn); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(e.name, prefix) || e.name <= startAfter {
			continue
		}
		// A stat, never an open: the ETag is metadata (package comment).
		fi, err := e.de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted while listing
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue // replaced by a folder while listing
		}
		if err := fn(info(e.name, fi)); err != nil {
			return err
		}
	}
	return nil
}
