package simulator

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// Event kinds.
const (
	evGame = iota
	evPreseason
	evPlan
	evTest
	evConcert
	evFamily
	evParking
	evSports // the arena's college basketball game (hard_days.go)
)

// Venue layouts.
const (
	lyBowl = iota
	lyFloor
	lyParking
)

// ticketFactor scales TicketsPerEvent by kind: parking sells far fewer.
var ticketFactor = map[int]float64{evGame: 1, evPreseason: 0.6, evConcert: 0.9, evFamily: 0.7, evParking: 0.15, evSports: 0.6}

type eventSpec struct {
	idx      int
	id       int32
	kind     int
	name     string
	date     int32 // local date, days since epoch
	day      string
	tod      int // local start, seconds of the day
	start    int64
	planAbv  string
	planType string
	enabled  bool
	total    int32
	season   string
	seasonID int32
	long, tm string
	gameNo   int32
	etype    string
	major    string
	minor    string
	add      int64
	upds     []int64 // later versions (a promotion renames event_name_long)
	onsale   int64   // single tickets on sale
	early    int64   // season ticket holders buy from here
	blocks   int     // ticket rows; 0: no tickets
	realtime bool    // the realtime scan feed covers it
	layout   int
	priceMul float64
	parent   int // parking: the concert it serves, -1 otherwise
	opp      string

	// Realtime hard cases (hard_days.go): a crowd after midnight (a late
	// show, the nights clocks change), scans the next morning (a misdated
	// event), a rush when the gates open (a league night).
	lateNight, misdated, rush bool
}

var promos = []string{"Hockey Fights Cancer Night", "Military Appreciation Night", "Fan Appreciation Night",
	"Teddy Bear Toss", "Heritage Night", "Pride Night", "Bobblehead Giveaway", "Kids Day"}

// initSchedule builds every event of the team: a pure function of the
// config, computed once per generator (a few hundred events).
func (tg *teamGen) initSchedule() {
	g := tg.g
	c := g.clock
	loc := g.loc
	cut := time.Unix(g.cutoff, 0).In(loc)
	curY := seasonYear(cut)
	var all []eventSpec
	for s := 0; s < g.cfg.Seasons; s++ {
		y := curY - g.cfg.Seasons + 1 + s
		r := newRNG(g.cfg.Seed, uint64(tg.ti), kSchedule, uint64(y))
		var evs []eventSpec
		if tg.kind == KindHockey {
			evs = tg.hockeySeason(r, y)
		} else {
			evs = tg.arenaSeason(r, y)
		}
		if y == curY {
			tg.forceNearCutoff(r, evs)
		}
		evs = tg.placeHardDays(evs, y, y == curY)
		for i := range evs {
			e := &evs[i]
			t := time.Unix(int64(e.date)*daySec, 0).UTC()
			e.start = c.at(t.Year(), t.Month(), t.Day(), e.tod/3600, e.tod/60%60, 0)
		}
		for i := range evs {
			if p := evs[i].parent; p >= 0 {
				evs[i].date, evs[i].tod = evs[p].date, evs[p].tod-2*3600
				evs[i].start = evs[p].start - 2*3600
			}
		}
		// Chronological, plans and test rows first: event ids follow it.
		order := make([]int, len(evs))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool {
			ea, eb := &evs[order[a]], &evs[order[b]]
			fa, fb := ea.kind == evPlan || ea.kind == evTest, eb.kind == evPlan || eb.kind == evTest
			if fa != fb {
				return fa
			}
			return ea.start < eb.start
		})
		used := map[string]bool{}
		game := int32(0)
		for _, i := range order {
			e := evs[i]
			e.parent = -1
			if e.kind == evGame {
				game++
				e.gameNo = game
			}
			e.name = tg.eventName(&e, y)
			for used[e.name] {
				e.name += "B"
			}
			used[e.name] = true
			tg.finishEvent(r, &e)
			if e.add > g.end {
				continue // not announced yet
			}
			all = append(all, e)
		}
	}
	for i := range all {
		all[i].idx = i
		all[i].id = eventBase + int32(i)
	}
	tg.events = all
	tg.addDSTVersions()
	// Ticket index space and venue sizes.
	maxBlocks := [3]int{}
	tg.ticketStart = []int64{0}
	for i := range tg.events {
		e := &tg.events[i]
		if e.blocks == 0 {
			continue
		}
		tg.ticketEvents = append(tg.ticketEvents, i)
		tg.ticketStart = append(tg.ticketStart, tg.ticketStart[len(tg.ticketStart)-1]+int64(e.blocks))
		maxBlocks[e.layout] = max(maxBlocks[e.layout], e.blocks)
	}
	for ly := range tg.layouts {
		tg.layouts[ly] = newLayout(ly, maxBlocks[ly])
	}
}

