package x

import (
	"testing"
	"time"

	"archtics/schemas"
	"archtics/simulator"
)

func TestChangeVolume(t *testing.T) {
	cfg := simulator.DefaultConfig()
	cfg.Accounts = 100_000
	cfg.TicketsPerEvent = 5000
	cfg.Teams = cfg.Teams[:1]
	cfg.Cutoff = cfg.Cutoff.Add(-120 * 24 * time.Hour)
	cfg.DaysAfterCutoff = 30
	s := time.Now()
	w, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("world in %v", time.Since(s))
	for _, days := range []int{10, 30} {
		total := 0
		s = time.Now()
		for _, team := range w.Teams() {
			for _, tbl := range schemas.SourceTables {
				n := len(w.Changes(team, tbl, w.Cutoff(), w.Cutoff().Add(time.Duration(days)*24*time.Hour)))
				t.Logf("  %s %s: %d", team, tbl.Name, n)
				total += n
			}
		}
		t.Logf("%d days: %d changes (%v)", days, total, time.Since(s))
	}
}
