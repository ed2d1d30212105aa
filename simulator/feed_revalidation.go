package simulator

import (
	"slices"
	"time"
)

// A RE-VALIDATION FAULT
//
// An offline scanner cannot ask Archtics whether a barcode was used: it
// accepts a reused ticket, and the feed, fed by the scanner, says
// result_code '0'. When the scanner syncs, Archtics records the scan as
// what it was, '14' (already used), in archtics.attendance. So the feed
// has an initial entry the final data does not: a reconciliation's
// "extra". One gate of a revalidated event is the offline one: every scan
// of it that Archtics records as a standard-gate duplicate, the feed
// serves as accepted (and a realtime store keeps it, as the truth's
// delivery functions say: they read the feed's rows).

// revalidationRate is the share of feed events one of whose scanners is
// offline, away from the days around the cutoff: there (three days
// before to six after), none is, so the realtime hard days and the
// sample tables keep their scans.
const revalidationRate = 0.2

// revalidation reports whether ev's feed has an offline scanner, and at
// which gate (an index in the team's gates).
func (tg *teamGen) revalidation(ev *eventSpec) (gate uint8, ok bool) {
	if !ev.realtime || ev.blocks == 0 {
		return 0, false
	}
	cutDate := tg.g.clock.date(tg.g.cutoff)
	if ev.date >= cutDate-3 && ev.date <= cutDate+6 {
		return 0, false
	}
	var r rng
	r.seed(tg.g.cfg.Seed, uint64(tg.ti), kRevalidation, uint64(ev.idx))
	if !r.chance(revalidationRate) {
		return 0, false
	}
	return uint8(r.intn(len(tg.gates()))), true
}

// FeedExtra returns the seq_num of the scans of a feed event that the
// feed served as accepted (result_code '0', scan_type 'S') and that
// archtics.attendance records as rejected ('14', already used): an
// offline scanner's re-validations. Ascending; nil when the event had
// none or is not one the feed carries (ScanEvents).
func (w *World) FeedExtra(team string, eventID int32) []int64 {
	es := w.eventScans(team, eventID)
	if es == nil {
		return nil
	}
	out := slices.Clone(es.extra)
	slices.Sort(out)
	return out
}

// RevalidatedEvents returns team's feed events with re-validations
// (FeedExtra not empty) that start in [from, to), in start order.
func (w *World) RevalidatedEvents(team string, from, to time.Time) []EventStart {
	var out []EventStart
	for _, e := range w.ScanEvents(team) {
		if e.Start.Before(from) || !e.Start.Before(to) {
			continue
		}
		if len(w.FeedExtra(team, e.EventID)) > 0 {
			out = append(out, e)
		}
	}
	return out
}
