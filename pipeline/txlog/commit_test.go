package txlog_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"archtics/pipeline/txlog"
	"archtics/storage/storagetest"
)

func TestCommitRaceGoroutines(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *txlog.Log) {
		ctx := context.Background()
		for i := 1; i <= 3; i++ {
			if _, err := w.Commit(ctx, txlog.CommitRequest{Stream: "nhl/realtime", BatchID: fmt.Sprint("pre", i), Tables: tablesOf("nhl/realtime"),
				Adds: putFake(t, w, fakeEntry("nhl/realtime", fmt.Sprint("pre", i)))}); err != nil {
				t.Fatal(err)
			}
		}
		head, err := w.Stream(ctx, "nhl/realtime")
		if err != nil {
			t.Fatal(err)
		}
		const n = 16
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			putFake(t, w, fakeEntry("nhl/realtime", fmt.Sprint("g", i)))
		}
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = w.Commit(ctx, txlog.CommitRequest{Stream: "nhl/realtime", Stage: "race", BatchID: fmt.Sprint("g", i), Tables: tablesOf("nhl/realtime"),
					ExpectSeq: head.NextSeq(), Adds: []txlog.FileEntry{fakeEntry("nhl/realtime", fmt.Sprint("g", i))}})
			}(i)
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, txlog.ErrCommitConflict):
				if !strings.Contains(err.Error(), "seq 4") {
					t.Errorf("conflict message does not name the seq: %v", err)
				}
			default:
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d winners, want exactly 1", wins)
		}
		after, err := w.Stream(ctx, "nhl/realtime")
		if err != nil {
			t.Fatal(err)
		}
		if after.Seq != 4 || after.LiveFiles() != 4 {
			t.Fatalf("after the race: seq %d, %d files", after.Seq, after.LiveFiles())
		}
	})
}

func TestCheckpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *txlog.Log) {
		ctx := context.Background()
		const stream = "nhl/clone"
		for i := 1; i <= 25; i++ {
			req := txlog.CommitRequest{Stream: stream, Stage: "clone", BatchID: fmt.Sprint("b", i), Tables: tablesOf(stream),
				Watermark: txlog.Watermark{From: ts(i - 1), To: ts(i)},
				Adds:      putFake(t, w, fakeEntry(stream, fmt.Sprintf("f%02d", i)))}
			if i%5 == 0 { // retire an earlier file now and then
				req.Retires = []txlog.FileRef{fakeEntry(stream, fmt.Sprintf("f%02d", i-2)).Ref()}
			}
			if _, err := w.Commit(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		cs := &storagetest.CountingStore{Store: w.Store}
		fresh := txlog.New(cs, testLogger)
		got, err := fresh.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		gets := cs.Reset()
		want := []string{txlog.StreamPrefix(stream) + txlog.LastCheckpoint, txlog.CheckpointKey(stream, 20), txlog.CheckpointKey(stream, 30)}
		for s := int64(21); s <= 26; s++ { // 26: the probe that finds the head
			want = append(want, txlog.CommitKey(stream, s))
		}
		if !reflect.DeepEqual(gets, want) {
			t.Fatalf("opening the stream read\n%v\nwant\n%v", strings.Join(gets, "\n"), strings.Join(want, "\n"))
		}
		replay := replayAll(t, w, stream, 25)
		if sameState(t, got, replay) != nil {
			t.Fatalf("checkpointed state differs from a full replay:\n%+v\n%+v", got, replay)
		}
		if got.Watermark != ts(25) || got.Seq != 25 || got.LiveFiles() != 20 {
			t.Fatalf("state: seq %d watermark %s files %d", got.Seq, got.Watermark, got.LiveFiles())
		}

		// Without the hint the stream is listed and the newest checkpoint
		// still used.
		if err := w.Store.Delete(ctx, txlog.StreamPrefix(stream)+txlog.LastCheckpoint); err != nil {
			t.Fatal(err)
		}
		got2, err := fresh.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if gets := cs.Reset(); len(gets) != 7 || gets[1] != txlog.CheckpointKey(stream, 20) {
			t.Fatalf("without the hint, opening read %v", gets)
		}
		if err := sameState(t, got2, replay); err != nil {
			t.Fatalf("state without the hint differs from a full replay: %v", err)
		}
	})
}

