package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/stages/realtime"
)

func realtimeRunCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "tick every --every (3m) until stopped, catching up missed ticks; rolls small files up and expires old data",
		Description: `run is for those without a scheduler: it runs realtime tick at every multiple
of --every (logical times on a fixed grid, so a restart resumes on the same
ticks), one commit per tick. On start it catches up the ticks missed since
the stream's last one (at most seven days back: the feed forgets after a
week), oldest first. After each tick it rolls a partition's files up into
one once it holds --rollup-files of them, reconciles each event whose late
deliveries are over once the clone holds its standard attendance (realtime
reconcile; the clone is synced by archtics sync, not by run), and retires
data older than seven days (realtime expire). SIGTERM or SIGINT stops it between ticks, or
abandons the current tick uncommitted; the next run picks up from there.

Example:
   archtics realtime run --team nhl --source http://127.0.0.1:8787 --every 3m`,
		Flags: append(realtimeSourceFlags(),
			&cli.DurationFlag{Name: "every", Value: realtime.DefaultEvery, Usage: "tick interval"},
			&cli.IntFlag{Name: "rollup-files", Value: realtime.DefaultRollupFiles, Usage: "roll a partition's files into one when it holds this many (negative: never)"},
			&cli.BoolFlag{Name: "no-expire", Usage: "do not retire data older than seven days after each tick"},
			&cli.BoolFlag{Name: "no-reconcile", Usage: "do not reconcile finished events with the standard attendance (realtime reconcile)"},
			&cli.DurationFlag{Name: "posting-delay", Value: realtime.DefaultPostingDelay, Usage: "how long after an event's window closes its standard attendance counts as complete in the clone"},
		),
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "team", "source"); err != nil {
				return err
			}
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("run takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			if c.Duration("every") < time.Second {
				return cli.Exit("--every must be at least a second", exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			team := c.String("team")
			opts, src, err := tickOptions(c, w, team)
			if err != nil {
				return err
			}
			defer realtime.GCForTicks()()
			rep, err := realtime.Run(c.Context, w, src, team, realtime.RunOptions{
				Every: c.Duration("every"), Tick: opts, RollupFiles: c.Int("rollup-files"), Expire: !c.Bool("no-expire"),
				Reconcile: !c.Bool("no-reconcile"), PostingDelay: c.Duration("posting-delay"),
				Select: func(ctx context.Context, at time.Time) ([]realtime.SelectedEvent, error) {
					return realtime.SelectEvents(ctx, w, team, at, realtime.SelectOptions{TimeZone: opts.TimeZone, CacheDir: opts.CacheDir, Logger: slog.Default()})
				},
				AfterTick: func(t *realtime.TickReport, started time.Time) error {
					m := commitMetrics(team, "realtime-tick", t.Commit, t.Pulled, 0, started)
					m.Repaired = t.Repaired
					if err := recordMetrics(c, m); err != nil {
						return err
					}
					// The watch list's webhook hears of the tick's arrivals
					// now, not after the roll-up and the reconciliation; a
					// failed pass is logged and the next tick's retries it.
					deliverWatchAfterTick(c.Context, w, team, opts.CacheDir, slog.Default())
					return nil
				},
				Logger: slog.Default(),
			})
			if rep != nil {
				fmt.Fprintf(os.Stdout, "%s: %d ticks (%d caught up), %d roll-ups, %d reconciled events, %d expiries\n", team, rep.Ticks, rep.CaughtUp, rep.Rollups, rep.Reconciled, rep.Expiries)
			}
			return err
		},
	}
}