func dateOf(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / daySec)
}

func weekday(date int32) time.Weekday { return time.Unix(int64(date)*daySec, 0).UTC().Weekday() }

func (tg *teamGen) hockeySeason(r *rng, y int) []eventSpec {
	n := tg.g.cfg.EventsPerSeason
	var evs []eventSpec
	pre := 0
	if n >= 10 {
		pre = 2
	}
	season := strconv.Itoa(y) + "-" + strconv.Itoa((y+1)%100) + " Hockey Season"
	base := eventSpec{season: season, seasonID: int32(y*10 + tg.ti), enabled: true, total: 1,
		major: "SPORTS", minor: "NHL PRO HOCKEY", layout: lyBowl, priceMul: 1, parent: -1}
	for i := 0; i < pre; i++ {
		e := base
		e.kind, e.etype = evPreseason, "Preseason"
		e.date, e.tod = dateOf(y, time.September, 22+6*i), 19*3600
		e.opp = pick(r, opponents)
		evs = append(evs, e)
	}
	regular := n - pre
	first := dateOf(y, time.October, 8)
	span := float64(dateOf(y+1, time.April, 12) - first)
	for g := 0; g < regular; g++ {
		e := base
		e.kind, e.etype = evGame, "Game"
		e.date = first + int32((float64(g)+0.8*r.float())*span/float64(regular))
		e.tod = tg.gameTime(r, e.date)
		e.opp = pick(r, opponents)
		e.priceMul = 0.85 + 0.4*r.float()
		evs = append(evs, e)
	}
	for _, p := range []struct {
		abv, typ string
		total    int32
	}{{"FULL", "F", int32(regular)}, {"HALF", "H", int32(regular / 2)}} {
		e := base
		e.kind, e.etype, e.planAbv, e.planType, e.total = evPlan, "Plan", p.abv, p.typ, p.total
		e.date, e.tod = first, 19*3600
		evs = append(evs, e)
	}
	t := base
	t.kind, t.etype, t.enabled = evTest, "Test", false
	t.major, t.minor = "MISCELLANEOUS", "TEST EVENT"
	t.date, t.tod = dateOf(y, time.August, 1), 12*3600
	return append(evs, t)
}

func (tg *teamGen) gameTime(r *rng, date int32) int {
	switch weekday(date) {
	case time.Saturday:
		if r.chance(0.3) {
			return 13 * 3600
		}
		return 19 * 3600
	case time.Sunday:
		if r.chance(0.5) {
			return 13 * 3600
		}
		return 17 * 3600
	}
	if r.chance(0.25) {
		return 19*3600 + 1800
	}
	return 19 * 3600
}

