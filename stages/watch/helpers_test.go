package watch_test

import (
	"context"
	"fmt"
	"slices"
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

// The game day (internal/gamedaytest): a simulated client, its dump's
// clone, the feed on loopback with a drivable clock; and ticks.

var quietLogger = gamedaytest.QuietLogger

type gameDay struct {
	world *simulator.World
	w     *pipeline.Warehouse
	clock *simulator.SimClock
	cli   *ats.Client
	dir   string
	cache string
	day   *gamedaytest.Day
}

// newGameDay writes cfg's dump, loads every team into a warehouse at
// location ("" a temporary folder) and serves the feed.
func newGameDay(tb testing.TB, cfg simulator.Config, location string) *gameDay {
	tb.Helper()
	d := gamedaytest.New(tb, cfg, "", location)
	return &gameDay{world: d.World, w: d.W, clock: d.Clock, cli: d.Client, dir: d.Dir, cache: d.Cache, day: d}
}

// tick sets the feed's clock to at and runs team's tick with the truth's
// selection.
func (g *gameDay) tick(tb testing.TB, team string, at time.Time) {
	tb.Helper()
	g.clock.Set(at)
	var sel []realtime.SelectedEvent
	loc := g.world.Location()
	for _, e := range g.world.SelectedEvents(team, at, nil) {
		l := e.Start.In(loc)
		sel = append(sel, realtime.SelectedEvent{Team: team, EventID: e.EventID, Name: e.Name,
			Date: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), Start: e.Start})
	}
	if _, err := realtime.Tick(context.Background(), g.w, g.cli, team, at, sel, realtime.TickOptions{Logger: quietLogger, CacheDir: g.cache}); err != nil {
		tb.Fatalf("tick %s at %s: %v", team, at.Format(time.RFC3339), err)
	}
}

// tickStep is the interval of the game day's ticks.
const tickStep = 30 * time.Minute

// gameDayBounds is the doubleheader's day (the third after the cutoff):
// its first tick and its last.
func gameDayBounds(g *gameDay) (day, end time.Time) {
	loc := g.world.Location()
	cut := g.world.Cutoff().In(loc)
	day = time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)
	return day, day.Add(21 * time.Hour)
}

// tickDay ticks both teams every tickStep from day to end against the
// dump's clone, calling after (when set) after each tick with the tick's
// index.
func tickDay(t *testing.T, g *gameDay, day, end time.Time, after func(team string, at time.Time, i int)) {
	t.Helper()
	i := 0
	for at := day; !at.After(end); at = at.Add(tickStep) {
		for _, team := range g.world.Teams() {
			g.tick(t, team, at)
			if after != nil {
				after(team, at, i)
			}
		}
		i++
	}
}

// pullClone moves the feed's clock to at and brings every team's clone up
// to it with one incremental, swept, so archtics.acct_merge holds the
// merges done by then.
func pullClone(t *testing.T, g *gameDay, at time.Time) {
	t.Helper()
	g.day.PullClone(t, at)
}

// truthScan is a scan the realtime store holds, as the truth has it.
type truthScan struct {
	event     int32
	eventName string
	start     time.Time
	holder    int32 // the account the stored scan names, followed through the merges done by the pull
	section   string
	row       string
	seat      string // "" for none
	gate      string
	scanned   time.Time
	delivered time.Time // when the feed delivered it (upd_datetime)
	seq       int64
}

