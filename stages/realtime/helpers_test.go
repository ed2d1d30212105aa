package realtime

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"archtics/ats"
	"archtics/internal/dbtest"
	"archtics/internal/gamedaytest"
	"archtics/pipeline"
	"archtics/simulator"
)

var quietLogger = gamedaytest.QuietLogger

// gameDay is a simulated client: its world, a warehouse holding its
// dump's clone, and the simulator's feed on loopback with a drivable clock.
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
// location (a folder or an s3:// prefix; "" a temporary folder) and serves
// the feed.
func newGameDay(tb testing.TB, cfg simulator.Config, location string) *gameDay {
	tb.Helper()
	return fromDay(gamedaytest.New(tb, cfg, "", location))
}

// newClone writes cfg's dump and loads every team into a warehouse at
// location (a folder or an s3:// prefix; "" a temporary folder), without
// a world or a feed.
func newClone(tb testing.TB, cfg simulator.Config, location string) *gameDay {
	tb.Helper()
	return fromDay(gamedaytest.LoadClone(tb, cfg, "", location))
}

func fromDay(d *gamedaytest.Day) *gameDay {
	return &gameDay{world: d.World, w: d.W, clock: d.Clock, cli: d.Client, dir: d.Dir, cache: d.Cache, day: d}
}

// selected is the truth's selection at at (the seed's query, default
// criteria) as the tick's input.
func (g *gameDay) selected(team string, at time.Time) []SelectedEvent {
	var out []SelectedEvent
	loc := g.world.Location()
	for _, e := range g.world.SelectedEvents(team, at, nil) {
		l := e.Start.In(loc)
		out = append(out, SelectedEvent{Team: team, EventID: e.EventID, Name: e.Name,
			Date: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), Start: e.Start})
	}
	return out
}

// tick sets the feed's clock to at and runs team's tick with the truth's
// selection.
func (g *gameDay) tick(tb testing.TB, team string, at time.Time, opts TickOptions) *TickReport {
	tb.Helper()
	g.clock.Set(at)
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	if opts.CacheDir == "" {
		opts.CacheDir = g.cache
	}
	rep, err := Tick(context.Background(), g.w, g.cli, team, at, g.selected(team, at), opts)
	if err != nil {
		tb.Fatalf("tick %s at %s: %v", team, at.Format(time.RFC3339), err)
	}
	return rep
}

// queryStrings runs q, whose rows are one string each, and returns them
// sorted.
func queryStrings(tb testing.TB, db *sql.DB, q string, args ...any) []string {
	tb.Helper()
	return dbtest.Strings(tb, db, q, args...)
}

// diffSets lists up to ten entries of each side missing from the other.
func diffSets(want, got []string) string {
	return dbtest.DiffSets(want, got)
}
