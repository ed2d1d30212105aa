package realtime

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"archtics/ats"
	"archtics/internal/dbtest"
	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/simulator"
	"archtics/stages/clone"
	"archtics/storage/file"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// gameDay is a simulated client: its world, a warehouse holding its
// dump's clone, and the simulator's feed on loopback with a drivable clock.
type gameDay struct {
	world *simulator.World
	w     *pipeline.Warehouse
	clock *simulator.SimClock
	cli   *ats.Client
	dir   string
	cache string
}

// newGameDay writes cfg's dump, loads every team into a warehouse at
// location (a folder or an s3:// prefix; "" a temporary folder) and serves
// the feed.
func newGameDay(tb testing.TB, cfg simulator.Config, location string) *gameDay {
	tb.Helper()
	g := newClone(tb, cfg, location)
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	clock := simulator.NewSimClock(world.Cutoff())
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: "t", Clock: clock})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	g.world, g.clock = world, clock
	g.cli = ats.New(hs.URL, "t", ats.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
	return g
}

// newClone writes cfg's dump and loads every team into a warehouse at
// location (a folder or an s3:// prefix; "" a temporary folder), without
// a world or a feed.
func newClone(tb testing.TB, cfg simulator.Config, location string) *gameDay {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(filepath.Join(dir, "dump")), nil); err != nil {
		tb.Fatal(err)
	}
	src, err := file.New(filepath.Join(dir, "dump"))
	if err != nil {
		tb.Fatal(err)
	}
	dump, err := clone.OpenDump(ctx, src)
	if err != nil {
		tb.Fatal(err)
	}
	if location == "" {
		location = filepath.Join(dir, "warehouse")
	}
	w, err := pipelinetest.Open(ctx, location, quietLogger)
	if err != nil {
		tb.Fatal(err)
	}
	for _, team := range dump.Teams() {
		if _, err := clone.LoadDump(ctx, w, dump, team, nil); err != nil {
			tb.Fatalf("load %s: %v", team, err)
		}
	}
	return &gameDay{w: w, dir: dir, cache: filepath.Join(dir, "cache")}
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
