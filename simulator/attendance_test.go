package simulator

import (
	"strconv"
	"testing"
	"time"

	"archtics/schemas"
)

// attendanceByEvent is archtics.attendance at asOf, by event_id and seq.
func attendanceByEvent(w *World, team string, asOf time.Time) map[string]map[string]Row {
	out := map[string]map[string]Row{}
	ev, seq := col(schemas.Attendance, "event_id"), col(schemas.Attendance, "attendance_seq_id")
	for _, r := range w.StateAt(team, schemas.Attendance, asOf) {
		if out[r[ev]] == nil {
			out[r[ev]] = map[string]Row{}
		}
		out[r[ev]][r[seq]] = r
	}
	return out
}

// postedBy reports whether every gate of the feed event id posted its
// scans by asOf, so archtics.attendance holds the whole event then.
func postedBy(w *World, team string, id int32, asOf time.Time) bool {
	at, ok := w.AttendancePosted(team, id)
	return ok && !at.After(asOf)
}

// TestAttendanceHoldsTheFeed: for every feed event fully posted by the
// end, archtics.attendance holds each scan the feed delivered once, with
// the same sequence number, fields and holder (moved by the merges done
// since, as every account reference), and the scan's true instant however
// late the feed delivered it; and the scans the feed lost, which the feed
// never served: the table is exactly the feed's seq_nums and FeedLost's.
func TestAttendanceHoldsTheFeed(t *testing.T) {
	w := small(t)
	at := w.End()
	same := []string{"event_name", "event_date", "section_name", "row_name", "seat_num", "scan_type",
		"result_code", "gate", "channel_ind", "access_type", "mobile"}
	for _, team := range w.Teams() {
		t.Run(team, func(t *testing.T) {
			tg := w.wt[team].tg
			table := attendanceByEvent(w, team, at)
			events, withLost, late := 0, 0, 0
			for _, e := range w.ScanEvents(team) {
				if !postedBy(w, team, e.EventID, at) {
					continue
				}
				events++
				rows := table[strconv.Itoa(int(e.EventID))]
				lost := w.FeedLost(team, e.EventID)
				if len(lost) > 0 {
					withLost++
				}
				outFrom, outTo, outage := w.FeedOutage(team, e.EventID)
				if outage != (len(lost) > 0) && len(rows) > 100 {
					t.Errorf("event %d: outage %v, %d scans lost", e.EventID, outage, len(lost))
				}
				revalidated := map[string]bool{} // the feed accepted, the final record rejects (FeedExtra)
				for _, s := range w.FeedExtra(team, e.EventID) {
					revalidated[strconv.FormatInt(s, 10)] = true
				}
				want := map[string]bool{}
				for _, fr := range w.Scans(team, e.EventID, 0, at, 0) {
					seq := fr[col(schemas.Scan, "seq_num")]
					if deliv, _ := time.ParseInLocation(TimeLayout, fr[col(schemas.Scan, "upd_datetime")], w.Location()); outage && !deliv.Before(outFrom) && deliv.Before(outTo) {
						t.Fatalf("event %d seq %s: delivered %s, inside the outage [%s, %s)", e.EventID, seq, deliv, outFrom, outTo)
					}
					want[seq] = true
					r, ok := rows[seq]
					if !ok {
						t.Fatalf("event %d: feed seq_num %s has no archtics.attendance row", e.EventID, seq)
					}
					for _, c := range same {
						got, exp := r[col(schemas.Attendance, c)], fr[col(schemas.Scan, c)]
						if c == "result_code" && revalidated[seq] {
							if got != ResultDuplicate || exp != ResultOK {
								t.Fatalf("event %d seq %s: re-validated, result_code %q, the feed's %q; want %s and %s", e.EventID, seq, got, exp, ResultDuplicate, ResultOK)
							}
							continue
						}
						if got != exp {
							t.Fatalf("event %d seq %s: %s = %q, the feed's %q", e.EventID, seq, c, got, exp)
						}
					}
					holder := fr[col(schemas.Scan, "acct_id")]
					if holder != "" {
						id, _ := strconv.Atoi(holder)
						holder = strconv.Itoa(int(acctID(tg.resolve(int32(id-acctBase), secFloor(at)))))
					}
					if got := r[col(schemas.Attendance, "acct_id")]; got != holder {
						t.Fatalf("event %d seq %s: acct_id %q, the feed's holder through the merges by then %q", e.EventID, seq, got, holder)
					}
					inst, err := w.ScanInstant(fr)
					if err != nil {
						t.Fatal(err)
					}
					if got, exp := r[col(schemas.Attendance, "action_datetime")], inst.In(w.Location()).Format(TimeLayout); got != exp {
						t.Fatalf("event %d seq %s: action_datetime %s, the scan's instant %s", e.EventID, seq, got, exp)
					}
					if deliv, _ := time.ParseInLocation(TimeLayout, fr[col(schemas.Scan, "upd_datetime")], w.Location()); deliv.Sub(inst) >= 2*time.Minute {
						late++
					}
				}
				for _, seq := range lost {
					s := strconv.FormatInt(seq, 10)
					if want[s] {
						t.Fatalf("event %d: lost seq_num %s was served by the feed", e.EventID, s)
					}
					want[s] = true
				}
				posted, _ := w.AttendancePosted(team, e.EventID)
				if n := len(attendanceByEvent(w, team, posted.Add(-time.Second))[strconv.Itoa(int(e.EventID))]); n >= len(rows) {
					t.Fatalf("event %d: %d rows a second before AttendancePosted %s, %d at the end", e.EventID, n, posted, len(rows))
				}
				if n := len(attendanceByEvent(w, team, posted)[strconv.Itoa(int(e.EventID))]); n != len(rows) {
					t.Fatalf("event %d: %d rows at AttendancePosted %s, %d at the end", e.EventID, n, posted, len(rows))
				}
				if len(rows) != len(want) {
					t.Fatalf("event %d: %d archtics.attendance rows, the feed's seq_nums and the lost ones are %d", e.EventID, len(rows), len(want))
				}
				for seq := range rows {
					if !want[seq] {
						t.Fatalf("event %d: archtics.attendance seq %s neither served nor lost", e.EventID, seq)
					}
				}
			}
			t.Logf("%d feed events fully posted, %d with lost scans, %d late deliveries", events, withLost, late)
			if events == 0 || withLost == 0 || late == 0 {
				t.Errorf("%d feed events fully posted, %d with lost scans, %d late deliveries: want some of each", events, withLost, late)
			}
		})
	}
}

