package simulator

import (
	"math"
	"strconv"
	"time"

	"archtics/schemas"
)

// ARCHTICS' STANDARD ATTENDANCE (archtics.attendance)
//
// The seed: "more complete data is available through the standard
// Archtics integration after events". Archtics records every scan of
// every event, numbered in one sequence per event (the realtime feed's
// seq_num), and posts them some hours after the event: each gate's
// scanners are closed out on their own, from half an hour to ten hours
// after the event's last scan. The table holds each scan once, whatever
// its type and result (exits, re-entries, manual entries, rejected
// barcodes): a feed redelivery is the feed's, not a second scan. A scan
// keeps its true instant, whenever the feed delivered it (late
// deliveries, truth_delivery.go). Rows are never updated or deleted, but
// acct_id, an account reference, follows account merges as every
// reference does.
//
// The table is more than the feed carried:
//
//   - events the feed never carries (family shows, parking: the feed
//     covers sports and concerts) have their scans here only;
//   - a feed outage (feedOutage) loses every row the feed would have
//     delivered in a window of a few minutes around the gates' opening:
//     Archtics recorded those scans, so their seq_num are gaps in the
//     feed, and World.FeedLost names them.
//
// History: Archtics holds the scans of the cutoff's season and of the
// season before it (AttendanceSeasons); older seasons' scans are not in
// the dump and never appear in the change API. A venue's whole history
// of scans would outgrow every other table of the dump (several rows per
// ticket row); the simulator never purges within its simulated time.

// AttendanceSeasons is how many seasons of scans archtics.attendance
// holds: the cutoff's and the one before it.
const AttendanceSeasons = 2

// feedOutageRate is the share of feed events whose feed has an outage,
// away from the days around the cutoff; there, only the first ordinary
// feed event after the cutoff has one (teamGen.outageEvent), so the
// realtime hard days (hard_days.go) keep every scan and each case is
// met alone.
const feedOutageRate = 0.2

// feedOutage returns the outage window [from, to) of delivery instants
// in which the realtime feed lost every row of event ev, if it had one.
func (tg *teamGen) feedOutage(ev *eventSpec) (from, to int64, ok bool) {
	if !ev.realtime || ev.blocks == 0 {
		return 0, 0, false
	}
	var r rng
	r.seed(tg.g.cfg.Seed, uint64(tg.ti), kFeedOutage, uint64(ev.idx))
	cutDate := tg.g.clock.date(tg.g.cutoff)
	near := ev.date >= cutDate-3 && ev.date <= cutDate+6
	if hit := r.chance(feedOutageRate); (!hit || near) && ev.idx != tg.outageEvent {
		return 0, 0, false
	}
	// Around the gates' opening, when the crowd scans in.
	from = ev.start - 60*60 + r.int63n(75*60)
	return from, from + int64(r.between(4*60, 15*60)), true
}

// firstFeedEventAfter is the index of the first event the feed carries
// that starts after t and is no realtime hard case (a late night, a
// misdated event, a rush), -1 if none: the event whose outage is
// certain, so every world past its cutoff has one.
func (tg *teamGen) firstFeedEventAfter(t int64) int {
	best := -1
	for i := range tg.events {
		e := &tg.events[i]
		if e.lateNight || e.misdated || e.rush {
			continue
		}
		if e.realtime && e.blocks > 0 && e.start > t && (best < 0 || e.start < tg.events[best].start) {
			best = i
		}
	}
	return best
}

// keepsAttendance reports whether archtics.attendance holds ev's scans:
// an event of the cutoff's season or of the AttendanceSeasons-1 before.
func (tg *teamGen) keepsAttendance(ev *eventSpec) bool {
	g := tg.g
	cut := seasonYear(time.Unix(g.cutoff, 0).In(g.loc))
	return seasonYear(time.Unix(int64(ev.date)*daySec, 0).UTC()) > cut-AttendanceSeasons
}

// postsBy reports whether archtics.attendance may hold scans of ev
// posted by instant by: a season it keeps, an event started by then.
func (tg *teamGen) postsBy(ev *eventSpec, by int64) bool {
	return ev.start <= by && tg.keepsAttendance(ev)
}

