package simulator

import (
	"sort"
	"strconv"
	"time"

	"archtics/schemas"
)

// TRUTH AS OF DELIVERY
//
// What a realtime store must hold after a tick at logical time T, for one
// team and the admin's criteria:
//
//   - the events: the feed's events (ScanEvents) whose realtime window
//     [start-5h, start+6h] has opened by T, that started less than seven
//     days before T (the feed and the store keep a week), and that the
//     seed's verification query selects when the window opens: enabled =
//     'Y', event_date from current_date to current_date + 8, and the
//     criteria, over archtics.event as it stands then. An event on its
//     own date always passes the date test, so a selected event is
//     followed to the end of its window, past midnight too: the seed
//     promises "until six hours after the event's start time";
//   - their scans: result_code '0' and scan_type 'S', each seq_num once,
//     whose scan instant lies in the window (both ends included), and
//     that the feed had delivered by T. The feed serves a row only once
//     delivered, so pulling every page at T and filtering gives exactly
//     this; a scan of the window's last minutes delivered after it closed
//     belongs to the first tick after its delivery.
//
// TrueScans(from, to) filters by scan time instead and cannot say what a
// tick at T must hold: a scan made before T but delivered after it is not
// there yet.

// Criteria is an admin's realtime criteria fragment as a predicate over
// an archtics.event row (schemas.Event column order, values in the dump's
// text form).
type Criteria func(event Row) bool

var (
	evTotal = schemas.Event.ColumnIndex("total_events")
	evMajor = schemas.Event.ColumnIndex("major_category")
	evMinor = schemas.Event.ColumnIndex("minor_category")
	evOn    = schemas.Event.ColumnIndex("enabled")
	evDate  = schemas.Event.ColumnIndex("event_date")
	evTM    = schemas.Event.ColumnIndex("tm_event_name")
)

// DefaultCriteria is the seed's first example and the product's default:
// total_events = 1 AND major_category IN ('SPORTS','CONCERTS').
func DefaultCriteria(ev Row) bool {
	return ev[evTotal] == "1" && (ev[evMajor] == "SPORTS" || ev[evMajor] == "CONCERTS")
}

// HockeyCriteria is the seed's second example:
// major_category = 'SPORTS' AND minor_category = 'NHL PRO HOCKEY'.
func HockeyCriteria(ev Row) bool {
	return ev[evMajor] == "SPORTS" && ev[evMinor] == "NHL PRO HOCKEY"
}

// RealtimeWindow returns the realtime window of an event starting at
// start: from five hours before to six hours after, both included.
func RealtimeWindow(start time.Time) (from, to time.Time) {
	return start.Add(-WindowBefore * time.Second), start.Add(WindowAfter * time.Second)
}

// eventRowAt is event id's archtics.event row as it stands at u, nil if
// it does not exist then.
func (w *World) eventRowAt(team string, id int32, u int64) Row {
	wt := w.table(team, schemas.Event)
	if wt == nil {
		return nil
	}
	gi, ok := wt.byKey[team+"|"+strconv.Itoa(int(id))]
	if !ok {
		return nil
	}
	v := wt.current(gi, u)
	if v < 0 {
		return nil
	}
	return wt.rowAt(v, u)
}

// SelectedEvents runs the seed's verification query at instant at:
// the team's events with enabled = 'Y', event_date >= current_date and
// <= current_date + 8 (current_date: the local date at at), and the
// criteria (nil: DefaultCriteria), over archtics.event as it stands at
// at. In event id order, with their start instants.
func (w *World) SelectedEvents(team string, at time.Time, c Criteria) []EventStart {
	t := w.wt[team]
	if t == nil {
		return nil
	}
	if c == nil {
		c = DefaultCriteria
	}
	u := secFloor(at)
	today := w.g.clock.date(u)
	var out []EventStart
	for _, r := range w.StateAt(team, schemas.Event, at) {
		d, err := time.Parse(DateLayout, r[evDate])
		if err != nil {
			continue
		}
		day := int32(d.Unix() / daySec)
		if r[evOn] != "Y" || day < today || day > today+8 || !c(r) {
			continue
		}
		id, _ := strconv.Atoi(r[1])
		e := &t.tg.events[id-eventBase]
		out = append(out, EventStart{EventID: e.id, Name: e.name, Start: time.Unix(e.start, 0).UTC()})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].EventID < out[b].EventID })
	return out
}

