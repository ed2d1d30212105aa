package main

import "github.com/urfave/cli/v2"

// realtimeCommands build the subcommands of `archtics realtime`. Each
// realtime_*.go file appends its constructor in an init(), so the files
// that add subcommands (criteria, tick, run, expire, ...) never edit the
// same lines:
//
//	func init() { realtimeCommands = append(realtimeCommands, realtimeTickCommand) }
//
// Constructors, not commands: newApp runs once per process in main but
// many times in tests, and urfave/cli and usageErrorsExit2 modify the
// commands and flags they are given (help subcommands, Required), so
// every app must get commands of its own.
var realtimeCommands []func() *cli.Command

func realtimeCommand() *cli.Command {
	subs := make([]*cli.Command, len(realtimeCommands))
	for i, build := range realtimeCommands {
		subs[i] = build()
	}
	return &cli.Command{
		Name:        "realtime",
		Usage:       "realtime attendance: the criteria that select events, and the three-minute ticks that pull their gate scans",
		Subcommands: subs,
	}
}
