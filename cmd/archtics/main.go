// Command archtics clones Ticketmaster Archtics databases into a warehouse of
// immutable Parquet partitions on object storage, and serves them to DuckDB.
//
// Exit codes: 0 success; 1 a check found a problem (verify); 2 usage error;
// 3 a commit conflict (another writer won: rerun); 4 any other failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/storage"
	"archtics/storage/backend"
)

// Exit codes, documented in the README and in --help.
const (
	exitOK       = 0
	exitProblem  = 1
	exitUsage    = 2
	exitConflict = 3
	exitFailure  = 4
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args))
}

func run(ctx context.Context, args []string) int {
	app := newApp()
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	var exit cli.ExitCoder
	if errors.As(err, &exit) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "archtics:", msg)
		}
		return exit.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "archtics:", err)
	if h := hint(err); h != "" {
		fmt.Fprintln(os.Stderr, "archtics:", h)
	}
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, pipeline.ErrCommitConflict) {
		fmt.Fprintln(os.Stderr, "archtics: another writer committed first; rerun the command, it will pick up from the new state")
		return exitConflict
	}
	return exitFailure
}

func newApp() *cli.App {
	app := &cli.App{
		Name:    "archtics",
		Usage:   "clone Ticketmaster Archtics into Parquet on object storage, queryable with DuckDB",
		Version: version,
		Description: `archtics keeps a warehouse of immutable, Hive-partitioned Parquet files on a
local folder or S3. Every stage run ends in one commit in the warehouse's
commit log; files no commit names are invisible to readers.

Configuration follows the AWS conventions: credentials from the standard chain
(AWS_ACCESS_KEY_ID, AWS_PROFILE, ...), AWS_REGION, and AWS_ENDPOINT_URL for an
S3-compatible endpoint such as LocalStack.

Exit codes:
   0  success
   1  a check found a problem (verify: a file is missing, corrupt or uncommitted)
   2  usage error (bad flag or argument)
   3  commit conflict: another writer committed first; rerun
   4  any other failure (the message says what and where)`,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "warehouse",
				Aliases: []string{"w"},
				Value:   "./warehouse",
				Usage:   "warehouse location: a local folder or s3://bucket/prefix",
				EnvVars: []string{"ARCHTICS_WAREHOUSE"},
			},
			&cli.StringFlag{
				Name:    "log-format",
				Value:   "text",
				Usage:   "log format: text or json",
				EnvVars: []string{"ARCHTICS_LOG_FORMAT"},
			},
			&cli.StringFlag{
				Name:    "log-level",
				Value:   "info",
				Usage:   "log level: debug, info, warn or error",
				EnvVars: []string{"ARCHTICS_LOG_LEVEL"},
			},
		},
		Before: func(c *cli.Context) error {
			logger, err := newLogger(c.String("log-format"), c.String("log-level"))
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			slog.SetDefault(logger)
			return nil
		},
		// run reports errors and picks the exit code; cli's own handler
		// would call os.Exit from inside RunContext.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			return cli.Exit(fmt.Sprintf("%v (see --help)", err), exitUsage)
		},
		Commands: []*cli.Command{
			demoCommand(),
			loadDumpCommand(),
			queryCommand(),
			logCommand(),
			verifyCommand(),
			vacuumCommand(),
			simulateCommand(),
			versionCommand(),
		},
	}
	usageErrorsExit2(app.Commands)
	return app
}

// usageErrorsExit2 gives every command the app's handling of a bad flag:
// exit code 2 and a pointer to --help.
func usageErrorsExit2(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = func(c *cli.Context, err error, isSubcommand bool) error {
			return cli.Exit(fmt.Sprintf("%v (see %s %s --help)", err, c.App.Name, c.Command.FullName()), exitUsage)
		}
		usageErrorsExit2(c.Subcommands)
	}
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// openWarehouse opens the warehouse the global --warehouse flag names,
// creating a local folder if needed: for the commands that write.
func openWarehouse(c *cli.Context) (*pipeline.Warehouse, error) {
	return pipeline.Open(c.Context, c.String("warehouse"), slog.Default())
}

// openExistingWarehouse opens the warehouse for a command that only reads:
// a local folder that does not exist is a mistake to report, not a
// warehouse to create.
func openExistingWarehouse(c *cli.Context) (*pipeline.Warehouse, error) {
	loc := c.String("warehouse")
	if err := mustExist(loc, "warehouse", "check --warehouse or ARCHTICS_WAREHOUSE; load-dump or demo creates one"); err != nil {
		return nil, err
	}
	return openWarehouse(c)
}

// mustExist fails with a usage error when location is a local folder that
// does not exist; S3 locations are checked by their first request.
func mustExist(location, what, advice string) error {
	path, local, err := backend.LocalPath(location)
	if err != nil {
		return cli.Exit(err.Error(), exitUsage)
	}
	if !local {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return cli.Exit(fmt.Sprintf("no %s at %s: the folder does not exist (%s)", what, location, advice), exitUsage)
	}
	return nil
}

func simulateCommand() *cli.Command {
	return &cli.Command{
		Name:  "simulate",
		Usage: "run the Archtics simulator: write a full dump, serve the change API and scan feed, or write the truth",
		Subcommands: []*cli.Command{
			simulateDumpCommand(),
			simulateServeCommand(),
			simulateTruthCommand(),
		},
	}
}
