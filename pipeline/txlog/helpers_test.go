package txlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/backend"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

var testLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// backendCase opens a fresh, empty log on one backend.
type backendCase struct {
	name string
	open func(t testing.TB) *Log
}

func backends() []backendCase {
	return []backendCase{
		{"file", func(t testing.TB) *Log { return fileLog(t, t.TempDir()) }},
		{"s3", func(t testing.TB) *Log {
			u := storagetest.S3Location(t, "txlog")
			st, err := backend.Open(context.Background(), u)
			if err != nil {
				t.Fatalf("open %s: %v", u, err)
			}
			return New(st, testLogger)
		}},
	}
}

func fileLog(t testing.TB, dir string) *Log {
	t.Helper()
	st, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, testLogger)
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, w *Log)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.open(t)) })
	}
}

// ownedRTX is archtics_rtx.attendance_raw's shape under a test schema whose
// every partition the given stream owns, so log tests can commit files of
// any team to a stream of their choosing.
func ownedRTX(stream string) *schemas.Table {
	t := *schemas.RTXAttendanceRaw
	t.Schema = "t_" + strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(stream)
	t.Owner = stream
	return &t
}

// tablesOf is CommitRequest.Tables for commits of fakeEntry files.
func tablesOf(stream string) []*schemas.Table { return []*schemas.Table{ownedRTX(stream)} }

// ts returns the RFC 3339 watermark n minutes after a fixed instant.
func ts(n int) string {
	return time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
}

// fakeEntry is a file entry of ownedRTX(stream) for tests that never read
// the file; putFake stores a 1-byte object under its key, since a commit
// checks its files are in the store.
func fakeEntry(stream, name string) FileEntry {
	t := ownedRTX(stream)
	return FileEntry{Table: t.FullName(), Key: t.Prefix() + "team=NHL/event_date=2025-04-10/" + name, Rows: 1, Bytes: 1, SHA256: "00"}
}

func putFake(t testing.TB, w *Log, es ...FileEntry) []FileEntry {
	t.Helper()
	for _, e := range es {
		if _, err := w.Store.PutIfAbsent(context.Background(), e.Key, strings.NewReader("x"), 1); err != nil && !errors.Is(err, storage.ErrExists) {
			t.Fatal(err)
		}
	}
	return es
}

func mustCommit(t testing.TB, w *Log, req CommitRequest) *Commit {
	t.Helper()
	c, err := w.Commit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameState compares two states by their checksums.
func sameState(t testing.TB, a, b *StreamState) error {
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

// replayAll replays commits 1..n of stream from scratch.
func replayAll(t *testing.T, w *Log, stream string, n int64) *StreamState {
	t.Helper()
	s := NewStreamState(stream)
	for q := int64(1); q <= n; q++ {
		c, err := w.ReadCommit(context.Background(), CommitKey(stream, q))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}
