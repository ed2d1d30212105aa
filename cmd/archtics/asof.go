package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
)

// asOfFlag is the time-travel flag of the reading commands.
func asOfFlag() cli.Flag {
	return &cli.StringFlag{
		Name: "as-of",
		Usage: "read the warehouse as it was: an RFC 3339 `TIME` (every stream as of its last commit at or before it, " +
			"e.g. 2026-11-20T17:00:00Z) or STREAM@SEQ (that stream at that commit, e.g. nhl/clone@3)",
		EnvVars: []string{"ARCHTICS_AS_OF"},
	}
}

// atAsOf returns w as of the --as-of flag, or w itself without it. A point
// before anything was committed (a time before the warehouse's first
// commit, STREAM@0, a seq after the stream's head) is a usage error: read
// there, every table would be empty, which looks like lost data.
func atAsOf(c *cli.Context, w *pipeline.Warehouse) (*pipeline.Warehouse, error) {
	s := c.String("as-of")
	if s == "" {
		return w, nil
	}
	a, err := txlog.ParseAsOf(s)
	if err != nil {
		return nil, cli.Exit("--as-of: "+err.Error(), exitUsage)
	}
	if err := reachable(c.Context, w, a); err != nil {
		return nil, err
	}
	return w.At(a), nil
}

// reachable refuses an as-of point before the first commit or after the
// head. What it cannot read (an offline copy without the log's start) it
// leaves to the readers.
func reachable(ctx context.Context, w *pipeline.Warehouse, a txlog.AsOf) error {
	if a.Stream != "" {
		head, err := w.Stream(ctx, a.Stream)
		if err != nil {
			return nil
		}
		switch {
		case head.Seq == 0:
			return cli.Exit(fmt.Sprintf("--as-of %s: stream %s has no commits (archtics log lists the streams)", a, a.Stream), exitUsage)
		case a.Seq == 0:
			return cli.Exit(fmt.Sprintf("--as-of %s: seq 0 is before the stream's first commit, seq 1: nothing to read there", a), exitUsage)
		case a.Seq > head.Seq:
			return cli.Exit(fmt.Sprintf("--as-of %s: the stream's head is seq %d", a, head.Seq), exitUsage)
		}
		return nil
	}
	first, found, err := w.FirstCommitTime(ctx)
	if err != nil || !found {
		return nil
	}
	if a.Time.Before(first) {
		return cli.Exit(fmt.Sprintf("--as-of %s is before the warehouse's first commit, at %s: nothing was committed then (archtics log -n 0 lists every commit)",
			a.Time.UTC().Format(time.RFC3339Nano), first.UTC().Format(time.RFC3339Nano)), exitUsage)
	}
	return nil
}
