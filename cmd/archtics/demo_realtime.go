package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
)

// The demo's realtime attendance. Before the hourly incrementals start,
// every team gets the seed's first example criteria; then, within each
// simulated hour, every three minutes of simulated time, each team whose
// selected events have a window open is ticked against the simulator's
// scan feed on loopback, as production's `realtime run` would, while the
// hourly incrementals keep the clone (and so the ticket holders) current.
// After each hour with ticks the stored scans are counted against the
// simulator's truth as of delivery; a team's partitions are rolled up
// into one file each once they hold a day's worth of ticks.

// demoCriteria is the seed's first example criteria (the simulator's
// DefaultCriteria is the same rule).
const demoCriteria = "total_events = 1 AND major_category IN ('SPORTS','CONCERTS')"

// demoTickEvery is the demo's tick: production's three minutes.
const demoTickEvery = realtime.DefaultEvery

// errScansNotTruth says the demo's realtime store differs from the truth.
var errScansNotTruth = errors.New("the stored scans differ from the simulator's truth")

// demoRealtime is what the demo's ticks have done so far.
type demoRealtime struct {
	from     time.Time // the first tick's logical time: events whose window opened before are not followed
	ticks    map[string]int
	kept     map[string]int64
	dropped  map[string]int64
	lastTick map[string]time.Time
	events   map[string]map[int32]string // team → followed event id → name
	checked  map[string]time.Time        // team → the last tick compared with the truth

	// hourTicks and hourKept are the ticks and kept scans since the last
	// realtimeHourNote, for the demo's line an hour.
	hourTicks int
	hourKept  int64
	// refreshed and hourRefreshed count the stored scans whose holder or
	// names a refresh changed after an incremental.
	refreshed, hourRefreshed int64
}

// realtimeStart sets every team's criteria (unless the same criteria are
// already in force: a rerun adds nothing) and starts the ticks' record.
func (d *demoClone) realtimeStart(ctx context.Context) error {
	now := d.clock.Now()
	for _, team := range d.world.Teams() {
		cur, err := realtime.CriteriaAt(ctx, d.w, team, now, d.cache)
		if err != nil && !errors.Is(err, realtime.ErrNoCriteria) {
			return fmt.Errorf("read %s's realtime criteria: %w", team, err)
		}
		if cur != nil && cur.Criteria == demoCriteria {
			continue
		}
		if _, _, err := realtime.SetCriteria(ctx, d.w, team, demoCriteria, realtime.SetOptions{
			By: "demo", Note: "the seed's first example", Effective: now}); err != nil {
			return fmt.Errorf("set %s's realtime criteria: %w", team, err)
		}
	}
	d.rt = &demoRealtime{from: now.Truncate(demoTickEvery).Add(demoTickEvery), ticks: map[string]int{}, kept: map[string]int64{},
		dropped: map[string]int64{}, lastTick: map[string]time.Time{}, events: map[string]map[int32]string{}, checked: map[string]time.Time{}}
	return nil
}

// realtimeHour runs the ticks of the hour after the clock: at every
// multiple of three minutes up to and including the next hour, each team
// whose selection has a window open at that tick. It leaves the clock at
// the hour.
func (d *demoClone) realtimeHour(ctx context.Context) error {
	hourStart := d.clock.Now()
	hourEnd := hourStart.Add(time.Hour)
	// Which teams have a window open this hour, from the selection at
	// its start (the events of the next eight days); each tick then
	// selects afresh, as production does.
	open := map[string][][2]time.Time{}
	for _, team := range d.world.Teams() {
		events, err := realtime.SelectEvents(ctx, d.w, team, hourStart, realtime.SelectOptions{CacheDir: d.cache, Logger: d.logger})
		if err != nil {
			return err
		}
		for _, e := range events {
			from, to := simulator.RealtimeWindow(e.Start)
			// A tick pulls what was delivered up to it: the first one at
			// or after a window's close still has scans to take.
			if from.Before(hourEnd) && !to.Add(demoTickEvery).Before(hourStart) && !from.Before(d.rt.from) {
				open[team] = append(open[team], [2]time.Time{from, to.Add(demoTickEvery)})
			}
		}
	}
	if len(open) == 0 {
		d.clock.Set(hourEnd)
		return nil
	}
	teams := make([]string, 0, len(open))
	for team := range open {
		teams = append(teams, team)
	}
	sort.Strings(teams)
	loc := d.world.Location()
	for at := hourStart.Truncate(demoTickEvery).Add(demoTickEvery); !at.After(hourEnd); at = at.Add(demoTickEvery) {
		if err := ctx.Err(); err != nil {
			return err
		}
		d.clock.Set(at)
		for _, team := range teams {
			inWindow := false
			for _, w := range open[team] {
				inWindow = inWindow || !at.Before(w[0]) && at.Before(w[1])
			}
			if !inWindow {
				continue
			}
			events, err := realtime.SelectEvents(ctx, d.w, team, at, realtime.SelectOptions{CacheDir: d.cache, Logger: d.logger})
			if err != nil {
				return err
			}
			rep, err := realtime.Tick(ctx, d.w, d.src, team, at, events, realtime.TickOptions{CacheDir: d.cache, Logger: d.logger})
			if err != nil {
				return fmt.Errorf("tick %s at %s: %w", team, at.In(loc).Format(time.DateTime), err)
			}
			d.rt.ticks[team]++
			d.rt.hourTicks++
			d.rt.lastTick[team] = at
			d.rt.kept[team] += rep.Kept
			d.rt.hourKept += rep.Kept
			for _, n := range rep.Dropped {
				d.rt.dropped[team] += n
			}
			if d.rt.events[team] == nil {
				d.rt.events[team] = map[int32]string{}
			}
			for _, e := range rep.Events {
				d.rt.events[team][e.EventID] = e.Name
			}
			if isTerminal(os.Stderr) {
				fmt.Fprintf(os.Stderr, "\r   realtime %s: tick %s, %d scans kept   ", team, at.In(loc).Format("Mon 15:04"), d.rt.kept[team])
			}
		}
	}
	clearProgress()
	d.clock.Set(hourEnd)
	for _, team := range teams {
		if err := d.realtimeCheck(ctx, team); err != nil {
			return err
		}
	}
	return nil
}

