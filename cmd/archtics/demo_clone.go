package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"archtics/ats"
	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/changes"
	"archtics/stages/clone"
)

// demoClone is the seed's story after the dump: the simulator's change
// API on loopback, its clock moved to a week after the cutoff for the
// first large incremental, then hour by hour through the next days, every
// team's clone brought up to date each hour (a sweep for deletions and
// merges once a simulated day) and compared with the simulator's truth,
// every row and column of the four tables, after every run.
type demoClone struct {
	cfg    simulator.Config
	w      *pipeline.Warehouse
	cache  string
	out    io.Writer
	logger *slog.Logger
	// catchUp is how long after the cutoff the large incremental runs;
	// hours how many hourly runs follow.
	catchUp time.Duration
	hours   int

	world *simulator.World
	clock *simulator.SimClock
	src   *ats.Client
	stop  func()
	rt    *demoRealtime // the realtime ticks (demo_realtime.go)
	dump  string        // the dump's folder (its crm/ is the client's CRM)
	rules string        // the CRM's rule set ("": a new CRM's default)
}

// start serves the simulated change API on a loopback port.
func (d *demoClone) start() error {
	world, err := simulator.NewWorld(d.cfg)
	if err != nil {
		return err
	}
	d.world = world
	d.clock = simulator.NewSimClock(world.Cutoff())
	token := make([]byte, 16)
	rand.Read(token)
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: hex.EncodeToString(token), Clock: d.clock, Logger: d.logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("serve the simulated change API: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	d.stop = func() { hs.Close() }
	d.src = ats.New("http://"+ln.Addr().String(), hex.EncodeToString(token))
	return nil
}

// runAll brings every team up to the clock and checks it with the truth.
func (d *demoClone) runAll(ctx context.Context, sweepEvery time.Duration) (versions, deletions, merges int64, err error) {
	for _, team := range d.world.Teams() {
		rep, err := clone.Incremental(ctx, d.w, d.src, team, clone.IncrementalOptions{
			Pull:       changes.Options{Location: d.world.Location(), PageSize: changes.MaxPageSize},
			SweepEvery: sweepEvery,
			CacheDir:   d.cache,
			Logger:     d.logger,
		})
		if err != nil {
			return 0, 0, 0, err
		}
		versions += rep.Upserts
		deletions += rep.Deletions
		merges += int64(len(rep.Merges))
		if err := d.check(ctx, team, rep.To); err != nil {
			return 0, 0, 0, err
		}
	}
	return versions, deletions, merges, nil
}

// errCloneNotTruth says the demo's clone differs from the simulator's truth.
var errCloneNotTruth = errors.New("the clone differs from the simulator's truth")

// check compares team's current state with StateAt(asOf), every column.
func (d *demoClone) check(ctx context.Context, team string, asOf time.Time) error {
	var readViews []*schemas.Table
	for _, t := range schemas.SourceTables {
		readViews = append(readViews, schemas.Current(t))
	}
	db, err := views.OpenDuckDB(ctx, "", d.w.Log, d.cache, readViews...)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, t := range schemas.SourceTables {
		truth := d.world.StateAt(team, t, asOf)
		want := make([][]string, len(truth))
		for i, r := range truth {
			want[i] = r
		}
		diff, err := clone.CloneDiff(ctx, db, team, t, want, 5)
		if err != nil {
			return err
		}
		if diff != "" {
			return fmt.Errorf("%w at %s:\n%s", errCloneNotTruth, asOf.Format(time.RFC3339), diff)
		}
	}
	return nil
}

// steps are the demo's steps for the living clone.
func (d *demoClone) steps() []pipeline.Step {
	steps := []pipeline.Step{
		d.crmStep(d.dump),
		{Name: "large incremental", Run: func(ctx context.Context) (string, error) {
			if d.world == nil {
				if err := d.start(); err != nil {
					return "", err
				}
			}
			start := time.Now()
			at, closes := gameDay(d.world, d.world.Cutoff().Add(d.catchUp))
			if d.hours == demoGameDay {
				// Through the game day: until the window of its first
				// selected event closes, and its last tick after that.
				d.hours = int((closes.Sub(at) + demoTickEvery + time.Hour - 1) / time.Hour)
			}
			d.clock.Set(at)
			v, del, m, err := d.runAll(ctx, 0)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(d.out, "4. large incremental, %s of changes at once (to %s): %d versions, %d deletions, %d merges, in %s; the clone equals the truth (every row and column)\n",
				at.Sub(d.world.Cutoff()).Round(time.Hour), at.In(d.world.Location()).Format("Mon 2006-01-02 15:04"), v, del, m, time.Since(start).Round(time.Millisecond))
			return fmt.Sprintf("%d versions", v), nil
		}},
	}
	if d.hours > 0 || d.hours == demoGameDay {
		steps = append(steps, d.hourlyStep())
	}
	return append(steps, pipeline.Step{Name: "crm report", Run: func(ctx context.Context) (string, error) {
		// The changes since the last daily dedup (or the large
		// incremental's), deduplicated, so the CRM is as current as the
		// clone and a rerun of the demo finds nothing to do.
		last, err := d.crmDaily(ctx)
		if err != nil {
			return "", err
		}
		if last != "" {
			fmt.Fprintf(d.out, "7. CRM %s (the hours since the last daily run)\n", last)
		}
		return "", d.crmSummary(ctx)
	}})
}

// hourlyStep runs the hourly incrementals of the simulated week.
func (d *demoClone) hourlyStep() pipeline.Step {
	return pipeline.Step{Name: "hourly incrementals", Run: func(ctx context.Context) (string, error) {
		start := time.Now()
		var total, dv, dd, dm int64
		runs := 0
		day := d.clock.Now()
		if err := d.realtimeStart(ctx); err != nil {
			return "", err
		}
		for h := 1; h <= d.hours; h++ {
			// The hour's realtime ticks, then its incremental.
			if err := d.realtimeHour(ctx); err != nil {
				return "", fmt.Errorf("hour %d: %w", h, err)
			}
			v, del, m, err := d.runAll(ctx, 0)
			if err != nil {
				return "", fmt.Errorf("hour %d: %w", h, err)
			}
			dv, dd, dm, total = dv+v, dd+del, dm+m, total+v
			runs++
			compacted, crmNote := "", ""
			if h%24 == 0 || h == d.hours {
				// A day of hourly runs is 48 commits and a few hundred
				// small files per team: fold them, as a daily job would
				// (docs/clone.md's compaction), so the runs stay fast.
				if err := d.compactAll(ctx); err != nil {
					return "", fmt.Errorf("hour %d: %w", h, err)
				}
				compacted = ", and after the day's compaction"
				dd, err := d.crmDaily(ctx)
				if err != nil {
					return "", fmt.Errorf("hour %d: %w", h, err)
				}
				crmNote = dd
			}
			// After the hour's last clone commit (the incremental, the
			// compaction), so a rerun finds the holders current.
			if err := d.realtimeRefresh(ctx); err != nil {
				return "", fmt.Errorf("hour %d: %w", h, err)
			}
			if compacted != "" {
				compacted += d.realtimeHourNote()
				if crmNote != "" {
					compacted += "; " + crmNote
				}
			}
			if h%24 == 0 || h == d.hours {
				fmt.Fprintf(d.out, "5. from %s: %d hourly runs per team, %d versions, %d deletions, %d merges; the clone equals the truth after each%s\n",
					day.In(d.world.Location()).Format("Mon 2006-01-02 15:04"), runs, dv, dd, dm, compacted)
				dv, dd, dm, runs = 0, 0, 0, 0
				day = d.clock.Now()
			} else {
				// A line an hour, so a long run is never silent for long.
				fmt.Fprintf(d.out, "   %s: hour %d of %d, %d versions, the clone equals the truth%s\n",
					d.clock.Now().In(d.world.Location()).Format("Mon 15:04"), h, d.hours, v, d.realtimeHourNote())
			}
		}
		d.realtimeSummary()
		fmt.Fprintf(d.out, "   %d hours in %s\n", d.hours, time.Since(start).Round(time.Millisecond))
		return fmt.Sprintf("%d hours, %d versions", d.hours, total), nil
	}}
}

// compactAll compacts every team's clone and checks it with the truth
// again: a compaction changes no answer.
func (d *demoClone) compactAll(ctx context.Context) error {
	for _, team := range d.world.Teams() {
		rep, err := clone.Compact(ctx, d.w, team, clone.CompactOptions{CacheDir: d.cache, Logger: d.logger})
		if err != nil {
			return err
		}
		if rep.Commit == nil {
			continue
		}
		head, err := d.w.Stream(ctx, clone.CloneStream(team))
		if err != nil {
			return err
		}
		at, err := time.Parse(time.RFC3339, head.Watermark)
		if err != nil {
			return err
		}
		if err := d.check(ctx, team, at); err != nil {
			return fmt.Errorf("after compacting %s: %w", team, err)
		}
	}
	return nil
}

// demoGameDay, as --hours, runs the hours of one game day.
const demoGameDay = -2

// demoGameDayHours is how many hours the game day runs when no event the
// criteria select falls in the simulated season after the catch-up.
const demoGameDayHours = 12

// gameDay is where the demo's large incremental brings the clone: 09:00
// local (or from, if later) on the day of the first event the seed's
// criteria select whose realtime window opens an hour or more after from,
// so that the hours after it are a game day; and when that event's window
// closes (six hours after its start).
// Without such an event it is from, and demoGameDayHours later.
func gameDay(w *simulator.World, from time.Time) (morning, closes time.Time) {
	var first time.Time
	for _, team := range w.Teams() {
		for _, e := range w.SelectedEvents(team, from, nil) {
			if open, _ := simulator.RealtimeWindow(e.Start); open.After(from.Add(time.Hour)) && (first.IsZero() || e.Start.Before(first)) {
				first = e.Start
			}
		}
	}
	fallback := from.Add(demoGameDayHours * time.Hour)
	if first.IsZero() {
		return from, fallback
	}
	loc := w.Location()
	local := first.In(loc)
	morning = time.Date(local.Year(), local.Month(), local.Day(), 9, 0, 0, 0, loc)
	if morning.Before(from) {
		morning = from // the game is on the catch-up's own day
	}
	_, closes = simulator.RealtimeWindow(first)
	return morning, closes
}
