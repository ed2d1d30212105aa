package simulator

import (
	"math"
	"sort"
)

// Scan codes. Archtics' public documents only name result_code 0
// (successful entry) and scan_type 'S' (standard gate scanner); the rest
// are this simulator's choices.
const (
	ScanStandard = "S" // standard gate scanner: the only type the integration keeps
	ScanExit     = "X" // exit scan
	ScanReentry  = "R" // re-entry after an exit
	ScanManual   = "M" // manual entry keyed by staff

	ResultOK         = "0"  // successful entry
	ResultDuplicate  = "14" // ticket already used (a shared screenshot, a second try)
	ResultWrongEvent = "21" // ticket for another event
	ResultInvalid    = "3"  // barcode not recognised: no seat, no account
)

// A scan keeps its codes as indexes into these tables, so a league
// night's millions of scans take 48 bytes each; the feed's strings are
// made only for the rows a call serves.
var (
	scanTypeCodes = []string{ScanStandard, ScanExit, ScanReentry, ScanManual}
	resultCodes   = []string{ResultOK, ResultDuplicate, ResultWrongEvent, ResultInvalid}
	accessCodes   = []string{"", "SEASON", "SINGLE", "GROUP", "COMP", "RESALE", "FORWARD", "STAFF"}
)

const (
	stStandard uint8 = iota
	stExit
	stReentry
	stManual
)

const (
	rcOK uint8 = iota
	rcDuplicate
	rcWrongEvent
	rcInvalid
)

const (
	acNone uint8 = iota
	acSeason
	acSingle
	acGroup
	acComp
	acResale
	acForward
	acStaff
)

// Stream kinds of the realtime window's hard cases, apart from the
// generator's own list so the two never collide.
const (
	kScanExtra uint64 = 101 + iota
	kHardDays
	kFeedOutage     // which feed events lose scans, and when (generate_attendance.go)
	kAttendancePost // when Archtics posts an event's scans
	kRevalidation   // which feed events an offline scanner re-validates (feed_revalidation.go)
)

// Realtime window (the seed: from five hours before the event's start to
// six hours after it) and how long the feed keeps an event.
const (
	WindowBefore = 5 * 3600
	WindowAfter  = 6 * 3600
	FeedKeepDays = 7
)

// scanEnt is one row of the realtime feed.
type scanEnt struct {
	action     int64 // instant of the scan
	deliv      int64 // when the feed delivers it
	seq        int64
	acct       int32 // account index, -1 NULL
	row        int32 // venue row (index in the event's layout), -1 none
	seat       int32 // 0: none
	order      int32 // generation order, for stable sorting
	scanType   uint8 // index in scanTypeCodes
	result     uint8 // index in resultCodes
	access     uint8 // index in accessCodes
	gate       uint8 // index in the team's gates
	channel    byte
	redelivery bool // a retrying feed sent this row twice: same seq_num
	lost       bool // a feed outage lost it: only archtics.attendance has it
}

// accepted reports whether the scan is one the integration keeps.
func (s *scanEnt) accepted() bool {
	return s.result == rcOK && s.scanType == stStandard && !s.redelivery
}

// inWindow reports whether the scan instant is in the event's realtime
// window [start-5h, start+6h], both ends included.
func (s *scanEnt) inWindow(ev *eventSpec) bool {
	return s.action >= ev.start-WindowBefore && s.action <= ev.start+WindowAfter
}

// holderAt returns the account holding seat of block b at t: the buyer,
// or the last exchange activity committed by t, resolved through merges.
func (tg *teamGen) holderAt(et *eventTickets, b int, seat int32, t int64) (int32, byte) {
	h := et.blocks[b].buyer
	var how byte
	// tex is in block order, each block's activity in time order.
	for i := sort.Search(len(et.tex), func(i int) bool { return et.tex[i].block >= b }); i < len(et.tex) && et.tex[i].block == b; i++ {
		x := &et.tex[i]
		if x.com <= t && seat >= x.seat && seat <= x.last {
			h, how = x.acct, x.activity
		}
	}
	return tg.resolve(h, t), how
}

func (tg *teamGen) gates() []string {
	if tg.kind == KindArena {
		return gatesArena
	}
	return gatesHockey
}

// rowIndex is the position of a venue row in its layout (see layout.row).
func (l *layout) rowIndex(ri rowInfo) int32 {
	if ri.rowID >= 100000 {
		return int32(len(l.rows)) + ri.rowID - 100000
	}
	return ri.rowID - 1
}

