package simulator

import (
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"archtics/schemas"
)

// Deletes that are not merges. Archtics deletes rows outright, and a
// timestamp-based pull never sees it: the key just stops being there.
// Every table has them:
//   - event: a season's test event ("TEST EVENT - DO NOT SELL") is removed
//     some weeks after its date; the current season's after the cutoff;
//   - cust: a merged-away account's names (merges, generate_team.go) and a
//     secondary or other name taken off an account (12% of them);
//   - ticket: a sale voided before the event (0.6% of seat blocks: no
//     exchange activity, no scans) and a returned block purged later (30%
//     of returns);
//   - tex: a Ticket Exchange posting cancelled before it completed (a
//     forward never accepted, a resale listing withdrawn): its row exists
//     from the posting to the cancellation and never changes who holds the
//     seats.
// From the deletion instant the key is absent from World.StateAt, Keys,
// Lookup and Changes (all its versions), and from a dump cut after it;
// World.Deletions and groundtruth/deletions.csv record which key vanished
// when and why.

// Deletion is one key that vanished without a change record.
type Deletion struct {
	Team   string
	Table  string // event, cust, ticket, tex
	Key    string // the table's key columns joined by "|", as Keys returns them
	At     time.Time
	Reason string // event_removed, merged, name_removed, voided, returned_purged, posting_cancelled
}

// texCancelBase numbers cancelled postings apart from completed activity
// (texBase + ticket row*4 + k).
const texCancelBase = 900_000_000

// initEventDeletes decides when each test event's row is deleted.
func (tg *teamGen) initEventDeletes() {
	g := tg.g
	tg.eventGone = make([]int64, len(tg.events))
	var tests []int
	for i := range tg.events {
		if tg.events[i].kind == evTest {
			tests = append(tests, i)
		}
	}
	r := newRNG(g.cfg.Seed, uint64(tg.ti), kDelete, 3<<40)
	for k, i := range tests {
		e := &tg.events[i]
		last := max(e.add, e.start)
		for _, u := range e.upds {
			last = max(last, u)
		}
		var at int64
		if k == len(tests)-1 {
			// This season's: after the cutoff, so a clone meets a deleted
			// event it loaded from the dump.
			if g.end > g.cutoff+2*daySec && last < g.cutoff {
				at = g.clock.rand(r, g.cutoff+daySec, g.end)
			}
		} else if hi := min(last+90*daySec, g.cutoff-daySec); hi > last+daySec {
			at = g.clock.rand(r, last+daySec, hi)
		}
		tg.eventGone[i] = at
	}
}

// deleteTicket decides whether block t is deleted: a voided sale (then
// marked returned: no exchange activity, no scans) or a purged return. Its
// versions are final; the deletion comes after the last one commits.
func (tg *teamGen) deleteTicket(rd *rng, t *ticketEnt, saleHi int64) {
	g := tg.g
	t.gone = 0
	last := &t.vers[t.nv-1]
	after := max(last.upd, last.com)
	if t.returned {
		if rd.chance(0.3) && g.end > after+2*3600 {
			t.gone = g.clock.rand(rd, after+3600, g.end)
		}
		return
	}
	if rd.chance(0.006) && saleHi > after+2*3600 {
		t.gone = g.clock.rand(rd, after+3600, saleHi)
		t.returned = true
	}
}

