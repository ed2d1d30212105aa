package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/stages/clone"
	"archtics/storage/backend"
)

func loadDumpCommand() *cli.Command {
	return &cli.Command{
		Name:  "load-dump",
		Usage: "load Ticketmaster's full dump into the clone tables (one commit per team)",
		Description: `load-dump reads the dump's manifest.json, checks every file's SHA-256 and row
count against it, converts each row to the archtics.* tables, and commits each
team's tables together on the stream "<team>/clone" with the dump's cutoff as
the watermark: the change pulls start from there.

Rows whose key or a required field does not convert are not dropped: they land
in archtics_meta.rejects with the file, line, field and reason, so rows in =
rows loaded + rows rejected. So does every line of a key found on more than
one line of a table (a source error: never two rows, never one picked). A row
whose optional field does not convert is loaded with that field NULL, and a
field that is not UTF-8 is read as Windows-1252; each such field is recorded
in archtics_meta.repairs. The manifest's "encoding" (utf-8, windows-1252,
iso-8859-1) says how the files are written.
A rerun of the same dump is a no-op; after a crash it writes the same files
again, byte for byte, and commits once. Another dump cut at the same instant
(other files under the same cutoff) is refused: commits are never rewritten.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dump", Required: true, Usage: "the dump folder or s3://bucket/prefix holding manifest.json"},
			&cli.StringSliceFlag{Name: "team", Usage: "load only these teams (default: every team in the manifest)"},
			&cli.BoolFlag{Name: "replace", Usage: "a team that already has a clone from another dump: retire every file of the old clone in the same commit that adds this dump's (without it such a load is refused)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("load-dump takes no arguments, got %q (give the dump with --dump; see --help)", c.Args().First()), exitUsage)
			}
			if err := mustExist(c.String("dump"), "dump", "give the folder holding manifest.json"); err != nil {
				return err
			}
			src, err := backend.Open(c.Context, c.String("dump"))
			if err != nil {
				return fmt.Errorf("open dump: %w", err)
			}
			dump, err := clone.OpenDump(c.Context, src)
			if err != nil {
				return err
			}
			// A cutoff in the future would set the clone's watermark past
			// every change pull's, as a far-future --until would.
			if max := c.Duration(maxFutureFlag); dump.Cutoff.After(time.Now().Add(max)) {
				return fmt.Errorf("%s: the manifest's cutoff %s is in the future (allowed up to --%s %s ahead): the dump's manifest is wrong; "+
					"fix its cutoff, or pass --%s with a wider duration if the clock of this machine is behind",
					clone.ManifestName, dump.Cutoff.UTC().Format(time.RFC3339), maxFutureFlag, durationText(max), maxFutureFlag)
			}
			teams := c.StringSlice("team")
			if len(teams) == 0 {
				teams = dump.Teams()
			}
			// Checked before the warehouse is opened: a refused load
			// leaves no folder behind.
			inDump := map[string]bool{}
			for _, t := range dump.Teams() {
				inDump[t] = true
			}
			for _, t := range teams {
				if err := clone.ValidateTeam(t); err != nil {
					return cli.Exit(fmt.Sprintf("--team: %v", err), exitUsage)
				}
				if !inDump[t] {
					return cli.Exit(fmt.Sprintf("--team %s: the dump has no files for it (teams: %s)", t, strings.Join(dump.Teams(), ", ")), exitUsage)
				}
			}
			w, undo, err := openWarehouseToWrite(c)
			if err != nil {
				return err
			}
			if err := loadTeams(c, w, dump, teams); err != nil {
				undo()
				return err
			}
			return nil
		},
	}
}

// loadTeams loads each team's part of the dump, one commit per team.
func loadTeams(c *cli.Context, w *pipeline.Warehouse, dump clone.Dump, teams []string) error {
	for _, team := range teams {
		start := time.Now()
		rep, err := clone.LoadDumpWith(c.Context, w, dump, team, clone.LoadOptions{Replace: c.Bool("replace"), Progress: rowProgress(team)})
		clearProgress()
		if err != nil {
			return err
		}
		in, loaded, rejected := rep.Totals()
		m := commitMetrics(team, "load-dump", rep.Commit, in, rejected, start)
		m.Repaired = rep.Repaired()
		if err := recordMetrics(c, m); err != nil {
			return err
		}
		if rep.Commit.Existing {
			fmt.Printf("%s: already loaded (commit %d of %s), nothing to do\n", team, rep.Commit.Seq, rep.Commit.Stream)
			continue
		}
		fmt.Printf("%s: %d rows in, %d loaded, %d rejected, %d fields repaired; commit %d of %s, watermark %s\n",
			team, in, loaded, rejected, rep.Repaired(), rep.Commit.Seq, rep.Commit.Stream, rep.Commit.Watermark.To)
		if rep.Replaced > 0 {
			fmt.Printf("  replaced the earlier clone: %d files retired in the same commit (time travel: --as-of %s@%d)\n", rep.Replaced, rep.Commit.Stream, rep.Commit.Seq-1)
		}
		if rejected > 0 {
			fmt.Printf("  see the rejects: archtics --warehouse %s query \"SELECT source, line, field, reason FROM archtics_meta.rejects WHERE team = '%s'\"\n", w.Store.URL(), team)
		}
		if rep.Repaired() > 0 {
			fmt.Printf("  see the repairs: archtics --warehouse %s query \"SELECT source, line, field, raw, repaired, reason FROM archtics_meta.repairs WHERE team = '%s'\"\n", w.Store.URL(), team)
		}
	}
	return nil
}

// rowProgress reports rows read per file on a terminal, at most ten times a
// second; elsewhere (CI, Airflow) the logs carry the summary instead.
func rowProgress(team string) func(file string, rows int64) {
	if !isTerminal(os.Stderr) {
		return nil
	}
	var mu sync.Mutex
	var last time.Time
	start := time.Now()
	return func(file string, rows int64) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(os.Stderr, "\r\033[K%s: %s %d rows (%s)", team, file, rows, time.Since(start).Round(time.Second))
	}
}

func clearProgress() {
	if isTerminal(os.Stderr) {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
}
