package web

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"archtics/ats"
	"archtics/internal/gamedaytest"
	"archtics/pipeline"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
)

// The simulated game day (internal/gamedaytest) and its truth.

var quietLogger = gamedaytest.QuietLogger

// gameDay is a simulated client: its world, a warehouse holding its
// dump's clone, and the simulator's feed on loopback with a drivable clock.
type gameDay struct {
	world *simulator.World
	w     *pipeline.Warehouse
	clock *simulator.SimClock
	cli   *ats.Client
	cache string
	day   time.Time // 07:00 local, three days after the cutoff (the doubleheader's day)

	closeFeed func()
	gd        *gamedaytest.Day
}

// newGameDay builds the game day in dir ("" a temporary folder of tb),
// its warehouse at location ("" a folder in dir; or an s3:// prefix); the
// feed's server stops with closeFeed.
func newGameDay(tb testing.TB, dir, location string) *gameDay {
	tb.Helper()
	d := gamedaytest.New(tb, simulator.SmallConfig(), dir, location)
	loc := d.World.Location()
	cut := d.World.Cutoff().In(loc)
	return &gameDay{world: d.World, w: d.W, clock: d.Clock, cli: d.Client, cache: d.Cache, closeFeed: d.CloseFeed, gd: d,
		day: time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)}
}

// tick sets the feed's clock to at and ticks every team with the truth's
// selection, then refreshes it.
func (g *gameDay) tick(tb testing.TB, at time.Time) {
	tb.Helper()
	g.clock.Set(at)
	loc := g.world.Location()
	for _, team := range g.world.Teams() {
		var sel []realtime.SelectedEvent
		for _, e := range g.world.SelectedEvents(team, at, nil) {
			l := e.Start.In(loc)
			sel = append(sel, realtime.SelectedEvent{Team: team, EventID: e.EventID, Name: e.Name,
				Date: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), Start: e.Start})
		}
		if _, err := realtime.Tick(context.Background(), g.w, g.cli, team, at, sel, realtime.TickOptions{Logger: quietLogger, CacheDir: g.cache}); err != nil {
			tb.Fatalf("tick %s at %s: %v", team, at.Format(time.RFC3339), err)
		}
		// As realtime run does after each tick: the new events' sold seats.
		if _, err := realtime.Refresh(context.Background(), g.w, team, g.cache); err != nil {
			tb.Fatalf("refresh %s at %s: %v", team, at.Format(time.RFC3339), err)
		}
	}
}

// tickUntil ticks every thirty minutes from the day's start to to.
func (g *gameDay) tickUntil(tb testing.TB, from, to time.Time) {
	for at := from; !at.After(to); at = at.Add(30 * time.Minute) {
		g.tick(tb, at)
	}
}

// pullClone moves the feed's clock to at and brings every team's clone up
// to it with one incremental.
func (g *gameDay) pullClone(tb testing.TB, at time.Time) {
	tb.Helper()
	g.gd.PullClone(tb, at)
}

