package realtime

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"archtics/simulator"
	"archtics/storage/storagetest"
)

// BenchmarkTick times one tick that pulls, filters, enriches and commits
// every scan of the doubleheader's day at once (a first tick at 23:59,
// when every window has opened and the seed's query still lists the
// day's events: the largest tick the day can make), for both
// teams, against the simulator on loopback and a local warehouse. The
// sizes are the simulator's presets (tickets per event set the crowd).
// The 10,000 / 100,000 / 1,000,000-scan ticks are BenchmarkTickScans.
func BenchmarkTick(b *testing.B) {
	for _, bc := range []struct {
		name    string
		tickets int
	}{{"small", 0}, {"tickets-2000", 2000}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := simulator.SmallConfig()
			if bc.tickets > 0 {
				cfg.TicketsPerEvent = bc.tickets
			}
			g := newGameDay(b, cfg, "")
			loc := g.world.Location()
			cut := g.world.Cutoff().In(loc)
			at := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 23, 59, 0, 0, loc)
			var scans int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				g.w.Now = nil
				b.StartTimer()
				for _, team := range g.world.Teams() {
					rep := g.tick(b, team, at.Add(time.Duration(i)*time.Second), TickOptions{})
					scans += rep.Pulled
				}
			}
			b.ReportMetric(float64(scans)/float64(b.N), "scans/op")
			b.ReportMetric(float64(scans)/b.Elapsed().Seconds(), "scans/s")
		})
	}
}

// BenchmarkTickScans times one tick end to end at the sizes:
// 10,000, 100,000 and 1,000,000 feed rows pulled in one tick, then
// filtered, enriched from the clone (the holder join, the names) and
// committed, against the simulator's feed on loopback and, when
// AWS_ENDPOINT_URL is set (make bench), a warehouse on the S3 endpoint
// (else a local folder). The world is the league preset cut to one team
// whose league night (Config.LeagueNight events at 19:00 the day after the
// cutoff, the crowd pouring in) is as large as the size asks; the tick is
// the stream's first, at 23:59 that night, so it pulls every row the feed
// delivered for the night's events by then in one tick. Building the
// world, its dump and the clone is not timed; each iteration gets a fresh
// warehouse (use -benchtime 1x).
func BenchmarkTickScans(b *testing.B) {
	for _, bc := range []struct {
		name           string
		night, tickets int // league-night events, seat blocks each (about 2.9 feed rows per block)
	}{{"10k", 1, 3_500}, {"100k", 3, 11_500}, {"1M", 25, 14_000}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := simulator.LeagueConfig()
			cfg.Teams = cfg.Teams[:1]
			cfg.LeagueNight = bc.night
			cfg.TicketsPerEvent = bc.tickets
			var scans, kept int64
			var elapsed, cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				location := ""
				if storagetest.HaveS3() {
					location = storagetest.S3Location(b, fmt.Sprintf("tickbench-%s-%d", bc.name, i))
				}
				g := newGameDay(b, cfg, location)
				team := g.world.Teams()[0]
				loc := g.world.Location()
				cut := g.world.Cutoff().In(loc)
				at := time.Date(cut.Year(), cut.Month(), cut.Day()+1, 23, 59, 0, 0, loc)
				g.clock.Set(at)
				events := g.selected(team, at)
				runtime.GC()
				b.StartTimer()
				start, cpu0 := time.Now(), processCPU()
				rep, err := Tick(context.Background(), g.w, g.cli, team, at, events, TickOptions{Logger: quietLogger, CacheDir: g.cache})
				if err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				cpu += processCPU() - cpu0
				scans += rep.Pulled
				kept += rep.Kept
				if i == 0 {
					b.Logf("%s: %d events, %d feed rows pulled, %d kept, holders %v, took %v", bc.name, len(rep.Events), rep.Pulled, rep.Kept, rep.Holders, rep.Took)
				}
			}
			b.ReportMetric(float64(scans)/float64(b.N), "scans/op")
			b.ReportMetric(float64(kept)/float64(b.N), "kept/op")
			b.ReportMetric(float64(scans)/elapsed.Seconds(), "scans/s")
			// The CPU the process spent in the tick (the feed's server
			// included: it runs in this process), which the machine's other
			// load does not inflate the way it does the wall clock.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
