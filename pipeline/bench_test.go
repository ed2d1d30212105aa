package pipeline

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"archtics/schemas"
)

const benchRows = 1_000_000

// BenchmarkWriteAttendance writes one million attendance rows (2 teams x
// 3 event dates, realistic strings) and uploads the files: the hot path of
// a realtime tick or a clone, end to end except the commit.
func BenchmarkWriteAttendance(b *testing.B) {
	recs := defaultGen().batches(benchRows, 64*1024, 0) // generated up front, not timed
	defer releaseAll(recs)
	for _, bc := range backends() {
		b.Run(bc.name, func(b *testing.B) {
			var bytes int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				w := bc.open(b)
				b.StartTimer()
				files := writeAttendance(b, w, fmt.Sprint("bench-", i), recs)
				bytes = 0
				for _, f := range files {
					bytes += f.Bytes
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(benchRows/sec, "rows/s")
			b.ReportMetric(float64(arrowBytes(recs))/1e6/sec, "arrow-MB/s")
			b.ReportMetric(float64(bytes)/1e6/sec, "MB/s")
			b.ReportMetric(float64(bytes)/1e6, "MB")
		})
	}
}

// arrowBytes is the in-memory size of the input: the data the writer
// encodes per second is arrow-MB/s; MB/s is the Parquet written.
func arrowBytes(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		for _, c := range r.Columns() {
			for _, buf := range c.Data().Buffers() {
				if buf != nil {
					n += int64(buf.Len())
				}
			}
		}
	}
	return n
}

func writeAttendance(b *testing.B, w *Warehouse, batch string, recs []arrow.RecordBatch) []FileEntry {
	tw, err := NewTableWriter(w, schemas.RTXAttendance, batch)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if err := tw.Write(r); err != nil {
			b.Fatal(err)
		}
	}
	files, err := tw.Close(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return files
}

// BenchmarkOpenStream opens a stream of 500 commits (checkpointed every
// CheckpointEvery), each adding a file: the cost every commit and every
// reader pays to learn the head.
func BenchmarkOpenStream(b *testing.B) {
	for _, bc := range backends() {
		b.Run(bc.name, func(b *testing.B) {
			w := bc.open(b)
			ctx := context.Background()
			const commits = 505 // ends 5 commits after a checkpoint
			for i := 1; i <= commits; i++ {
				if _, err := w.Commit(ctx, CommitRequest{Stream: "nhl/realtime", BatchID: fmt.Sprint("t", i),
					Watermark: Watermark{To: fmt.Sprint(i)}, Adds: []FileEntry{fakeEntry(fmt.Sprintf("f%04d", i))}}); err != nil {
					b.Fatal(err)
				}
			}
			cs := &countingStore{Store: w.Store}
			fresh := &Warehouse{Store: cs, Logger: testLogger}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st, err := fresh.Stream(ctx, "nhl/realtime")
				if err != nil || st.Seq != commits {
					b.Fatalf("open: seq %v, %v", st, err)
				}
			}
			b.ReportMetric(float64(len(cs.reset()))/float64(b.N), "gets/op")
		})
	}
}