// accessOf is the access_type of a seat of block t reached through how.
func accessOf(t *ticketEnt, how byte) uint8 {
	switch {
	case how == 'R':
		return acResale
	case how == 'F':
		return acForward
	case t.priceCode == "A" || t.priceCode == "B":
		return acSeason
	case t.priceCode == "Z":
		return acComp
	case t.priceCode == "G":
		return acGroup
	}
	return acSingle
}

// genScans generates the scans of event ei in delivery order with
// seq_num assigned, the ones a feed outage lost marked (see scansOf); nil
// if the event sells no tickets.
func (tg *teamGen) genScans(ei int) ([]scanEnt, *eventTickets) {
	te := tg.ticketEventOf(ei)
	if te < 0 {
		return nil, nil
	}
	et := &eventTickets{}
	tg.genTickets(te, et)
	return tg.scansOf(et), et
}

// scansOf generates every scan of the event whose tickets et holds: the
// rows the realtime feed delivers, in delivery order with seq_num
// assigned and redeliveries repeated, and the scans a feed outage lost
// (lost set: Archtics recorded them, numbered in the same sequence, but
// the feed never serves them).
func (tg *teamGen) scansOf(et *eventTickets) []scanEnt {
	g := tg.g
	ev := et.ev
	ei := ev.idx
	lay := tg.layouts[ev.layout]
	var r rng
	r.seed(g.cfg.Seed, uint64(tg.ti), kScans, uint64(ei))
	gates := tg.gates()
	out := make([]scanEnt, 0, len(et.blocks)*3)
	addLag := func(s scanEnt, lag int64) {
		s.order = int32(len(out))
		s.deliv = s.action + lag
		out = append(out, s)
	}
	add := func(s scanEnt) {
		lag := int64(r.between(3, 75))
		if r.chance(0.03) {
			lag = int64(r.between(120, 600)) // the feed hiccups
		}
		addLag(s, lag)
	}
	// The realtime window's hard cases draw from their own stream.
	var xr rng
	xr.seed(g.cfg.Seed, uint64(tg.ti), kScanExtra, uint64(ei))
	gatesOpen := ev.start - 45*60
	pBlock := min(1, g.cfg.AttendanceRate/0.95)
	attendees := 0
	var idle []int // sold blocks nobody scanned: seats for the hard cases
	for b := range et.blocks {
		t := &et.blocks[b]
		if t.returned {
			continue
		}
		if !r.chance(pBlock) {
			idle = append(idle, b)
			continue
		}
		// The party arrives together: most up to 90 minutes early, some late.
		var arrive int64
		spread := 90
		switch {
		case ev.rush && xr.chance(0.55):
			// A league night: the crowd waits outside and pours in the
			// minute the gates open.
			arrive = gatesOpen + int64(-math.Log(1-xr.float())*40)
			spread = 20
		case ev.lateNight && xr.chance(0.12):
			// A late show: a crowd comes after midnight, up to and past
			// the window's end.
			arrive = ev.start + 3*3600 + xr.int63n(4*3600)
		case r.chance(0.88):
			arrive = ev.start - int64((r.float()+r.float())/2*90*60)
		default:
			arrive = ev.start + int64(r.float()*r.float()*50*60)
		}
		if ev.rush && arrive < gatesOpen {
			arrive = gatesOpen + xr.int63n(600)
		}
		gate := int(t.row.sectionID) % len(gates)
		if r.chance(0.15) {
			gate = r.intn(len(gates))
		}
		rowIdx := lay.rowIndex(t.row)
		for seat := t.seat; seat <= t.last; seat++ {
			if !r.chance(0.95) {
				continue
			}
			attendees++
			at := arrive + int64(r.intn(spread))
			acct, how := tg.holderAt(et, b, seat, at)
			s := scanEnt{row: rowIdx, seat: seat, acct: acct, scanType: stStandard,
				result: rcOK, action: at, gate: uint8(gate), access: accessOf(t, how)}
			switch x := r.float(); {
			case x < 0.78:
				s.channel = 'M'
			case x < 0.93:
				s.channel = 'P'
			default:
				s.channel = 'C'
			}
			if r.chance(0.015) {
				s.scanType = stManual
			}
			add(s)
			if r.chance(0.02) {
				d := s
				d.scanType, d.result = stStandard, rcDuplicate
				d.action = at + int64(r.between(20, 2400))
				add(d)
			}
			if r.chance(0.04) {
				x := s
				x.scanType = stExit
				x.action = at + int64(r.between(20*60, 120*60))
				add(x)
				if r.chance(0.7) {
					re := s
					re.scanType = stReentry
					re.action = x.action + int64(r.between(5*60, 30*60))
					add(re)
				}
			}
		}
	}
	// Rejected strangers: tickets for other events, unreadable barcodes.
	nWrong, nInvalid := attendees*3/1000+1, attendees*5/1000+1
	for k := 0; k < nWrong+nInvalid && len(et.blocks) > 0; k++ {
		t := &et.blocks[r.intn(len(et.blocks))]
		s := scanEnt{acct: -1, row: -1, scanType: stStandard, gate: uint8(r.intn(len(gates))), channel: 'M',
			action: ev.start - int64(r.intn(90*60)), access: acSingle}
		if k < nWrong {
			s.result = rcWrongEvent
			s.row, s.seat = lay.rowIndex(t.row), t.seat
		} else {
			s.result, s.channel, s.access = rcInvalid, 'P', acNone
		}
		add(s)
	}
	tg.windowCases(&xr, et, idle, attendees, addLag)
	sort.Slice(out, func(a, b int) bool {
		if out[a].deliv != out[b].deliv {
			return out[a].deliv < out[b].deliv
		}
		return out[a].order < out[b].order
	})
	// seq_num follows delivery order; a retrying feed sends some rows twice,
	// back to back, with the same seq_num.
	base := int64(ev.id) * 1_000_000
	final := make([]scanEnt, 0, len(out)+len(out)/50)
	for i := range out {
		out[i].seq = base + int64(i) + 1
		final = append(final, out[i])
		if r.chance(0.01) {
			d := out[i]
			d.redelivery = true
			final = append(final, d)
		}
	}
	if from, to, ok := tg.feedOutage(ev); ok {
		for i := range final {
			final[i].lost = final[i].deliv >= from && final[i].deliv < to
		}
	}
	return final
}

