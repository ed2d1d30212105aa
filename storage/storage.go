// Package storage is the object-store contract the warehouse is built on.
//
// Two backends implement it, chosen by URL scheme through Open:
// a local folder (storage/file, "./warehouse" or "file:///abs/path") and
// S3 (storage/s3, "s3://bucket/prefix"). Both must pass the same conformance
// suite (storage/storagetest).
//
// The contract is deliberately small and append-oriented: the warehouse never
// overwrites a data file, so the only write that may replace an object is
// CompareAndSwap, used for small pointer objects (for example the newest
// checkpoint hint).
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors every backend returns (wrapped) so callers can test with errors.Is.
var (
	// ErrExists: a create-if-absent write found the key already present.
	ErrExists = errors.New("object already exists")
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrConflict: a compare-and-swap found a different version than expected.
	ErrConflict = errors.New("object changed concurrently (precondition failed)")
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key          string    // key relative to the store's root (no leading slash)
	Size         int64     // bytes
	ETag         string    // opaque version token, used by CompareAndSwap
	LastModified time.Time // as reported by the backend
}

// Store is an object store rooted at a prefix. Keys are slash-separated and
// relative to that root.
type Store interface {
	// PutIfAbsent creates key with the content read from r, only if key does
	// not exist. size is the content length when known, or -1; large content
	// is uploaded in parts. If key exists it returns an error wrapping
	// ErrExists and leaves the object untouched. A failed or interrupted
	// write leaves no object behind.
	PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error)

	// CompareAndSwap writes a small object if its current version matches
	// etag. An empty etag means "only if absent". On mismatch it returns an
	// error wrapping ErrConflict (or ErrExists when etag was empty and the
	// key exists).
	CompareAndSwap(ctx context.Context, key string, data []byte, etag string) (ObjectInfo, error)

	// Get opens key for reading.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)

	// GetRange reads length bytes of key starting at offset. A length of -1
	// reads to the end.
	GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)

	// Stat returns the object's info, or an error wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// List calls fn for every object whose key starts with prefix and sorts
	// strictly after startAfter (empty: from the beginning), in ascending key
	// order, paging through the backend as needed. Returning an error from
	// fn stops the listing and is returned.
	List(ctx context.Context, prefix, startAfter string, fn func(ObjectInfo) error) error

	// Delete removes key. It exists for retention (expiring realtime data
	// after seven days) and test cleanup; data files referenced by a live
	// commit are never deleted. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// URL returns the store's location, for messages ("s3://b/p", "/abs/dir").
	URL() string
}

// Upload is an unfinished upload: on S3 a multipart upload that was
// started and neither completed nor aborted (its parts cost storage and
// are invisible to listings); on a local folder a temporary file a killed
// writer left behind.
type Upload struct {
	Key       string
	ID        string // the backend's handle (S3's UploadId)
	Initiated time.Time
	Size      int64 // bytes held, where the backend says
}

// UploadLister is implemented by stores whose writers can leave unfinished
// uploads behind. Vacuum aborts the ones older than its grace period.
type UploadLister interface {
	// ListUploads calls fn for every unfinished upload.
	ListUploads(ctx context.Context, fn func(Upload) error) error
	// AbortUpload discards an unfinished upload and what it holds.
	AbortUpload(ctx context.Context, u Upload) error
}
