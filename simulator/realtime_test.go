package simulator

import (
	"flag"
	"reflect"
	"strconv"
	"testing"
	"time"

	"archtics/schemas"
)

var long = flag.Bool("long", false, "run the long tests (the league preset's busiest tick)")

// feedEvent returns the spec of a feed event.
func (w *World) spec(team string, id int32) *eventSpec {
	return &w.wt[team].tg.events[id-eventBase]
}

// TestRealtimeWindowCases: every event the default criteria select near
// the cutoff has accepted scans (S, 0) before its window opens and after
// it closes, on both edges and one second past the end, and scans of the
// window's last minutes delivered after it closed.
func TestRealtimeWindowCases(t *testing.T) {
	w := small(t)
	for _, team := range w.Teams() {
		sel := w.SelectedEvents(team, w.Cutoff(), nil)
		withScans := 0
		for _, e := range sel {
			es := w.eventScans(team, e.EventID)
			if len(es.ents) == 0 {
				continue // sells no tickets (a plan with total_events = 1)
			}
			withScans++
			open, end := RealtimeWindow(e.Start)
			var before, after, atOpen, atEnd, pastEnd, lateDelivered int
			for k := range es.ents {
				x := &es.ents[k]
				if !x.accepted() {
					continue
				}
				at := time.Unix(x.action, 0)
				switch {
				case at.Before(open):
					before++
				case at.After(end):
					after++
				}
				atOpen += b2i(at.Equal(open))
				atEnd += b2i(at.Equal(end))
				pastEnd += b2i(at.Equal(end.Add(time.Second)))
				if x.inWindow(es.ev) && at.After(end.Add(-4*time.Minute)) && time.Unix(x.deliv, 0).After(end.Add(3*time.Minute)) {
					lateDelivered++
				}
			}
			if before == 0 || after == 0 || atOpen == 0 || atEnd == 0 || pastEnd == 0 || lateDelivered == 0 {
				t.Errorf("%s %s: accepted scans before the window %d, after %d, at its opening %d, at its end %d, a second later %d, in its last minutes delivered after the next tick %d: want each",
					team, e.Name, before, after, atOpen, atEnd, pastEnd, lateDelivered)
			}
		}
		if withScans < 3 {
			t.Errorf("%s: %d selected events with scans around the cutoff, want several", team, withScans)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRealtimeHardDays: the doubleheader, the game and the concert on one
// day, the late show crossing midnight, the misdated event, and the
// nights clocks change are all in the small world, and each does what it
// is there for.
func TestRealtimeHardDays(t *testing.T) {
	w := small(t)
	loc := w.Location()
	cut := w.Cutoff().In(loc)
	day := func(n int) string { return cut.AddDate(0, 0, n).Format(DateLayout) }

	// Two selected events on one day of one team, both windows
	// overlapping: nhl's doubleheader and the arena's game and concert.
	for _, tc := range []struct {
		team, date string
		majors     map[string]bool
	}{
		{"nhl", day(3), map[string]bool{"SPORTS": true}},
		{"arena", day(3), map[string]bool{"SPORTS": true, "CONCERTS": true}},
	} {
		t.Run(tc.team, func(t *testing.T) {
			var same []EventStart
			majors := map[string]bool{}
			for _, e := range w.SelectedEvents(tc.team, w.Cutoff(), nil) {
				if e.Start.In(loc).Format(DateLayout) == tc.date {
					same = append(same, e)
					majors[w.spec(tc.team, e.EventID).major] = true
				}
			}
			if len(same) != 2 || !reflect.DeepEqual(majors, tc.majors) {
				t.Fatalf("%s on %s: selected events %v of categories %v, want two of %v", tc.team, tc.date, same, majors, tc.majors)
			}
			// The first event's accepted scans after its window closes fall in
			// the second's window: a per-day window would keep them.
			_, end1 := RealtimeWindow(same[0].Start)
			open2, end2 := RealtimeWindow(same[1].Start)
			inOther := 0
			es := w.eventScans(tc.team, same[0].EventID)
			for k := range es.ents {
				at := time.Unix(es.ents[k].action, 0)
				if es.ents[k].accepted() && at.After(end1) && !at.Before(open2) && !at.After(end2) {
					inOther++
				}
			}
			if inOther == 0 {
				t.Errorf("%s on %s: no scan of the first event outside its window and inside the second's", tc.team, tc.date)
			}
		})
	}
	// The late show crosses midnight: in-window scans whose local date is
	// the next day, which event_date + action_time puts 24 h early.
	after, morning := 0, 0
	for _, team := range w.Teams() {
		for _, e := range w.ScanEvents(team) {
			sp := w.spec(team, e.EventID)
			es := w.eventScans(team, e.EventID)
			for k := range es.ents {
				x := &es.ents[k]
				local := time.Unix(x.action, 0).In(loc)
				nextDay := int32(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC).Unix()/daySec) > sp.date
				if x.accepted() && nextDay && x.inWindow(sp) && sp.lateNight {
					after++
				}
				if x.accepted() && nextDay && sp.misdated && local.Hour() >= 8 {
					morning++
				}
			}
		}
	}
	if after == 0 || morning == 0 {
		t.Errorf("%d in-window scans after midnight, %d next-morning scans of a misdated event: want both", after, morning)
	}

	// The nights clocks change, seen from the feed's rows.
	sc := schemas.Scan
	for _, tc := range []struct {
		name, eve       string
		first, second   string // offsets of the two passes, or the offsets before and after
		wallEnd         string // where a window computed on wall clocks ends
		inside, outside int    // accepted scans a wall-clock window gets wrong, by the truth's side
	}{
		{name: "fall back", eve: "2026-10-31", wallEnd: "03:00:00"},
		{name: "spring forward", eve: "2026-03-07", wallEnd: "03:00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var found *EventStart
			for _, e := range w.ScanEvents("arena") {
				if e.Start.In(loc).Format(DateLayout) == tc.eve {
					found = &e
				}
			}
			if found == nil {
				t.Errorf("%s: no arena event on the eve %s", tc.name, tc.eve)
				return
			}
			if got := found.Start.In(loc).Format("15:04:05"); got != "21:00:00" {
				t.Errorf("%s: event starts %s, want 21:00:00", tc.name, got)
			}
			_, end := RealtimeWindow(found.Start)
			offsets := map[int]int{}
			wrongKeep, wrongDrop := 0, 0
			for _, r := range w.Scans("arena", found.EventID, 0, w.End(), 0) {
				if r[col(sc, "scan_type")] != "S" || r[col(sc, "result_code")] != "0" {
					continue
				}
				at, err := w.ScanInstant(r)
				if err != nil {
					t.Fatal(err)
				}
				local := at.In(loc)
				if local.Format(DateLayout) != tc.eve && local.Hour() == 1 {
					_, off := local.Zone()
					offsets[off]++
				}
				// A wall-clock window: event date and time + 6 h, compared as
				// local strings of the scan's day after midnight.
				wallOut := local.Format(DateLayout) != tc.eve && local.Format("15:04:05") > tc.wallEnd && local.Hour() < 8
				trueOut := at.After(end)
				wrongKeep += b2i(trueOut && !wallOut)
				wrongDrop += b2i(!trueOut && wallOut)
			}
			switch tc.name {
			case "fall back":
				if offsets[-4*3600] == 0 || offsets[-5*3600] == 0 {
					t.Errorf("fall back: accepted scans in the repeated hour by offset %v: want both passes", offsets)
				}
				if wrongKeep == 0 {
					t.Errorf("fall back: no scan past the window's end (02:00 EST) that a wall-clock window (03:00) keeps")
				}
			case "spring forward":
				if wrongDrop == 0 {
					t.Errorf("spring forward: no scan inside the window (to 04:00 EDT) that a wall-clock window (03:00) drops")
				}
			}
		})
	}
}

// TestTruthAsOfDelivery: what a tick at T must hold differs from the
// scans made by T; it is exactly what pulling the feed at T and filtering
// by the seed's rules gives; a scan of the window's last minutes arrives
// in a tick after the window closed.
func TestTruthAsOfDelivery(t *testing.T) {
	w := small(t)
	team := "nhl"
	var game EventStart
	for _, e := range w.SelectedEvents(team, w.Cutoff(), nil) {
		if e.Start.After(w.Cutoff()) && len(w.eventScans(team, e.EventID).ents) > 0 {
			game = e
			break
		}
	}
	if game.EventID == 0 {
		t.Fatal("no selected game after the cutoff")
	}
	open, end := RealtimeWindow(game.Start)
	differs, lateTick := 0, time.Time{}
	var prev int
	for tick := open.Truncate(TickLength); !tick.After(end.Add(30 * time.Minute)); tick = tick.Add(TickLength) {
		delivered := eventRows(w.TrueScansDelivered(team, tick, nil), game.EventID)
		// By scan time: the window's accepted scans made by the tick.
		var made []Row
		for _, r := range eventRows(w.TrueScans(team, open, tick.Add(time.Second)), game.EventID) {
			if at, _ := w.ScanInstant(r); !at.After(end) {
				made = append(made, r)
			}
		}
		if !reflect.DeepEqual(delivered, made) {
			differs++
		}
		// Independently: every page the feed serves at the tick, filtered
		// by result code, scan type, redelivery and window.
		want := filterWindow(t, w, w.Scans(team, game.EventID, 0, tick, 0), open, end)
		if !reflect.DeepEqual(delivered, want) {
			t.Fatalf("tick %s: truth as of delivery holds %d rows, the feed filtered %d", tick, len(delivered), len(want))
		}
		if tick.After(end) && len(delivered) > prev && lateTick.IsZero() {
			lateTick = tick
		}
		if len(delivered) < prev {
			t.Fatalf("tick %s: %d rows after %d: a tick never loses rows", tick, len(delivered), prev)
		}
		prev = len(delivered)
	}
	if differs == 0 {
		t.Error("truth as of delivery equals truth by scan time at every tick: the test cannot tell them apart")
	}
	if lateTick.IsZero() {
		t.Error("no in-window scan arrives in a tick after the window closed")
	}
	t.Logf("%s: %d ticks differ by delivery; in-window scans still arriving at %s, after the window closed at %s",
		game.Name, differs, lateTick.In(w.Location()).Format(TimeLayout), end.In(w.Location()).Format(TimeLayout))
}

func eventRows(rows []Row, id int32) []Row {
	var out []Row
	want := strconv.Itoa(int(id))
	for _, r := range rows {
		if r[1] == want {
			out = append(out, r)
		}
	}
	return out
}

// filterWindow applies the seed's rules to raw feed rows the way a
// consumer does: S and 0, one row per seq_num, instant in [open, end].
func filterWindow(t *testing.T, w *World, rows []Row, open, end time.Time) []Row {
	t.Helper()
	sc := schemas.Scan
	var out []Row
	last := ""
	for _, r := range rows {
		seq := r[col(sc, "seq_num")]
		if seq == last {
			continue
		}
		last = seq
		if r[col(sc, "scan_type")] != "S" || r[col(sc, "result_code")] != "0" {
			continue
		}
		at, err := w.ScanInstant(r)
		if err != nil {
			t.Fatal(err)
		}
		if !at.Before(open) && !at.After(end) {
			out = append(out, r)
		}
	}
	return out
}

// TestSelectionCriteria: the seed's two example criteria select different
// events (the arena's basketball game is SPORTS but not NHL), and an event
// stays followed past midnight though the seed's query no longer lists it.
func TestSelectionCriteria(t *testing.T) {
	w := small(t)
	def := w.SelectedEvents("arena", w.Cutoff(), nil)
	hockey := w.SelectedEvents("arena", w.Cutoff(), HockeyCriteria)
	if len(hockey) != 0 || len(def) == 0 {
		t.Errorf("arena: default criteria select %d events, the NHL criteria %d; want some and none", len(def), len(hockey))
	}
	if a, b := w.SelectedEvents("nhl", w.Cutoff(), nil), w.SelectedEvents("nhl", w.Cutoff(), HockeyCriteria); len(a) == 0 || len(b) == 0 {
		t.Errorf("nhl: %d and %d selected", len(a), len(b))
	}
	loc := w.Location()
	for _, e := range w.ScanEvents("arena") {
		if !w.spec("arena", e.EventID).lateNight || e.Start.Before(w.Cutoff()) {
			continue
		}
		_, end := RealtimeWindow(e.Start)
		afterMidnight := end.Add(-time.Hour)
		if afterMidnight.In(loc).Day() == e.Start.In(loc).Day() {
			t.Fatalf("%s: window end %s is not after midnight", e.Name, end.In(loc))
		}
		listed := false
		for _, s := range w.SelectedEvents("arena", afterMidnight, nil) {
			listed = listed || s.EventID == e.EventID
		}
		followed := false
		for _, s := range w.FollowedEvents("arena", afterMidnight, nil) {
			followed = followed || s.EventID == e.EventID
		}
		if listed || !followed {
			t.Errorf("%s after midnight: listed by the seed's query %v, followed %v; want not listed (event_date < current_date) but followed", e.Name, listed, followed)
		}
		return
	}
	t.Error("no late show after the cutoff")
}

// TestDSTEventVersions: an event has a version in each pass of the
// repeated hour, the newer reading earlier on the wall clock; the truth
// keeps the newer.
func TestDSTEventVersions(t *testing.T) {
	w := small(t)
	loc := w.Location()
	ev := schemas.Event
	fold := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC) // 02:00 EDT = 01:00 EST
	found := false
	for _, team := range w.Teams() {
		byKey := map[string][]Change{}
		for _, c := range w.Changes(team, ev, fold.Add(-time.Hour), fold.Add(time.Hour)) {
			byKey[c.Key] = append(byKey[c.Key], c)
		}
		for key, cs := range byKey {
			if len(cs) != 2 {
				continue
			}
			a, b := cs[0], cs[1]
			wa, wb := a.Row[col(ev, "upd_date")], b.Row[col(ev, "upd_date")]
			if !(a.Updated.Before(b.Updated) && wb < wa) {
				t.Errorf("%s: versions %s (%s) then %s (%s): want the newer to read earlier", key, wa, a.Updated, wb, b.Updated)
			}
			for _, r := range w.StateAt(team, ev, fold.Add(2*time.Hour)) {
				if r[0]+"|"+r[1] == key && !reflect.DeepEqual(r, b.Row) {
					t.Errorf("%s: StateAt after the fold is not the newer version", key)
				}
			}
			found = true
		}
	}
	if !found {
		t.Errorf("no event with two versions in the repeated hour of %s", fold.In(loc).Format(TimeLayout))
	}
	spring := time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC) // 02:00 EST = 03:00 EDT
	n := 0
	for _, team := range w.Teams() {
		n += len(w.Changes(team, ev, spring.Add(-time.Minute), spring.Add(time.Minute)))
	}
	if n == 0 {
		t.Error("no event version around the spring-forward")
	}
}

// TestLeagueBusiestTick (-long): the league preset's busiest three
// minutes hold over a million scans.
func TestLeagueBusiestTick(t *testing.T) {
	if !*long {
		t.Skip("generates the league night (about 3.5 M scans); run with -long")
	}
	w, err := NewWorldLazy(LeagueConfig())
	if err != nil {
		t.Fatal(err)
	}
	tick := w.BusiestTick(w.Cutoff(), w.End())
	t.Logf("busiest tick %s: %d rows (%d accepted) over %d events", tick.End.In(w.Location()).Format(TimeLayout), tick.Rows, tick.Accepted, tick.Events)
	if tick.Rows < 1_000_000 {
		t.Errorf("busiest tick holds %d rows, want at least 1,000,000", tick.Rows)
	}
}
