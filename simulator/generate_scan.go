package simulator

import (
	"sort"
	"strconv"
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

// scanEnt is one row of the realtime feed.
type scanEnt struct {
	section, rowName string
	seat             int32 // 0: empty
	acct             int32 // account index, -1 NULL
	scanType         string
	result           string
	action           int64 // instant of the scan
	gate             string
	channel          byte
	access           string
	deliv            int64 // when the feed delivers it
	seq              int64
	redelivery       bool // a retrying feed sent this row twice: same seq_num
	order            int  // generation order, for stable sorting
}

// accepted reports whether the scan is one the integration keeps.
func (s *scanEnt) accepted() bool {
	return s.result == ResultOK && s.scanType == ScanStandard && !s.redelivery
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

// genScans generates the feed of event ei in delivery order with seq_num
// assigned; nil if the event sells no tickets.
func (tg *teamGen) genScans(ei int) ([]scanEnt, *eventTickets) {
	te := tg.ticketEventOf(ei)
	if te < 0 {
		return nil, nil
	}
	g := tg.g
	et := &eventTickets{}
	tg.genTickets(te, et)
	ev := et.ev
	var r rng
	r.seed(g.cfg.Seed, uint64(tg.ti), kScans, uint64(ei))
	gates := gatesHockey
	if tg.kind == KindArena {
		gates = gatesArena
	}
	var out []scanEnt
	add := func(s scanEnt) {
		s.order = len(out)
		lag := int64(r.between(3, 75))
		if r.chance(0.03) {
			lag = int64(r.between(120, 600)) // the feed hiccups
		}
		s.deliv = s.action + lag
		out = append(out, s)
	}
	pBlock := min(1, g.cfg.AttendanceRate/0.95)
	attendees := 0
	for b := range et.blocks {
		t := &et.blocks[b]
		if t.returned || !r.chance(pBlock) {
			continue
		}
		// The party arrives together: most up to 90 minutes early, some late.
		var arrive int64
		if r.chance(0.88) {
			arrive = ev.start - int64((r.float()+r.float())/2*90*60)
		} else {
			arrive = ev.start + int64(r.float()*r.float()*50*60)
		}
		gate := gates[int(t.row.sectionID)%len(gates)]
		if r.chance(0.15) {
			gate = pick(&r, gates)
		}
		for seat := t.seat; seat <= t.last; seat++ {
			if !r.chance(0.95) {
				continue
			}
			attendees++
			at := arrive + int64(r.intn(90))
			acct, how := tg.holderAt(et, b, seat, at)
			s := scanEnt{section: t.row.section, rowName: t.row.rowName, seat: seat, acct: acct, scanType: ScanStandard,
				result: ResultOK, action: at, gate: gate}
			switch x := r.float(); {
			case x < 0.78:
				s.channel = 'M'
			case x < 0.93:
				s.channel = 'P'
			default:
				s.channel = 'C'
			}
			switch {
			case how == 'R':
				s.access = "RESALE"
			case how == 'F':
				s.access = "FORWARD"
			case t.priceCode == "A" || t.priceCode == "B":
				s.access = "SEASON"
			case t.priceCode == "Z":
				s.access = "COMP"
			case t.priceCode == "G":
				s.access = "GROUP"
			default:
				s.access = "SINGLE"
			}
			if r.chance(0.015) {
				s.scanType = ScanManual
			}
			add(s)
			if r.chance(0.02) {
				d := s
				d.scanType, d.result = ScanStandard, ResultDuplicate
				d.action = at + int64(r.between(20, 2400))
				add(d)
			}
			if r.chance(0.04) {
				x := s
				x.scanType = ScanExit
				x.action = at + int64(r.between(20*60, 120*60))
				add(x)
				if r.chance(0.7) {
					re := s
					re.scanType = ScanReentry
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
		s := scanEnt{acct: -1, scanType: ScanStandard, gate: pick(&r, gates), channel: 'M',
			action: ev.start - int64(r.intn(90*60)), access: "SINGLE"}
		if k < nWrong {
			s.result = ResultWrongEvent
			s.section, s.rowName, s.seat = t.row.section, t.row.rowName, t.seat
		} else {
			s.result, s.channel, s.access = ResultInvalid, 'P', ""
		}
		add(s)
	}
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
	return final, et
}

func (tg *teamGen) ticketEventOf(ei int) int {
	start := sort.SearchInts(tg.ticketEvents, ei)
	if start < len(tg.ticketEvents) && tg.ticketEvents[start] == ei {
		return start
	}
	return -1
}

func (tg *teamGen) emitScan(s sink, ev *eventSpec, x *scanEnt, f *tsFmt) {
	s.str(tg.name)
	s.i64(int64(ev.id))
	s.str(ev.name)
	s.date(ev.date)
	s.str(x.section)
	s.str(x.rowName)
	if x.seat > 0 {
		s.str(strconv.Itoa(int(x.seat)))
	} else {
		s.str("")
	}
	if x.acct >= 0 {
		s.i64(int64(acctID(x.acct)))
	} else {
		s.null()
	}
	s.str(x.scanType)
	s.str(x.result)
	s.str(string(appendClock(nil, f.localTOD(x.action))))
	s.str(x.gate)
	s.str(string(x.channel))
	s.str(x.access)
	if x.channel == 'M' {
		s.str("Y")
	} else {
		s.str("N")
	}
	s.i64(x.seq)
	s.ts(x.deliv)
}
