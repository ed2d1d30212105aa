package simulator

import (
	"context"
	"testing"
	"time"
)

// BenchmarkDump writes the benchmark-size dump (1,000,000 accounts, about
// 20,000,000 ticket rows) to a temporary folder. Run it with
// go test -run '^$' -bench Dump -benchtime 1x ./simulator/ (make bench).
func BenchmarkDump(b *testing.B) {
	cfg := BenchConfig()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		m, err := WriteDump(context.Background(), cfg, DirDest(dir), nil)
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start).Seconds()
		var rows, bytes, tickets, cust int64
		for _, f := range m.Files {
			rows += f.Rows
			bytes += f.Bytes
			switch f.Table {
			case "ticket":
				tickets += f.Rows
			case "cust":
				cust += f.Rows
			}
		}
		b.ReportMetric(float64(rows)/elapsed, "rows/s")
		b.ReportMetric(float64(bytes)/elapsed/1e6, "MB/s")
		b.ReportMetric(float64(tickets), "ticket-rows")
		b.ReportMetric(float64(cust), "cust-rows")
		b.ReportMetric(elapsed, "s/dump")
	}
}