// FollowedEvents returns the events a realtime store holds scans of at
// asOf (see TRUTH AS OF DELIVERY): window opened by asOf, started less
// than seven days before it, selected by the seed's query with criteria c
// (nil: DefaultCriteria) when the window opened. In start order.
func (w *World) FollowedEvents(team string, asOf time.Time, c Criteria) []EventStart {
	if c == nil {
		c = DefaultCriteria
	}
	var out []EventStart
	for _, e := range w.ScanEvents(team) {
		open, _ := RealtimeWindow(e.Start)
		if open.After(asOf) || !FeedKeeps(e.Start, asOf) {
			continue
		}
		row := w.eventRowAt(team, e.EventID, secFloor(open))
		if row == nil || row[evOn] != "Y" || !c(row) {
			continue // the date test always holds while the window opens
		}
		out = append(out, e)
	}
	return out
}

// deliveredInWindow returns the indexes of the accepted scans of es in
// its event's window that the feed had delivered by asOf, in seq order.
func (es *eventScans) deliveredInWindow(asOf int64) []int {
	_, j := es.deliveredRange(0, asOf)
	var out []int
	for k := 0; k < j; k++ {
		if x := &es.ents[k]; x.accepted() && x.inWindow(es.ev) {
			out = append(out, k)
		}
	}
	return out
}

// DeliveredScans returns one event's feed rows (schemas.Scan order) a
// realtime store must hold at asOf: accepted (result_code 0, scan_type S,
// each seq_num once), scan instant in the event's window, delivered by
// asOf; in seq_num order. Unlike TrueScansDelivered it applies no
// selection and no seven-day limit.
func (w *World) DeliveredScans(team string, eventID int32, asOf time.Time) []Row {
	es := w.eventScans(team, eventID)
	if es == nil {
		return nil
	}
	var out []Row
	for _, k := range es.deliveredInWindow(secFloor(asOf)) {
		out = append(out, es.rows(k, k+1)[0])
	}
	return out
}

// TrueScansDelivered returns what a realtime store must hold after a tick
// at asOf: the DeliveredScans of every event FollowedEvents names (nil
// criteria: DefaultCriteria), by event start then seq_num. Compare it with
// TrueScans(from, asOf), which holds scans made by asOf whether or not the
// feed had delivered them.
func (w *World) TrueScansDelivered(team string, asOf time.Time, c Criteria) []Row {
	var out []Row
	for _, e := range w.FollowedEvents(team, asOf, c) {
		out = append(out, w.DeliveredScans(team, e.EventID, asOf)...)
	}
	return out
}

var (
	scanEventName = schemas.Scan.ColumnIndex("event_name")
	scanSeq       = schemas.Scan.ColumnIndex("seq_num")
)

// TrueAttendance is TrueScansDelivered as the rows of
// archtics_rtx.attendance_raw (schemas.RTXAttendanceRaw order): the seed's eleven
// varchar columns from the feed row (attendance_seq_id is seq_num,
// archtics_event_name the feed's event_name, event_name the event's
// tm_event_name from archtics.event at asOf), then event_id, acct_id,
// ticket_scan_time (the scan's local wall clock), team and event_date.
func (w *World) TrueAttendance(team string, asOf time.Time, c Criteria) []Row {
	to := secFloor(asOf)
	f := newTSFmt(w.g.loc)
	var out []Row
	for _, e := range w.FollowedEvents(team, asOf, c) {
		es := w.eventScans(team, e.EventID)
		tm := ""
		if row := w.eventRowAt(team, e.EventID, to); row != nil {
			tm = row[evTM]
		}
		for _, k := range es.deliveredInWindow(to) {
			out = append(out, attendanceRow(es.rows(k, k+1)[0], tm, string(f.appendTS(nil, es.ents[k].action))))
		}
	}
	return out
}

// attendanceRow maps a feed row to archtics_rtx.attendance_raw.
func attendanceRow(r Row, eventName, scanTime string) Row {
	sc := func(name string) string { return r[schemas.Scan.ColumnIndex(name)] }
	return Row{
		sc("result_code"), sc("gate"), sc("scan_type"), sc("row_name"), r[scanEventName],
		sc("action_time"), sc("seat_num"), sc("section_name"), sc("channel_ind"), r[scanSeq], eventName,
		sc("event_id"), sc("acct_id"), scanTime, sc("team"), sc("event_date"),
	}
}
