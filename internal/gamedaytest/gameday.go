// Package gamedaytest builds, for the tests of the packages that work on
// a game day (stages/realtime, stages/watch, web), a simulated client: its
// world, a warehouse holding its dump's clone, and the simulator's change
// API and scan feed on loopback with a drivable clock; and counts from the
// truth those tests compare with. It imports no stage that runs ticks, so
// those stages' own tests can use it.
package gamedaytest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"archtics/ats"
	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/changes"
	"archtics/stages/clone"
	"archtics/storage/file"
)

// QuietLogger discards what the stages log.
var QuietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// Day is a simulated client on a game day.
type Day struct {
	World  *simulator.World // nil for LoadClone's
	W      *pipeline.Warehouse
	Clock  *simulator.SimClock
	Client *ats.Client
	Dir    string // the dump is in Dir/dump
	Cache  string // the verified local cache the stages read through
	// CloseFeed stops the feed's server (the test's cleanup does too).
	CloseFeed func()
}

// LoadClone writes cfg's dump in dir ("" a temporary folder of tb) and
// loads every team into a warehouse at location (a folder or an s3://
// prefix; "" a folder in dir), without a world or a feed.
func LoadClone(tb testing.TB, cfg simulator.Config, dir, location string) *Day {
	tb.Helper()
	ctx := context.Background()
	if dir == "" {
		dir = tb.TempDir()
	}
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
	w, err := pipelinetest.Open(ctx, location, QuietLogger)
	if err != nil {
		tb.Fatal(err)
	}
	for _, team := range dump.Teams() {
		if _, err := clone.LoadDump(ctx, w, dump, team, nil); err != nil {
			tb.Fatalf("load %s: %v", team, err)
		}
	}
	return &Day{W: w, Dir: dir, Cache: filepath.Join(dir, "cache")}
}

// New is LoadClone with cfg's world and its feed served on loopback, the
// clock at the cutoff.
func New(tb testing.TB, cfg simulator.Config, dir, location string) *Day {
	tb.Helper()
	d := LoadClone(tb, cfg, dir, location)
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
	d.World, d.Clock, d.CloseFeed = world, clock, hs.Close
	d.Client = ats.New(hs.URL, "t", ats.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
	return d
}

// PullClone moves the feed's clock to at and brings every team's clone up
// to it with one incremental, swept (merges, deletions).
func (d *Day) PullClone(tb testing.TB, at time.Time) {
	tb.Helper()
	d.Clock.Set(at)
	for _, team := range d.World.Teams() {
		opts := clone.IncrementalOptions{Pull: changes.Options{Location: d.World.Location(), PageSize: 2000}, Logger: QuietLogger, CacheDir: d.Cache}
		if _, err := clone.Incremental(context.Background(), d.W, d.Client, team, opts); err != nil {
			tb.Fatalf("incremental %s: %v", team, err)
		}
	}
}

// TruthNames is every account's primary name (the lowest cust_name_id
// with primary_code 'Primary') in the truth's archtics.cust as of at:
// first, last, email.
func TruthNames(w *simulator.World, team string, at time.Time) map[string][3]string {
	cust := schemas.Cust
	names := map[string][3]string{}
	best := map[string]int{}
	for _, r := range w.StateAt(team, cust, at) {
		if r[cust.ColumnIndex("primary_code")] != "Primary" {
			continue
		}
		acct := r[cust.ColumnIndex("acct_id")]
		id, _ := strconv.Atoi(r[cust.ColumnIndex("cust_name_id")])
		if b, ok := best[acct]; ok && b < id {
			continue
		}
		best[acct] = id
		names[acct] = [3]string{r[cust.ColumnIndex("name_first")], r[cust.ColumnIndex("name_last")], r[cust.ColumnIndex("email_addr")]}
	}
	return names
}

// BucketMinutes is the start, in minutes from the event's start, of the
// three-minute bucket holding the scan, both wall clocks of one zone.
func BucketMinutes(start, scan time.Time) int {
	wall := func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	}
	d := wall(scan).Sub(wall(start))
	b := d / (3 * time.Minute)
	if d < 0 && d%(3*time.Minute) != 0 {
		b--
	}
	return int(b) * 3
}
