package main

import "github.com/urfave/cli/v2"

// realtimeCommand is `archtics realtime` and its subcommands, in the
// order --help lists them. It builds new commands on each call: newApp
// runs once per process in main but many times in tests, and urfave/cli
// and usageErrorsExit2 modify the commands and flags they are given (help
// subcommands, Required), so every app must get commands of its own.
func realtimeCommand() *cli.Command {
	return &cli.Command{
		Name:  "realtime",
		Usage: "realtime attendance: the criteria that select events, and the three-minute ticks that pull their gate scans",
		Subcommands: []*cli.Command{
			realtimeCriteriaCommand(),
			realtimeExpireCommand(),
			realtimeReconcileCommand(),
			realtimeRollupCommand(),
			realtimeRefreshCommand(),
			realtimeRunCommand(),
			realtimeTickCommand(),
			realtimeWatchCommand(),
		},
	}
}
