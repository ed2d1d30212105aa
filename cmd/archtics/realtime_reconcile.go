package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/stages/realtime"
)

func realtimeReconcileCommand() *cli.Command {
	return &cli.Command{
		Name:      "reconcile",
		Usage:     "compare a team's realtime scans with Archtics' standard attendance once it has arrived, per event",
		ArgsUsage: " ",
		Description: `reconcile checks the realtime feed, which Ticketmaster offers no way to
validate, against the standard attendance the clone holds (archtics.attendance,
posted some hours after each event). Per event it counts the final initial
entries (result_code '0', scan_type 'S', scanned inside the realtime window
[start - 5 h, start + 6 h]), how many of them the realtime store holds
(matched by attendance_seq_id), which it missed, which it had that the final
data lacks, and how late the feed delivered them (p50, p90, max, over 3, 15
and 60 minutes, from archtics_rtx.attendance_delivery). Each event is one
commit on <team>/realtime: a row of archtics_rtx.reconcile (the view
archtics.reconcile_v) and its missed and extra scans in
archtics_rtx.reconcile_scans, kept after the scans expire. It prints a line
per event.

An event's standard attendance has arrived once the clone's watermark (its
last sync) is at least --posting-delay (12h) past the window's close; an event
whose attendance has not is not reconciled, and said so. Without --event it
reconciles the events realtime run finished following and has not reconciled
yet (realtime run does it as it goes); --event reconciles that event, again if
it was. A rerun that finds the same figures commits nothing; one that finds
more (a later sync) replaces the event's row in one commit.

Exit codes: 0 done (waiting events included), 2 usage (an event the team's
clone does not have), 3 another writer committed first (rerun), 4 failure.

Example:
   archtics realtime reconcile --team nhl --event 1017`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "team", Usage: "the Archtics database (DSN) (required)"},
			&cli.IntFlag{Name: "event", Usage: "reconcile this event id alone, again if it was (default: the events waiting for it)"},
			&cli.DurationFlag{Name: "posting-delay", Value: realtime.DefaultPostingDelay, Usage: "how long after an event's window closes its standard attendance counts as complete in the clone"},
			&cli.StringFlag{Name: "timezone", Usage: "the client's IANA zone (default: the dump's)"},
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "team"); err != nil {
				return err
			}
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("reconcile takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			cache := cacheDir(c, w)
			team := c.String("team")
			start := time.Now()
			rep, err := realtime.Reconcile(c.Context, w, team, realtime.ReconcileOptions{
				EventID: int32(c.Int("event")), PostingDelay: c.Duration("posting-delay"), TimeZone: c.String("timezone"), CacheDir: cache,
			})
			if rep != nil {
				for _, e := range rep.Events {
					fmt.Fprintf(os.Stdout, "%s: %s\n", team, e.Summary())
					if e.Commit != nil && err == nil {
						if merr := recordMetrics(c, commitMetrics(team, "realtime-reconcile", e.Commit, e.Final, 0, start)); merr != nil {
							return merr
						}
					}
				}
			}
			if errors.Is(err, realtime.ErrNoSuchEvent) {
				return cli.Exit(err.Error(), exitUsage)
			}
			if err != nil {
				return err
			}
			if len(rep.Events) == 0 {
				fmt.Fprintf(os.Stdout, "%s: no event waits for its reconciliation (realtime run marks each once its late deliveries are over)\n", team)
			}
			return nil
		},
	}
}
