package main

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkStart times `archtics version` as a whole process, the cost
// every command pays before its work, against the floor of any program
// that links DuckDB: cmd/duckdb-sql --version, which opens no database
// (DuckDB's static initialisers and the dynamic linking of its library
// are in both). Both are built fresh and run alternately after one
// untimed run each; the p50s are reported. ARCHTICS_BENCH_RUNS sets the
// number of timed runs of each, doubled plus one (default 31): a start is short.
func BenchmarkStart(b *testing.B) {
	runs := 2*benchRuns(b) + 1
	bins := buildBenchBinaries(b)
	b.ResetTimer()
	for range b.N {
		if _, got := runProcess(b, bins.archtics, "version"); !strings.HasPrefix(got, "archtics ") {
			b.Fatalf("archtics version printed %q", got)
		}
		runProcess(b, bins.duckdb, "--version")
		var ta, td []time.Duration
		for range runs {
			d, _ := runProcess(b, bins.archtics, "version")
			ta = append(ta, d)
			d, _ = runProcess(b, bins.duckdb, "--version")
			td = append(td, d)
		}
		pa, pd := p50(ta), p50(td)
		b.ReportMetric(pa.Seconds()*1000, "archtics-p50-ms")
		b.ReportMetric(pd.Seconds()*1000, "duckdb-p50-ms")
		b.ReportMetric(pa.Seconds()/pd.Seconds(), "x-duckdb")
		b.Logf("archtics version p50 %v, duckdb-sql --version (DuckDB linked, nothing opened) p50 %v; %d runs each; archtics %v, duckdb %v",
			pa.Round(100*time.Microsecond), pd.Round(100*time.Microsecond), runs, rounded(ta), rounded(td))
	}
}
