package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/backend"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

var testLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// backendCase opens a fresh, empty warehouse on one backend.
type backendCase struct {
	name string
	open func(t testing.TB) *Warehouse
}

func backends() []backendCase {
	return []backendCase{
		{"file", func(t testing.TB) *Warehouse { return fileWarehouse(t, t.TempDir()) }},
		{"s3", func(t testing.TB) *Warehouse { return s3Warehouse(t) }},
	}
}

func fileWarehouse(t testing.TB, dir string) *Warehouse {
	t.Helper()
	st, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, testLogger)
}

func s3Warehouse(t testing.TB) *Warehouse {
	t.Helper()
	u := storagetest.S3Location(t, "pipeline")
	st, err := backend.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return New(st, testLogger)
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, w *Warehouse)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.open(t)) })
	}
}

// ownedRTX is archtics_rtx.attendance_raw's shape under a test schema whose
// every partition the given stream owns, so log tests can commit rows of
// any team to a stream of their choosing. Its name depends only on the
// stream, so separate calls give the same table.
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

// writeBatch writes recs to ownedRTX(stream) and commits them as batchID.
func writeBatch(t testing.TB, w *Warehouse, stream, batchID string, wm txlog.Watermark, recs []arrow.RecordBatch, opts ...WriterOption) *txlog.Commit {
	t.Helper()
	return writeTable(t, w, ownedRTX(stream), stream, batchID, wm, recs, opts...)
}

// writeTable writes recs to table and commits them on stream as batchID.
func writeTable(t testing.TB, w *Warehouse, table *schemas.Table, stream, batchID string, wm txlog.Watermark, recs []arrow.RecordBatch, opts ...WriterOption) *txlog.Commit {
	t.Helper()
	c, err := w.WriteAndCommit(context.Background(), txlog.CommitRequest{Stream: stream, Stage: "test", BatchID: batchID, Watermark: wm},
		func(add func(*schemas.Table) *TableWriter) error {
			tw := add(table)
			for _, r := range recs {
				if err := tw.Write(r); err != nil {
					return err
				}
			}
			return nil
		}, opts...)
	if err != nil {
		t.Fatalf("write and commit %s: %v", batchID, err)
	}
	return c
}

// fakeEntry is a file entry of ownedRTX(stream) for log tests that never
// read the file; putFake stores a 1-byte object under its key, since a
// commit checks its files are in the store.
func fakeEntry(stream, name string) txlog.FileEntry {
	t := ownedRTX(stream)
	return txlog.FileEntry{Table: t.FullName(), Key: t.Prefix() + "team=NHL/event_date=2025-04-10/" + name, Rows: 1, Bytes: 1, SHA256: "00"}
}

// putFake stores the objects of fake entries.
func putFake(t testing.TB, w *Warehouse, es ...txlog.FileEntry) []txlog.FileEntry {
	t.Helper()
	for _, e := range es {
		if _, err := w.Store.PutIfAbsent(context.Background(), e.Key, strings.NewReader("x"), 1); err != nil && !errors.Is(err, storage.ErrExists) {
			t.Fatal(err)
		}
	}
	return es
}

func sprint(v any) string { return fmt.Sprint(v) }

// takeRows returns rec's rows in the order idx gives.
func takeRows(t testing.TB, rec arrow.RecordBatch, idx []int) arrow.RecordBatch {
	t.Helper()
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	defer ib.Release()
	for _, i := range idx {
		ib.Append(int32(i))
	}
	ia := ib.NewArray()
	defer ia.Release()
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		a, err := compute.TakeArray(context.Background(), rec.Column(c), ia)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		cols[c] = a
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(idx)))
}

func concatRecs(t testing.TB, recs []arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, recs[0].NumCols())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for c := range cols {
		parts := make([]arrow.Array, len(recs))
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		cols[c] = a
	}
	return array.NewRecordBatch(recs[0].Schema(), cols, n)
}

func keysOf(es []txlog.FileEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Key
	}
	return out
}
