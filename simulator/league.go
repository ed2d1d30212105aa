package simulator

import (
	"fmt"
	"sort"
	"time"
)

// LeagueConfig is the realtime benchmark's preset, a league night: sixteen
// hockey databases, each with four extra games at 19:00 the day after the
// cutoff (Config.LeagueNight), 14,000 seat blocks each and the crowd
// pouring in when the gates open, so one three-minute tick of the feed
// delivers over a million scans. Accounts and the rest of the season are
// small; use it with NewWorldLazy, which never builds the ticket table
// unless asked.
func LeagueConfig() Config {
	c := DefaultConfig()
	c.Teams = nil
	for i := 1; i <= 16; i++ {
		c.Teams = append(c.Teams, TeamSpec{Name: fmt.Sprintf("club%02d", i), Kind: KindHockey})
	}
	c.Seasons = 1
	c.EventsPerSeason = 3
	c.Accounts = 5000
	c.TicketsPerEvent = 14_000
	c.LeagueNight = 4
	c.DaysAfterCutoff = 2
	return c
}

// TickLength is the realtime integration's period: "We ingest new data
// every three minutes."
const TickLength = 3 * time.Minute

// Tick is one three-minute tick of the feed: what it delivered in
// (End-TickLength, End].
type Tick struct {
	End      time.Time
	Rows     int // feed rows delivered, redeliveries and rejected scans included
	Accepted int // of which accepted (S and 0, once each), window or not
	Events   int // events with rows in the tick
}

// BusiestTick returns the tick, on the grid of three-minute multiples of
// the Unix epoch, in which the feed delivers the most rows across every
// team's events starting in [from, to). It generates those events' scans.
func (w *World) BusiestTick(from, to time.Time) Tick {
	step := int64(TickLength / time.Second)
	type acc struct{ rows, accepted int }
	per := map[int64]*acc{}
	evs := map[int64]map[string]bool{}
	for _, team := range w.teams {
		for _, e := range w.ScanEvents(team) {
			if e.Start.Before(from) || !e.Start.Before(to) {
				continue
			}
			es := w.eventScans(team, e.EventID)
			for k := range es.ents {
				x := &es.ents[k]
				end := -floorDiv(-x.deliv, step) * step // the tick (end-step, end] holding deliv
				a := per[end]
				if a == nil {
					a = &acc{}
					per[end] = a
					evs[end] = map[string]bool{}
				}
				a.rows++
				if x.accepted() {
					a.accepted++
				}
				evs[end][es.tg.name+"/"+es.idStr] = true
			}
		}
	}
	ends := make([]int64, 0, len(per))
	for e := range per {
		ends = append(ends, e)
	}
	sort.Slice(ends, func(a, b int) bool { return ends[a] < ends[b] })
	var best Tick
	for _, e := range ends {
		if a := per[e]; a.rows > best.Rows {
			best = Tick{End: time.Unix(e, 0).UTC(), Rows: a.rows, Accepted: a.accepted, Events: len(evs[e])}
		}
	}
	return best
}