func (tg *teamGen) arenaSeason(r *rng, y int) []eventSpec {
	n := tg.g.cfg.EventsPerSeason
	season := strconv.Itoa(y) + "-" + strconv.Itoa((y+1)%100) + " Arena Events"
	base := eventSpec{season: season, seasonID: int32(y*10 + tg.ti), enabled: true, total: 1, parent: -1, priceMul: 1}
	first := dateOf(y, time.August, 1)
	var evs []eventSpec
	lastConcert := -1
	for k := 0; len(evs) < n; k++ {
		e := base
		kind := []int{evConcert, evFamily, evParking}[r.weighted([]float64{55, 25, 20})]
		if kind == evParking && lastConcert < 0 {
			kind = evConcert
		}
		e.kind = kind
		e.date = first + int32((float64(len(evs))+0.9*r.float())*365/float64(n))
		switch kind {
		case evConcert:
			e.etype, e.major, e.minor, e.layout = "Concert", "CONCERTS", pick(r, concertGenres), lyFloor
			e.opp = pick(r, concertActs)
			e.tod = 20 * 3600
			if r.chance(0.3) {
				e.tod = 19*3600 + 1800
			}
			e.priceMul = 1.1 + 0.6*r.float()
			lastConcert = len(evs)
		case evFamily:
			e.etype, e.major, e.minor, e.layout = "Family Show", "FAMILY", "FAMILY SHOW", lyBowl
			e.opp = pick(r, familyShows)
			e.tod = []int{11 * 3600, 15 * 3600, 19 * 3600}[r.intn(3)]
			e.priceMul = 0.55
		case evParking:
			e.etype, e.major, e.minor, e.layout = "Parking", "PARKING", "PARKING LOT", lyParking
			e.parent = lastConcert
			e.opp = evs[lastConcert].opp
			lastConcert = -1
		}
		evs = append(evs, e)
	}
	t := base
	t.kind, t.etype, t.enabled, t.layout = evTest, "Test", false, lyBowl
	t.major, t.minor = "MISCELLANEOUS", "TEST EVENT"
	t.date, t.tod = first, 12*3600
	return append(evs, t)
}

