package main

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/pipeline/views"
)

func syncCommand() *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "copy the warehouse's current state into the local cache, verified, so queries work offline",
		ArgsUsage: " ",
		Description: `sync fills a local folder (by default the cache archtics query uses for this
warehouse) with every live committed file, each checked against the SHA-256
its commit records, and the commit log up to that state. The folder is then
a read-only copy of the warehouse as of the sync: query, sql and catalog
export read it with --offline, without the network.

The copy is consistent while the warehouse keeps committing: the log is
copied only up to the state whose files were fetched. A second sync fetches
only what changed and deletes the files retired since (the copy holds one
state, not the history: --as-of offline reaches only points whose files are
still in it). Credentials come from the AWS chain as for every command and
are never written to the copy.

Examples:
   archtics --warehouse s3://team-bucket/archtics sync
   archtics --warehouse s3://team-bucket/archtics query --offline "SELECT count(*) FROM archtics.cust"
   archtics --warehouse s3://team-bucket/archtics sync --to ./archtics-copy
   archtics --warehouse s3://team-bucket/archtics sql --offline --cache ./archtics-copy`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "the copy's `FOLDER` (default: the user cache folder query uses for this warehouse; pass the same as --cache to read it)", EnvVars: []string{"ARCHTICS_CACHE"}},
			asOfFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("sync takes no arguments (see --help)", exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			if w, err = atAsOf(c, w); err != nil {
				return err
			}
			to := c.String("to")
			if to == "" {
				to = defaultCacheDir(w)
			}
			var progress func(views.SyncProgress)
			done := func() {}
			if isTerminal(os.Stderr) {
				progress, done = syncProgress()
			}
			start := time.Now()
			rep, err := views.Sync(c.Context, w.Log, to, progress)
			done()
			if err != nil {
				return fmt.Errorf("%w (a rerun resumes: files already fetched are kept)", err)
			}
			fmt.Fprintf(os.Stdout, "synced %s into %s in %s: %d files (%s), %d already there; %d log objects copied; %d retired files pruned (%s)\n",
				rep.Info.Source, to, time.Since(start).Round(time.Millisecond), rep.Files, humanBytes(rep.Bytes), rep.AlreadyLocal,
				rep.LogObjects, rep.Pruned, humanBytes(rep.PrunedBytes))
			fmt.Fprintf(os.Stdout, "query it offline: archtics query --offline --cache %s \"...\"\n", to)
			return nil
		},
	}
}

// syncProgress redraws one status line at most ten times a second.
func syncProgress() (func(views.SyncProgress), func()) {
	var mu sync.Mutex
	var last time.Time
	drawn := false
	return func(p views.SyncProgress) {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(last) < 100*time.Millisecond && p.Files < p.TotalFiles {
				return
			}
			last, drawn = time.Now(), true
			fmt.Fprintf(os.Stderr, "\rsync: %d/%d files, %s/%s   ", p.Files, p.TotalFiles, humanBytes(p.Bytes), humanBytes(p.TotalBytes))
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			if drawn {
				fmt.Fprintln(os.Stderr)
			}
		}
}

// offlineFlag is --offline: read the copy archtics sync made instead of
// the warehouse.
func offlineFlag() cli.Flag {
	return &cli.BoolFlag{Name: "offline", Usage: "read the offline copy `archtics sync` made in --cache (no network) instead of the warehouse", EnvVars: []string{"ARCHTICS_OFFLINE"}}
}

// openReader opens what a reading command reads and its cache folder:
// the warehouse and --cache, or with --offline the copy in --cache,
// read-only. The caller applies --as-of.
func openReader(c *cli.Context) (*pipeline.Warehouse, string, error) {
	var w *pipeline.Warehouse
	var err error
	if c.Bool("offline") {
		// Opening an S3 warehouse makes no request: it names the default
		// cache folder, which is where sync put the copy.
		if w, err = openWarehouse(c); err != nil {
			return nil, "", err
		}
	} else if w, err = openExistingWarehouse(c); err != nil {
		return nil, "", err
	}
	cache := cacheDir(c, w)
	if c.Bool("offline") {
		ow, info, err := views.OpenOffline(c.Context, cache, w.Log)
		if err != nil {
			return nil, "", cli.Exit("--offline: "+err.Error(), exitUsage)
		}
		if info.Source != w.Store.URL() {
			return nil, "", cli.Exit(fmt.Sprintf("--offline: %s is a copy of %s, not of %s: give --cache the copy of this warehouse, or --warehouse %s",
				cache, info.Source, w.Store.URL(), info.Source), exitUsage)
		}
		slog.Default().Info("reading the offline copy", "copy", cache, "synced_at", info.SyncedAt.Format(time.RFC3339))
		w = pipeline.Of(ow)
	}
	return w, cache, nil
}
