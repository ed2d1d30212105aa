package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
)

// BenchmarkQueryVsDuckDB times `archtics query` against DuckDB alone on the
// same files, both as whole processes, on the bench-scale warehouse (25 M
// rows, 727 MiB), warm: the target of issue 6 is at most 1.5 times.
//
// DuckDB alone is cmd/duckdb-sql (the duckdb CLI is not installed here):
// an in-memory DuckDB running the same statement over read_parquet([the
// committed files of archtics.ticket], hive_partitioning = true). Both
// binaries are built fresh; archtics gets a cache folder of its own, whose
// first run (hashing the files it reads) is reported as well, then both run
// alternately, after one untimed warm-up each, and the p50s are reported.
//
// The warehouse is ARCHTICS_BENCH_WAREHOUSE: `make bench` builds it once in
// ./bench-data (make bench-data) and sets it. ARCHTICS_BENCH_RUNS sets the
// number of timed runs of each (default 15).
func BenchmarkQueryVsDuckDB(b *testing.B) {
	wh := os.Getenv("ARCHTICS_BENCH_WAREHOUSE")
	if wh == "" {
		b.Skip("set ARCHTICS_BENCH_WAREHOUSE to a bench-scale warehouse (make bench-data builds ./bench-data/warehouse; make bench sets it)")
	}
	runs := benchRuns(b)
	ctx := context.Background()
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := w.State(ctx)
	if err != nil {
		b.Fatal(err)
	}
	entries := st.Files(schemas.Ticket.FullName())
	if len(entries) == 0 {
		b.Fatalf("%s has no committed archtics.ticket files: rebuild it (rm -rf bench-data; make bench-data)", wh)
	}
	var files []string
	var bytesRead, rows int64
	for _, e := range entries {
		files = append(files, schemas.QuoteString(filepath.Join(w.Store.URL(), filepath.FromSlash(e.Key))))
		bytesRead += e.Bytes
		rows += e.Rows
	}
	const where = "WHERE section_name = '308'"
	archticsSQL := "SELECT count(*) FROM archtics.ticket " + where
	duckdbSQL := "SELECT count(*) FROM read_parquet([" + strings.Join(files, ", ") + "], hive_partitioning = true) " + where

	bins := buildBenchBinaries(b)
	cache := b.TempDir()
	archtics := func() (time.Duration, string) {
		return runProcess(b, bins.archtics, "--warehouse", wh, "--log-level", "warn", "query", "--cache", cache, "--format", "csv", archticsSQL)
	}
	duckdb := func() (time.Duration, string) {
		return runProcess(b, bins.duckdb, duckdbSQL)
	}

	b.ResetTimer()
	for range b.N {
		first, want := archtics() // hashes the ticket files and stamps them
		if _, got := duckdb(); got != want {
			b.Fatalf("archtics answers %q, DuckDB alone %q", want, got)
		}
		var ta, td []time.Duration
		for range runs {
			d, got := archtics()
			if got != want {
				b.Fatalf("archtics answered %q, then %q", want, got)
			}
			ta = append(ta, d)
			d, got = duckdb()
			if got != want {
				b.Fatalf("DuckDB alone answers %q, archtics %q", got, want)
			}
			td = append(td, d)
		}
		pa, pd := p50(ta), p50(td)
		b.ReportMetric(first.Seconds()*1000, "first-ms")
		b.ReportMetric(pa.Seconds()*1000, "archtics-p50-ms")
		b.ReportMetric(pd.Seconds()*1000, "duckdb-p50-ms")
		b.ReportMetric(pa.Seconds()/pd.Seconds(), "x-duckdb")
		b.Logf("%s over %d archtics.ticket files (%d rows, %.0f MiB) = %s: archtics query p50 %v (first run, hashing: %v), DuckDB alone p50 %v, ratio %.2f (target <= 1.5); %d runs each; archtics %v, duckdb %v",
			archticsSQL, len(entries), rows, float64(bytesRead)/(1<<20), want, pa.Round(time.Millisecond), first.Round(time.Millisecond),
			pd.Round(time.Millisecond), pa.Seconds()/pd.Seconds(), runs, rounded(ta), rounded(td))
	}
}

// runProcess runs a command to its end and returns its wall time and the
// last line it printed (the count).
func runProcess(b *testing.B, name string, args ...string) (time.Duration, string) {
	b.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%s", filepath.Base(name), err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return d, lines[len(lines)-1]
}

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func rounded(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprint(d.Round(time.Millisecond)))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
