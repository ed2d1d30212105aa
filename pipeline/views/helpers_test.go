package views

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage/backend"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

var testLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func fileWarehouse(t testing.TB, dir string) *pipeline.Warehouse {
	t.Helper()
	st, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.New(st, testLogger)
}

// forEachBackend runs f as a subtest on a fresh warehouse per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, w *pipeline.Warehouse)) {
	t.Run("file", func(t *testing.T) { f(t, fileWarehouse(t, t.TempDir())) })
	t.Run("s3", func(t *testing.T) {
		u := storagetest.S3Location(t, "views")
		st, err := backend.Open(context.Background(), u)
		if err != nil {
			t.Fatalf("open %s: %v", u, err)
		}
		f(t, pipeline.New(st, testLogger))
	})
}

// ts returns the RFC 3339 watermark n minutes after a fixed instant.
func ts(n int) string {
	return time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
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
