package views

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"archtics/pipeline/txlog"
	"archtics/storage"
)

// Verify-once stamps.
//
// A committed file is immutable and its commit records its SHA-256 and
// size, so a local copy needs hashing only once: after it matched, a stamp
// records where (path) and in what state (size, modification time, change
// time, inode) the file was when it was verified, and later readers trust
// the file while a stat of it still shows that state. Any write to the file
// moves its modification and change times; replacing it changes its inode;
// so a stamp stops matching and the file is hashed again (and refused if it
// no longer matches its commit).
//
// Stamps are keyed by "<sha256>-<size>", the identity the commit gives the
// content, and record the path, so a stamp vouches for one path holding one
// content. They live in the cache folder, one JSON file per table
// (<cache>/.stamps/<schema.table>.json), so a query reads the stamps of the
// tables it reads and no others. A missing or unreadable stamp file only
// costs a re-hash: stamps are a cache, never the source of truth (that is
// the commit, and `archtics verify` still re-reads everything).

// stampDirName is the stamps folder under the cache folder. Object keys
// never start with "." (storage.ValidKey), so it cannot collide with a
// cached key.
const stampDirName = ".stamps"

// racyWindow guards against coarse timestamps ("racy git"). A file modified
// within the same timestamp tick as the moment it was verified could keep
// the modification time the stamp recorded. So a stamp is trusted only if
// the file's modification time lies at least racyWindow before the moment
// of verification: then any later write gets a newer time. Filesystems keep
// times to a jiffy (ext4, xfs), a second (ext3, HFS+) or two (FAT); two
// seconds covers all of them. A file verified sooner than that after it was
// written is hashed again by the next reader, which then stamps it for good.
const racyWindow = 2 * time.Second

// fileStamp records one verified file.
type fileStamp struct {
	Path       string    `json:"path"`
	Size       int64     `json:"size"`
	ModTimeNs  int64     `json:"mtime_ns"`
	ChangeNs   int64     `json:"ctime_ns,omitempty"`
	Inode      uint64    `json:"inode,omitempty"`
	VerifiedAt time.Time `json:"verified_at"`
}

// stampFile is the on-disk form of one table's stamps.
type stampFile struct {
	Version int                    `json:"version"`
	Stamps  map[string][]fileStamp `json:"stamps"` // "<sha256>-<size>" → one per path
}

const stampVersion = 1

func stampKey(e txlog.FileEntry) string { return fmt.Sprintf("%s-%d", e.SHA256, e.Bytes) }

// observe describes fi as a stamp of path, verified at the given time.
func observe(path string, fi fs.FileInfo, verifiedAt time.Time) fileStamp {
	ino, ctime := fileIdentity(fi)
	return fileStamp{Path: path, Size: fi.Size(), ModTimeNs: fi.ModTime().UnixNano(), ChangeNs: ctime, Inode: ino, VerifiedAt: verifiedAt}
}

// sameState reports whether a stamp and a fresh observation of the same
// path show the file unchanged.
func (s fileStamp) sameState(o fileStamp) bool {
	return s.Path == o.Path && s.Size == o.Size && s.ModTimeNs == o.ModTimeNs && s.ChangeNs == o.ChangeNs && s.Inode == o.Inode
}

// trustworthy reports whether the stamp was taken clear of the file's last
// write (see racyWindow).
func (s fileStamp) trustworthy() bool {
	return s.VerifiedAt.UnixNano()-s.ModTimeNs >= int64(racyWindow)
}

// stamps holds the stamps of the tables one Materialize reads, and the new
// ones it made.
type stamps struct {
	dir    string // <cache>/.stamps; "" disables stamps
	logger *slog.Logger

	mu     sync.Mutex
	loaded map[string]map[string][]fileStamp // table → key → stamps
	added  map[string]map[string]fileStamp   // table → path → new stamp, with its key in keyOf
	keyOf  map[string]string                 // path → key of a new stamp
}

func newStamps(cacheDir string, logger *slog.Logger) *stamps {
	s := &stamps{logger: logger, loaded: map[string]map[string][]fileStamp{}, added: map[string]map[string]fileStamp{}, keyOf: map[string]string{}}
	if cacheDir != "" {
		s.dir = filepath.Join(cacheDir, stampDirName)
	}
	return s
}

func (s *stamps) file(table string) string { return filepath.Join(s.dir, table+".json") }

