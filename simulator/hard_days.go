package simulator

import (
	"sort"
	"time"
)

// HARD DAYS
//
// The schedule holds the days a realtime integration or a change pull can
// get wrong, on top of the ordinary season (see SIMULATOR CHOICES):
//
//   - a doubleheader: two hockey games on the third day after the cutoff,
//     13:00 and 19:00, so the first game's late entries fall inside the
//     second game's window and must still be dropped;
//   - a game and a concert on one day of one database: the arena's
//     college basketball game (SPORTS / NCAA BASKETBALL) at 13:00 on the
//     doubleheader's day, its concert at 20:00: a game day for both
//     databases, four selected events with overlapping windows;
//   - a late show crossing midnight: the arena's concert the day after the
//     cutoff starts at 22:00 and a crowd comes after midnight, so the
//     event's date alone puts those scans on the wrong day;
//   - a misdated event: the hockey game on the fifth day after the cutoff
//     has scans the next morning;
//   - the nights clocks change: in every season the arena holds a concert
//     at 21:00 the evening before each DST change, with a crowd after
//     midnight. On the fall-back night its scans fill both passes of the
//     repeated 01:00-02:00 hour (all inside the window, which ends at
//     02:00 EST) and run past the window's end; a window computed on wall
//     clocks (21:00 + 6 h = 03:00) keeps an hour too much. On the
//     spring-forward night the window ends at 04:00 EDT; a wall-clock
//     window (03:00) drops the scans of the last hour;
//   - activity in the hour a fall-back repeats and around a spring
//     forward: two events per change get a version at 01:40 EDT and
//     another at 01:20 EST (the newer reads earlier on the wall clock), or
//     at 01:59:30 EST and 03:00:30 EDT, as the box office's overnight
//     schedule sync touches them;
//   - a league night (Config.LeagueNight): that many extra events per
//     database at 19:00 the day after the cutoff (and the Config.LeagueDays
//     - 1 days after it), the crowd pouring in when the gates open 45
//     minutes before.
//
// Every realtime event also has accepted scans before its window opens and
// after it closes, on both edges, and at its last minutes delivered late
// (generate_scan.go, windowCases).

var collegeTeams = []string{"Harbor City U vs. State", "Harbor City U vs. Tech", "Harbor City U vs. Coastal"}

// placeHardDays moves events of season y onto the hard days and adds the
// league night's events. It runs before start instants and names are
// computed; current says y holds the cutoff.
func (tg *teamGen) placeHardDays(evs []eventSpec, y int, current bool) []eventSpec {
	g := tg.g
	r := newRNG(g.cfg.Seed, uint64(tg.ti), kHardDays, uint64(y))
	cutDate := g.clock.date(g.cutoff)
	endDate := g.clock.date(g.end)
	near := func(e *eventSpec) bool { return e.date >= cutDate-3 && e.date <= cutDate+6 }
	// nearest returns the event of kind k closest to day d that is not
	// already placed near the cutoff, -1 if none.
	nearest := func(k int, d int32, taken map[int]bool) int {
		best := -1
		for i := range evs {
			e := &evs[i]
			if e.kind != k || near(e) || taken[i] {
				continue
			}
			if best < 0 || abs32(e.date-d) < abs32(evs[best].date-d) {
				best = i
			}
		}
		return best
	}
	taken := map[int]bool{}
	if tg.kind == KindArena {
		// The nights clocks change, in every season.
		for _, d := range tg.dstDays(y) {
			if i := nearest(evConcert, d-1, taken); i >= 0 {
				taken[i] = true
				evs[i].date, evs[i].tod, evs[i].lateNight = d-1, 21*3600, true
			}
		}
	}
	if !current {
		return evs
	}
	switch tg.kind {
	case KindHockey:
		if d := cutDate + 3; d <= endDate {
			a := nearest(evGame, d, taken)
			taken[a] = true
			b := nearest(evGame, d, taken)
			if a >= 0 && b >= 0 {
				evs[a].date, evs[a].tod = d, 13*3600
				evs[b].date, evs[b].tod = d, 19*3600
			}
		}
		for i := range evs {
			if evs[i].kind == evGame && evs[i].date == cutDate+5 {
				evs[i].misdated = true
				break
			}
		}
	case KindArena:
		for i := range evs {
			if evs[i].kind == evConcert && evs[i].date == cutDate+1 {
				evs[i].tod, evs[i].lateNight = 22*3600, true
				break
			}
		}
		if d := cutDate + 3; d <= endDate {
			// The doubleheader's day: both databases play, the arena twice.
			for i := range evs {
				if evs[i].kind == evConcert && evs[i].date == cutDate+4 {
					evs[i].date, evs[i].tod = d, 20*3600
					break
				}
			}
			if i := nearest(evFamily, d, taken); i >= 0 {
				e := &evs[i]
				e.kind, e.etype, e.major, e.minor, e.layout = evSports, "College Basketball", "SPORTS", "NCAA BASKETBALL", lyBowl
				e.opp, e.date, e.tod, e.priceMul = pick(r, collegeTeams), d, 13*3600, 0.5
			}
		}
	}
	// The league night, on LeagueDays consecutive days (one when unset);
	// the first night's draws come first, so a one-night world is the
	// same as before the knob.
	for day := int32(1); day <= int32(max(1, g.cfg.LeagueDays)); day++ {
		n := g.cfg.LeagueNight
		if n == 0 || cutDate+day > endDate {
			break
		}
		kind, major, minor, typ, layout := evGame, "SPORTS", "NHL PRO HOCKEY", "Game", lyBowl
		if tg.kind == KindArena {
			kind, major, minor, typ, layout = evConcert, "CONCERTS", "ROCK/POP", "Concert", lyFloor
		}
		proto := evs[0]
		for k := 0; k < n; k++ {
			e := eventSpec{season: proto.season, seasonID: proto.seasonID, enabled: true, total: 1, parent: -1,
				kind: kind, etype: typ, major: major, minor: minor, layout: layout, priceMul: 1,
				date: cutDate + day, tod: 19 * 3600, rush: true}
			if kind == evGame {
				e.opp = pick(r, opponents)
			} else {
				e.opp = pick(r, concertActs)
			}
			evs = append(evs, e)
		}
	}
	return evs
}

