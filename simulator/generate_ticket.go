package simulator

import "strconv"

const texBase = 500_000_000

// ticketDelta is what a version of a ticket row changes.
type ticketDelta struct {
	upd, com int64
	status   byte // 'A' active, 'R' returned
	price    int64
	kind     int8 // order on ties: the bulk keeps its exact second
}

// ticketEnt is one sold seat block and its versions.
type ticketEnt struct {
	seq       int64
	row       rowInfo
	seat      int32
	last      int32
	buyer     int32 // account index (resolved at sale time)
	priceCode string
	order     int64
	add       int64
	vers      [5]ticketDelta
	nv        int
	returned  bool  // no exchange activity, no scans: returned, or the sale voided
	gone      int64 // the row is deleted then (voided, purged), 0 never (deletes.go)
}

// texEnt is one Ticket Exchange activity on (part of) a block.
type texEnt struct {
	id         int64
	block      int
	seat, last int32
	owner      int32 // account index before the activity
	acct       int32 // account index after
	activity   byte  // 'R' resale, 'F' forward
	price      int64 // cents per seat; -1 NULL
	email      string
	upd, com   int64
	gone       int64 // a cancelled posting's row is deleted then (deletes.go)
}

type eventTickets struct {
	te     int // index in ticketEvents
	ev     *eventSpec
	first  int64 // global ticket row index of block 0
	blocks []ticketEnt
	tex    []texEnt
	// texCancelled: postings cancelled before they completed; they never
	// change who holds a seat, so holderAt does not see them (deletes.go).
	texCancelled []texEnt
}

var blockSizes = []int32{1, 2, 3, 4, 5, 6, 8, 10}
var blockSizeWeights = []float64{10, 38, 12, 22, 5, 6, 4, 3}
var tierPrice = [5]int64{0, 14000, 9500, 4500, 3000}

