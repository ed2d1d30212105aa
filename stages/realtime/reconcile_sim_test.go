package realtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// truthCoverage is the truth's reconciliation of one event: the final
// initial entries of archtics.attendance as the world posted them by
// asOf, and the scans a store ticked up to end holds.
type truthCoverage struct {
	final, delivered int64
	missed, extra    []int64
	late             []time.Duration // delivered_at - scan instant of the delivered scans, ascending
}

func coverage(t *testing.T, w *simulator.World, team string, e simulator.EventStart, end, asOf time.Time) truthCoverage {
	t.Helper()
	loc := w.Location()
	from := e.Start.Add(-WindowBefore).In(loc).Format(simulator.TimeLayout)
	to := e.Start.Add(WindowAfter).In(loc).Format(simulator.TimeLayout)
	ac := func(name string) int { return schemas.Attendance.ColumnIndex(name) }
	id := strconv.Itoa(int(e.EventID))
	final := map[int64]bool{}
	for _, r := range w.StateAt(team, schemas.Attendance, asOf) {
		if r[ac("event_id")] != id || r[ac("result_code")] != "0" || r[ac("scan_type")] != "S" {
			continue
		}
		if at := r[ac("action_datetime")]; at < from || at > to {
			continue
		}
		s, err := strconv.ParseInt(r[ac("attendance_seq_id")], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		final[s] = true
	}
	var c truthCoverage
	c.final = int64(len(final))
	rt := map[int64]bool{}
	sc := func(name string) int { return schemas.Scan.ColumnIndex(name) }
	for _, r := range w.DeliveredScans(team, e.EventID, end) {
		s, _ := strconv.ParseInt(r[sc("seq_num")], 10, 64)
		rt[s] = true
		if !final[s] {
			c.extra = append(c.extra, s)
			continue
		}
		c.delivered++
		scanned, err := w.ScanInstant(r)
		if err != nil {
			t.Fatal(err)
		}
		upd, err := time.ParseInLocation(simulator.TimeLayout, r[sc("upd_datetime")], loc)
		if err != nil {
			t.Fatal(err)
		}
		c.late = append(c.late, upd.Sub(scanned))
	}
	for s := range final {
		if !rt[s] {
			c.missed = append(c.missed, s)
		}
	}
	slices.Sort(c.missed)
	slices.Sort(c.extra)
	slices.Sort(c.late)
	return c
}

// check compares a reconciliation with the truth's coverage.
func (c truthCoverage) check(t *testing.T, e EventReconcile) {
	t.Helper()
	if e.Final != c.final || e.Delivered != c.delivered || !slices.Equal(e.Missed, c.missed) || !slices.Equal(e.Extra, c.extra) {
		t.Errorf("event %d: final %d delivered %d missed %v extra %v; the truth: final %d delivered %d missed %v extra %v",
			e.EventID, e.Final, e.Delivered, e.Missed, e.Extra, c.final, c.delivered, c.missed, c.extra)
	}
	if e.Late.Timed != int64(len(c.late)) {
		t.Fatalf("event %d: %d scans timed, the truth delivered %d", e.EventID, e.Late.Timed, len(c.late))
	}
	if len(c.late) == 0 {
		return
	}
	rank := func(p float64) time.Duration { return c.late[int(math.Ceil(p*float64(len(c.late))))-1] }
	over := func(d time.Duration) (n int64) {
		for _, l := range c.late {
			if l > d {
				n++
			}
		}
		return n
	}
	want := Lateness{Timed: int64(len(c.late)), P50: rank(0.5), P90: rank(0.9), Max: c.late[len(c.late)-1],
		Over3m: over(3 * time.Minute), Over15m: over(15 * time.Minute), Over60m: over(time.Hour)}
	if e.Late != want {
		t.Errorf("event %d: lateness %+v, the truth's %+v", e.EventID, e.Late, want)
	}
}

// TestReconcileIsTruth ticks, every 30 minutes, the days from the
// doubleheader (whose windows' last minutes the feed delivers late) to
// the first ordinary game after the cutoff (whose feed had an outage that
// lost scans), for both teams. Before the clone has the standard
// attendance nothing is reconciled and each event is said to wait; a
// reconciliation forced on a half-posted clone is replaced once the rest
// arrives (retire and add in one commit); once everything has arrived
// realtime's pending events are reconciled, each equal to the truth's
// coverage (missed: the outage's lost scans; lateness: the feed's
// deliveries), and a rerun commits nothing. An event of the other team
// is refused.
func TestReconcileIsTruth(t *testing.T) {
	ctx := context.Background()
	g := newGameDay(t, simulator.SmallConfig(), "")
	w := g.world
	loc := w.Location()
	cut := w.Cutoff().In(loc)
	first := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc) // the doubleheader's day
	last := first
	outage := map[string]int32{}
	for _, team := range w.Teams() {
		for _, e := range w.ScanEvents(team) {
			if e.Start.Before(w.Cutoff()) {
				continue
			}
			if _, _, ok := w.FeedOutage(team, e.EventID); ok {
				outage[team] = e.EventID
				day := time.Date(e.Start.In(loc).Year(), e.Start.In(loc).Month(), e.Start.In(loc).Day(), 7, 0, 0, 0, loc)
				first, last = minTime(first, day), maxTime(last, day)
				break
			}
		}
	}
	if len(outage) == 0 {
		t.Fatal("no event after the cutoff had a feed outage: the test cannot check missed scans")
	}
	end := last.Add(21 * time.Hour)
	t.Logf("ticking %s to %s; outage events %v", first.In(loc), end.In(loc), outage)
	for at := first; !at.After(end); at = at.Add(30 * time.Minute) {
		for _, team := range w.Teams() {
			g.tick(t, team, at, TickOptions{})
		}
	}
	events := map[string][]simulator.EventStart{}
	for _, team := range w.Teams() {
		for _, e := range w.FollowedEvents(team, end, nil) {
			if !e.Start.Add(-WindowBefore).Before(first) {
				events[team] = append(events[team], e)
			}
		}
	}

	// The clone is still the dump: every event waits.
	for _, team := range w.Teams() {
		pend, err := PendingReconciles(ctx, g.w, team, 0)
		if err != nil || len(pend) != len(events[team]) || slices.ContainsFunc(pend, func(p Pending) bool { return p.Arrived }) {
			t.Fatalf("%s: pending before the standard attendance arrived: %+v, %v; want the %d events, none arrived", team, pend, err, len(events[team]))
		}
		e := events[team][0]
		rep, err := Reconcile(ctx, g.w, team, ReconcileOptions{EventID: e.EventID, CacheDir: g.cache, Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Events[0]; got.Outcome != ReconcileWaiting || got.Commit != nil {
			t.Errorf("%s event %d before its attendance arrived: %s", team, e.EventID, got.Summary())
		} else {
			t.Log(got.Summary())
		}
	}

	// Forced early on a half-posted clone, then replaced.
	early := events[w.Teams()[0]][0]
	team0 := w.Teams()[0]
	halfway := early.Start.Add(WindowAfter).Add(2 * time.Hour)
	pullClone(t, g, halfway)
	rep, err := Reconcile(ctx, g.w, team0, ReconcileOptions{EventID: early.EventID, PostingDelay: 2 * time.Hour, CacheDir: g.cache, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	half := coverage(t, w, team0, early, end, halfway)
	half.check(t, rep.Events[0])
	if rep.Events[0].Commit == nil {
		t.Fatalf("the early reconcile of event %d committed nothing", early.EventID)
	}

	posted := end
	for _, team := range w.Teams() {
		for _, e := range events[team] {
			at, ok := w.AttendancePosted(team, e.EventID)
			if !ok || at.After(e.Start.Add(WindowAfter).Add(DefaultPostingDelay)) {
				t.Fatalf("%s event %d: its attendance is posted at %v (%v), after the posting delay the product assumes", team, e.EventID, at, ok)
			}
			posted = maxTime(posted, e.Start.Add(WindowAfter).Add(DefaultPostingDelay))
		}
	}
	pullClone(t, g, posted)
	missed := 0
	for _, team := range w.Teams() {
		t.Run(team, func(t *testing.T) {
			pend, err := PendingReconciles(ctx, g.w, team, 0)
			if err != nil {
				t.Fatal(err)
			}
			var want []int32
			for _, e := range events[team] {
				if team != team0 || e.EventID != early.EventID { // the early reconcile took its cursor
					want = append(want, e.EventID)
				}
			}
			sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
			var ids []int32
			for _, p := range pend {
				if !p.Arrived {
					t.Errorf("event %d: its attendance has not arrived at %s", p.EventID, posted)
				}
				ids = append(ids, p.EventID)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("pending %v, want the ticked events %v", ids, want)
			}
			rep, err := Reconcile(ctx, g.w, team, ReconcileOptions{CacheDir: g.cache, Logger: quietLogger})
			if err != nil {
				t.Fatal(err)
			}
			byID := map[int32]EventReconcile{}
			for _, e := range rep.Events {
				byID[e.EventID] = e
				t.Log(e.Summary())
			}
			if team == team0 { // asked again: replaced
				again, err := Reconcile(ctx, g.w, team, ReconcileOptions{EventID: early.EventID, CacheDir: g.cache, Logger: quietLogger})
				if err != nil {
					t.Fatal(err)
				}
				e := again.Events[0]
				if e.Outcome != ReconcileCommitted || e.Commit == nil || len(e.Commit.Retires) == 0 {
					t.Errorf("event %d reconciled again with the full attendance: %s, commit %+v; want its row replaced", early.EventID, e.Outcome, e.Commit)
				}
				if e.Final <= half.final {
					t.Errorf("event %d: %d final scans half-posted, %d posted: the clone did not learn more", early.EventID, half.final, e.Final)
				}
				t.Logf("half-posted: %d final scans; now %s", half.final, e.Summary())
				byID[e.EventID] = e
			}
			for _, e := range events[team] {
				got, ok := byID[e.EventID]
				if !ok || got.Outcome != ReconcileCommitted {
					t.Errorf("event %d: not reconciled (%+v)", e.EventID, got)
					continue
				}
				c := coverage(t, w, team, e, end, posted)
				c.check(t, got)
				lost := w.FeedLost(team, e.EventID)
				if e.EventID == outage[team] {
					if len(got.Missed) == 0 {
						t.Errorf("event %d had a feed outage (lost %d scans) and nothing is missed", e.EventID, len(lost))
					}
					missed += len(got.Missed)
				}
				for _, s := range got.Missed {
					if !slices.Contains(lost, s) {
						t.Errorf("event %d: scan %d missed, but the feed did not lose it", e.EventID, s)
					}
				}
			}
			// A rerun with the same inputs commits nothing.
			head, err := g.w.Stream(ctx, Stream(team))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events[team] {
				rerun, err := Reconcile(ctx, g.w, team, ReconcileOptions{EventID: e.EventID, CacheDir: g.cache, Logger: quietLogger})
				if err != nil {
					t.Fatal(err)
				}
				if got := rerun.Events[0]; got.Outcome != ReconcileUnchanged || got.Commit != nil {
					t.Errorf("event %d rerun: %s, commit %v", e.EventID, got.Outcome, got.Commit)
				}
			}
			if after, _ := g.w.Stream(ctx, Stream(team)); after.Seq != head.Seq {
				t.Errorf("the reruns committed: seq %d -> %d", head.Seq, after.Seq)
			}
			checkReconcileView(t, g, team, byID)
		})
	}
	if missed == 0 {
		t.Error("no missed scan in the outage events")
	}

	// An event id team0 does not have, as another team's can be (ids are
	// per team: the simulator numbers both teams' events alike, so an id
	// past team0's last): refused, nothing committed.
	var top int32
	for _, r := range w.StateAt(team0, schemas.Event, posted) {
		id, _ := strconv.Atoi(r[schemas.Event.ColumnIndex("event_id")])
		top = max(top, int32(id))
	}
	head, err := g.w.Stream(ctx, Stream(team0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Reconcile(ctx, g.w, team0, ReconcileOptions{EventID: top + 1, CacheDir: g.cache, Logger: quietLogger}); !errors.Is(err, ErrNoSuchEvent) {
		t.Errorf("%s event %d (not its own): %v, want ErrNoSuchEvent", team0, top+1, err)
	}
	// An event of the team the store never followed (one before the
	// ticked days): no realtime scans, nothing committed.
	var unfollowed int32
	for _, e := range w.ScanEvents(team0) {
		if e.Start.Before(w.Cutoff()) {
			unfollowed = e.EventID
		}
	}
	rep, err = Reconcile(ctx, g.w, team0, ReconcileOptions{EventID: unfollowed, CacheDir: g.cache, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Events[0]; got.Outcome != ReconcileNoScans || got.Commit != nil {
		t.Errorf("event %d, never followed: %s", unfollowed, got.Summary())
	}
	if after, _ := g.w.Stream(ctx, Stream(team0)); after.Seq != head.Seq {
		t.Errorf("a refused event committed: seq %d -> %d", head.Seq, after.Seq)
	}
}

// checkReconcileView reads archtics.reconcile_v and the missed scans of
// team and compares them with what Reconcile reported.
func checkReconcileView(t *testing.T, g *gameDay, team string, byID map[int32]EventReconcile) {
	t.Helper()
	db, err := views.OpenDuckDB(context.Background(), "", g.w.Log, g.cache, schemas.ReconcileV, schemas.RTXReconcileScans)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := queryStrings(t, db, `SELECT concat_ws('|', event_id, final_scans, delivered, missed, extra) FROM archtics.reconcile_v WHERE team = ?`, team)
	var want []string
	var wantMissed []string
	for id, e := range byID {
		want = append(want, fmt.Sprintf("%d|%d|%d|%d|%d", id, e.Final, e.Delivered, len(e.Missed), len(e.Extra)))
		for _, s := range e.Missed {
			wantMissed = append(wantMissed, fmt.Sprintf("%d|%d", id, s))
		}
	}
	sort.Strings(want)
	if diff := diffSets(want, got); diff != "" {
		t.Errorf("archtics.reconcile_v (one row per event) differs from the reconciliations:\n%s", diff)
	}
	gotMissed := queryStrings(t, db, `SELECT concat_ws('|', event_id, attendance_seq_id) FROM archtics_rtx.reconcile_scans WHERE team = ? AND kind = 'missed'`, team)
	sort.Strings(wantMissed)
	if diff := diffSets(wantMissed, gotMissed); diff != "" {
		t.Errorf("archtics_rtx.reconcile_scans' missed scans differ:\n%s", diff)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestReconcileFindsExtras ticks the day of an event before the cutoff
// whose feed had an offline scanner (simulator.FeedExtra: the feed
// accepted reused tickets the final data records as already used) and
// reconciles it against the dump's standard attendance: its extra scans
// are the truth's re-validations the store kept, and
// archtics_rtx.reconcile_scans gives each the final data's '14'.
func TestReconcileFindsExtras(t *testing.T) {
	ctx := context.Background()
	g := newGameDay(t, simulator.SmallConfig(), "")
	w := g.world
	loc := w.Location()
	// The event with the most re-validations (the simulator's rate puts
	// none near the cutoff, and a small world's are in the season before).
	var team string
	var ev simulator.EventStart
	for _, tm := range w.Teams() {
		for _, e := range w.RevalidatedEvents(tm, w.Cutoff().Add(-500*24*time.Hour), w.Cutoff().Add(-4*24*time.Hour)) {
			if team == "" || len(w.FeedExtra(tm, e.EventID)) > len(w.FeedExtra(team, ev.EventID)) {
				team, ev = tm, e
			}
		}
	}
	if team == "" {
		t.Fatal("no event with re-validations before the cutoff")
	}
	s := ev.Start.In(loc)
	day := time.Date(s.Year(), s.Month(), s.Day(), 7, 0, 0, 0, loc)
	end := day.Add(21 * time.Hour)
	for at := day; !at.After(end); at = at.Add(30 * time.Minute) {
		g.tick(t, team, at, TickOptions{})
	}
	rep, err := Reconcile(ctx, g.w, team, ReconcileOptions{EventID: ev.EventID, CacheDir: g.cache, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Events[0]
	t.Log(got.Summary())
	c := coverage(t, w, team, ev, end, w.Cutoff())
	c.check(t, got)
	if len(got.Extra) == 0 {
		t.Fatal("no extra scan: the event does not exercise the re-validations")
	}
	revalidated := w.FeedExtra(team, ev.EventID)
	for _, s := range got.Extra {
		if !slices.Contains(revalidated, s) {
			t.Errorf("extra scan %d is not one the offline scanner re-validated", s)
		}
	}
	db, err := views.OpenDuckDB(ctx, "", g.w.Log, g.cache, schemas.RTXReconcileScans)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var want []string
	for _, s := range got.Extra {
		want = append(want, fmt.Sprintf("%d|%s|%s", s, simulator.ResultDuplicate, simulator.ScanStandard))
	}
	sort.Strings(want)
	rows := queryStrings(t, db, `SELECT concat_ws('|', attendance_seq_id, result_code, scan_type) FROM archtics_rtx.reconcile_scans
WHERE team = ? AND event_id = ? AND kind = 'extra'`, team, ev.EventID)
	if diff := diffSets(want, rows); diff != "" {
		t.Errorf("archtics_rtx.reconcile_scans' extras:\n%s", diff)
	}
}