func TestCommitValidationAndIdempotency(t *testing.T) {
	w := fileLog(t, t.TempDir())
	ctx := context.Background()
	putFake(t, w, fakeEntry("s", "a"), fakeEntry("s", "zzz"))
	c1, err := w.Commit(ctx, txlog.CommitRequest{Stream: "s", BatchID: "b1", Adds: []txlog.FileEntry{fakeEntry("s", "a")}, Watermark: txlog.Watermark{From: "", To: ts(10)}, Tables: tablesOf("s")})
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.Commit(ctx, txlog.CommitRequest{Stream: "s", BatchID: "b1", Adds: []txlog.FileEntry{fakeEntry("s", "zzz")}, Tables: tablesOf("s")})
	if err != nil || !again.Existing || again.Seq != c1.Seq {
		t.Fatalf("recommitting a batch: %+v, %v", again, err)
	}
	for _, tc := range []struct {
		name string
		req  txlog.CommitRequest
		want string
	}{
		{"retire not live", txlog.CommitRequest{Stream: "s", BatchID: "x", Retires: []txlog.FileRef{fakeEntry("s", "nope").Ref()}, Tables: tablesOf("s")}, "not live"},
		{"add live", txlog.CommitRequest{Stream: "s", BatchID: "x", Adds: []txlog.FileEntry{fakeEntry("s", "a")}, Tables: tablesOf("s")}, "already live"},
		{"not uploaded", txlog.CommitRequest{Stream: "s", BatchID: "x", Adds: []txlog.FileEntry{fakeEntry("s", "never-uploaded")}, Tables: tablesOf("s")}, "not in the store"},
		{"wrong size", txlog.CommitRequest{Stream: "s", BatchID: "x", Adds: []txlog.FileEntry{{Table: "t_s.attendance_raw", Key: fakeEntry("s", "zzz").Key, Bytes: 7}}, Tables: tablesOf("s")}, "1 bytes in the store, the commit says 7"},
		{"other stream's partition", txlog.CommitRequest{Stream: "s", BatchID: "x", Adds: []txlog.FileEntry{fakeEntry("other", "o")}, Tables: tablesOf("other")}, "owned by stream other"},
		{"real table, other team", txlog.CommitRequest{Stream: "nhl/clone", BatchID: "x", Adds: []txlog.FileEntry{{Table: "archtics.cust", Key: "archtics/cust/team=arena/part-x.parquet"}}}, "owned by stream arena/clone"},
		{"outside the table folder", txlog.CommitRequest{Stream: "nhl/clone", BatchID: "x", Adds: []txlog.FileEntry{{Table: "archtics.cust", Key: "archtics/event/team=nhl/part-x.parquet"}}}, "not under archtics.cust's folder"},
		{"path and entry disagree", txlog.CommitRequest{Stream: "nhl/clone", BatchID: "x", Adds: []txlog.FileEntry{{Table: "archtics.cust", Key: "archtics/cust/team=nhl/p.parquet", Partition: map[string]string{"team": "arena"}}}}, "its path says"},
		{"watermark backwards", txlog.CommitRequest{Stream: "s", BatchID: "x", Watermark: txlog.Watermark{To: ts(9)}}, "backwards"},
		{"watermark not a time", txlog.CommitRequest{Stream: "s", BatchID: "x", Watermark: txlog.Watermark{To: "cursor-7"}}, "not an RFC 3339 instant"},
		{"unknown table", txlog.CommitRequest{Stream: "s", BatchID: "x", Adds: []txlog.FileEntry{{Table: "x.y", Key: "x/y/z"}}}, "unknown table"},
		{"stale expect", txlog.CommitRequest{Stream: "s", BatchID: "x", ExpectSeq: 1}, "another writer"},
		{"bad stream", txlog.CommitRequest{Stream: "_log", BatchID: "x"}, "stream name"},
	} {
		_, err := w.Commit(ctx, tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// Empty watermark keeps the stream's.
	c2, err := w.Commit(ctx, txlog.CommitRequest{Stream: "s", BatchID: "b2", Retires: []txlog.FileRef{fakeEntry("s", "a").Ref()}, Tables: tablesOf("s")})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Watermark.To != ts(10) {
		t.Fatalf("compaction commit watermark %+v", c2.Watermark)
	}
}

func TestLog(t *testing.T) {
	w := fileLog(t, t.TempDir())
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		for _, s := range []string{"a", "b"} {
			if _, err := w.Commit(ctx, txlog.CommitRequest{Stream: s, BatchID: strconv.Itoa(i), Adds: putFake(t, w, fakeEntry(s, s+strconv.Itoa(i))), Tables: tablesOf(s)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	err := w.Commits(ctx, txlog.LogQuery{Limit: 4}, func(c *txlog.Commit) error {
		got = append(got, fmt.Sprintf("%s:%d", c.Stream, c.Seq))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b:5", "a:5", "b:4", "a:4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("log %v, want %v", got, want)
	}
	got = nil
	w.Commits(ctx, txlog.LogQuery{Stream: "a"}, func(c *txlog.Commit) error { got = append(got, fmt.Sprint(c.Seq)); return nil })
	if strings.Join(got, ",") != "5,4,3,2,1" {
		t.Fatalf("log of a: %v", got)
	}
}
