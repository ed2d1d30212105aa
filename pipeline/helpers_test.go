package pipeline

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/pipeline/txlog"
	"archtics/pipeline/txlog/txlogtest"
	"archtics/schemas"
	"archtics/storage"
)

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

var (
	testLogger = txlogtest.Logger
	ownedRTX   = txlogtest.OwnedTable
	tablesOf   = txlogtest.TablesOf
	ts         = txlogtest.TS
	fakeEntry  = txlogtest.FakeEntry
	sameState  = txlogtest.SameState
)

func replayAll(t *testing.T, w *Warehouse, stream string, n int64) *txlog.StreamState {
	return txlogtest.ReplayAll(t, w.Log, stream, n)
}

func mustCommit(t testing.TB, w *Warehouse, req txlog.CommitRequest) *txlog.Commit {
	return txlogtest.MustCommit(t, w.Log, req)
}

func fileWarehouse(t testing.TB, dir string) *Warehouse {
	return New(txlogtest.FileStore(t, dir), testLogger)
}

// forEachBackend runs f as a subtest per backend on a fresh warehouse.
func forEachBackend(t *testing.T, f func(t *testing.T, w *Warehouse)) {
	txlogtest.ForEachBackend(t, "pipeline", func(t *testing.T, st storage.Store) { f(t, New(st, testLogger)) })
}

func putFake(t testing.TB, w *Warehouse, es ...txlog.FileEntry) []txlog.FileEntry {
	t.Helper()
	return txlogtest.PutFake(t, w.Store, es...)
}
