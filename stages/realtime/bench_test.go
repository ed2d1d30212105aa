package realtime

import (
	"testing"
	"time"

	"archtics/simulator"
)

// BenchmarkTick times one tick that pulls, filters, enriches and commits
// every scan of the doubleheader's day at once (a first tick at 23:59,
// when every window has opened and the seed's query still lists the
// day's events: the largest tick the day can make), for both
// teams, against the simulator on loopback and a local warehouse. The
// sizes are the simulator's presets (tickets per event set the crowd).
// Not yet the 10,000 / 100,000 / 1,000,000 scans: see the README.
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
