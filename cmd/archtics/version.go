package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the program version",
		Action: func(c *cli.Context) error {
			// The app's Version, which newApp sets from main.version: the
			// one value every command reads the version from.
			fmt.Fprintf(c.App.Writer, "archtics %s (%s, %s/%s)\n", c.App.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
