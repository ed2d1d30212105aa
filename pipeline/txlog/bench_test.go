package txlog_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"archtics/pipeline/txlog"
	"archtics/pipeline/txlog/txlogtest"
	"archtics/storage/storagetest"
)

// BenchmarkLog drives one realtime-like stream through the given number
// of commits on a simulated clock (a tick every three minutes, 480 a day),
// each adding a file; once a simulated day the day's tick files are rolled
// into one (retiring 480) and files older than seven days are retired. It
// reports what the issue asks to stay flat as the log grows: the time of
// a commit (which opens the head first) and of opening the stream fresh,
// and the size of the newest checkpoint with seven days of retention.
func BenchmarkLog(b *testing.B) {
	type size struct {
		backend string
		commits int
	}
	for _, sz := range []size{{"file", 1000}, {"file", 5000}, {"file", 10000}, {"s3", 1000}} {
		b.Run(fmt.Sprintf("%s/commits=%d", sz.backend, sz.commits), func(b *testing.B) {
			w := txlog.New(txlogtest.OpenBackend(b, sz.backend, "txlog"), testLogger)
			for i := 0; i < b.N; i++ {
				benchLog(b, w, sz.commits)
			}
		})
	}
}

func benchLog(b *testing.B, w *txlog.Log, commits int) {
	ctx := context.Background()
	const stream = "nhl/realtime"
	clock := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	w.Now = func() time.Time { return clock }
	tables := tablesOf(stream)
	type dayFile struct {
		e   txlog.FileEntry
		day int
	}
	var today []txlog.FileEntry
	var rolled []dayFile
	var lastCommits time.Duration
	measured := 0
	for i := 1; i <= commits; i++ {
		clock = clock.Add(3 * time.Minute)
		req := txlog.CommitRequest{Stream: stream, Stage: "tick", BatchID: fmt.Sprint("tick-", i), Tables: tables,
			Watermark: txlog.Watermark{To: clock.Format(time.RFC3339)},
			Adds:      putFake(b, w, fakeEntry(stream, fmt.Sprintf("tick-%06d.parquet", i)))}
		day := i / 480
		if i%480 == 0 {
			// The day's rollup: its tick files become one file.
			roll := fakeEntry(stream, fmt.Sprintf("day-%04d.parquet", day))
			putFake(b, w, roll)
			for _, e := range today {
				req.Retires = append(req.Retires, e.Ref())
			}
			req.Adds = append(req.Adds, roll)
			today = today[:0]
			// Seven days: the oldest rolled day expires.
			for len(rolled) > 0 && rolled[0].day < day-7 {
				req.Retires = append(req.Retires, rolled[0].e.Ref())
				rolled = rolled[1:]
			}
			rolled = append(rolled, dayFile{roll, day})
		} else {
			today = append(today, req.Adds[0])
		}
		start := time.Now()
		if _, err := w.Commit(ctx, req); err != nil {
			b.Fatal(err)
		}
		if i > commits-100 {
			lastCommits += time.Since(start)
			measured++
		}
	}
	cs := &storagetest.CountingStore{Store: w.Store}
	fresh := txlog.New(cs, testLogger)
	const opens = 20
	start := time.Now()
	var st *txlog.StreamState
	for i := 0; i < opens; i++ {
		var err error
		if st, err = fresh.Stream(ctx, stream); err != nil || st.Seq != int64(commits) {
			b.Fatalf("open: %v, %v", st, err)
		}
	}
	open := time.Since(start) / opens
	info, err := w.Store.Stat(ctx, txlog.CheckpointKey(stream, st.CheckpointSeq))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(lastCommits.Microseconds())/float64(measured)/1000, "commit-ms")
	b.ReportMetric(float64(open.Microseconds())/1000, "open-ms")
	b.ReportMetric(float64(len(cs.Reset()))/opens, "gets/open")
	b.ReportMetric(float64(info.Size)/1024, "checkpoint-KiB")
	b.ReportMetric(float64(st.LiveFiles()), "live-files")
	b.ReportMetric(float64(len(st.Retired)), "tombstones")
	b.ReportMetric(float64(len(st.Batches)), "batch-ids")
}
