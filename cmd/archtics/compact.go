package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/stages/clone"
)

func compactCommand() *cli.Command {
	return &cli.Command{
		Name:  "compact",
		Usage: "fold a team's clone into a few large files so current-state queries stay fast (one commit per team)",
		Description: `compact rewrites, for each source table (event, cust, ticket, tex, attendance) with a dump
or change file live, the team's current state into archtics_base.<t> (one
key-sorted file per table) and every version it folds into archtics_archive.<t>,
and retires the dump, change and old base files, in ONE commit on the stream
"<team>/clone". The team's acct_merge files become one file too.

Nothing a reader sees changes: archtics.<t> answers the same rows, and
archtics_history.<t> the same versions. The watermark does not move, so
incrementals go on from where they were. Readers --as-of an earlier commit
still read the retired files until vacuum deletes them past the retention.

A rerun with nothing new since the last compaction commits nothing. A run
stopped before its commit leaves only invisible files, which its rerun
writes again. An incremental that commits meanwhile makes it fail with a
commit conflict (exit 3): rerun it.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "team", Required: true, Usage: "the team whose clone to compact (repeat for several)"},
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder, as query's)", EnvVars: []string{"ARCHTICS_CACHE"}},
			&cli.BoolFlag{Name: "json", Usage: "print the reports as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("compact takes no arguments, got %q (give the team with --team; see --help)", c.Args().First()), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			cache := cacheDir(c, w)
			var reps []*clone.CompactReport
			for _, team := range c.StringSlice("team") {
				start := time.Now()
				rep, err := clone.Compact(c.Context, w, team, clone.CompactOptions{CacheDir: cache, Logger: slog.Default()})
				if err != nil {
					return err
				}
				var rowsIn int64
				for _, t := range rep.Tables {
					rowsIn += t.RowsIn
				}
				if err := recordMetrics(c, commitMetrics(team, "compact", rep.Commit, rowsIn, 0, start)); err != nil {
					return err
				}
				reps = append(reps, rep)
				if !c.Bool("json") {
					fmt.Println(compactSummary(rep))
				}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(reps)
			}
			return nil
		},
	}
}

// compactSummary is one line per team: what was folded into what.
func compactSummary(rep *clone.CompactReport) string {
	if rep.Unchanged {
		return fmt.Sprintf("%s: nothing committed since the last compaction, nothing to do", rep.Team)
	}
	var parts []string
	for _, t := range rep.Tables {
		parts = append(parts, fmt.Sprintf("%s %d files (%d rows) into a base of %d rows and %d archived versions",
			strings.TrimPrefix(t.Table, "archtics."), t.Retired, t.RowsIn, t.BaseRows, t.ArchiveRows))
	}
	if rep.MergeFiles > 0 {
		parts = append(parts, fmt.Sprintf("acct_merge %d files into one", rep.MergeFiles))
	}
	return fmt.Sprintf("%s: commit %d of %s: %s", rep.Team, rep.Commit.Seq, rep.Commit.Stream, strings.Join(parts, "; "))
}
