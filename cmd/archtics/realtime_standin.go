package main

// TEMPORARY stand-in for rtsel's cmd/archtics/realtime.go (the realtime
// command group): the same names, so realtime_tick.go, realtime_run.go and
// realtime_expire.go can append their subcommands. Delete this file when
// rtsel's realtime.go lands (main.go's realtimeCommand() line is the
// same on both branches).

import "github.com/urfave/cli/v2"

// realtimeCommands are the subcommands of `archtics realtime`.
var realtimeCommands []*cli.Command

// realtimeCommand is the group, with a copy of each subcommand: the app
// (and every test's newApp) sets commands up by changing them (urfave/cli
// appends a help subcommand, usageErrorsExit2 wraps Before), so sharing
// the package variable's commands between apps makes each setup wrap the
// last one's, without end.
func realtimeCommand() *cli.Command {
	subs := make([]*cli.Command, len(realtimeCommands))
	for i, c := range realtimeCommands {
		cp := *c
		subs[i] = &cp
	}
	return &cli.Command{
		Name:        "realtime",
		Usage:       "realtime attendance: the criteria that select events, and the three-minute ticks that pull their gate scans",
		Subcommands: subs,
	}
}
