package views

import (
	"context"
	"database/sql"
	"testing"

	"archtics/pipeline"
	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/pipeline/txlog/txlogtest"
	"archtics/schemas"
	"archtics/storage"
)

var (
	testLogger = txlogtest.Logger
	ts         = txlogtest.TS
)

func fileWarehouse(t testing.TB, dir string) *pipeline.Warehouse {
	return pipeline.New(txlogtest.FileStore(t, dir), testLogger)
}

// forEachBackend runs f as a subtest per backend on a fresh warehouse.
func forEachBackend(t *testing.T, f func(t *testing.T, w *pipeline.Warehouse)) {
	txlogtest.ForEachBackend(t, "views", func(t *testing.T, st storage.Store) { f(t, pipeline.New(st, testLogger)) })
}

// commitNHLScans writes rows archtics_rtx.attendance_raw rows of team nhl
// and commits them on nhl/realtime as batch r1.
func commitNHLScans(t testing.TB, w *pipeline.Warehouse, rows int) *txlog.Commit {
	t.Helper()
	recs := scangen.NHL().Batches(rows, 400, 0)
	defer scangen.ReleaseAll(recs)
	c, err := w.WriteAndCommit(context.Background(), txlog.CommitRequest{Stream: "nhl/realtime", Stage: "test", BatchID: "r1", Watermark: txlog.Watermark{To: ts(1)}},
		func(add func(*schemas.Table) *pipeline.TableWriter) error {
			tw := add(schemas.RTXAttendanceRaw)
			for _, r := range recs {
				if err := tw.Write(r); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		t.Fatalf("write and commit: %v", err)
	}
	return c
}

func openDuck(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
