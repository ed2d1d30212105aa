package simulator

import (
	"context"
	"testing"
	"time"

	"archtics/internal/benchproc"
)

// BenchmarkDump writes the benchmark-size dump (1,000,000 accounts, about
// 20,000,000 ticket rows, two seasons of attendance) to a temporary
// folder; cpu-s/op is this process's CPU over the dump. Run it with
// go test -run '^$' -bench Dump -benchtime 1x ./simulator/ (make bench).
func BenchmarkDump(b *testing.B) {
	cfg := BenchConfig()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start, cpu := time.Now(), benchproc.SelfCPU()
		m, err := WriteDump(context.Background(), cfg, DirDest(dir), nil)
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start).Seconds()
		cpuSec := (benchproc.SelfCPU() - cpu).Seconds()
		var rows, bytes, tickets, cust, att, attBytes int64
		for _, f := range m.Files {
			rows += f.Rows
			bytes += f.Bytes
			switch f.Table {
			case "ticket":
				tickets += f.Rows
			case "cust":
				cust += f.Rows
			case "attendance":
				att += f.Rows
				attBytes += f.Bytes
			}
		}
		b.ReportMetric(float64(rows)/elapsed, "rows/s")
		b.ReportMetric(float64(bytes)/elapsed/1e6, "MB/s")
		b.ReportMetric(float64(tickets), "ticket-rows")
		b.ReportMetric(float64(cust), "cust-rows")
		b.ReportMetric(float64(att), "attendance-rows")
		b.ReportMetric(float64(attBytes)/1e6, "attendance-MB")
		b.ReportMetric(float64(bytes)/1e6, "dump-MB")
		b.ReportMetric(cpuSec, "cpu-s/op")
		b.ReportMetric(elapsed, "s/dump")
	}
}