// truthScans returns team's scans the ticks stored, of the events whose
// window opened at or after day, with the holder the enriched table
// names (as stages/realtime's enrichedDiff: the seat's holder at the
// scan as of end when the clone knows one, else the feed's acct_id)
// followed through the truth's merges done by pulled; scans without an
// account are left out.
func truthScans(t *testing.T, g *gameDay, team string, day, end, pulled time.Time) []truthScan {
	t.Helper()
	starts := map[int32]time.Time{}
	for _, e := range g.world.FollowedEvents(team, end, nil) {
		if !e.Start.Add(-realtime.WindowBefore).Before(day) {
			starts[e.EventID] = e.Start
		}
	}
	seatHolders := g.world.SeatHolders(team, end)
	winner := finalWinners(g.world, team, pulled)
	sc := func(r simulator.Row, name string) string { return r[schemas.Scan.ColumnIndex(name)] }
	var out []truthScan
	for _, r := range g.world.TrueScansDelivered(team, end, nil) {
		id, _ := strconv.Atoi(sc(r, "event_id"))
		start, ok := starts[int32(id)]
		if !ok {
			continue
		}
		scanned, err := g.world.ScanInstant(r)
		if err != nil {
			t.Fatal(err)
		}
		acct := sc(r, "acct_id")
		seat, seatErr := strconv.Atoi(sc(r, "seat_num"))
		h, held := simulator.HolderAt(seatHolders, int32(id), sc(r, "section_name"), sc(r, "row_name"), int32(seat), scanned)
		switch {
		case acct != "":
			if seatErr == nil && held && !h.Pending {
				acct = strconv.Itoa(int(h.Acct))
			}
		case seatErr == nil && held:
			acct = strconv.Itoa(int(h.Acct))
		default:
			continue // no account: a staff credential
		}
		n, err := strconv.Atoi(acct)
		if err != nil {
			t.Fatalf("truth scan of event %d: acct_id %q", id, acct)
		}
		seq, err := strconv.ParseInt(sc(r, "seq_num"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		delivered, err := time.ParseInLocation(simulator.TimeLayout, sc(r, "upd_datetime"), g.world.Location())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, truthScan{event: int32(id), eventName: sc(r, "event_name"), start: start, holder: winner(int32(n)),
			section: sc(r, "section_name"), row: sc(r, "row_name"), seat: sc(r, "seat_num"), gate: sc(r, "gate"),
			scanned: scanned, delivered: delivered, seq: seq})
	}
	if len(out) == 0 {
		t.Fatalf("%s: the truth has no scans with an account on the day", team)
	}
	return out
}

// finalWinners follows an account through team's merges done by at to
// the end of its chain.
func finalWinners(w *simulator.World, team string, at time.Time) func(int32) int32 {
	next := map[int32]int32{}
	for _, m := range w.Merges() {
		if m.Team == team && !m.At.After(at) {
			next[m.Loser] = m.Winner
		}
	}
	return func(a int32) int32 {
		for range 64 {
			b, ok := next[a]
			if !ok {
				break
			}
			a = b
		}
		return a
	}
}

// truthArrival is what the webhook must be told once.
type truthArrival struct {
	truthScan
	listed int32
}

func (a truthArrival) key(team string) string {
	return fmt.Sprintf("archtics:%s:%d:%d", team, a.event, a.seq)
}

// truthArrivals is, of scans, the first (lowest seq) of each event, seat
// and holder that the list watches, in delivery order (scan instant,
// event, seq). listed maps a holder to the account the list names for
// it.
func truthArrivals(scans []truthScan, listed map[int32]int32) []truthArrival {
	first := map[string]truthScan{}
	for _, s := range scans {
		if _, ok := listed[s.holder]; !ok {
			continue
		}
		k := fmt.Sprintf("%d|%d|%s|%s|%s", s.event, s.holder, s.section, s.row, s.seat)
		if f, ok := first[k]; !ok || s.seq < f.seq {
			first[k] = s
		}
	}
	var out []truthArrival
	for _, s := range first {
		out = append(out, truthArrival{truthScan: s, listed: listed[s.holder]})
	}
	slices.SortFunc(out, func(a, b truthArrival) int {
		if c := a.scanned.Compare(b.scanned); c != 0 {
			return c
		}
		if a.event != b.event {
			return int(a.event) - int(b.event)
		}
		return int(a.seq - b.seq)
	})
	return out
}
