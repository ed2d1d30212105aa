package simulator

import (
	"sort"
	"time"
)

// SeatHolding is one interval of one seat's holder: the truth
// archtics.ticket_holder is checked against.
type SeatHolding struct {
	Team     string
	EventID  int32
	Section  string
	Row      string
	Seat     int32
	Acct     int32     // acct_id of the holder, merges resolved as of the asOf asked
	From     time.Time // instant the holder got the seat (UTC)
	Until    time.Time // instant the next holder got it or the block was returned; zero: still holds
	Via      string    // purchase, resale or forward
	SourceID int64     // ticket_seq_id of a purchase, tex_id of a resale or forward
	// Pending: the interval comes from a Ticket Exchange posting that is
	// cancelled later (deletes.go). Archtics' tex table shows it until
	// then exactly like a completed activity, so a clone cannot tell it
	// apart, but it never changes who holds the seat: holderAt, which
	// drives the scans, ignores it.
	Pending bool
}

// holding kinds, in the order ties on the same instant are broken (the
// view's order): a sale, then an exchange activity, then a return.
const (
	holdPurchase = iota
	holdExchange
	holdReturn
)

type holdEvent struct {
	at     int64
	kind   int8
	source int64
	acct   int32 // account index, resolved
	via    string
	pend   bool
}

type seatKey struct {
	event        int32
	section, row string
	seat         int32
}

