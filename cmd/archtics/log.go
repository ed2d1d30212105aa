package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

func logCommand() *cli.Command {
	return &cli.Command{
		Name:  "log",
		Usage: "show the commit log, newest first",
		Description: `Every stage run ends in one commit: the files it added and retired per table,
and the watermark the stream reached. log lists commits newest first across
all streams (or one), reading only as many commits as it prints. A restore
(archtics restore) shows as stage "restore" with a RESTORE line naming the
commit it went back to and the head it was made on.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "table", Usage: "only commits touching `SCHEMA.TABLE`"},
			&cli.StringFlag{Name: "stream", Usage: "only the stream `NAME` (e.g. nhl/realtime)"},
			&cli.IntFlag{Name: "limit", Aliases: []string{"n"}, Value: 20, Usage: "at most `N` commits (0: all)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON commit per line"},
			asOfFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("log takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			table := c.String("table")
			if table != "" {
				t, ok := schemas.Lookup(table)
				if !ok {
					return cli.Exit(fmt.Sprintf("--table %q: no such table", table), exitUsage)
				}
				table = t.FullName()
			}
			if s := c.String("stream"); s != "" {
				if err := txlog.ValidateStreamName(s); err != nil {
					return cli.Exit("--stream: "+err.Error(), exitUsage)
				}
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			if w, err = atAsOf(c, w); err != nil {
				return err
			}
			q := txlog.LogQuery{Stream: c.String("stream"), Table: table, Limit: c.Int("limit")}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				return w.Commits(c.Context, q, func(cm *txlog.Commit) error { return enc.Encode(cm) })
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			n := 0
			err = w.Commits(c.Context, q, func(cm *txlog.Commit) error {
				if n == 0 {
					fmt.Fprintln(tw, "SEQ\tSTREAM\tSTAGE\tBATCH\tCOMMITTED\tWATERMARK\tTABLE\tCHANGE")
				}
				n++
				head := fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s → %s", cm.Seq, cm.Stream, cm.Stage, cm.BatchID,
					cm.CommittedAt.UTC().Format(time.RFC3339), orDash(cm.Watermark.From), orDash(cm.Watermark.To))
				lines := changeLines(cm, table)
				if cm.Restore != nil {
					lines = append([]string{"-\t" + restoreLine(cm)}, lines...)
				}
				if len(lines) == 0 {
					fmt.Fprintf(tw, "%s\t-\tno files\n", head)
				}
				for i, l := range lines {
					if i > 0 {
						head = "\t\t\t\t\t"
					}
					fmt.Fprintf(tw, "%s\t%s\n", head, l)
				}
				return nil
			})
			tw.Flush()
			if err != nil {
				return err
			}
			if n == 0 {
				fmt.Fprintln(os.Stderr, "no commits")
			}
			return nil
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// changeLines summarizes a commit per table: "+files rows bytes, -files".
func changeLines(cm *txlog.Commit, only string) []string {
	type sum struct {
		addFiles, addRows, addBytes int64
		retFiles                    int64
	}
	per := map[string]*sum{}
	get := func(t string) *sum {
		if per[t] == nil {
			per[t] = &sum{}
		}
		return per[t]
	}
	for _, a := range cm.Adds {
		s := get(a.Table)
		s.addFiles++
		s.addRows += a.Rows
		s.addBytes += a.Bytes
	}
	for _, r := range cm.Retires {
		get(r.Table).retFiles++
	}
	var tables []string
	for t := range per {
		if only == "" || t == only {
			tables = append(tables, t)
		}
	}
	sort.Strings(tables)
	var out []string
	for _, t := range tables {
		s := per[t]
		l := fmt.Sprintf("%s\t+%d files, %d rows, %s", t, s.addFiles, s.addRows, humanBytes(s.addBytes))
		if s.retFiles > 0 {
			l += fmt.Sprintf("; -%d files", s.retFiles)
		}
		out = append(out, l)
	}
	return out
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
