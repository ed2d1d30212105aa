package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline/txlog"
	"archtics/pipeline/vacuum"
)

func vacuumCommand() *cli.Command {
	return &cli.Command{
		Name:  "vacuum",
		Usage: "delete files no reader can need any more (retired past the retention, orphans, aborted uploads), recording them",
		Description: `vacuum deletes:
  - files retired longer ago than the retention (--retain; default each stream's
    own, 7 days unless set), so time travel (--as-of) reaches back that far;
  - orphans: objects under a table's folder that no commit names, older than
    --grace (uploads of writers that crashed before committing);
  - checkpoints older than the retention, except the newest of them;
  - unfinished uploads older than --grace (S3 multipart uploads of killed
    writers; a local folder's temporary files).
A file live in any stream is never deleted. Each stream whose files go gets a
commit (stage "vacuum") listing them with sizes and SHA-256, written before
the deletions, so auditors see what went and why (archtics log --stream S).
A --retain other than a stream's retention becomes its retention.

On S3, the lifecycle rule AbortIncompleteMultipartUpload (DaysAfterInitiation: 1)
does the upload part too, without a vacuum run.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "retain", Usage: "keep retired files this long, e.g. 7d, 36h (default: each stream's retention, 7d)"},
			&cli.DurationFlag{Name: "grace", Value: txlog.DefaultGrace, Usage: "leave uncommitted objects and uploads younger than this (a live writer's)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "list what would be deleted, delete nothing"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("vacuum takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			opts := vacuum.Options{Grace: c.Duration("grace"), DryRun: c.Bool("dry-run")}
			if s := c.String("retain"); s != "" {
				d, err := parseDays(s)
				if err != nil || d <= 0 {
					return cli.Exit(fmt.Sprintf("--retain %q: want a positive duration such as 7d or 36h", s), exitUsage)
				}
				opts.Retain = d
			}
			if opts.Grace <= 0 {
				return cli.Exit("--grace must be positive: a zero grace would delete a live writer's upload", exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			start := time.Now()
			rep, err := vacuum.Run(c.Context, w.Log, opts)
			if err != nil {
				return err
			}
			for _, cm := range rep.Commits {
				team, _, _ := strings.Cut(cm.Stream, "/")
				if err := recordMetrics(c, commitMetrics(team, "vacuum", cm, 0, 0, start)); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			streams := make([]string, 0, len(rep.Deleted))
			for s := range rep.Deleted {
				streams = append(streams, s)
			}
			sort.Strings(streams)
			verb := "deleted"
			if rep.DryRun {
				verb = "would delete"
			}
			for _, s := range streams {
				for _, d := range rep.Deleted[s] {
					fmt.Printf("%s %s  %s  %s (%s)\n", verb, s, d.Reason, d.Key, humanBytes(d.Bytes))
				}
			}
			for _, k := range rep.Left {
				fmt.Printf("left    %s: no table claims its folder; delete it by hand if it is not yours\n", k)
			}
			var commits []string
			for _, cm := range rep.Commits {
				commits = append(commits, fmt.Sprintf("%s@%d", cm.Stream, cm.Seq))
			}
			fmt.Printf("%s %d files, %s", verb, rep.Files(), humanBytes(rep.Bytes))
			if len(commits) > 0 {
				fmt.Printf("; recorded in %s", strings.Join(commits, ", "))
			}
			fmt.Println()
			return nil
		},
	}
}

// parseDays reads a Go duration, also accepting whole days ("7d").
func parseDays(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err != nil || fmt.Sprint(n) != d {
			return 0, fmt.Errorf("bad day count %q", d)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