// TestAttendancePostedAfterTheEvent: every row is posted at least half an
// hour after its scan and after the event's start, and the table has
// every kind of scan, and events the feed does not carry.
func TestAttendancePostedAfterTheEvent(t *testing.T) {
	w := small(t)
	loc := w.Location()
	for _, team := range w.Teams() {
		t.Run(team, func(t *testing.T) {
			feed := map[string]bool{}
			start := map[string]time.Time{}
			for _, e := range w.ScanEvents(team) {
				feed[strconv.Itoa(int(e.EventID))] = true
			}
			tg := w.wt[team].tg
			for i := range tg.events {
				start[strconv.Itoa(int(tg.events[i].id))] = time.Unix(tg.events[i].start, 0)
			}
			kinds := map[string]bool{}
			others := 0
			rows := w.StateAt(team, schemas.Attendance, w.End())
			if len(rows) == 0 {
				t.Fatal("no rows")
			}
			for _, r := range rows {
				ev := r[col(schemas.Attendance, "event_id")]
				scan, err1 := time.ParseInLocation(TimeLayout, r[col(schemas.Attendance, "action_datetime")], loc)
				post, err2 := time.ParseInLocation(TimeLayout, r[col(schemas.Attendance, "upd_datetime")], loc)
				if err1 != nil || err2 != nil {
					t.Fatalf("row %q: %v %v", r, err1, err2)
				}
				if post.Sub(scan) < 30*time.Minute || !post.After(start[ev]) {
					t.Fatalf("row %q: posted %s, scanned %s, event start %s", r, post, scan, start[ev].In(loc))
				}
				kinds[r[col(schemas.Attendance, "scan_type")]+"/"+r[col(schemas.Attendance, "result_code")]] = true
				if !feed[ev] {
					others++
				}
			}
			for _, k := range []string{"S/0", "M/0", "X/0", "R/0", "S/14", "S/21", "S/3"} {
				if !kinds[k] {
					t.Errorf("no scan of type/result %s", k)
				}
			}
			if team == "arena" && others == 0 {
				t.Error("no scans of an event the feed does not carry (family shows, parking)")
			}
		})
	}
}

// TestAttendanceSeasons: the table holds the scans of the cutoff's
// season and the one before, none older.
func TestAttendanceSeasons(t *testing.T) {
	cfg := SmallConfig()
	cfg.Seasons = 3
	w, err := NewWorldLazy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cut := seasonYear(w.Cutoff().In(w.Location()))
	seasons := map[int]int{}
	byID := map[string]*eventSpec{}
	tg := w.wt["nhl"].tg
	for i := range tg.events {
		byID[strconv.Itoa(int(tg.events[i].id))] = &tg.events[i]
	}
	for _, r := range w.StateAt("nhl", schemas.Attendance, w.End()) {
		ev := byID[r[col(schemas.Attendance, "event_id")]]
		seasons[seasonYear(time.Unix(int64(ev.date)*daySec, 0).UTC())]++
	}
	if seasons[cut] == 0 || seasons[cut-1] == 0 || len(seasons) != 2 {
		t.Errorf("rows per season %v, want the cutoff's (%d) and the one before only", seasons, cut)
	}
}