// load reads table's stamps. A missing file is no stamps; an unreadable or
// damaged one is ignored with a warning (the files are hashed again and the
// stamp file rewritten).
func (s *stamps) load(table string) {
	if s.dir == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.loaded[table]; ok {
		return
	}
	m, err := readStampFile(s.file(table))
	if err != nil {
		s.logger.Warn("ignoring the verify stamps; the files are hashed again", "file", s.file(table), "err", err)
		m = nil
	}
	s.loaded[table] = m
}

func readStampFile(path string) (map[string][]fileStamp, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f stampFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if f.Version != stampVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, stampVersion)
	}
	return f.Stamps, nil
}

// trusted reports whether path, which must hold e, carries a stamp that a
// fresh stat still matches. It reads no file content.
func (s *stamps) trusted(table string, e txlog.FileEntry, path string) bool {
	if s.dir == "" {
		return false
	}
	s.mu.Lock()
	cands := s.loaded[table][stampKey(e)]
	s.mu.Unlock()
	if len(cands) == 0 {
		return false
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != e.Bytes {
		return false
	}
	now := observe(path, fi, time.Time{})
	for _, c := range cands {
		if c.Size == e.Bytes && c.sameState(now) && c.trustworthy() {
			return true
		}
	}
	return false
}

// add records that path was verified to hold e, in the state st.
func (s *stamps) add(table string, e txlog.FileEntry, st fileStamp) {
	if s.dir == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added[table] == nil {
		s.added[table] = map[string]fileStamp{}
	}
	s.added[table][st.Path] = st
	s.keyOf[st.Path] = stampKey(e)
}

// save merges the new stamps into the stamp files. It takes a per-table
// lock so concurrent readers merge rather than overwrite each other, and
// writes through a rename so a reader never sees half a file. Stamps of
// paths that no longer exist are dropped, so the files follow the cache,
// not its history. A failure is only logged: the next reader hashes again.
func (s *stamps) save() {
	if s.dir == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for table, byPath := range s.added {
		if err := s.saveTable(table, byPath); err != nil {
			s.logger.Warn("could not save verify stamps; the files will be hashed again next time", "file", s.file(table), "err", err)
		}
	}
	s.added = map[string]map[string]fileStamp{}
}

func (s *stamps) saveTable(table string, byPath map[string]fileStamp) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(s.file(table)+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close() // releases the flock
	for {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	cur, err := readStampFile(s.file(table))
	if err != nil {
		cur = nil // damaged: rebuilt from what this reader verified
	}
	merged := map[string][]fileStamp{}
	for key, list := range cur {
		for _, st := range list {
			if _, replaced := byPath[st.Path]; replaced {
				continue
			}
			if _, err := os.Lstat(st.Path); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			merged[key] = append(merged[key], st)
		}
	}
	for path, st := range byPath {
		key := s.keyOf[path]
		merged[key] = append(merged[key], st)
	}
	b, err := json.MarshalIndent(stampFile{Version: stampVersion, Stamps: merged}, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".stamps-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.file(table))
}

// hashFileHook, when set (by tests), is called with the path of every file
// verifyLocalFile reads, so a test can count the reads.
var hashFileHook func(path string)

// verifyLocalFile hashes the file at path and checks it is e. It returns the
// stamp to record, with ok false when the file changed while it was read
// (the content matched, but the next reader must check again).
func verifyLocalFile(ctx context.Context, path string, e txlog.FileEntry) (st fileStamp, ok bool, err error) {
	if hashFileHook != nil {
		hashFileHook(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fileStamp{}, false, fmt.Errorf("committed file %s: %w", e.Key, err)
	}
	defer f.Close()
	// The moment of verification is taken before the first stat: any write
	// after it leaves a newer time on the file (see racyWindow).
	verifiedAt := time.Now()
	before, err := f.Stat()
	if err != nil {
		return fileStamp{}, false, fmt.Errorf("committed file %s: stat %s: %w", e.Key, path, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, storage.ContextReader(ctx, f))
	if err != nil {
		return fileStamp{}, false, fmt.Errorf("committed file %s: read %s: %w", e.Key, path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != e.Bytes || sum != e.SHA256 {
		return fileStamp{}, false, corruptError(e, path, n, sum)
	}
	after, err := f.Stat()
	if err != nil {
		return fileStamp{}, false, fmt.Errorf("committed file %s: stat %s: %w", e.Key, path, err)
	}
	st = observe(path, before, verifiedAt)
	return st, st.sameState(observe(path, after, verifiedAt)), nil
}

func corruptError(e txlog.FileEntry, path string, n int64, sum string) error {
	return fmt.Errorf("committed file %s is corrupt: %s holds %d bytes sha256 %s, the commit says %d bytes sha256 %s (run archtics verify)",
		e.Key, path, n, sum, e.Bytes, e.SHA256)
}