// genTickets generates the blocks of ticket event te and their exchange
// activity into et (buffers reused). Blocks are laid out in seat order, so
// no two blocks of an event share a seat.
func (tg *teamGen) genTickets(te int, et *eventTickets) {
	g := tg.g
	c := g.clock
	ei := tg.ticketEvents[te]
	ev := &tg.events[ei]
	lay := tg.layouts[ev.layout]
	et.te, et.ev, et.first = te, ev, tg.ticketStart[te]
	et.blocks = et.blocks[:0]
	et.tex = et.tex[:0]
	var r, rd rng
	r.seed(g.cfg.Seed, uint64(tg.ti), kTickets, uint64(te))
	rd.seed(g.cfg.Seed, uint64(tg.ti), kDelete, 1<<40|uint64(te))
	saleHi := min(ev.start-3600, g.end)
	seasonShare := 0.1
	if ev.kind == evGame || ev.kind == evPreseason {
		seasonShare = 0.35
	}
	straddle := map[int]bool{}
	if ei == tg.straddleEvent {
		for _, b := range tg.straddleBlocks {
			straddle[b] = true
		}
	}
	B := ev.blocks
	ri, si := 0, int32(0)
	for b := 0; b < B; b++ {
		size := blockSizes[r.weighted(blockSizeWeights)]
		if ev.layout == lyParking {
			size = 1
		}
		// Spread the blocks over the venue: skip unsold seats while there
		// is room to spare for the blocks still to place.
		left := int64(B - b)
		if slack := lay.seatsFrom(ri, si) - left*4; slack > 0 {
			gap := r.int63n(2*slack/left + 1)
			for gap > 0 {
				rw := lay.row(ri)
				if int64(rw.seats-si) > gap {
					si += int32(gap)
					break
				}
				gap -= int64(rw.seats - si)
				ri, si = ri+1, 0
			}
		}
		if si+size > lay.row(ri).seats {
			ri, si = ri+1, 0
		}
		rw := lay.row(ri)
		if size > rw.seats {
			size = rw.seats
		}
		t := ticketEnt{seq: ticketBase + et.first + int64(b), row: rw, seat: si + 1, last: si + size}
		si += size
		// Buyer and sale.
		if b > 0 && r.chance(0.12) {
			// Same order as the previous block: same buyer, same second.
			p := &et.blocks[b-1]
			t.buyer, t.add, t.order, t.priceCode = p.buyer, p.add, p.order, p.priceCode
		} else {
			season := r.chance(seasonShare) && ev.early > 0
			if season {
				t.add = c.rand(&r, ev.early, min(ev.early+30*daySec, saleHi))
				t.buyer = tg.buyerAt(&r, t.add, 0.9)
				t.priceCode = "A"
			} else {
				t.add = c.rand(&r, ev.onsale, saleHi)
				t.buyer = tg.buyerAt(&r, t.add, 0.25)
				t.priceCode = "C"
				if tg.acctType[t.buyer] == atSTH || tg.acctType[t.buyer] == atPartial {
					t.priceCode = "B"
				}
			}
			t.order = orderBase + et.first + int64(b)
			switch {
			case tg.acctType[t.buyer] == atComp:
				t.priceCode = "Z"
			case ev.layout == lyParking:
				t.priceCode = "P"
			case size >= 8:
				t.priceCode = "G"
			}
		}
		price := int64(float64(tierPrice[rw.tier])*ev.priceMul) / 100 * 100
		switch t.priceCode {
		case "A":
			price = price * 85 / 100 / 100 * 100
		case "G":
			price = price * 80 / 100 / 100 * 100
		case "Z":
			price = 0
		}
		t.vers[0] = ticketDelta{upd: t.add, com: t.add, status: 'A', price: price}
		if r.chance(0.004) {
			t.vers[0].com += int64(r.between(2, 240))
		}
		t.nv = 1
		if saleHi > t.add+daySec && r.chance(0.03) {
			t.vers[t.nv] = ticketDelta{upd: c.rand(&r, t.add+daySec, saleHi), status: 'R', price: price, kind: 1}
			t.nv++
			t.returned = true
		}
		if saleHi > t.add+3600 && r.chance(0.03) {
			t.vers[t.nv] = ticketDelta{upd: c.rand(&r, t.add+3600, saleHi), status: 'A', price: price * 9 / 10, kind: 2}
			t.nv++
		}
		if straddle[b] && t.add < g.cutoff-10 {
			// Updated seconds before the cutoff, committed seconds after.
			t.vers[t.nv] = ticketDelta{upd: g.cutoff - int64(r.between(1, 9)), com: g.cutoff + int64(r.between(3, 30)), status: 'A', price: price - 500, kind: 3}
			t.nv++
		}
		if ei == tg.ticketBulkEvent && t.add < tg.ticketBulkAt {
			// The event was moved: every ticket re-issued by one job.
			t.vers[t.nv] = ticketDelta{upd: tg.ticketBulkAt, com: tg.ticketBulkAt, status: 'A', price: price, kind: 0}
			t.nv++
		}
		t.finishVersions()
		tg.deleteTicket(&rd, &t, saleHi)
		et.blocks = append(et.blocks, t)
	}
	tg.genTex(et)
}

// finishVersions orders versions 1.. by time, keeps upd strictly
// increasing and commits non-decreasing, and carries status and price
// forward (a return stays a return).
func (t *ticketEnt) finishVersions() {
	v := t.vers[1:t.nv]
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && (v[j].upd < v[j-1].upd || v[j].upd == v[j-1].upd && v[j].kind < v[j-1].kind); j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	returned := false
	for k := 1; k < t.nv; k++ {
		p, d := &t.vers[k-1], &t.vers[k]
		if d.upd <= p.upd {
			d.upd = p.upd + 1
		}
		if d.com < d.upd {
			d.com = d.upd
		}
		if d.com < p.com {
			d.com = p.com
		}
		if d.status == 'R' {
			returned = true
		}
		if returned {
			d.status = 'R'
		}
		if d.kind == 1 || d.kind == 0 {
			d.price = p.price
		}
	}
}

