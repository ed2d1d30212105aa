package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/stages/clone"
	"archtics/stages/realtime"
)

func realtimeExpireCommand() *cli.Command {
	return &cli.Command{
		Name:  "expire",
		Usage: "retire a team's realtime data older than seven days, in a commit naming what it retired",
		Description: `expire retires, in one commit on <team>/realtime, every partition (event date)
of archtics_rtx.attendance_raw and the tables the tick writes beside it
(attendance_enriched, attendance_delivery) whose newest scan is older than seven
days before --at (default: now); the reconciliations (archtics_rtx.reconcile)
stay. Queries stop seeing the scans at
that commit; archtics vacuum deletes the files once the stream's retention
has passed. archtics log --stream <team>/realtime shows what went.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "team", Usage: "the Archtics database (DSN) (required)"},
			&cli.StringFlag{Name: "at", Usage: "the instant to measure seven days back from: RFC 3339 or the client's local 'YYYY-MM-DD HH:MM:SS' (default: now)"},
			&cli.StringFlag{Name: "timezone", Usage: "the client's IANA zone, for a local --at (default: the dump's)"},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "team"); err != nil {
				return err
			}
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("expire takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			team := c.String("team")
			at := time.Now()
			if s := c.String("at"); s != "" {
				loc, err := clone.CloneLocation(c.Context, w, team, c.String("timezone"))
				if err != nil {
					return err
				}
				if at, err = parseTickTime(s, loc); err != nil {
					return err
				}
				if err := notFuture(c, "at", at); err != nil {
					return err
				}
			}
			start := time.Now()
			rep, err := realtime.Expire(c.Context, w, team, at, 0)
			if err != nil {
				return err
			}
			// Rows in: the scans retired (they leave what queries see).
			if err := recordMetrics(c, commitMetrics(team, "realtime-expire", rep.Commit, rep.Rows, 0, start)); err != nil {
				return err
			}
			if rep.Commit == nil {
				fmt.Fprintf(os.Stdout, "%s: nothing older than seven days before %s\n", team, at.UTC().Format(time.RFC3339))
				return nil
			}
			fmt.Fprintf(os.Stdout, "%s: retired %d scans in %d files of event dates %v; commit %d of %s\n",
				team, rep.Rows, rep.Files, rep.Partitions, rep.Commit.Seq, rep.Commit.Stream)
			return nil
		},
	}
}

func realtimeRollupCommand() *cli.Command {
	return &cli.Command{
		Name:  "rollup",
		Usage: "roll each realtime partition's small tick files into one file (realtime run does it as it goes)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "team", Usage: "the Archtics database (DSN) (required)"},
			&cli.IntFlag{Name: "min-files", Value: 2, Usage: "roll up partitions holding at least this many files"},
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "team"); err != nil {
				return err
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			cache := cacheDir(c, w)
			start := time.Now()
			rep, err := realtime.Rollup(c.Context, w, c.String("team"), c.Int("min-files"), cache)
			if err != nil {
				return err
			}
			if err := recordMetrics(c, commitMetrics(rep.Team, "realtime-rollup", rep.Commit, rep.Rows, 0, start)); err != nil {
				return err
			}
			if rep.Commit == nil {
				fmt.Fprintf(os.Stdout, "%s: no partition holds %d files\n", rep.Team, c.Int("min-files"))
				return nil
			}
			fmt.Fprintf(os.Stdout, "%s: %d partitions, %d files into %d, %d rows; commit %d of %s\n",
				rep.Team, rep.Partitions, rep.FilesIn, rep.FilesOut, rep.Rows, rep.Commit.Seq, rep.Commit.Stream)
			return nil
		},
	}
}

func realtimeRefreshCommand() *cli.Command {
	return &cli.Command{
		Name:  "refresh",
		Usage: "bring the holder, name and email of stored scans up to what the clone knows now (realtime run does it as it goes)",
		Description: `A tick names each scan's holder and that account's primary name and email as the clone
stands at the tick. The clone learns more later: a merge its sweep finds, a name or email
changed, a hand-over pulled late. refresh derives every stored scan of the team again from
the clone as it is now and rewrites the event-date partitions of
archtics_rtx.attendance_enriched where a scan changed, one commit on <team>/realtime; the
raw scans (archtics_rtx.attendance_raw) are never rewritten. In the same commit it derives
each followed event's sold seats (archtics_rtx.event_seats: the holder at the start and the
holder's name, which archtics.arrivals and archtics.no_shows read) and rewrites the events
whose seats changed. It does nothing when the clone has not committed since the last
refresh and every followed event has its seats. realtime run refreshes after any tick that finds
the clone moved; run this after a sync when no realtime run is going.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "team", Usage: "the Archtics database (DSN) (required)"},
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "team"); err != nil {
				return err
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			cache := cacheDir(c, w)
			start := time.Now()
			rep, err := realtime.Refresh(c.Context, w, c.String("team"), cache)
			if err != nil {
				return err
			}
			if err := recordMetrics(c, commitMetrics(rep.Team, "realtime-holders", rep.Commit, rep.Rows, 0, start)); err != nil {
				return err
			}
			if rep.Commit == nil {
				fmt.Fprintf(os.Stdout, "%s: the holders already reflect the clone's commit %d\n", rep.Team, rep.CloneSeq)
				return nil
			}
			fmt.Fprintf(os.Stdout, "%s: %d scans compared with the clone's commit %d, %d changed, %d partitions rewritten (%d files into %d); "+
				"%d sold seats derived, %d events' seats rewritten; commit %d of %s\n",
				rep.Team, rep.Rows, rep.CloneSeq, rep.Changed, rep.Partitions, rep.FilesIn, rep.FilesOut, rep.Seats, rep.SeatEvents, rep.Commit.Seq, rep.Commit.Stream)
			return nil
		},
	}
}
