package clone

import (
	"cmp"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"archtics/ats"
	"archtics/internal/benchproc"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/txlog"
	"archtics/simulator"
	"archtics/stages/changes"
)

// BenchmarkLargeIncremental is the first large incremental of issue 8:
// a clone whose watermark is years back pulls every version since, about
// a million rows, from the simulator's change API on loopback (pages of
// 10,000), writes them to change partitions and commits them with the
// new watermark, in one run. The clone starts from a commit holding only
// the watermark and the zone (no dump rows), so what is timed is the
// pull, the conversion, the Parquet writing and the commit; the sweep is
// off (its cost grows with the table, not the changes: the README gives
// it separately). Peak heap is sampled every 10 ms: it must stay bounded
// by the page and record-batch sizes, not grow with the rows pulled.
func BenchmarkLargeIncremental(b *testing.B) {
	ctx := context.Background()
	cfg := simulator.DefaultConfig()
	team := "nhl"
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		b.Fatal(err)
	}
	// The simulator runs in its own process (the product's `simulate
	// serve`), so the heap measured here is the incremental's alone.
	// ARCHTICS_BENCH_INCR_ACCOUNTS and _TICKETS scale it (150,000 and
	// 6,000: about 1.2 M rows), to see that the peak heap does not follow
	// the rows.
	accounts := cmp.Or(os.Getenv("ARCHTICS_BENCH_INCR_ACCOUNTS"), "150000")
	tickets := cmp.Or(os.Getenv("ARCHTICS_BENCH_INCR_TICKETS"), "6000")
	url := serveSimulator(b, "--teams", team, "--accounts", accounts, "--tickets-per-event", tickets,
		"--clock-speed", "0", "--clock-start", cfg.Cutoff.Add(24*time.Hour).Format(time.RFC3339))
	src := ats.New(url, "bench")
	start := cfg.Cutoff.AddDate(-12, 0, 0) // before any row: every version is a change

	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, err := pipelinetest.Open(ctx, b.TempDir(), quietLogger)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Commit(ctx, txlog.CommitRequest{
			Stream: CloneStream(team), Stage: "load-dump", BatchID: "bench-start",
			Watermark: txlog.Watermark{To: start.UTC().Format(time.RFC3339)},
			Cursors:   map[string]string{TimeZoneCursor: loc.String()},
		}); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := benchproc.SampleHeap(10*time.Millisecond, benchproc.HeapInuse, &peak)
		b.StartTimer()
		began := time.Now()
		rep, err := Incremental(ctx, w, src, team, IncrementalOptions{
			Pull:       changes.Options{Location: loc, PageSize: changes.MaxPageSize},
			SweepEvery: -1,
			CacheDir:   b.TempDir(),
			Logger:     quietLogger,
		})
		took := time.Since(began)
		b.StopTimer()
		stop()
		if err != nil {
			b.Fatal(err)
		}
		if rep.Commit == nil || rep.Upserts == 0 {
			b.Fatalf("the large incremental committed nothing (%+v)", rep)
		}
		b.ReportMetric(float64(rep.Upserts), "rows")
		b.ReportMetric(float64(rep.Upserts)/took.Seconds(), "rows/s")
		b.ReportMetric(float64(rep.Pages), "pages")
		b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
		b.StartTimer()
	}
}

// serveSimulator builds the binary, starts `archtics simulate serve` with
// args on a free loopback port (token "bench") and returns its base URL
// once it is up; the process is killed when the benchmark ends.
func serveSimulator(b *testing.B, args ...string) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "archtics")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/archtics").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return benchproc.StartSimulator(b, bin, "bench", args...).URL
}
