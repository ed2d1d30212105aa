package pipeline

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"archtics/pipeline/check"
	"archtics/pipeline/txlog"
	"archtics/pipeline/vacuum"
)

// contentEntry is fakeEntry with its object stored and its size and
// SHA-256 true, as a restore reads and checks the files it brings back.
func contentEntry(t testing.TB, w *Warehouse, stream, name string) txlog.FileEntry {
	t.Helper()
	e := fakeEntry(stream, name)
	e.Bytes, e.SHA256 = int64(len(name)), sha256Hex(name)
	if _, err := w.Store.PutIfAbsent(context.Background(), e.Key, strings.NewReader(name), e.Bytes); err != nil {
		t.Fatal(err)
	}
	return e
}

// restoreHistory commits n batches b1..bn on stream: bi adds file fi with
// watermark ts(i) and cursor "n" = i, every fifth from b10 retires f(i-5), b2 sets
// cursor "early", which b18 removes, and b20 sets cursor "late".
func restoreHistory(t *testing.T, w *Warehouse, stream string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		req := txlog.CommitRequest{Stream: stream, Stage: "test", BatchID: fmt.Sprint("b", i), Tables: tablesOf(stream),
			Watermark: txlog.Watermark{To: ts(i)}, Cursors: map[string]string{"n": fmt.Sprint(i)},
			Adds: []txlog.FileEntry{contentEntry(t, w, stream, fmt.Sprintf("f%02d", i))}}
		if i%5 == 0 && i >= 10 {
			req.Retires = []txlog.FileRef{fakeEntry(stream, fmt.Sprintf("f%02d", i-5)).Ref()}
		}
		switch i {
		case 2:
			req.Cursors["early"] = "yes"
		case 18:
			req.Cursors["early"] = ""
		case 20:
			req.Cursors["late"] = "yes"
		}
		mustCommit(t, w, req)
	}
}

