package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "re-read every committed file and check it against its commit",
		Description: `verify checks that every live committed file exists with the committed size,
SHA-256 and Parquet row count, lists objects under the table folders that no
commit names (left by a writer that crashed before committing; invisible to
readers), and checks every stream's commit sequence has no gaps.

Exit status 1 when it finds a problem, 0 when the warehouse is sound.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("verify takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			var progress func(pipeline.VerifyProgress)
			if isTerminal(os.Stderr) {
				progress = terminalProgress()
			}
			rep, err := w.Verify(c.Context, progress)
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
				fmt.Printf("%d streams, %d commits, %d files (%d rows, %s) checked: %d problems\n",
					rep.Streams, rep.Commits, rep.Files, rep.Rows, humanBytes(rep.Bytes), len(rep.Problems))
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
func terminalProgress() func(pipeline.VerifyProgress) {
	var mu sync.Mutex
	var last time.Time
	return func(p pipeline.VerifyProgress) {
		mu.Lock()
		defer mu.Unlock()
		if p.FilesDone != p.FilesTotal && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(os.Stderr, "\r\033[Kverify: %d/%d files, %s/%s", p.FilesDone, p.FilesTotal, humanBytes(p.BytesDone), humanBytes(p.BytesTotal))
	}
}
