package main

import (
	"github.com/urfave/cli/v2"

	"archtics/pipeline"
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

// atAsOf returns w as of the --as-of flag, or w itself without it.
func atAsOf(c *cli.Context, w *pipeline.Warehouse) (*pipeline.Warehouse, error) {
	s := c.String("as-of")
	if s == "" {
		return w, nil
	}
	a, err := pipeline.ParseAsOf(s)
	if err != nil {
		return nil, cli.Exit("--as-of: "+err.Error(), exitUsage)
	}
	return w.At(a), nil
}
