package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline/check"
	"archtics/pipeline/txlog"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "re-read every committed file and check it against its commit",
		Description: `verify is the auditor's check. It replays every stream's log from commit 1 and
compares each checkpoint with the replay (a checkpoint altered by hand is
named); checks that every live committed file exists with the committed size,
SHA-256 and Parquet row count; lists objects under the table folders that no
commit names: older than --grace they are problems (left by a writer that
crashed before committing; invisible to readers; vacuum deletes them), younger
they are reported as in flight (a live writer's upload); and checks every
stream's commit sequence has no gaps. It lists the restore commits (archtics
restore) it replayed: audited repairs, not problems. With --as-of it checks
the files that were live then.

Exit status 1 when it finds a problem, 0 when the warehouse is sound.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.DurationFlag{Name: "grace", Value: txlog.DefaultGrace, Usage: "objects no commit names that are younger than this are in flight, not problems"},
			asOfFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("verify takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			if w, err = atAsOf(c, w); err != nil {
				return err
			}
			var progress func(check.Progress)
			if isTerminal(os.Stderr) {
				progress = terminalProgress()
			}
			rep, err := check.VerifyWith(c.Context, w.Log, check.Options{Grace: c.Duration("grace"), Progress: progress})
			if progress != nil {
				fmt.Fprint(os.Stderr, "\r\033[K")
			}
			if err != nil {
				return fmt.Errorf("verify %s: %w", w.Store.URL(), err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Printf("%-12s %s: %s\n", p.Kind, p.Key, p.Detail)
				}
				printRestores(os.Stdout, rep.Restores)
				for _, o := range rep.InFlight {
					fmt.Printf("%-12s %s: %d bytes written %s, no commit yet (younger than --grace)\n", "in-flight", o.Key, o.Size, o.LastModified.UTC().Format(time.RFC3339))
				}
				asOf := ""
				if rep.AsOf != "head" {
					asOf = " as of " + rep.AsOf
				}
				fmt.Printf("%d streams, %d commits, %d checkpoints replayed, %d files (%d rows, %s) checked%s: %d problems, %d in flight, %d restores\n",
					rep.Streams, rep.Commits, rep.Checkpoints, rep.Files, rep.Rows, humanBytes(rep.Bytes), asOf, len(rep.Problems), len(rep.InFlight), len(rep.Restores))
			}
			if !rep.OK() {
				return cli.Exit("", exitProblem)
			}
			return nil
		},
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// terminalProgress redraws one status line at most ten times a second.
func terminalProgress() func(check.Progress) {
	var mu sync.Mutex
	var last time.Time
	return func(p check.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.FilesDone != p.FilesTotal && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(os.Stderr, "\r\033[Kverify: %d/%d files, %s/%s", p.FilesDone, p.FilesTotal, humanBytes(p.BytesDone), humanBytes(p.BytesTotal))
	}
}