// realtimeCheck compares team's stored scans with the truth as of its
// last tick, and rolls its partitions up once they hold a day of ticks.
func (d *demoClone) realtimeCheck(ctx context.Context, team string) error {
	if _, ok := d.rt.lastTick[team]; !ok {
		return nil
	}
	// The store holds what the stream's newest tick stored: on a rerun of
	// the demo that is a later tick than this run's.
	head, err := d.w.Stream(ctx, realtime.Stream(team))
	if err != nil {
		return err
	}
	at, err := time.Parse(time.RFC3339Nano, head.Watermark)
	if err != nil {
		return fmt.Errorf("%s's realtime watermark %q: %w", team, head.Watermark, err)
	}
	if d.rt.checked[team].Equal(at) {
		return nil
	}
	if _, err := realtime.Rollup(ctx, d.w, team, realtime.DefaultRollupFiles, d.cache); err != nil {
		return fmt.Errorf("roll up %s: %w", team, err)
	}
	stored, err := d.countScans(ctx, team)
	if err != nil {
		return err
	}
	if want := d.truthScans(team, at); stored != want {
		return fmt.Errorf("%w: %s holds %d scans after its tick at %s, the truth as of delivery %d",
			errScansNotTruth, team, stored, at.Format(time.RFC3339), want)
	}
	d.rt.checked[team] = at
	return nil
}

// realtimeHourNote says what the ticks did since it was last called:
// nothing when there were none.
func (d *demoClone) realtimeHourNote() string {
	if d.rt == nil || d.rt.hourTicks == 0 {
		return ""
	}
	note := fmt.Sprintf("; %d realtime ticks kept %d scans, the store equals the truth as of delivery", d.rt.hourTicks, d.rt.hourKept)
	if d.rt.hourRefreshed > 0 {
		note += fmt.Sprintf("; %d stored scans' holders or names refreshed from the clone", d.rt.hourRefreshed)
	}
	d.rt.hourTicks, d.rt.hourKept, d.rt.hourRefreshed = 0, 0, 0
	return note
}

// realtimeRefresh brings the holders and names of every ticked team's
// stored scans up to the clone the hour's incremental just committed, as
// production's realtime run does after its next tick.
func (d *demoClone) realtimeRefresh(ctx context.Context) error {
	if d.rt == nil {
		return nil
	}
	for _, team := range d.world.Teams() {
		if _, ok := d.rt.lastTick[team]; !ok {
			continue
		}
		rep, err := realtime.Refresh(ctx, d.w, team, d.cache)
		if err != nil {
			return err
		}
		d.rt.refreshed += rep.Changed
		d.rt.hourRefreshed += rep.Changed
	}
	return nil
}

// realtimeSummary prints what the ticks did, per team.
func (d *demoClone) realtimeSummary() {
	if d.rt == nil {
		return
	}
	for _, team := range d.world.Teams() {
		if d.rt.ticks[team] == 0 {
			fmt.Fprintf(d.out, "6. realtime %s: no event the criteria select had its window open\n", team)
			continue
		}
		var names []string
		for _, n := range d.rt.events[team] {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(d.out, "6. realtime %s: %d ticks every %s over %d events %v, %d scans kept (%d dropped by the window and the entry filter); equal to the truth as of delivery after every hour\n",
			team, d.rt.ticks[team], demoTickEvery, len(names), names, d.rt.kept[team], d.rt.dropped[team])
	}
	if d.rt.refreshed > 0 {
		fmt.Fprintf(d.out, "   the hourly incrementals taught the clone new holders, names or emails for %d stored scans; realtime refresh rewrote them\n", d.rt.refreshed)
	} else {
		fmt.Fprintf(d.out, "   realtime refresh checked the stored scans after every hourly incremental: no holder, name or email had changed\n")
	}
}

// countScans is how many scans team's archtics_<team>_rtx.attendance holds.
func (d *demoClone) countScans(ctx context.Context, team string) (int64, error) {
	db, err := views.OpenDuckDB(ctx, "", d.w.Log, d.cache)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	q := "SELECT count(*) FROM " + schemas.QuoteIdent(schemas.TeamRTXSchema(team)) + ".attendance"
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s's scans: %w", team, err)
	}
	return n, nil
}

// truthScans is how many scans the truth says team's store holds after a
// tick at at, for the events whose window opened at or after the demo's
// first tick.
func (d *demoClone) truthScans(team string, at time.Time) int64 {
	var n int64
	for _, e := range d.world.FollowedEvents(team, at, simulator.DefaultCriteria) {
		if w, _ := simulator.RealtimeWindow(e.Start); !w.Before(d.rt.from) {
			n += int64(len(d.world.DeliveredScans(team, e.EventID, at)))
		}
	}
	return n
}
