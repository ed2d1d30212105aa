package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/ats"
	"archtics/pipeline"
	"archtics/stages/changes"
	"archtics/stages/clone"
)

// sourceTokenEnv carries the change API's bearer token: an environment
// variable, so it is in no command line, shell history or process list,
// and it is never printed.
const sourceTokenEnv = "ARCHTICS_SOURCE_TOKEN"

func incrementalCommand() *cli.Command {
	return &cli.Command{
		Name:  "incremental",
		Usage: "pull every change since the clone's watermark from the Archtics change API (merges and deletions too)",
		Description: `incremental brings each team's clone up to the source. It pulls, for every
table, every version updated since the clone's watermark minus --overlap, page
by page under a pinned snapshot, skips the versions the clone already holds,
and writes the rest to archtics_changes.<table> in one commit on
"<team>/clone" that also advances the watermark. Versions committed late with
an older update time, rows sharing the watermark's second and rows split
across pages all arrive: the overlap (default 10m, at least the source's
longest commit delay) is pulled again and deduplicated by key and update time.

When a sweep is due (--sweep-every of source time since the last), it then
compares every key the clone holds with the source's keys: keys gone are
recorded as tombstones (the current state drops them, archtics_history keeps
them), and accounts gone are looked up to find the merges Archtics never
reports: archtics.acct_merge records each loser with its winner, and the rows
naming the loser are rewritten to the winner, in a second commit.

Run it as often as you like: hourly from a scheduler, with --until set to the
end of the data interval (Airflow: {{ data_interval_end }}), so a rerun of the
same interval adds nothing. A run stopped at any point (SIGINT, SIGTERM, a
crash) commits nothing partial; the next run redoes the unfinished part.

The change API's bearer token comes from ` + sourceTokenEnv + ` and is never printed.
The client's time zone is the one load-dump recorded from the dump's manifest
(--timezone overrides it). 429 and 5xx answers are retried with backoff and
jitter, honouring Retry-After.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "team", Required: true, Usage: "the team(s) whose clone to bring up to date (repeat the flag for several)"},
			&cli.StringFlag{Name: "source", Required: true, EnvVars: []string{"ARCHTICS_SOURCE_URL"}, Usage: "the change API's base URL (the simulator: what `archtics simulate serve` prints)"},
			&cli.StringFlag{Name: "until", Usage: "pull versions updated up to this instant only (RFC 3339), and stop the watermark there: a scheduler's data interval end"},
			&cli.DurationFlag{Name: "overlap", Value: changes.DefaultOverlap, Usage: "how far before the watermark each pull starts again: at least the longest a version takes to commit after its update time"},
			&cli.IntFlag{Name: "page-size", Value: changes.MaxPageSize, Usage: "versions per change API page (1..10000); memory grows with it, not with the number of changes"},
			&cli.DurationFlag{Name: "sweep-every", Value: 24 * time.Hour, Usage: "how often, in source time, to sweep every key for deletions and merges (0: every run; negative: never)"},
			&cli.IntFlag{Name: "keys-page-size", Value: changes.DefaultKeysPageSize, Usage: "keys per page of the sweep"},
			&cli.StringFlag{Name: "timezone", Usage: "the client's IANA time zone, when the dump's manifest named none (default: the one load-dump recorded)"},
			&cli.StringFlag{Name: "cache", EnvVars: []string{"ARCHTICS_CACHE"}, Usage: "local cache of committed files the sweeps read through DuckDB (default: the user cache folder)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("incremental takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			var until time.Time
			if v := c.String("until"); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return cli.Exit(fmt.Sprintf("--until %q: want an RFC 3339 instant such as 2026-11-24T13:00:00Z (see incremental --help)", v), exitUsage)
				}
				if err := notFuture(c, "until", t); err != nil {
					return err
				}
				until = t
			}
			if ps := c.Int("page-size"); ps < 1 || ps > changes.MaxPageSize {
				return cli.Exit(fmt.Sprintf("--page-size %d: want 1..%d", ps, changes.MaxPageSize), exitUsage)
			}
			token := os.Getenv(sourceTokenEnv)
			if token == "" {
				return cli.Exit(fmt.Sprintf("no change API token: set %s (the bearer token Ticketmaster issued; `archtics simulate serve` prints the simulator's)", sourceTokenEnv), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			cache := cacheDir(c, w)
			src := ats.New(strings.TrimRight(c.String("source"), "/"), token)
			for _, team := range c.StringSlice("team") {
				loc, err := clone.CloneLocation(c.Context, w, team, c.String("timezone"))
				if err != nil {
					return err
				}
				opts := clone.IncrementalOptions{
					Pull:         changes.Options{PageSize: c.Int("page-size"), Overlap: overlapOption(c.Duration("overlap")), Location: loc},
					Until:        until,
					SweepEvery:   c.Duration("sweep-every"),
					KeysPageSize: c.Int("keys-page-size"),
					CacheDir:     cache,
					Progress:     incrementalProgress(team),
				}
				start := time.Now()
				rep, err := clone.Incremental(c.Context, w, src, team, opts)
				clearProgress()
				if err != nil {
					return err
				}
				if err := recordMetrics(c, incrementalMetrics(rep, start)); err != nil {
					return err
				}
				printIncremental(w, rep)
			}
			return nil
		},
	}
}

// incrementalMetrics are the figures of one team's incremental: the pull
// and the sweep together, the lag measured from the watermark it reached.
func incrementalMetrics(rep *clone.IncrementalReport, start time.Time) stageMetrics {
	m := commitMetrics(rep.Team, "incremental", rep.Commit, rep.Versions, rep.Rejected, start)
	m.Repaired = rep.Repaired
	if rep.SweepCommit != nil {
		s := commitMetrics(rep.Team, "incremental", rep.SweepCommit, 0, 0, start)
		m.Loaded += s.Loaded
		m.CommittedBytes += s.CommittedBytes
		if m.Stream == "" {
			m.Stream = s.Stream
		}
	}
	wm := rep.To
	if wm.IsZero() {
		wm = rep.From
	}
	if !wm.IsZero() {
		m.WatermarkLag = max(m.At.Sub(wm), 0)
	}
	return m
}

// overlapOption maps the flag onto changes.Options.Overlap, where 0 means
// the default: --overlap 0 asks for none.
func overlapOption(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func printIncremental(w *pipeline.Warehouse, rep *clone.IncrementalReport) {
	switch {
	case rep.Commit != nil:
		fmt.Printf("%s: watermark %s -> %s: %d versions pulled, %d new, %d held already, %d for a later run, %d rejected; commit %d of %s\n",
			rep.Team, rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339), rep.Versions, rep.Upserts, rep.Reserved, rep.Deferred, rep.Rejected,
			rep.Commit.Seq, rep.Commit.Stream)
	default:
		fmt.Printf("%s: nothing after the watermark %s\n", rep.Team, rep.From.Format(time.RFC3339))
	}
	if rep.SweepCommit != nil {
		fmt.Printf("%s: swept: %d deletions, %d merges (%d rows moved to the winners), %d accounts gone without a merge; commit %d\n",
			rep.Team, rep.Deletions, len(rep.Merges), rep.Moved, len(rep.Unresolved), rep.SweepCommit.Seq)
	}
	if rep.Rejected > 0 {
		fmt.Printf("  see the rejects: archtics --warehouse %s query \"SELECT source, line, field, reason FROM archtics_meta.rejects WHERE team = '%s' AND origin = 'clone'\"\n", w.Store.URL(), rep.Team)
	}
}

// incrementalProgress shows a long run's progress: on a terminal a line
// redrawn at most ten times a second, elsewhere (CI, Airflow) a log line
// every ten seconds.
func incrementalProgress(team string) func(clone.IncrementalProgress) {
	tty := isTerminal(os.Stderr)
	every := 10 * time.Second
	if tty {
		every = 100 * time.Millisecond
	}
	var mu sync.Mutex
	var last time.Time
	start := time.Now()
	return func(p clone.IncrementalProgress) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < every {
			return
		}
		last = time.Now()
		elapsed := time.Since(start)
		rate := float64(p.Versions) / max(elapsed.Seconds(), 0.001)
		reached := ""
		if !p.Reached.IsZero() {
			reached = p.Reached.UTC().Format(time.RFC3339)
		}
		if !tty {
			slog.Info("incremental: progress", "team", team, "phase", p.Phase, "table", p.Table, "pages", p.Pages,
				"rows", p.Versions, "rows_per_s", int64(rate), "reached", reached)
			return
		}
		what := "versions"
		if p.Phase == "sweep" {
			what = "keys"
		}
		fmt.Fprintf(os.Stderr, "\r\033[K%s: %s %s page %d, %d %s (%.0f/s), reached %s (%s)", team, p.Phase, p.Table, p.Pages,
			p.Versions, what, rate, reached, elapsed.Round(time.Second))
	}
}