// windowCases adds the accepted scans (S and 0) a realtime integration
// must sort by the window rather than take: staff and early-access entries
// before start-5h, late entries after start+6h at a long event, scans
// exactly on both edges and one second past the end, entries of the
// window's last minutes that the feed delivers minutes late (after the
// window closed, in a later tick), and for a misdated event the next
// morning's scans. Seats come from sold blocks nobody else scanned.
func (tg *teamGen) windowCases(r *rng, et *eventTickets, idle []int, attendees int, add func(scanEnt, int64)) {
	ev := et.ev
	if !ev.realtime || len(et.blocks) == 0 {
		return
	}
	lay := tg.layouts[ev.layout]
	gates := tg.gates()
	n := max(2, attendees/300)
	lag := func() int64 { return int64(r.between(3, 75)) }
	// entry is an accepted scan at instant at: a seat of an idle block
	// (its holder then), or, when none is left or for staff, a staff
	// credential without seat or account.
	entry := func(at int64, staff bool) scanEnt {
		s := scanEnt{action: at, acct: -1, row: -1, scanType: stStandard, result: rcOK,
			gate: uint8(r.intn(len(gates))), channel: 'C', access: acStaff}
		if staff || len(idle) == 0 {
			return s
		}
		k := r.intn(len(idle))
		b := idle[k]
		idle[k] = idle[len(idle)-1]
		idle = idle[:len(idle)-1]
		t := &et.blocks[b]
		acct, how := tg.holderAt(et, b, t.seat, at)
		s.row, s.seat, s.acct, s.access, s.channel = lay.rowIndex(t.row), t.seat, acct, accessOf(t, how), 'M'
		return s
	}
	open, end := ev.start-WindowBefore, ev.start+WindowAfter
	for k := 0; k < n; k++ {
		// Staff and early access, up to two hours before the window opens.
		add(entry(open-1-r.int63n(2*3600), k%2 == 0), lag())
		// Inside the opening half hour.
		add(entry(open+r.int63n(1800), k%2 == 0), lag())
		// Late entries at a long event, up to 90 minutes after it closes.
		add(entry(end+1+r.int63n(5400), false), lag())
	}
	// The edges: both ends are in the window, a second later is not.
	add(entry(open, true), lag())
	add(entry(end, false), lag())
	add(entry(end+1, false), lag())
	// The window's last four minutes, delivered 3-6 minutes after it
	// closed: past the tick that holds the window's end, in a later one.
	for k := 0; k < n/2+2; k++ {
		at := end - r.int63n(240)
		add(entry(at, false), end-at+int64(r.between(181, 360)))
	}
	if ev.misdated {
		// The event ran the next morning too (a misdated event): its
		// scans then are outside the window of the date it carries.
		c := tg.g.clock
		morning := c.mid[c.dayIndex(ev.start)+1] + 8*3600
		for k := 0; k < 3*n; k++ {
			add(entry(morning+r.int63n(150*60), false), lag())
		}
	}
}

func (tg *teamGen) ticketEventOf(ei int) int {
	start := sort.SearchInts(tg.ticketEvents, ei)
	if start < len(tg.ticketEvents) && tg.ticketEvents[start] == ei {
		return start
	}
	return -1
}