// dstDays returns the local dates (days since the epoch) of the DST
// changes in season y (August to July) within the simulated time.
func (tg *teamGen) dstDays(y int) []int32 {
	g := tg.g
	var out []int32
	for _, tr := range g.transitions() {
		d := g.clock.date(tr.at)
		if d >= dateOf(y, time.August, 1) && d < dateOf(y+1, time.August, 1) {
			out = append(out, d)
		}
	}
	return out
}

// transition is a change of the client's UTC offset.
type transition struct {
	at       int64 // first instant of the new offset
	from, to int   // offsets, seconds east of UTC
}

// transitions lists the zone's offset changes from the start of history
// to a year after the end (future events are announced ahead).
func (g *generator) transitions() []transition {
	var out []transition
	t := time.Unix(g.origin, 0).In(g.loc)
	limit := g.end + 366*daySec
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Unix() > limit {
			return out
		}
		_, from := t.Zone()
		_, to := end.In(g.loc).Zone()
		if from != to {
			out = append(out, transition{at: end.Unix(), from: from, to: to})
		}
		t = end.In(g.loc)
	}
}

// addDSTVersions gives events versions in the hours clocks change: per
// change, the first two realtime events (by id) announced at least a day before it
// and starting at least a day after it, with no later version, get two:
// 20 minutes either side of a fall-back (01:40 EDT, then 01:20 EST) or 30
// seconds either side of a spring-forward (01:59:30 EST, then 03:00:30
// EDT). Both fall in the simulated time, so the change API serves them
// and the dump, if cut after, holds the second.
func (tg *teamGen) addDSTVersions() {
	g := tg.g
	for _, tr := range g.transitions() {
		if tr.at > g.end || tr.at < g.origin+daySec {
			continue
		}
		half := int64(30)
		if tr.to < tr.from {
			half = 20 * 60
		}
		a, b := tr.at-half, tr.at+half
		if b > g.end {
			continue
		}
		picked := 0
		for i := range tg.events {
			e := &tg.events[i]
			if picked == 2 {
				break
			}
			if !e.realtime || e.blocks == 0 || e.add > a-daySec || e.start < b+daySec || (len(e.upds) > 0 && e.upds[len(e.upds)-1] >= a) {
				continue
			}
			e.upds = append(e.upds, a, b)
			picked++
		}
	}
	for i := range tg.events {
		sort.Slice(tg.events[i].upds, func(a, b int) bool { return tg.events[i].upds[a] < tg.events[i].upds[b] })
	}
}
