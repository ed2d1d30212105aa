package main

import "github.com/urfave/cli/v2"

// realtimeCommands are the subcommands of `archtics realtime`. Each
// realtime_*.go file appends its own in an init(), so the files that add
// subcommands (criteria, tick, run, expire, ...) never edit the same lines.
var realtimeCommands []*cli.Command

func realtimeCommand() *cli.Command {
	return &cli.Command{
		Name:        "realtime",
		Usage:       "realtime attendance: the criteria that select events, and the three-minute ticks that pull their gate scans",
		Subcommands: realtimeCommands,
	}
}
