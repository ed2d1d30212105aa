package changes

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/simulator"
)

var errEnough = errors.New("enough rows")

// BenchmarkPull pulls 1,000,000 changed ticket rows through the client
// over loopback from the real simulator server, pages of 10,000, the
// versions streamed to a consumer that keeps none of them (the
// warehouse's writer will take its place). It reports rows/s and the
// growth of the live heap (after a forced GC at 10%, 50% and 90% of the
// rows) over the heap before the pull, the in-process server's pinned
// snapshot included; the GCs are not timed. The target is 1,000,000 rows in at
// most 30 s with memory bounded by page and batch sizes.
func BenchmarkPull(b *testing.B) {
	const want = 1_000_000
	cfg := simulator.SmallConfig()
	cfg.Teams = []simulator.TeamSpec{{Name: "nhl", Kind: simulator.KindHockey}}
	cfg.Accounts = 20000
	cfg.Seasons = 3
	cfg.EventsPerSeason = 60
	cfg.TicketsPerEvent = 6000
	f := newFixture(b, cfg)
	f.clock.Set(f.world.End())
	since := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // every version: the first large incremental
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base, live := ms.HeapAlloc, ms.HeapAlloc
		b.StartTimer()
		start := time.Now()
		var rows int64
		var paused time.Duration
		_, err := Pull(ctx, f.cli, "nhl", schemas.Ticket, since.Add(DefaultOverlap), Options{PageSize: MaxPageSize, Location: f.loc}, func(vs []Version) error {
			rows += int64(len(vs))
			if n := rows / MaxPageSize; n == 10 || n == 50 || n == 90 {
				// The live heap a tenth, half and nine tenths of the way:
				// it must not grow with the rows pulled.
				b.StopTimer()
				t0 := time.Now()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				live = max(live, ms.HeapAlloc)
				paused += time.Since(t0)
				b.StartTimer()
			}
			if rows >= want {
				return errEnough
			}
			return nil
		})
		if !errors.Is(err, errEnough) {
			b.Fatalf("pulled %d rows (want %d): %v", rows, want, err)
		}
		el := time.Since(start) - paused
		b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
		b.ReportMetric(float64(int64(live)-int64(base))/(1<<20), "live-heap-growth-MiB")
	}
}