// versionAt returns the newest version committed at or before t, -1 if none.
func (t *ticketEnt) versionAt(asOf int64) int {
	v := -1
	for k := 0; k < t.nv; k++ {
		if t.vers[k].com <= asOf {
			v = k
		}
	}
	return v
}

func (tg *teamGen) genTex(et *eventTickets) {
	g := tg.g
	c := g.clock
	ev := et.ev
	var r rng
	r.seed(g.cfg.Seed, uint64(tg.ti), kTex, uint64(et.te))
	hi := min(ev.start-3600, g.end)
	p := 0.08
	if ev.realtime {
		p = 0.15
	}
	for b := range et.blocks {
		t := &et.blocks[b]
		if !r.chance(p) || t.returned || hi < t.add+4*3600 {
			continue
		}
		seat, last := t.seat, t.last
		holder := t.buyer
		at := t.add + 3600
		for k := int64(0); k < 4; k++ {
			if hi < at+3600 {
				break
			}
			when := c.rand(&r, at, hi)
			if last > seat && r.chance(0.35) {
				s := seat + int32(r.intn(int(last-seat+1)))
				e := s + int32(r.intn(int(last-s+1)))
				seat, last = s, e
			}
			owner := tg.resolve(holder, when)
			next := tg.buyerAt(&r, when, 0.1)
			if next == owner {
				break
			}
			x := texEnt{id: texBase + (et.first+int64(b))*4 + k, block: b, seat: seat, last: last, owner: owner, acct: next, upd: when, com: when, price: -1}
			if r.chance(0.45) {
				x.activity = 'R'
				x.price = int64(float64(t.vers[0].price)*(0.6+1.6*r.float())) / 100 * 100
			} else {
				x.activity = 'F'
				pt, pi := tg.personOf(next)
				x.email = g.personalEmailOf(pt, pi)
				if r.chance(0.2) {
					x.email = mixCase(&r, x.email)
				}
			}
			if r.chance(0.004) {
				x.com += int64(r.between(2, 240))
			}
			et.tex = append(et.tex, x)
			holder, at = next, when+1
			if !r.chance(0.25) {
				break
			}
		}
	}
	tg.genCancelledPostings(et, hi)
}

func (tg *teamGen) emitTicket(s sink, et *eventTickets, t *ticketEnt, v int, buyer int32) {
	d := &t.vers[v]
	s.str(tg.name)
	s.i64(t.seq)
	s.i64(int64(et.ev.id))
	s.str(et.ev.name)
	s.i64(int64(t.row.sectionID))
	s.str(t.row.section)
	s.i64(int64(t.row.rowID))
	s.str(t.row.rowName)
	s.i64(int64(t.seat))
	s.i64(int64(t.last))
	s.i64(int64(t.last - t.seat + 1))
	s.i64(int64(acctID(buyer)))
	s.str(string(d.status))
	s.str(t.priceCode)
	s.money(d.price)
	s.i64(t.order)
	s.ts(t.add)
	s.ts(d.upd)
}

func (tg *teamGen) emitTex(s sink, et *eventTickets, x *texEnt, owner, acct int32) {
	b := &et.blocks[x.block]
	s.str(tg.name)
	s.i64(x.id)
	s.i64(int64(et.ev.id))
	s.str(b.row.section)
	s.str(b.row.rowName)
	s.i64(int64(x.seat))
	s.i64(int64(x.last))
	s.i64(int64(x.last - x.seat + 1))
	s.i64(int64(acctID(owner)))
	s.i64(int64(acctID(acct)))
	if x.activity == 'R' {
		s.str("R")
		s.str("TE Resale")
	} else {
		s.str("F")
		s.str("Ticket Forward")
	}
	if x.price < 0 {
		s.null()
	} else {
		s.money(x.price)
	}
	s.str(x.email)
	s.ts(x.upd)
	s.ts(x.upd)
}

func ticketKey(team string, seq int64) string { return team + "|" + strconv.FormatInt(seq, 10) }
func texKey(team string, id int64) string     { return team + "|" + strconv.FormatInt(id, 10) }
