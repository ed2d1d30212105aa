package txlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"archtics/pipeline/txlog"
	"archtics/storage"
	"archtics/storage/storagetest"
)

// lostAnswerStore writes commit objects for real, then reports "already
// exists", as an S3 client does when it retries a PUT whose first answer
// was lost and the retry meets the object the first attempt created.
type lostAnswerStore struct {
	storage.Store
	lost atomic.Int32
}

func (s *lostAnswerStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	info, err := s.Store.PutIfAbsent(ctx, key, r, size)
	if err == nil && strings.HasPrefix(key, txlog.LogPrefix) && strings.HasSuffix(key, "0.json") {
		s.lost.Add(1)
		return info, fmt.Errorf("put %s: retried after a lost answer: %w", key, storage.ErrExists)
	}
	return info, err
}

// TestCommitLostAnswer: a commit whose write landed but whose answer was
// lost is ours, not a conflict; a retry under a new batch id would double
// the data.
func TestCommitLostAnswer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *txlog.Log) {
		ctx := context.Background()
		ls := &lostAnswerStore{Store: w.Store}
		lw := txlog.New(ls, testLogger)
		const stream = "nhl/realtime"
		for i := 1; i <= 10; i++ {
			c, err := lw.Commit(ctx, txlog.CommitRequest{Stream: stream, BatchID: fmt.Sprint("b", i), Tables: tablesOf(stream),
				Adds: putFake(t, w, fakeEntry(stream, fmt.Sprint("f", i)))})
			if err != nil {
				t.Fatalf("commit %d after a lost answer: %v", i, err)
			}
			if c.Existing || c.Seq != int64(i) {
				t.Fatalf("commit %d: %+v", i, c)
			}
		}
		if ls.lost.Load() != 1 { // the commits ending in 0: seq 10
			t.Fatalf("%d answers lost, want 1", ls.lost.Load())
		}
		// Another writer's commit at the same seq is still a conflict.
		head, err := w.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(ctx, txlog.CommitRequest{Stream: stream, BatchID: "winner", Tables: tablesOf(stream)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.CommitOn(ctx, head, txlog.CommitRequest{Stream: stream, BatchID: "loser", Tables: tablesOf(stream)}); !errors.Is(err, txlog.ErrCommitConflict) {
			t.Fatalf("a real conflict: %v", err)
		}
	})
}