// SeatHolders returns the holder intervals of every seat of team's events
// as Archtics' tables stand at asOf: every block present then (sold,
// committed, not deleted) from its sale, every Ticket Exchange row present
// then (committed, not cancelled yet), last one wins, nobody after a
// return. Seats are ordered by event, section, row and seat, each seat's
// intervals by time.
//
// Which times. Every interval starts at a row's update time (upd: the
// sale's add_datetime, the activity's upd_datetime), the time the clone
// knows, not at its commit: about 0.4% of activities commit seconds to
// minutes late, and holderAt (the scans) hands the seat over at the
// commit, so in [upd, commit) the scan names the previous holder while
// this truth and the view name the new one.
//
// A return is dated by the update time of the first returned version of
// the block (Archtics records no return time of its own). A clone cannot
// always know it: the dump keeps one version per key, so a block returned
// and updated again before the cutoff is dated by that later update (the
// incrementals keep every version committed after the dump). seenAt lists
// the instants a clone read the ticket table (first its dump: just before
// the cutoff, as the dump holds what committed strictly before it; then
// each incremental's watermark); given, a return is dated by the earliest
// returned version among those committed after the first of them and the
// newest committed at each of them (and at asOf), which is what
// archtics.ticket_holder can know. Without seenAt, every version counts:
// the true date.
//
// Accounts are followed through the merges done by asOf to the final
// winner. Postings cancelled after asOf are included, marked Pending.
func (w *World) SeatHolders(team string, asOf time.Time, seenAt ...time.Time) []SeatHolding {
	wt := w.wt[team]
	if wt == nil {
		return nil
	}
	tg := wt.tg
	a := secFloor(asOf)
	looks := make([]int64, 0, len(seenAt)+1)
	for _, at := range seenAt {
		looks = append(looks, secFloor(at))
	}
	if len(looks) > 0 {
		looks = append(looks, a)
	}
	final := func(idx int32) int32 {
		for range 64 { // merges chain at most this deep; Archtics makes no cycles
			r := tg.resolve(idx, a)
			if r == idx {
				break
			}
			idx = r
		}
		return idx
	}
	seats := map[seatKey][]holdEvent{}
	var order []seatKey
	addEvent := func(k seatKey, e holdEvent) {
		if _, ok := seats[k]; !ok {
			order = append(order, k)
		}
		seats[k] = append(seats[k], e)
	}
	et := &eventTickets{}
	for te := range tg.ticketEvents {
		tg.genTickets(te, et)
		id := et.ev.id
		for b := range et.blocks {
			t := &et.blocks[b]
			if t.vers[0].com > a || t.gone != 0 && t.gone <= a {
				continue
			}
			buyer := final(t.buyer)
			returned := int64(-1)
			seen := func(k int) bool { return true }
			if len(looks) > 0 {
				seen = func(k int) bool {
					if t.vers[k].com > looks[0] {
						return true // after the dump: the incrementals keep every version
					}
					for _, at := range looks {
						if t.versionAt(at) == k {
							return true
						}
					}
					return false
				}
			}
			for k := 0; k < t.nv; k++ {
				d := &t.vers[k]
				if d.com <= a && d.status == 'R' && seen(k) && (returned < 0 || d.upd < returned) {
					returned = d.upd
				}
			}
			for s := t.seat; s <= t.last; s++ {
				k := seatKey{id, t.row.section, t.row.rowName, s}
				addEvent(k, holdEvent{at: t.add, kind: holdPurchase, source: t.seq, acct: buyer, via: "purchase"})
				if returned >= 0 {
					addEvent(k, holdEvent{at: returned, kind: holdReturn, source: t.seq})
				}
			}
		}
		for _, list := range [][]texEnt{et.tex, et.texCancelled} {
			for i := range list {
				x := &list[i]
				if x.com > a || x.gone != 0 && x.gone <= a {
					continue
				}
				via := "forward"
				if x.activity == 'R' {
					via = "resale"
				}
				bl := &et.blocks[x.block]
				for s := x.seat; s <= x.last; s++ {
					addEvent(seatKey{id, bl.row.section, bl.row.rowName, s},
						holdEvent{at: x.upd, kind: holdExchange, source: x.id, acct: final(x.acct), via: via, pend: x.gone != 0})
				}
			}
		}
	}
	sort.Slice(order, func(i, j int) bool {
		x, y := order[i], order[j]
		switch {
		case x.event != y.event:
			return x.event < y.event
		case x.section != y.section:
			return x.section < y.section
		case x.row != y.row:
			return x.row < y.row
		}
		return x.seat < y.seat
	})
	var out []SeatHolding
	for _, k := range order {
		evs := seats[k]
		sort.Slice(evs, func(i, j int) bool {
			x, y := evs[i], evs[j]
			switch {
			case x.at != y.at:
				return x.at < y.at
			case x.kind != y.kind:
				return x.kind < y.kind
			}
			return x.source < y.source
		})
		for i, e := range evs {
			if e.kind == holdReturn {
				continue
			}
			h := SeatHolding{Team: team, EventID: k.event, Section: k.section, Row: k.row, Seat: k.seat,
				Acct: acctID(e.acct), From: time.Unix(e.at, 0).UTC(), Via: e.via, SourceID: e.source, Pending: e.pend}
			if i+1 < len(evs) {
				h.Until = time.Unix(evs[i+1].at, 0).UTC()
			}
			out = append(out, h)
		}
	}
	return out
}

// HolderAt is the holder of a seat at instant at according to SeatHolders
// (holders sorted as it returns them): the interval holding at, false if
// nobody held the seat then.
func HolderAt(holders []SeatHolding, eventID int32, section, row string, seat int32, at time.Time) (SeatHolding, bool) {
	less := func(h SeatHolding) bool {
		switch {
		case h.EventID != eventID:
			return h.EventID < eventID
		case h.Section != section:
			return h.Section < section
		case h.Row != row:
			return h.Row < row
		}
		return h.Seat < seat
	}
	i := sort.Search(len(holders), func(i int) bool { return !less(holders[i]) })
	var found SeatHolding
	ok := false
	for ; i < len(holders); i++ {
		h := holders[i]
		if h.EventID != eventID || h.Section != section || h.Row != row || h.Seat != seat {
			break
		}
		if !h.From.After(at) && (h.Until.IsZero() || at.Before(h.Until)) {
			found, ok = h, true
		}
	}
	return found, ok
}