// dayEvents are the team's events whose window opens on the day, by start.
func (g *gameDay) dayEvents(team string, asOf time.Time) []simulator.EventStart {
	var out []simulator.EventStart
	for _, e := range g.world.FollowedEvents(team, asOf, nil) {
		if !e.Start.Add(-realtime.WindowBefore).Before(g.day) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// truth is what the pages must show of one event, counted from the
// simulator: the scans delivered by asOf, and the seats held at the start
// as the clone knows them.
type truth struct {
	perBucket map[string]int64 // gate|minutes → scans
	scans     int64
	seats     int64 // distinct seats scanned
	sold      int64
	late      int64             // seats first scanned after the start
	noShows   map[string]string // section|row|seat → acct|first|last|email
}

// gateName is how the page names a scan's gate (a feed row without one
// shows as "(none)").
func gateName(g string) string {
	if g == "" {
		return "(none)"
	}
	return g
}

func (g *gameDay) truth(tb testing.TB, team string, ev simulator.EventStart, asOf time.Time) truth {
	tb.Helper()
	ctx := context.Background()
	loc := g.world.Location()
	tr := truth{perBucket: map[string]int64{}, noShows: map[string]string{}}
	first := map[string]time.Time{}
	sc := func(r simulator.Row, name string) string { return r[schemas.Scan.ColumnIndex(name)] }
	for _, r := range g.world.TrueScansDelivered(team, asOf, nil) {
		id, _ := strconv.Atoi(sc(r, "event_id"))
		if int32(id) != ev.EventID {
			continue
		}
		at, err := g.world.ScanInstant(r)
		if err != nil {
			tb.Fatal(err)
		}
		tr.perBucket[fmt.Sprintf("%s|%d", gateName(sc(r, "gate")), bucketMinutes(ev.Start.In(loc), at.In(loc)))]++
		tr.scans++
		n, err := strconv.Atoi(sc(r, "seat_num"))
		if err != nil {
			continue // a staff credential: a scan, no seat
		}
		k := fmt.Sprintf("%s|%s|%d", sc(r, "section_name"), sc(r, "row_name"), n)
		if f, ok := first[k]; !ok || at.Before(f) {
			first[k] = at
		}
	}
	tr.seats = int64(len(first))
	for _, f := range first {
		if bucketMinutes(ev.Start.In(loc), f.In(loc)) >= 0 {
			tr.late++
		}
	}
	head, err := g.w.Stream(ctx, team+"/clone")
	if err != nil {
		tb.Fatal(err)
	}
	wm, err := time.Parse(time.RFC3339Nano, head.Watermark)
	if err != nil {
		tb.Fatal(err)
	}
	holders := g.world.SeatHolders(team, wm, g.world.Cutoff().Add(-time.Nanosecond), wm)
	names := truthNames(g, team, wm)
	for _, h := range holders {
		if h.EventID != ev.EventID || h.From.After(ev.Start) || !h.Until.IsZero() && !ev.Start.Before(h.Until) {
			continue
		}
		if hh, _ := simulator.HolderAt(holders, h.EventID, h.Section, h.Row, h.Seat, ev.Start); hh != h {
			continue // the last interval holding the start wins
		}
		tr.sold++
		k := fmt.Sprintf("%s|%s|%d", h.Section, h.Row, h.Seat)
		if _, ok := first[k]; ok {
			continue
		}
		acct := strconv.Itoa(int(h.Acct))
		n := names[acct]
		tr.noShows[k] = acct + "|" + n[0] + "|" + n[1] + "|" + n[2]
	}
	return tr
}

// bucketMinutes is gamedaytest.BucketMinutes.
func bucketMinutes(start, scan time.Time) int { return gamedaytest.BucketMinutes(start, scan) }

// truthNames is gamedaytest.TruthNames of g's world.
func truthNames(g *gameDay, team string, at time.Time) map[string][3]string {
	return gamedaytest.TruthNames(g.world, team, at)
}

// finalEntries counts the event's final initial entries in the
// standard attendance the world posted by asOf (result_code 0, scan_type
// S, inside the window), and how many of them the feed delivered by end,
// missed, and the delivered scans the final data lacks.
func (g *gameDay) finalEntries(tb testing.TB, team string, ev simulator.EventStart, end, asOf time.Time) (final, delivered, missed, extra int) {
	tb.Helper()
	loc := g.world.Location()
	from := ev.Start.Add(-realtime.WindowBefore).In(loc).Format(simulator.TimeLayout)
	to := ev.Start.Add(realtime.WindowAfter).In(loc).Format(simulator.TimeLayout)
	ac := func(name string) int { return schemas.Attendance.ColumnIndex(name) }
	id := strconv.Itoa(int(ev.EventID))
	fin := map[string]bool{}
	for _, r := range g.world.StateAt(team, schemas.Attendance, asOf) {
		if r[ac("event_id")] != id || r[ac("result_code")] != "0" || r[ac("scan_type")] != "S" {
			continue
		}
		if at := r[ac("action_datetime")]; at < from || at > to {
			continue
		}
		fin[r[ac("attendance_seq_id")]] = true
	}
	got := map[string]bool{}
	for _, r := range g.world.DeliveredScans(team, ev.EventID, end) {
		s := r[schemas.Scan.ColumnIndex("seq_num")]
		got[s] = true
		if fin[s] {
			delivered++
		} else {
			extra++
		}
	}
	return len(fin), delivered, len(fin) - delivered, extra
}