// forceNearCutoff moves events onto the days around the cutoff, so the
// realtime feed has events in the week it covers, one on the cutoff day
// itself (starting after the cutoff), and some after it.
func (tg *teamGen) forceNearCutoff(r *rng, evs []eventSpec) {
	g := tg.g
	cutDate := g.clock.date(g.cutoff)
	endDate := g.clock.date(g.end)
	targets := []int32{cutDate - 2, cutDate, cutDate + 2, cutDate + 5}
	want := evGame
	if tg.kind == KindArena {
		targets = []int32{cutDate - 3, cutDate + 1, cutDate + 4}
		want = evConcert
	}
	forced := map[int]bool{}
	for _, d := range targets {
		if d > endDate+1 {
			continue
		}
		best := -1
		for i := range evs {
			if evs[i].kind != want || forced[i] {
				continue
			}
			if best < 0 || abs32(evs[i].date-d) < abs32(evs[best].date-d) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		forced[best] = true
		evs[best].date = d
		if want == evGame {
			evs[best].tod = tg.gameTime(r, d)
		}
		if d == cutDate && evs[best].tod < 18*3600 {
			evs[best].tod = 19 * 3600 // starts after the noon cutoff
		}
	}
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func (tg *teamGen) eventName(e *eventSpec, y int) string {
	yy := strconv.Itoa((y + 1) % 100)
	if len(yy) == 1 {
		yy = "0" + yy
	}
	t := time.Unix(int64(e.date)*daySec, 0).UTC()
	mmdd := string(append2(append2(nil, int(t.Month())), t.Day()))
	switch e.kind {
	case evGame:
		return yy + "NHL" + mmdd
	case evPreseason:
		return yy + "PRE" + mmdd
	case evPlan:
		return yy + e.planAbv
	case evTest:
		return yy + "TEST"
	case evConcert:
		return yy + "CON" + mmdd
	case evFamily:
		return yy + "FAM" + mmdd
	case evSports:
		return yy + "BKB" + mmdd
	}
	return yy + "PRK" + mmdd
}

func (tg *teamGen) finishEvent(r *rng, e *eventSpec) {
	g, c := tg.g, tg.g.clock
	t := time.Unix(int64(e.date)*daySec, 0).UTC()
	e.day = t.Weekday().String()
	y := seasonYear(t)
	if e.kind == evPlan {
		y = int(e.seasonID / 10)
	}
	const team = "Harbor City Ice Hawks"
	switch e.kind {
	case evGame, evPreseason:
		e.tm = "Ice Hawks vs. " + e.opp
		e.long = team + " vs. " + e.opp
		if e.kind == evPreseason {
			e.long += " (Preseason)"
		}
	case evPlan:
		e.tm = strconv.Itoa(y) + "-" + strconv.Itoa((y+1)%100) + " " + map[string]string{"F": "Full Season", "H": "Half Season"}[e.planType]
		e.long = team + " " + e.tm + " Plan"
	case evTest:
		e.tm, e.long = "TEST EVENT", "TEST EVENT - DO NOT SELL"
	case evConcert:
		e.tm = e.opp
		e.long = e.opp + " - " + strconv.Itoa(t.Year()) + " Tour"
	case evFamily:
		e.tm, e.long = e.opp, e.opp
	case evSports:
		e.tm, e.long = e.opp, e.opp+" (College Basketball)"
	case evParking:
		e.tm = "Parking - " + e.opp
		e.long = "PARKING: " + e.opp + " - Harborview Garage"
	}
	// Announcement and on-sale.
	switch e.kind {
	case evGame, evPreseason, evTest:
		e.add = c.at(y, time.June, 25, 10, 0, 0) + int64(r.intn(3600))
		e.early = e.add + 3600
		e.onsale = c.at(y, time.August, 20, 10, 0, 0)
	case evPlan:
		e.add = c.at(y, time.February, 1, 10, 0, 0) + int64(r.intn(3600))
	default:
		lead := int64(r.between(60, 180)) * daySec
		e.add = c.rand(r, e.start-lead, e.start-lead+daySec)
		os := time.Unix(e.add, 0).In(g.loc).AddDate(0, 0, 7)
		e.onsale = c.at(os.Year(), os.Month(), os.Day(), 10, 0, 0)
		e.early = e.onsale
	}
	if e.add < g.origin {
		e.add = g.origin
	}
	// Promotion renames: later versions of the row.
	hi := min(e.start, g.end)
	for k := 0; k < 2 && r.chance(0.4) && hi > e.add+daySec; k++ {
		e.upds = append(e.upds, c.rand(r, e.add+3600, hi))
	}
	sortInt64(e.upds)
	for k := 1; k < len(e.upds); k++ {
		if e.upds[k] <= e.upds[k-1] {
			e.upds[k] = e.upds[k-1] + 1
		}
	}
	if f, ok := ticketFactor[e.kind]; ok && e.enabled && e.onsale > 0 && e.onsale < min(e.start, g.end)-3600 {
		e.blocks = max(1, int(math.Round(float64(g.cfg.TicketsPerEvent)*f)))
	}
	e.realtime = e.enabled && e.total == 1 && (e.major == "SPORTS" || e.major == "CONCERTS")
}

func sortInt64(s []int64) { sort.Slice(s, func(a, b int) bool { return s[a] < s[b] }) }

// emitEvent writes version v (0 = insert) of event e in schemas.Event order.
func (tg *teamGen) emitEvent(s sink, e *eventSpec, v int) {
	s.str(tg.name)
	s.i64(int64(e.id))
	s.str(e.name)
	s.date(e.date)
	s.str(string(appendClock(nil, e.tod)))
	s.str(e.day)
	s.str(e.planAbv)
	s.str(e.planType)
	if e.enabled {
		s.str("Y")
	} else {
		s.str("N")
	}
	s.i64(int64(e.total))
	s.str(e.season)
	s.i64(int64(e.seasonID))
	long := e.long
	if v > 0 {
		long += " - " + promos[(int(e.id)+v)%len(promos)]
	}
	s.str(long)
	s.str(e.tm)
	i32OrNull(s, e.gameNo)
	s.str(e.etype)
	s.str("Harborview Arena")
	s.str(e.major)
	s.str(e.minor)
	s.ts(e.add)
	if v == 0 {
		s.ts(e.add)
	} else {
		s.ts(e.upds[v-1])
	}
}

// eventVersionAt returns the newest version of e updated at or before t
// (-1: the event did not exist yet). Event versions commit when updated.
func (e *eventSpec) versionAt(t int64) int {
	if e.add > t {
		return -1
	}
	v := 0
	for k, u := range e.upds {
		if u <= t {
			v = k + 1
		}
	}
	return v
}

// --- Venue ------------------------------------------------------------------

type rowInfo struct {
	sectionID int32
	section   string
	rowID     int32
	rowName   string
	seats     int32
	tier      uint8 // 1 lower/floor, 2 club, 3 upper, 4 parking
}

type layout struct {
	rows  []rowInfo
	cum   []int64 // seats before row i
	total int64
}

func letterRow(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return string(rune('A'+i/26-1)) + string(rune('A'+i%26))
}

// newLayout builds a venue large enough for maxBlocks blocks: the real
// bowl (sections 101-124, 201-228, 301-330), with more rows per section
// only when a benchmark asks for more blocks than the arena seats.
func newLayout(kind, maxBlocks int) *layout {
	type sec struct {
		names   []string
		rows    int
		seats   int32
		tier    uint8
		letters bool
	}
	var secs []sec
	num := func(from, to int) []string {
		var s []string
		for i := from; i <= to; i++ {
			s = append(s, strconv.Itoa(i))
		}
		return s
	}
	bowl := []sec{{num(101, 124), 20, 18, 1, true}, {num(201, 228), 12, 16, 2, false}, {num(301, 330), 16, 20, 3, true}}
	switch kind {
	case lyBowl:
		secs = bowl
	case lyFloor:
		secs = append([]sec{{[]string{"FLR A", "FLR B", "FLR C", "FLR D"}, 30, 24, 1, false}}, bowl...)
	case lyParking:
		secs = []sec{{[]string{"LOT A", "LOT B", "LOT C", "LOT D", "LOT E", "LOT F"}, 1, 400, 4, false}}
	}
	var capacity int
	for _, s := range secs {
		capacity += len(s.names) * s.rows * int(s.seats)
	}
	scale := 1
	if need := maxBlocks * 9 / 2; need > capacity {
		scale = (need + capacity - 1) / capacity
	}
	l := &layout{}
	secID := int32(0)
	for _, s := range secs {
		for _, name := range s.names {
			secID++
			rows := s.rows * scale
			seats := s.seats
			if kind == lyParking {
				rows, seats = 1, s.seats*int32(scale)
			}
			for ri := 0; ri < rows; ri++ {
				rn := strconv.Itoa(ri + 1)
				if s.letters {
					rn = letterRow(ri)
				}
				if kind == lyParking {
					rn = "GEN"
				}
				l.rows = append(l.rows, rowInfo{sectionID: secID, section: name, rowID: int32(len(l.rows) + 1), rowName: rn, seats: seats, tier: s.tier})
			}
		}
	}
	l.cum = make([]int64, len(l.rows)+1)
	for i, r := range l.rows {
		l.cum[i+1] = l.cum[i] + int64(r.seats)
	}
	l.total = l.cum[len(l.rows)]
	return l
}

// row returns row i, or a general-admission overflow row past the end (a
// safety net: the layout is sized so it is practically never used).
func (l *layout) row(i int) rowInfo {
	if i < len(l.rows) {
		return l.rows[i]
	}
	k := i - len(l.rows)
	return rowInfo{sectionID: 999, section: "GA", rowID: int32(100000 + k), rowName: strconv.Itoa(k + 1), seats: 50, tier: 3}
}

func (l *layout) seatsFrom(ri int, si int32) int64 {
	if ri >= len(l.rows) {
		return 0
	}
	return l.total - l.cum[ri] - int64(si)
}
