package stages

import (
	"context"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/simulator"
	"archtics/simulator/client"
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
	cfg.Teams = cfg.Teams[:1]
	cfg.Accounts = 150_000
	cfg.TicketsPerEvent = 6000
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		b.Fatal(err)
	}
	clock := simulator.NewSimClock(world.Cutoff().Add(24 * time.Hour))
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: "bench", Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	src := client.New(hs.URL, "bench")
	team := world.Teams()[0]
	start := cfg.Cutoff.AddDate(-12, 0, 0) // before any row: every version is a change

	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, err := pipeline.Open(ctx, b.TempDir(), quietLogger)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Commit(ctx, pipeline.CommitRequest{
			Stream: CloneStream(team), Stage: "load-dump", BatchID: "bench-start",
			Watermark: pipeline.Watermark{To: start.UTC().Format(time.RFC3339)},
			Cursors:   map[string]string{TimeZoneCursor: world.Location().String()},
		}); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		done := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
				}
			}
		}()
		b.StartTimer()
		began := time.Now()
		rep, err := Incremental(ctx, w, src, team, IncrementalOptions{
			Pull:       changes.Options{Location: world.Location(), PageSize: changes.MaxPageSize},
			SweepEvery: -1,
			CacheDir:   b.TempDir(),
			Logger:     quietLogger,
		})
		took := time.Since(began)
		b.StopTimer()
		close(done)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Commit == nil || rep.Upserts < 500_000 {
			b.Fatalf("the large incremental committed %d rows (%+v): the bench wants about a million", rep.Upserts, rep)
		}
		b.ReportMetric(float64(rep.Upserts), "rows")
		b.ReportMetric(float64(rep.Upserts)/took.Seconds(), "rows/s")
		b.ReportMetric(float64(rep.Pages), "pages")
		b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
		b.StartTimer()
	}
}