// TestCheckpointFollowsLiveState: batch ids and tombstones older than the
// retention leave the state, so a checkpoint's size follows the live
// state; pinned batch ids stay; a raised retention is recorded.
func TestCheckpointFollowsLiveState(t *testing.T) {
	w := fileLog(t, t.TempDir())
	ctx := context.Background()
	clock := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	w.Now = func() time.Time { return clock }
	const stream = "nhl/realtime"
	commit := func(req txlog.CommitRequest) {
		t.Helper()
		req.Stream, req.Tables = stream, tablesOf(stream)
		if _, err := w.Commit(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	commit(txlog.CommitRequest{BatchID: "pinned", PinBatch: true, Adds: putFake(t, w, fakeEntry(stream, "p"))})
	for day := 0; day < 10; day++ {
		clock = clock.Add(24 * time.Hour)
		name := fmt.Sprint("d", day)
		req := txlog.CommitRequest{BatchID: name, Adds: putFake(t, w, fakeEntry(stream, name))}
		if day > 0 {
			req.Retires = []txlog.FileRef{fakeEntry(stream, fmt.Sprint("d", day-1)).Ref()}
		}
		commit(req)
	}
	st, err := w.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	// Commit times: day 1..10. At day 10 the cutoff is day 3: batch ids
	// d2..d9 (days 3..10) and tombstones retired on days 3..10 (d1..d8).
	if len(st.Batches) != 9 || st.Batches["pinned"].Seq != 1 {
		t.Fatalf("batch ids %v, want pinned plus the last 8 days", st.Batches)
	}
	if _, ok := st.Batches["d0"]; ok {
		t.Fatal("an expired batch id is still remembered")
	}
	if len(st.Retired) != 8 {
		t.Fatalf("%d tombstones, want 8 within seven days", len(st.Retired))
	}
	if err := sameState(t, st, replayAll(t, w, stream, st.Seq)); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	commit(txlog.CommitRequest{BatchID: "keep-longer", Retention: 30 * 24 * time.Hour})
	if st, _ = w.Stream(ctx, stream); st.Retention != 30*24*time.Hour {
		t.Fatalf("retention %v after a commit set 30 days", st.Retention)
	}
}

// TestCheckpointRetried: a checkpoint whose write failed is written by the
// next commit.
func TestCheckpointRetried(t *testing.T) {
	w := fileLog(t, t.TempDir())
	ctx := context.Background()
	const stream = "s"
	flaky := txlog.New(&storagetest.FailingStore{Store: w.Store, FailPrefix: txlog.CheckpointKey(stream, 10)}, testLogger)
	for i := 1; i <= 11; i++ {
		if _, err := flaky.Commit(ctx, txlog.CommitRequest{Stream: stream, BatchID: fmt.Sprint(i), Tables: tablesOf(stream)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Store.Stat(ctx, txlog.CheckpointKey(stream, 10)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("checkpoint 10: %v", err)
	}
	if _, err := w.Store.Stat(ctx, txlog.CheckpointKey(stream, 11)); err != nil {
		t.Fatalf("the commit after a failed checkpoint did not write one: %v", err)
	}
}

// TestAsOf: reading as of a time before a commit, or at a commit number,
// answers as the warehouse was then, and refuses to commit.
func TestAsOf(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *txlog.Log) {
		ctx := context.Background()
		clock := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		w.Now = func() time.Time { return clock }
		const stream = "nhl/realtime"
		var times []time.Time
		for i := 1; i <= 25; i++ {
			clock = clock.Add(time.Minute)
			req := txlog.CommitRequest{Stream: stream, BatchID: fmt.Sprint(i), Tables: tablesOf(stream),
				Adds: putFake(t, w, fakeEntry(stream, fmt.Sprint("f", i)))}
			if i > 1 {
				req.Retires = []txlog.FileRef{fakeEntry(stream, fmt.Sprint("f", i-1)).Ref()}
			}
			if _, err := w.Commit(ctx, req); err != nil {
				t.Fatal(err)
			}
			times = append(times, clock)
		}
		tbl := ownedRTX(stream)
		for _, tc := range []struct {
			name string
			asOf txlog.AsOf
			want string // the one live file
		}{
			{"head", txlog.AsOf{}, "f25"},
			{"at commit 13's time", txlog.AsOf{Time: times[12]}, "f13"},
			{"between commits 13 and 14", txlog.AsOf{Time: times[12].Add(30 * time.Second)}, "f13"},
			{"at commit 10 (a checkpoint)", txlog.AsOf{Stream: stream, Seq: 10}, "f10"},
			{"at commit 1", txlog.AsOf{Stream: stream, Seq: 1}, "f1"},
			{"before the first commit", txlog.AsOf{Time: times[0].Add(-time.Second)}, ""},
		} {
			files, err := w.At(tc.asOf).Snapshot(ctx, tbl)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got := ""
			for _, f := range files {
				got = strings.TrimPrefix(f.Key, fakeEntry(stream, "").Key)
			}
			if got != tc.want || len(files) > 1 {
				t.Errorf("%s: live %q (%d files), want %q", tc.name, got, len(files), tc.want)
			}
		}
		if _, err := w.At(txlog.AsOf{Stream: stream, Seq: 99}).Stream(ctx, stream); err == nil || !strings.Contains(err.Error(), "head is seq 25") {
			t.Errorf("as of a commit that does not exist: %v", err)
		}
		if _, err := w.At(txlog.AsOf{Stream: stream, Seq: 3}).Commit(ctx, txlog.CommitRequest{Stream: stream, BatchID: "x"}); !errors.Is(err, txlog.ErrReadOnly) {
			t.Errorf("a commit as of the past: %v", err)
		}
		var seqs []int64
		if err := w.At(txlog.AsOf{Time: times[4]}).Commits(ctx, txlog.LogQuery{}, func(c *txlog.Commit) error { seqs = append(seqs, c.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(seqs) != "[5 4 3 2 1]" {
			t.Errorf("log as of commit 5's time: %v", seqs)
		}
	})
}

func TestParseAsOf(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"2026-11-20T17:00:00Z", "2026-11-20T17:00:00Z", ""},
		{"2026-11-20T12:00:00-05:00", "2026-11-20T17:00:00Z", ""},
		{"nhl/clone@3", "nhl/clone@3", ""},
		{"2026-11-20 12:00:00", "", "RFC 3339"},
		{"nhl/clone@x", "", "not a commit number"},
		{"_log@3", "", "stream name"},
	} {
		a, err := txlog.ParseAsOf(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || a.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, a, err, tc.want)
		}
	}
}

// TestOpenFindsGap: a reader that walks forward from the hinted checkpoint
// reports a missing commit followed by a present one, instead of taking
// the state before the gap for the head.
func TestOpenFindsGap(t *testing.T) {
	w := fileLog(t, t.TempDir())
	ctx := context.Background()
	const stream = "s"
	for i := 1; i <= 13; i++ {
		mustCommit(t, w, txlog.CommitRequest{Stream: stream, BatchID: fmt.Sprint(i), Tables: tablesOf(stream)})
	}
	if err := w.Store.Delete(ctx, txlog.CommitKey(stream, 12)); err != nil {
		t.Fatal(err)
	}
	_, err := w.Stream(ctx, stream)
	if err == nil || !strings.Contains(err.Error(), "commit seq 12 is missing") {
		t.Fatalf("open over a gap: %v", err)
	}
}
