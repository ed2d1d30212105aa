package pipeline

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"archtics/pipeline/check"
	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/storage/storagetest"
)

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	w := fileWarehouse(t, dir)
	ctx := context.Background()
	recs := scangen.Default().Batches(3000, 1000, 0)
	defer scangen.ReleaseAll(recs)
	c := writeBatch(t, w, "nhl/clone", "d1", txlog.Watermark{}, recs)

	var last check.Progress
	rep, err := check.Verify(ctx, w.Log, func(p check.Progress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Files != 6 || rep.Rows != 3000 || last.FilesDone != 6 || last.BytesDone != last.BytesTotal {
		t.Fatalf("clean warehouse: %+v, progress %+v", rep, last)
	}

	corrupt, missing := c.Adds[0], c.Adds[1]
	path := filepath.Join(dir, filepath.FromSlash(corrupt.Key))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[len(data)/2:], bytes.Repeat([]byte{0xAB}, 16)) // same size, other bytes
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(missing.Key))); err != nil {
		t.Fatal(err)
	}
	stray := ownedRTX("nhl/clone").Prefix() + "team=NHL/event_date=2025-04-10/part-crashed-00000.parquet"
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(stray)), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Left two hours ago: past the grace period, a problem. The fresh one
	// beside it is a live writer's upload: in flight, not a problem.
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(stray)), old, old); err != nil {
		t.Fatal(err)
	}
	fresh := ownedRTX("nhl/clone").Prefix() + "team=NHL/event_date=2025-04-10/part-uploading-00000.parquet"
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(fresh)), []byte("uploading"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A retired file still present is not "uncommitted".
	if _, err := w.Commit(ctx, txlog.CommitRequest{Stream: "nhl/clone", BatchID: "retire", Retires: []txlog.FileRef{c.Adds[2].Ref()}, Tables: tablesOf("nhl/clone")}); err != nil {
		t.Fatal(err)
	}

	rep, err = check.Verify(ctx, w.Log, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.Kind+" "+p.Key)
	}
	sort.Strings(got)
	want := []string{check.ProblemChecksum + " " + corrupt.Key, check.ProblemMissing + " " + missing.Key, check.ProblemUncommitted + " " + stray}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(rep.InFlight) != 1 || rep.InFlight[0].Key != fresh {
		t.Fatalf("in flight: %+v, want %s", rep.InFlight, fresh)
	}

	// Materialize refuses the corrupt file rather than serve it.
	if _, err := views.Materialize(ctx, w.Log, t.TempDir(), ownedRTX("nhl/clone")); err == nil || !strings.Contains(err.Error(), "corrupt") && !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("materialize over a broken warehouse: %v", err)
	}

	// A gap in the sequence.
	if err := w.Store.Delete(ctx, txlog.CommitKey("nhl/clone", 1)); err != nil {
		t.Fatal(err)
	}
	rep, err = check.Verify(ctx, w.Log, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range rep.Problems {
		if p.Kind == check.ProblemGap {
			found = true
		}
	}
	if !found {
		t.Fatalf("gap not reported: %v", rep.Problems)
	}
}

// TestDuckDBFile writes a .duckdb file with views over the verified cache
// (copied, as for a remote warehouse) and reopens it as a plain DuckDB file.
func TestDuckDBFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *Warehouse) {
		ctx := context.Background()
		for _, team := range []string{"nhl", "arena"} {
			recs := scangen.Gen{Teams: []string{team}, Dates: scangen.Default().Dates}.Batches(600, 400, 0)
			writeTable(t, w, schemas.RTXAttendanceRaw, team+"/realtime", "r1", txlog.Watermark{From: "", To: ts(1)}, recs)
			scangen.ReleaseAll(recs)
		}

		cache := t.TempDir()
		// Force the download path even on the local backend.
		remote := New(storagetest.RemoteStore{Store: w.Store}, testLogger)
		for round := 0; round < 2; round++ { // the second round hits the cache
			dbPath := filepath.Join(t.TempDir(), "warehouse.duckdb")
			db, err := views.OpenDuckDB(ctx, dbPath, remote.Log, cache)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dbPath + ".wal"); err == nil {
				t.Errorf("round %d: a .wal beside the database file while it is open: the views are not checkpointed", round)
			}
			db.Close()
			db2, err := sql.Open("duckdb", dbPath)
			if err != nil {
				t.Fatal(err)
			}
			var n, teams int
			if err := db2.QueryRow(`SELECT count(*), count(DISTINCT team) FROM archtics_rtx.attendance_raw`).Scan(&n, &teams); err != nil {
				t.Fatal(err)
			}
			var empty int
			if err := db2.QueryRow(`SELECT count(*) FROM archtics.ticket`).Scan(&empty); err != nil {
				t.Fatal(err)
			}
			db2.Close()
			if n != 1200 || teams != 2 || empty != 0 {
				t.Fatalf("round %d: %d rows, %d teams, %d tickets", round, n, teams, empty)
			}
		}
		if _, err := views.OpenDuckDB(ctx, filepath.Join(t.TempDir(), "archtics.duckdb"), remote.Log, cache); err == nil || !strings.Contains(err.Error(), "name the file differently") {
			t.Errorf("a database file named like a schema: %v", err)
		}
		if _, err := os.Stat(filepath.Join(cache, filepath.FromSlash(schemas.RTXAttendanceRaw.Prefix()))); err != nil {
			t.Fatalf("cache keeps the Hive layout: %v", err)
		}
	})
}