// attendance returns archtics.attendance's rows of the event whose
// tickets et holds: every scan once, in seq_num order, lost ones
// included, and when Archtics posts each gate's scans (posts[gate]).
// Nil unless postsBy(by): the caller skips scans posted after by.
func (tg *teamGen) attendance(et *eventTickets, by int64) (ents []scanEnt, posts []int64) {
	ev := et.ev
	if !tg.postsBy(ev, by) {
		return nil, nil
	}
	all := tg.scansOf(et)
	ents = all[:0]
	last := ev.start
	for _, x := range all {
		if x.redelivery {
			continue
		}
		ents = append(ents, x)
		last = max(last, x.action)
	}
	var r rng
	r.seed(tg.g.cfg.Seed, uint64(tg.ti), kAttendancePost, uint64(ev.idx))
	posts = make([]int64, len(tg.gates()))
	for i := range posts {
		posts[i] = last + int64(r.between(30*60, 10*3600))
	}
	return ents, posts
}

// emitAttendance writes scan x of event ev in schemas.Attendance order,
// posted at post, its holder acct (an account index, -1 NULL).
func (tg *teamGen) emitAttendance(s sink, ev *eventSpec, x *scanEnt, post int64, acct int32) {
	s.str(tg.name)
	s.i64(int64(ev.id))
	s.i64(x.seq)
	s.str(ev.name)
	s.date(ev.date)
	if x.row >= 0 {
		ri := tg.layouts[ev.layout].row(int(x.row))
		s.str(ri.section)
		s.str(ri.rowName)
	} else {
		s.null()
		s.null()
	}
	if x.seat > 0 {
		s.i64(int64(x.seat))
	} else {
		s.null()
	}
	if acct >= 0 {
		s.i64(int64(acctID(acct)))
	} else {
		s.null()
	}
	s.str(scanTypeCodes[x.scanType])
	s.str(resultCodes[x.result])
	s.ts(x.action)
	s.str(tg.gates()[x.gate])
	s.str(channelCode(x.channel))
	s.str(accessCodes[x.access])
	if x.channel == 'M' {
		s.str("Y")
	} else {
		s.str("N")
	}
	s.ts(post)
}

// attendanceKey is the change API's key of an attendance row.
func attendanceKey(team string, ev *eventSpec, seq int64) string {
	return team + "|" + strconv.Itoa(int(ev.id)) + "|" + strconv.FormatInt(seq, 10)
}

// FeedLost returns the seq_num of the scans of a feed event that a feed
// outage lost: archtics.attendance holds them, the realtime feed never
// serves them. Ascending; nil when the event had no outage or is not one
// the feed carries (ScanEvents).
func (w *World) FeedLost(team string, eventID int32) []int64 {
	es := w.eventScans(team, eventID)
	if es == nil {
		return nil
	}
	return append([]int64(nil), es.lost...)
}

// FeedOutage returns the window of delivery instants [from, to) in which
// the realtime feed lost every row of the event, if it had an outage.
// Scans made then but delivered after it are served; FeedLost lists what
// was lost.
func (w *World) FeedOutage(team string, eventID int32) (from, to time.Time, ok bool) {
	t := w.wt[team]
	if t == nil {
		return time.Time{}, time.Time{}, false
	}
	ei := int(eventID - eventBase)
	if ei < 0 || ei >= len(t.tg.events) {
		return time.Time{}, time.Time{}, false
	}
	f, e, ok := t.tg.feedOutage(&t.tg.events[ei])
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(f, 0).UTC(), time.Unix(e, 0).UTC(), true
}

// AttendancePosted returns when Archtics had posted every scan of the
// event to archtics.attendance: its last gate's posting, at most ten
// and a half hours after the event's last scan (after the simulated end
// for an event the simulation does not see posted). ok is false for an
// event without tickets or of a season the table does not keep.
func (w *World) AttendancePosted(team string, eventID int32) (at time.Time, ok bool) {
	t := w.wt[team]
	if t == nil {
		return time.Time{}, false
	}
	te := t.tg.ticketEventOf(int(eventID - eventBase))
	if te < 0 {
		return time.Time{}, false
	}
	et := &eventTickets{}
	t.tg.genTickets(te, et)
	ents, posts := t.tg.attendance(et, math.MaxInt64)
	if len(ents) == 0 {
		return time.Time{}, false
	}
	var last int64
	for _, x := range ents {
		last = max(last, posts[x.gate])
	}
	return time.Unix(last, 0).UTC(), true
}

var attendanceAcctCol = int8(schemas.Attendance.ColumnIndex("acct_id"))
