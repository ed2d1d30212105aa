package icebergcat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"archtics/storage"
)

// storeIO is iceberg-go's file IO over the warehouse's own store, so the
// Iceberg metadata is written and read with the same client, credentials
// and endpoint as the commit log, and every write is create-if-absent: a
// metadata or manifest object is never overwritten. Paths are absolute
// URIs under the warehouse root (file:///abs/dir/... or
// s3://bucket/prefix/...); anything else is refused, so a table's metadata
// cannot point the publisher outside the warehouse.
type storeIO struct {
	ctx   context.Context
	store storage.Store
	root  string // the warehouse's URI, no trailing slash
	// lengths holds the stored length of each manifest this publisher
	// wrote (by URI): stored with the null codec, not as iceberg-go
	// counted them (avro.go). iceberg-go writes manifests concurrently.
	mu      sync.Mutex
	lengths map[string]int64
}

var (
	_ icebergio.ReadFileIO  = (*storeIO)(nil)
	_ icebergio.WriteFileIO = (*storeIO)(nil)
)

// key maps a URI under the root to the store's key.
func (s *storeIO) key(name string) (string, error) {
	rest, ok := s.under(name)
	if !ok {
		// iceberg-go builds metadata paths as URLs, escaping what the root
		// holds raw (a space in a folder name comes back as %20). Data
		// file keys keep their Hive %XX escapes and match raw above.
		if unescaped, err := url.PathUnescape(name); err == nil && unescaped != name {
			rest, ok = s.under(unescaped)
		}
	}
	if !ok || rest == "" {
		return "", &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: not under the warehouse %s", fs.ErrInvalid, s.root)}
	}
	if err := storage.ValidKey(rest); err != nil {
		return "", &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: %v", fs.ErrInvalid, err)}
	}
	return rest, nil
}

// under cuts the root off name: the key, and whether name is under it.
func (s *storeIO) under(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, s.root+"/")
	if !ok && strings.HasPrefix(s.root, "file://") {
		// file:/abs (one slash) is how some writers spell local URIs.
		rest, ok = strings.CutPrefix(name, "file:"+strings.TrimPrefix(s.root, "file://")+"/")
	}
	return rest, ok
}

func pathErr(op, name string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		err = fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	} else if errors.Is(err, storage.ErrExists) {
		err = fmt.Errorf("%w: %w", fs.ErrExist, err)
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (s *storeIO) Open(name string) (icebergio.File, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	info, err := s.store.Stat(s.ctx, key)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return &storeFile{io: s, key: key, info: info}, nil
}

func (s *storeIO) ReadFile(name string) ([]byte, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	rc, _, err := s.store.Get(s.ctx, key)
	if err != nil {
		return nil, pathErr("read", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, pathErr("read", name, err)
	}
	return data, nil
}

// Remove is refused: the publisher never deletes (an Iceberg "delete" is a
// new snapshot without the file; the files themselves go only through
// archtics vacuum, which follows our log).
func (s *storeIO) Remove(name string) error {
	return &fs.PathError{Op: "remove", Path: name, Err: errors.New("the archtics Iceberg publisher never deletes objects: archtics vacuum does, following the commit log")}
}

func (s *storeIO) Create(name string) (icebergio.FileWriter, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	return &storeWriter{io: s, key: key, name: name}, nil
}

func (s *storeIO) WriteFile(name string, p []byte) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	return s.put(name, key, p)
}

// put creates an object, only if absent; a manifest or manifest list is
// stored with the null codec (avro.go).
func (s *storeIO) put(name, key string, data []byte) error {
	if isAvroMetadata(key) {
		s.mu.Lock()
		lengths := maps.Clone(s.lengths)
		s.mu.Unlock()
		var err error
		if data, err = toNullCodec(data, lengths); err != nil {
			return pathErr("write", name, err)
		}
		s.mu.Lock()
		if s.lengths == nil {
			s.lengths = map[string]int64{}
		}
		s.lengths[name] = int64(len(data))
		s.mu.Unlock()
	}
	if _, err := s.store.PutIfAbsent(s.ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		return pathErr("write", name, err)
	}
	return nil
}

// storeWriter buffers a metadata object (manifests and manifest lists are
// small) and creates it, only if absent, on Close.
type storeWriter struct {
	io   *storeIO
	key  string
	name string
	buf  bytes.Buffer
	done bool
}

func (w *storeWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *storeWriter) ReadFrom(r io.Reader) (int64, error) { return w.buf.ReadFrom(r) }

func (w *storeWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	return w.io.put(w.name, w.key, w.buf.Bytes())
}

// storeFile reads an object by ranges (the scanner reads Parquet footers
// and column chunks, Avro manifests whole).
type storeFile struct {
	io   *storeIO
	key  string
	info storage.ObjectInfo
	off  int64
	data []byte // the whole object, once read (small objects)
}

func (f *storeFile) Stat() (fs.FileInfo, error) { return fileInfo{f.info}, nil }

func (f *storeFile) Close() error { return nil }

// wholeFileBytes: objects up to this size are read whole on their first
// read and served from memory, so a Parquet reader's many small reads (the
// footer, then each column chunk) cost one GET instead of one each.
const wholeFileBytes = 32 << 20

func (f *storeFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.info.Size {
		return 0, io.EOF
	}
	if f.info.Size <= wholeFileBytes {
		if f.data == nil {
			rc, _, err := f.io.store.Get(f.io.ctx, f.key)
			if err != nil {
				return 0, pathErr("read", f.key, err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return 0, pathErr("read", f.key, err)
			}
			if int64(len(data)) != f.info.Size {
				return 0, pathErr("read", f.key, fmt.Errorf("read %d bytes, the object has %d: it changed while read", len(data), f.info.Size))
			}
			f.data = data
		}
		n := copy(p, f.data[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	n := int64(len(p))
	if off+n > f.info.Size {
		n = f.info.Size - off
	}
	rc, err := f.io.store.GetRange(f.io.ctx, f.key, off, n)
	if err != nil {
		return 0, pathErr("read", f.key, err)
	}
	defer rc.Close()
	got, err := io.ReadFull(rc, p[:n])
	if err != nil {
		return got, pathErr("read", f.key, err)
	}
	if got < len(p) {
		return got, io.EOF
	}
	return got, nil
}

func (f *storeFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *storeFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.info.Size
	default:
		return 0, fmt.Errorf("seek %s: whence %d", f.key, whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek %s: negative offset %d", f.key, offset)
	}
	f.off = offset
	return offset, nil
}

type fileInfo struct{ o storage.ObjectInfo }

func (i fileInfo) Name() string       { return path.Base(i.o.Key) }
func (i fileInfo) Size() int64        { return i.o.Size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return i.o.LastModified }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
