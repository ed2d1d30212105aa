package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/ats"
	"archtics/pipeline"
	"archtics/simulator"
	"archtics/stages/clone"
	"archtics/stages/realtime"
)

// realtimeSourceFlags are the flags of the commands that pull the feed.
func realtimeSourceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "team", Usage: "the Archtics database (DSN) whose realtime scans to pull (required)"},
		&cli.StringFlag{Name: "source", Usage: "URL of the Archtics API, the simulator's http://127.0.0.1:8787 (required)", EnvVars: []string{"ARCHTICS_SOURCE"}},
		&cli.StringFlag{Name: "token", Usage: "bearer token of the API", EnvVars: []string{"ARCHTICS_SOURCE_TOKEN"}},
		&cli.StringFlag{Name: "timezone", Usage: "the client's IANA zone (default: the one the dump's manifest named)"},
		&cli.StringFlag{Name: "preferred-timezone", Usage: "the zone the views show times in, kept as the team's setting (default: the one set before, else the client's)"},
		&cli.StringFlag{Name: "cache", Usage: "local cache of committed files (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
		&cli.IntFlag{Name: "page-size", Value: 10_000, Usage: "feed rows per page"},
		&cli.IntFlag{Name: "concurrency", Value: 8, Usage: "events pulled at once"},
	}
}

// tickOptions reads the flags realtimeSourceFlags declares, and the
// team's zone (--timezone, else the one the clone recorded).
func tickOptions(c *cli.Context, w *pipeline.Warehouse, team string) (realtime.TickOptions, *ats.Client, error) {
	for _, f := range []string{"page-size", "concurrency"} {
		if c.Int(f) <= 0 {
			return realtime.TickOptions{}, nil, cli.Exit(fmt.Sprintf("--%s must be positive", f), exitUsage)
		}
	}
	cache := cacheDir(c, w)
	opts := realtime.TickOptions{
		TimeZone: c.String("timezone"), PreferredTimeZone: c.String("preferred-timezone"),
		PageSize: c.Int("page-size"), Concurrency: c.Int("concurrency"), CacheDir: cache, Logger: slog.Default(),
	}
	loc, err := clone.CloneLocation(c.Context, w, team, opts.TimeZone)
	if err != nil {
		return realtime.TickOptions{}, nil, err
	}
	opts.Location = loc
	src := strings.TrimSuffix(strings.TrimSuffix(c.String("source"), "/"), "/ats")
	return opts, ats.New(src, c.String("token")), nil
}

// parseTickTime reads --at: an RFC 3339 instant (Airflow's logical time)
// or the client's wall clock 'YYYY-MM-DD HH:MM:SS' (refused in a skipped
// hour, and in a repeated one without an offset).
func parseTickTime(s string, loc *time.Location) (time.Time, error) {
	t, err := simulator.ParseLocalTime(s, loc)
	if err != nil {
		return time.Time{}, cli.Exit(fmt.Sprintf("--at: %v", err), exitUsage)
	}
	return t, nil
}

func realtimeTickCommand() *cli.Command {
	return &cli.Command{
		Name:  "tick",
		Usage: "one realtime tick at a logical time: pull the followed events' new scans, keep the window's initial entries, commit",
		Description: `tick runs one three-minute tick of a team's realtime attendance at the logical
time --at (what an Airflow task or a CI job passes; default: now, on the
three-minute grid). It selects the events the team's criteria select at that
time (korebi.birulesettings, the seed's verification query), follows each one
from its window's opening (five hours before its start) to an hour after its
window closes (six hours after the start), pulls every scan after the
event's last stored seq_num that the feed had delivered by --at (all pages,
several events at once), keeps the initial entries (result_code '0',
scan_type 'S') scanned inside the window, each seq_num once, and commits the
raw rows (archtics_rtx.attendance_raw), the enriched rows the views read and the
new cursors in one commit on <team>/realtime. The commit's summary counts
what each rule dropped.

A tick at a logical time already committed does nothing (a retry is safe);
one earlier than the stream's last tick is refused.

Examples:
   archtics realtime tick --team nhl --source http://127.0.0.1:8787 --at 2026-11-23T18:00:00Z
   archtics realtime tick --team nhl --source http://127.0.0.1:8787 --at "2026-11-23 13:00:00"`,
		Flags: append(realtimeSourceFlags(),
			&cli.StringFlag{Name: "at", Usage: "logical time of the tick: RFC 3339, or the client's local 'YYYY-MM-DD HH:MM:SS' (default: now, truncated to 3 minutes)"},
		),
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "team", "source"); err != nil {
				return err
			}
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("tick takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			start := time.Now()
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			team := c.String("team")
			opts, src, err := tickOptions(c, w, team)
			if err != nil {
				return err
			}
			at := time.Now().Truncate(realtime.DefaultEvery)
			if s := c.String("at"); s != "" {
				if at, err = parseTickTime(s, opts.Location); err != nil {
					return err
				}
				if err := notFuture(c, "at", at); err != nil {
					return err
				}
			}
			events, err := realtime.SelectEvents(c.Context, w, team, at, realtime.SelectOptions{TimeZone: opts.TimeZone, CacheDir: opts.CacheDir, Logger: slog.Default()})
			if err != nil {
				return err
			}
			defer realtime.GCForTicks()()
			rep, err := realtime.Tick(c.Context, w, src, team, at, events, opts)
			if err != nil {
				return err
			}
			m := commitMetrics(team, "realtime-tick", rep.Commit, rep.Pulled, 0, start)
			m.Repaired = rep.Repaired
			if err := recordMetrics(c, m); err != nil {
				return err
			}
			printTick(os.Stdout, rep, opts.Location)
			return nil
		},
	}
}

// printTick prints what a tick did, one line, then one per event.
func printTick(out io.Writer, rep *realtime.TickReport, loc *time.Location) {
	if rep.Commit != nil && rep.Commit.Existing {
		fmt.Fprintf(out, "%s tick %s: already committed as %s seq %d; nothing done\n", rep.Team,
			rep.At.In(loc).Format(time.DateTime), rep.Commit.Stream, rep.Commit.Seq)
		return
	}
	var reasons []string
	for k := range rep.Dropped {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	var drops []string
	for _, k := range reasons {
		drops = append(drops, fmt.Sprintf("%s %d", k, rep.Dropped[k]))
	}
	fmt.Fprintf(out, "%s tick %s: %d events, %d scans pulled, %d kept, dropped: %s; %d delivered later left for the next tick; commit %d of %s\n",
		rep.Team, rep.At.In(loc).Format(time.DateTime), len(rep.Events), rep.Pulled, rep.Kept, strings.Join(drops, ", "),
		rep.Deferred, rep.Commit.Seq, rep.Commit.Stream)
	for _, e := range rep.Events {
		state := "followed"
		if e.Done {
			state = "done (late deliveries over)"
		}
		fmt.Fprintf(out, "  %s (%d) starts %s: seq %d -> %d, %d pulled, %d kept, %s\n", e.Name, e.EventID,
			e.Start.In(loc).Format(time.DateTime), e.AfterSeq, e.LastSeq, e.Pulled, e.Kept, state)
	}
}

// requireFlags fails with a usage error when a flag is not given. (Not
// urfave's Required: a required flag of a command two levels down also
// blocks its generated `help` subcommand.)
func requireFlags(c *cli.Context, names ...string) error {
	for _, n := range names {
		if c.String(n) == "" {
			return cli.Exit(fmt.Sprintf("--%s is required (see %s --help)", n, commandPath(c)), exitUsage)
		}
	}
	return nil
}
