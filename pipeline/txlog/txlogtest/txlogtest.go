// Package txlogtest holds what the tests of the commit log and of its
// clients share: a fresh store per backend, a table a test's stream owns,
// file entries whose objects are one byte, and the checks that compare a
// stream's state with a replay of its commits.
package txlogtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/backend"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

// Logger discards what it is given.
var Logger = slog.New(slog.NewTextHandler(io.Discard, nil))

// FileStore is a local-folder store at dir.
func FileStore(t testing.TB, dir string) storage.Store {
	t.Helper()
	st, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Backends are the store backends tests run on.
var Backends = []string{"file", "s3"}

// OpenBackend opens a fresh, empty store on backend ("file" or "s3"; the
// S3 one under a prefix named after name, skipping the test when no
// endpoint is configured).
func OpenBackend(t testing.TB, backendName, name string) storage.Store {
	t.Helper()
	if backendName == "file" {
		return FileStore(t, t.TempDir())
	}
	u := storagetest.S3Location(t, name)
	st, err := backend.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return st
}

// ForEachBackend runs f as a subtest per backend, each on a fresh, empty
// store.
func ForEachBackend(t *testing.T, name string, f func(t *testing.T, st storage.Store)) {
	for _, b := range Backends {
		t.Run(b, func(t *testing.T) { f(t, OpenBackend(t, b, name)) })
	}
}

// OwnedTable is archtics_rtx.attendance_raw's shape under a test schema
// whose every partition stream owns, so a test can commit files of any
// team to a stream of its choosing. Its name depends only on the stream.
func OwnedTable(stream string) *schemas.Table {
	t := *schemas.RTXAttendanceRaw
	t.Schema = "t_" + strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(stream)
	t.Owner = stream
	return &t
}

// TablesOf is CommitRequest.Tables for commits of FakeEntry files.
func TablesOf(stream string) []*schemas.Table { return []*schemas.Table{OwnedTable(stream)} }

// TS returns the RFC 3339 watermark n minutes after a fixed instant.
func TS(n int) string {
	return time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
}

// FakeEntry is a file entry of OwnedTable(stream) for tests that never
// read the file; PutFake stores its 1-byte object, since a commit checks
// that its files are in the store.
func FakeEntry(stream, name string) txlog.FileEntry {
	t := OwnedTable(stream)
	return txlog.FileEntry{Table: t.FullName(), Key: t.Prefix() + "team=NHL/event_date=2025-04-10/" + name, Rows: 1, Bytes: 1, SHA256: "00"}
}

// PutFake stores the objects of fake entries and returns them.
func PutFake(t testing.TB, st storage.Store, es ...txlog.FileEntry) []txlog.FileEntry {
	t.Helper()
	for _, e := range es {
		if _, err := st.PutIfAbsent(context.Background(), e.Key, strings.NewReader("x"), 1); err != nil && !errors.Is(err, storage.ErrExists) {
			t.Fatal(err)
		}
	}
	return es
}

// MustCommit commits req or fails the test.
func MustCommit(t testing.TB, l *txlog.Log, req txlog.CommitRequest) *txlog.Commit {
	t.Helper()
	c, err := l.Commit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SameState compares two states by their checksums.
func SameState(t testing.TB, a, b *txlog.StreamState) error {
	t.Helper()
	x, err := a.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if x != y {
		return fmt.Errorf("state checksums %s and %s differ", x, y)
	}
	return nil
}

// ReplayAll replays commits 1..n of stream from scratch.
func ReplayAll(t testing.TB, l *txlog.Log, stream string, n int64) *txlog.StreamState {
	t.Helper()
	s := txlog.NewStreamState(stream)
	for q := int64(1); q <= n; q++ {
		c, err := l.ReadCommit(context.Background(), txlog.CommitKey(stream, q))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}
