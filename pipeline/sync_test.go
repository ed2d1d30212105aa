package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/pipeline/vacuum"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// TestSyncMakesAnOfflineCopy: a sync copies the live files and the log up
// to the state it fetched; the copy, opened offline, has the warehouse's
// state and files, refuses commits, and a second sync after more commits
// and a retirement fetches only the new and prunes the retired.
func TestSyncMakesAnOfflineCopy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *Warehouse) {
		ctx := context.Background()
		const stream = "nhl/realtime"
		w.Tables = tablesOf(stream)
		table := ownedRTX(stream)
		// Past CheckpointEvery, so the copy holds a checkpoint and its hint.
		var commits []*txlog.Commit
		for i := 0; i < txlog.CheckpointEvery+2; i++ {
			recs := scangen.NHL().Batches(50, 50, i*50)
			commits = append(commits, writeBatch(t, w, stream, "b"+sprint(i), txlog.Watermark{From: "", To: ts(i)}, recs))
			scangen.ReleaseAll(recs)
		}
		dir := t.TempDir()
		rep, err := views.Sync(ctx, w.Log, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		online, err := w.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		live := online.Files(table.FullName())
		if rep.Files != len(live) || rep.AlreadyLocal != 0 || rep.Info.Streams[stream] != int64(len(commits)) {
			t.Fatalf("first sync: %+v; want %d files fetched, none local, %s at seq %d", rep, len(live), stream, len(commits))
		}
		checkCopy(t, w, dir, online)

		// Offline, the copy is read-only.
		ow, info, err := views.OpenOffline(ctx, dir, w.Log)
		if err != nil {
			t.Fatal(err)
		}
		if info.Source != w.Store.URL() {
			t.Errorf("copy records source %q, want %q", info.Source, w.Store.URL())
		}
		recs := scangen.NHL().Batches(10, 10, 9000)
		_, err = Of(ow).WriteAndCommit(ctx, txlog.CommitRequest{Stream: stream, Stage: "test", BatchID: "offline"}, func(add func(*schemas.Table) *TableWriter) error {
			return add(table).Write(recs[0])
		})
		scangen.ReleaseAll(recs)
		if !errors.Is(err, txlog.ErrReadOnly) {
			t.Fatalf("commit to the offline copy: %v, want txlog.ErrReadOnly", err)
		}
		if _, err := vacuum.Run(ctx, ow, vacuum.Options{}); !errors.Is(err, txlog.ErrReadOnly) {
			t.Fatalf("vacuum of the offline copy: %v, want txlog.ErrReadOnly", err)
		}

		// A sync of an unchanged warehouse fetches nothing.
		rep, err = views.Sync(ctx, w.Log, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.AlreadyLocal != len(live) || rep.LogObjects != 0 || rep.Pruned != 0 {
			t.Fatalf("second sync of an unchanged warehouse: %+v; want all %d files local, no log object copied, nothing pruned", rep, len(live))
		}

		// Retire one file and add one: the next sync prunes and fetches.
		gone := live[0]
		if _, err := w.Commit(ctx, txlog.CommitRequest{Stream: stream, Stage: "test", BatchID: "retire", Retires: []txlog.FileRef{gone.Ref()}, Tables: tablesOf(stream)}); err != nil {
			t.Fatal(err)
		}
		recs = scangen.NHL().Batches(50, 50, 5000)
		writeBatch(t, w, stream, "after", txlog.Watermark{From: "", To: ts(100)}, recs)
		scangen.ReleaseAll(recs)
		rep, err = views.Sync(ctx, w.Log, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := len(stateNow(t, w).Files(table.FullName()))
		if rep.Pruned != 1 || rep.AlreadyLocal != len(live)-1 || rep.Files != now || rep.LogObjects != 2 {
			t.Fatalf("sync after a retirement and an add: %+v; want 1 pruned, %d of %d local, 2 commits copied", rep, len(live)-1, now)
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(gone.Key))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the retired file %s is still in the copy: %v", gone.Key, err)
		}
		checkCopy(t, w, dir, stateNow(t, w))
	})
}

// stateNow is the warehouse's state at its heads.
func stateNow(t *testing.T, w *Warehouse) *txlog.State {
	t.Helper()
	st, err := w.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkCopy opens the copy offline and compares its state and files with
// the warehouse's.
func checkCopy(t *testing.T, w *Warehouse, dir string, online *txlog.State) {
	t.Helper()
	ctx := context.Background()
	ow, _, err := views.OpenOffline(ctx, dir, w.Log)
	if err != nil {
		t.Fatal(err)
	}
	offline, err := ow.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range online.Streams {
		o := offline.Streams[name]
		if o == nil || o.Seq != s.Seq || o.Watermark != s.Watermark {
			t.Fatalf("offline stream %s: %+v, online seq %d watermark %s", name, o, s.Seq, s.Watermark)
		}
	}
	for _, table := range online.Tables() {
		on, off := online.Files(table), offline.Files(table)
		if strings.Join(keysOf(on), ",") != strings.Join(keysOf(off), ",") {
			t.Fatalf("offline files of %s differ:\n online  %v\n offline %v", table, keysOf(on), keysOf(off))
		}
	}
	// The copy's files pass verification where they are.
	local, err := views.Materialize(ctx, ow, dir, w.Tables...)
	if err != nil {
		t.Fatalf("materialize the offline copy: %v", err)
	}
	for table, paths := range local {
		if len(paths) != len(online.Files(table)) {
			t.Fatalf("offline %s: %d files, online %d", table, len(paths), len(online.Files(table)))
		}
	}
}

// TestSyncRefusesACorruptFile: a stored file that no longer matches its
// commit fails the sync with its key, and the copy's marker is not
// written, so an offline reader is told to sync.
func TestSyncRefusesACorruptFile(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	ctx := context.Background()
	w.Tables = tablesOf("nhl/realtime")
	recs := scangen.NHL().Batches(50, 50, 0)
	c := writeBatch(t, w, "nhl/realtime", "b", txlog.Watermark{From: "", To: ts(1)}, recs)
	scangen.ReleaseAll(recs)
	key := c.Adds[0].Key
	path := filepath.Join(w.Store.URL(), filepath.FromSlash(key))
	if err := os.WriteFile(path, []byte(strings.Repeat("x", int(c.Adds[0].Bytes))), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err := views.Sync(ctx, w.Log, dir, nil)
	if err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("sync over a corrupt file: %v; want an error naming %s", err, key)
	}
	if _, _, err := views.OpenOffline(ctx, dir, w.Log); err == nil || !strings.Contains(err.Error(), "archtics sync") {
		t.Fatalf("open a copy whose sync failed: %v; want the advice to sync", err)
	}
}

// TestSyncStopsOnCancel: a cancelled sync returns the context's error
// and leaves no marker behind.
func TestSyncStopsOnCancel(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	w.Tables = tablesOf("nhl/realtime")
	for i := 0; i < 3; i++ {
		recs := scangen.NHL().Batches(50, 50, i*50)
		writeBatch(t, w, "nhl/realtime", "b"+sprint(i), txlog.Watermark{From: "", To: ts(i)}, recs)
		scangen.ReleaseAll(recs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	_, err := views.Sync(ctx, w.Log, dir, func(views.SyncProgress) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("sync cancelled after its first file: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, views.SyncMarker)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a cancelled sync wrote its marker: %v", err)
	}
}