func liveKeys(s *txlog.StreamState) []string {
	var out []string
	for _, m := range s.Files {
		for k := range m {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestRestore: a restore adds back the files retired since the target,
// retires the later ones, moves the watermark back, restores the cursors,
// forgets the later batch ids (which then commit again), survives the
// checkpoints written every ten commits, and equals the replay from
// commit 1; a rerun is a no-op, a dry run commits nothing, and verify lists
// the restore without calling it a problem.
func TestRestore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *Warehouse) {
		ctx := context.Background()
		const stream = "s"
		restoreHistory(t, w, stream, 25)
		target, err := w.At(txlog.AsOf{Stream: stream, Seq: 12}).Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		before, err := w.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		opts := txlog.RestoreOptions{By: "tester", Reason: "bad data after seq 12", Tables: tablesOf(stream)}

		dry, err := w.Restore(ctx, stream, 12, txlog.RestoreOptions{DryRun: true, Tables: tablesOf(stream)})
		if err != nil {
			t.Fatal(err)
		}
		// Every file added after 12 and still live goes; f10, live at 12
		// and retired by b15, comes back.
		if keys := keysOf(dry.Adds); !reflect.DeepEqual(keys, []string{fakeEntry(stream, "f10").Key}) {
			t.Fatalf("dry run adds %v, want f10 only", keys)
		}
		if len(dry.Retires) != len(liveKeys(before))-len(liveKeys(target))+1 || dry.Commit != nil {
			t.Fatalf("dry run retires %d files (commit %v)", len(dry.Retires), dry.Commit)
		}
		if h, _ := w.Stream(ctx, stream); h.Seq != 25 {
			t.Fatalf("the dry run committed: head seq %d", h.Seq)
		}

		rep, err := w.Restore(ctx, stream, 12, opts)
		if err != nil {
			t.Fatal(err)
		}
		c := rep.Commit
		if c == nil || c.Seq != 26 || c.Stage != "restore" || c.Format != txlog.RestoreFormat ||
			c.Restore == nil || *c.Restore != (txlog.RestoreInfo{FromSeq: 25, ToSeq: 12, By: "tester", Reason: opts.Reason}) {
			t.Fatalf("restore commit %+v", c)
		}
		if c.Watermark != (txlog.Watermark{From: ts(25), To: ts(12)}) {
			t.Fatalf("restore watermark %+v", c.Watermark)
		}
		head, err := w.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(liveKeys(head), liveKeys(target)) || head.Watermark != ts(12) ||
			!reflect.DeepEqual(head.Cursors, target.Cursors) || !reflect.DeepEqual(head.Schemas, target.Schemas) {
			t.Fatalf("after the restore: files %v watermark %s cursors %v\nwant files %v watermark %s cursors %v",
				liveKeys(head), head.Watermark, head.Cursors, liveKeys(target), target.Watermark, target.Cursors)
		}
		for i := 1; i <= 25; i++ {
			_, ok := head.Batches[fmt.Sprint("b", i)]
			if ok != (i <= 12) {
				t.Errorf("batch b%d remembered %v after a restore to 12", i, ok)
			}
		}
		if _, ok := head.Retired[fakeEntry(stream, "f10").Key]; ok {
			t.Error("f10 is live again but still a tombstone vacuum may delete")
		}
		if _, ok := head.Retired[fakeEntry(stream, "f25").Key]; !ok {
			t.Error("f25, retired by the restore, has no tombstone")
		}

		// A rerun: nothing to do.
		again, err := w.Restore(ctx, stream, 12, opts)
		if err != nil || !again.NoOp || again.Commit != nil {
			t.Fatalf("rerun: %+v, %v", again, err)
		}

		// The forgotten batches commit again, with the watermark moving
		// forward from 12: b13 again, then more, past the next checkpoints.
		for i := 13; i <= 34; i++ {
			cm := mustCommit(t, w, txlog.CommitRequest{Stream: stream, Stage: "test", BatchID: fmt.Sprint("b", i), Tables: tablesOf(stream),
				Watermark: txlog.Watermark{To: ts(i)}, Adds: []txlog.FileEntry{contentEntry(t, w, stream, fmt.Sprintf("g%02d", i))}})
			if cm.Existing {
				t.Fatalf("batch b%d after the restore was taken for the one restored over", i)
			}
		}

		// The state opened through the checkpoints equals the replay from
		// commit 1; verify compares every checkpoint and lists the restore.
		fresh := New(w.Store, testLogger)
		got, err := fresh.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if got.CheckpointSeq != 40 {
			t.Fatalf("opened from checkpoint %d, want 40", got.CheckpointSeq)
		}
		if err := sameState(t, got, replayAll(t, w, stream, got.Seq)); err != nil {
			t.Fatalf("checkpointed state vs replay after a restore: %v", err)
		}
		vr, err := check.VerifyWith(ctx, w.Log, check.Options{Grace: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range vr.Problems {
			if p.Kind == check.ProblemLog || p.Kind == check.ProblemCheckpoint || p.Kind == check.ProblemGap || p.Kind == check.ProblemMissing || p.Kind == check.ProblemUncommitted {
				t.Errorf("verify after a restore: %v", p)
			}
		}
		if vr.Checkpoints != 4 || len(vr.Restores) != 1 || vr.Restores[0].Seq != 26 || vr.Restores[0].ToSeq != 12 {
			t.Fatalf("verify: %d checkpoints, restores %+v", vr.Checkpoints, vr.Restores)
		}
	})
}

// TestRestoreToEmpty: a restore to seq 0 retires everything, clears the
// watermark and cursors, and forgets even a pinned batch (a dump load),
// which then loads again, with an earlier watermark than before.
func TestRestoreToEmpty(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	ctx := context.Background()
	const stream = "s"
	mustCommit(t, w, txlog.CommitRequest{Stream: stream, BatchID: "dump-1", PinBatch: true, SourceID: "a", Tables: tablesOf(stream),
		Watermark: txlog.Watermark{To: ts(10)}, Cursors: map[string]string{"load-dump.batch": "dump-1"},
		Adds: []txlog.FileEntry{contentEntry(t, w, stream, "a")}})
	mustCommit(t, w, txlog.CommitRequest{Stream: stream, BatchID: "inc-1", Tables: tablesOf(stream),
		Watermark: txlog.Watermark{To: ts(20)}, Adds: []txlog.FileEntry{contentEntry(t, w, stream, "b")}})
	rep, err := w.Restore(ctx, stream, 0, txlog.RestoreOptions{Tables: tablesOf(stream)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Retires) != 2 || len(rep.Adds) != 0 || !reflect.DeepEqual(rep.ForgetBatches, []string{"dump-1", "inc-1"}) ||
		rep.Cursors["load-dump.batch"] != "" || rep.CursorsBefore["load-dump.batch"] != "dump-1" {
		t.Fatalf("restore to 0: %+v", rep)
	}
	head, err := w.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if head.LiveFiles() != 0 || head.Watermark != "" || len(head.Cursors) != 0 || len(head.Schemas) != 0 {
		t.Fatalf("after a restore to 0: %d files, watermark %q, cursors %v, schemas %v", head.LiveFiles(), head.Watermark, head.Cursors, head.Schemas)
	}
	// The same batch id from other input: a new load, not a conflict.
	c := mustCommit(t, w, txlog.CommitRequest{Stream: stream, BatchID: "dump-1", PinBatch: true, SourceID: "b", Tables: tablesOf(stream),
		Watermark: txlog.Watermark{To: ts(5)}, Adds: []txlog.FileEntry{contentEntry(t, w, stream, "c")}})
	if c.Existing || c.Seq != 4 {
		t.Fatalf("the reload after a restore to 0: %+v", c)
	}
	if err := sameState(t, replayAll(t, w, stream, 4), mustStream(t, New(w.Store, testLogger), stream)); err != nil {
		t.Fatal(err)
	}
}

func mustStream(t *testing.T, w *Warehouse, stream string) *txlog.StreamState {
	t.Helper()
	s, err := w.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRestoreRefused: a target after the head or negative, a warehouse
// read as of a past point, and a file vacuum deleted are refused, nothing
// committed; two restores on the same head: the second conflicts, or finds
// the first's commit when it is the same restore.
func TestRestoreRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("targets", func(t *testing.T) {
		w := fileWarehouse(t, t.TempDir())
		restoreHistory(t, w, "s", 3)
		for _, seq := range []int64{-1, 4} {
			if _, err := w.Restore(ctx, "s", seq, txlog.RestoreOptions{}); !errors.Is(err, txlog.ErrRestoreTarget) {
				t.Errorf("restore to %d: %v, want txlog.ErrRestoreTarget", seq, err)
			}
		}
		if _, err := w.At(txlog.AsOf{Time: time.Now()}).Restore(ctx, "s", 1, txlog.RestoreOptions{}); !errors.Is(err, txlog.ErrReadOnly) {
			t.Errorf("restore as of a time: %v, want txlog.ErrReadOnly", err)
		}
		if h := mustStream(t, w, "s"); h.Seq != 3 {
			t.Fatalf("a refused restore committed: head %d", h.Seq)
		}
	})
	t.Run("vacuumed", func(t *testing.T) {
		w := fileWarehouse(t, t.TempDir())
		clock := time.Now().Add(-10 * 24 * time.Hour)
		w.Now = func() time.Time { return clock }
		old := contentEntry(t, w, "s", "old")
		mustCommit(t, w, txlog.CommitRequest{Stream: "s", BatchID: "1", Tables: tablesOf("s"), Adds: []txlog.FileEntry{old}})
		clock = clock.Add(24 * time.Hour)
		mustCommit(t, w, txlog.CommitRequest{Stream: "s", BatchID: "2", Tables: tablesOf("s"), Retires: []txlog.FileRef{old.Ref()},
			Adds: []txlog.FileEntry{contentEntry(t, w, "s", "new")}})
		clock = time.Now()
		w.Tables = tablesOf("s")
		if rep, err := vacuum.Run(ctx, w.Log, vacuum.Options{}); err != nil || rep.Files() != 1 {
			t.Fatalf("vacuum: %+v, %v", rep, err)
		}
		_, err := w.Restore(ctx, "s", 1, txlog.RestoreOptions{})
		if !errors.Is(err, txlog.ErrRestoreFileGone) || !strings.Contains(err.Error(), old.Key) || !strings.Contains(err.Error(), "retention") {
			t.Fatalf("restore over a vacuumed file: %v", err)
		}
		if h := mustStream(t, w, "s"); h.Seq != 3 { // 3: vacuum's commit
			t.Fatalf("a refused restore committed: head %d", h.Seq)
		}
	})
	t.Run("two at once", func(t *testing.T) {
		w := fileWarehouse(t, t.TempDir())
		restoreHistory(t, w, "s", 6)
		opts := txlog.RestoreOptions{Tables: tablesOf("s")}
		h1, h2, h3 := mustStream(t, w, "s"), mustStream(t, w, "s"), mustStream(t, w, "s")
		first, err := w.RestoreOn(ctx, h1, 2, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.RestoreOn(ctx, h2, 4, opts); !errors.Is(err, txlog.ErrCommitConflict) {
			t.Fatalf("a second restore on the same head: %v, want a conflict", err)
		}
		same, err := w.RestoreOn(ctx, h3, 2, opts)
		if err != nil || same.Commit == nil || !same.Commit.Existing || same.Commit.Seq != first.Commit.Seq {
			t.Fatalf("the same restore twice at once: %+v, %v", same.Commit, err)
		}
	})
}
