package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline/check"
	"archtics/pipeline/txlog"
)

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore",
		Usage: "repair a stream in place: one new commit that brings back the files, watermark and cursors of an earlier commit",
		Description: `restore makes stream --stream what it was at commit --to, with one new,
audited commit (stage "restore") on that stream: it adds back the files live at
--to that were retired since, retires the files added since, sets the watermark
and the cursors of --to (the one commit that may move a watermark back), and
forgets the batch ids committed since, so that their data can be loaded again
(a dump load redone from a clean dump with the same cutoff). --to 0 empties the
stream. Nothing is deleted: the commits restored over stay in the log and
readable with --as-of; archtics log and verify show the restore.

Every file to bring back is read and checked against its commit first; one that
vacuum deleted (its stream's retention has passed since it was retired) fails
the restore, nothing committed. Another writer committing meanwhile makes the
restore fail with exit 3: look at the log and run it again. A rerun after
success finds the stream restored already and does nothing.

Examples:
   archtics log --stream nhl/realtime -n 5
   archtics restore --stream nhl/realtime --to 41 --dry-run
   archtics restore --stream nhl/realtime --to 41 --reason "tick at 2062 by mistake"
   archtics restore --stream nhl/clone --to 0 --reason "dump 20261120 had Latin-1 names"`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "stream", Usage: "the stream to restore, e.g. nhl/realtime (archtics log lists them)", Required: true},
			&cli.Int64Flag{Name: "to", Usage: "the commit `SEQ` whose state to restore (0: the empty stream)", Required: true},
			&cli.BoolFlag{Name: "dry-run", Usage: "print what would change; commit nothing"},
			&cli.StringFlag{Name: "by", Usage: "who restores, kept in the commit (default: $USER)"},
			&cli.StringFlag{Name: "reason", Usage: "why, kept in the commit"},
			&cli.BoolFlag{Name: "json", Usage: "print the restore commit (or the plan, with --dry-run) as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("restore takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			if os.Getenv("ARCHTICS_AS_OF") != "" {
				return cli.Exit("restore commits at the head: unset ARCHTICS_AS_OF (read the past with --as-of on log or query to choose --to)", exitUsage)
			}
			stream := c.String("stream")
			if err := txlog.ValidateStreamName(stream); err != nil {
				return cli.Exit("--stream: "+err.Error(), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			by := c.String("by")
			if by == "" {
				by = os.Getenv("USER")
			}
			start := time.Now()
			rep, err := w.Restore(c.Context, stream, c.Int64("to"), txlog.RestoreOptions{By: by, Reason: c.String("reason"), DryRun: c.Bool("dry-run")})
			if errors.Is(err, txlog.ErrRestoreTarget) {
				return cli.Exit(err.Error()+" (see archtics log --stream "+stream+")", exitUsage)
			}
			if err != nil {
				return err
			}
			if rep.Commit != nil {
				// Rows in: the rows the restore brought back.
				team, _, _ := strings.Cut(stream, "/")
				if err := recordMetrics(c, commitMetrics(team, "restore", rep.Commit, rep.Commit.Summary["rows_added"], 0, start)); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if rep.Commit != nil {
					return enc.Encode(rep.Commit)
				}
				return enc.Encode(rep)
			}
			printRestore(os.Stdout, rep, c.Bool("dry-run"))
			return nil
		},
	}
}

// printRestore says what a restore did or would do: a line, the watermark
// and cursor changes, then (on a dry run) every file.
func printRestore(out io.Writer, rep *txlog.RestoreReport, dryRun bool) {
	switch {
	case rep.NoOp:
		fmt.Fprintf(out, "%s: already as at seq %d (files, watermark and cursors); nothing done\n", rep.Stream, rep.ToSeq)
		return
	case dryRun:
		fmt.Fprintf(out, "%s: a restore to seq %d from seq %d would (dry run, nothing committed):\n", rep.Stream, rep.ToSeq, rep.FromSeq)
	case rep.Commit.Existing:
		fmt.Fprintf(out, "%s: restored to seq %d already, by commit %d; nothing done\n", rep.Stream, rep.ToSeq, rep.Commit.Seq)
		return
	default:
		fmt.Fprintf(out, "%s: restored to seq %d from seq %d by commit %d:\n", rep.Stream, rep.ToSeq, rep.FromSeq, rep.Commit.Seq)
	}
	fmt.Fprint(out, fileChanges(rep.Adds, rep.Retires))
	fmt.Fprintf(out, "  watermark: %s -> %s\n", orDash(rep.Watermark.From), orDash(rep.Watermark.To))
	keys := make([]string, 0, len(rep.Cursors))
	for k := range rep.Cursors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "  cursor %s: %s -> %s\n", k, orDash(rep.CursorsBefore[k]), orDash(rep.Cursors[k]))
	}
	if len(rep.ForgetBatches) > 0 {
		fmt.Fprintf(out, "  batches forgotten (they may be committed again): %s\n", strings.Join(rep.ForgetBatches, ", "))
	}
	if dryRun {
		for _, e := range rep.Adds {
			fmt.Fprintf(out, "  + %s (%s, %d rows)\n", e.Key, e.Table, e.Rows)
		}
		for _, e := range rep.Retires {
			fmt.Fprintf(out, "  - %s (%s, %d rows)\n", e.Key, e.Table, e.Rows)
		}
	}
}

// fileChanges sums a restore's files per table, a line each.
func fileChanges(adds, retires []txlog.FileEntry) string {
	type sum struct{ add, addRows, ret, retRows int64 }
	per := map[string]*sum{}
	get := func(t string) *sum {
		if per[t] == nil {
			per[t] = &sum{}
		}
		return per[t]
	}
	for _, e := range adds {
		s := get(e.Table)
		s.add++
		s.addRows += e.Rows
	}
	for _, e := range retires {
		s := get(e.Table)
		s.ret++
		s.retRows += e.Rows
	}
	if len(per) == 0 {
		return "  files: no change\n"
	}
	tables := make([]string, 0, len(per))
	for t := range per {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var b strings.Builder
	for _, t := range tables {
		s := per[t]
		fmt.Fprintf(&b, "  %s: %d files back (%d rows), %d retired (%d rows)\n", t, s.add, s.addRows, s.ret, s.retRows)
	}
	return b.String()
}

// restoreLine describes a restore commit for log: what it went back to.
func restoreLine(cm *txlog.Commit) string {
	r := cm.Restore
	line := fmt.Sprintf("RESTORE to seq %d (from seq %d)", r.ToSeq, r.FromSeq)
	if r.By != "" {
		line += " by " + r.By
	}
	if r.Reason != "" {
		line += ": " + r.Reason
	}
	if len(cm.ForgetBatches) > 0 {
		line += fmt.Sprintf("; %d batch ids forgotten", len(cm.ForgetBatches))
	}
	return line
}

// printRestores lists verify's restore commits.
func printRestores(out io.Writer, rs []check.RestoreRecord) {
	for _, r := range rs {
		who := ""
		if r.By != "" {
			who = " by " + r.By
		}
		why := ""
		if r.Reason != "" {
			why = ": " + r.Reason
		}
		fmt.Fprintf(out, "%-12s %s seq %d, %s%s: back to seq %d from seq %d%s\n", "restore", r.Stream, r.Seq,
			r.CommittedAt.UTC().Format(time.RFC3339), who, r.ToSeq, r.FromSeq, why)
	}
}
