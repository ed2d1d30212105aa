package pipeline

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/pipeline/txlog/txlogtest"
	"archtics/schemas"
)

const benchRows = 1_000_000

// BenchmarkWriteAttendance writes one million attendance rows (2 teams x
// 3 event dates, realistic strings) and uploads the files: the hot path of
// a realtime tick or a clone, end to end except the commit.
func BenchmarkWriteAttendance(b *testing.B) {
	recs := scangen.Default().Batches(benchRows, 64*1024, 0) // generated up front, not timed
	defer scangen.ReleaseAll(recs)
	for _, backend := range txlogtest.Backends {
		b.Run(backend, func(b *testing.B) {
			var bytes int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				w := New(txlogtest.OpenBackend(b, backend, "pipeline"), testLogger)
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

func writeAttendance(b *testing.B, w *Warehouse, batch string, recs []arrow.RecordBatch) []txlog.FileEntry {
	tw, err := NewTableWriter(w, schemas.RTXAttendanceRaw, batch)
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