// genCancelledPostings adds the event's cancelled Ticket Exchange
// postings to et.texCancelled; et.tex must be complete (the owner is the
// holder at posting time).
func (tg *teamGen) genCancelledPostings(et *eventTickets, hi int64) {
	g := tg.g
	c := g.clock
	et.texCancelled = et.texCancelled[:0]
	var rd rng
	rd.seed(g.cfg.Seed, uint64(tg.ti), kDelete, 2<<40|uint64(et.te))
	p := 0.02
	if et.ev.realtime {
		p = 0.04
	}
	for b := range et.blocks {
		t := &et.blocks[b]
		if t.returned || !rd.chance(p) || hi-3600 <= t.add+3600 {
			continue
		}
		when := c.rand(&rd, t.add+3600, hi-3600)
		seat := t.seat + int32(rd.intn(int(t.last-t.seat+1)))
		last := seat + int32(rd.intn(int(t.last-seat+1)))
		owner, _ := tg.holderAt(et, b, seat, when)
		next := tg.buyerAt(&rd, when, 0.1)
		gone := c.rand(&rd, when+3600, min(when+7*daySec, g.end))
		if next == owner || gone <= when {
			continue
		}
		x := texEnt{id: texCancelBase + et.first + int64(b), block: b, seat: seat, last: last, owner: owner, acct: next,
			upd: when, com: when, price: -1, gone: gone}
		if rd.chance(0.4) {
			x.activity = 'R'
			x.price = int64(float64(t.vers[0].price)*(0.8+0.8*rd.float())) / 100 * 100
		} else {
			x.activity = 'F'
			pt, pi := tg.personOf(next)
			x.email = g.personalEmailOf(pt, pi)
		}
		et.texCancelled = append(et.texCancelled, x)
	}
}

func ticketReason(t *ticketEnt) string {
	if t.vers[t.nv-1].status == 'R' {
		return "returned_purged"
	}
	return "voided"
}

func (tg *teamGen) custReason(i int32, gone int64) string {
	if tg.goneAt(i) == gone {
		return "merged"
	}
	return "name_removed"
}

// Deletions lists every key that vanishes without a change record, in
// every team and table, by team (config order), table (dump order) and key.
func (w *World) Deletions() []Deletion {
	var out []Deletion
	for _, team := range w.teams {
		for _, tab := range schemas.SourceTables {
			wt := w.table(team, tab)
			for gi := range wt.groups {
				gr := wt.groups[gi]
				first := &wt.vers[gr.start]
				if first.gone == 0 {
					continue
				}
				d := Deletion{Team: team, Table: tab.Name, Key: gr.key, At: time.Unix(first.gone, 0).UTC()}
				switch tab {
				case schemas.Event:
					d.Reason = "event_removed"
				case schemas.Cust:
					f := strings.Split(gr.key, "|")
					a, _ := strconv.Atoi(f[1])
					d.Reason = wt.team.custReason(int32(a-acctBase), first.gone)
				case schemas.Ticket:
					if wt.vers[gr.end-1].row[schemas.Ticket.ColumnIndex("ticket_status")] == "R" {
						d.Reason = "returned_purged"
					} else {
						d.Reason = "voided"
					}
				case schemas.Tex:
					d.Reason = "posting_cancelled"
				}
				out = append(out, d)
			}
		}
	}
	return out
}

// sortDeletions orders deletions as World.Deletions does.
func (g *generator) sortDeletions(ds []Deletion) {
	teamOrder := map[string]int{}
	for i, tg := range g.teams {
		teamOrder[tg.name] = i
	}
	tableOrder := map[string]int{}
	for i, t := range schemas.SourceTables {
		tableOrder[t.Name] = i
	}
	sort.Slice(ds, func(a, b int) bool {
		x, y := ds[a], ds[b]
		if x.Team != y.Team {
			return teamOrder[x.Team] < teamOrder[y.Team]
		}
		if x.Table != y.Table {
			return tableOrder[x.Table] < tableOrder[y.Table]
		}
		return x.Key < y.Key
	})
}

// writeDeletions writes groundtruth/deletions.csv.
func (g *generator) writeDeletions(w io.Writer, ds []Deletion) (int64, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"team", "table", "key", "deleted_at", "deleted_at_utc", "reason", "before_cutoff"})
	for _, d := range ds {
		_ = cw.Write([]string{d.Team, d.Table, d.Key, d.At.In(g.loc).Format(TimeLayout), d.At.Format(time.RFC3339), d.Reason,
			strconv.FormatBool(d.At.Unix() < g.cutoff)})
	}
	cw.Flush()
	return int64(len(ds)), cw.Error()
}
