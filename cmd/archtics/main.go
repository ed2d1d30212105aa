// Command archtics clones Ticketmaster Archtics databases into a warehouse of
// immutable Parquet partitions on object storage, and serves them to DuckDB.
//
// Exit codes: 0 success; 1 a check found a problem (verify); 2 usage error;
// 3 a commit conflict (another writer won: rerun); 4 any other failure;
// 130 / 143 stopped by SIGINT / SIGTERM (nothing unfinished is committed).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
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
	// A command stopped by a signal exits 128 + the signal's number, the
	// code a shell reports for a process the signal killed, so a scheduler
	// can tell a stop from a failure of the data.
	exitSIGINT  = 128 + int(syscall.SIGINT)  // 130
	exitSIGTERM = 128 + int(syscall.SIGTERM) // 143
)

// interruptGrace is how long a command may take to stop cleanly after
// SIGINT or SIGTERM before the process exits anyway. Every loop checks its
// context, so this is a safety net, not the way commands stop; exiting
// without cleaning up is still safe, because nothing becomes visible in a
// warehouse but a whole commit.
const interruptGrace = 10 * time.Second

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go watchSignals(sigs, cancel, interruptGrace, os.Stderr, os.Exit)
	os.Exit(run(ctx, os.Args))
}

// interrupted is the cause of the context of a command stopped by a signal.
type interrupted struct{ sig os.Signal }

func (e *interrupted) Error() string { return "interrupted by " + signalName(e.sig) }

func signalName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

func signalExitCode(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

// watchSignals cancels the command's context on the first signal, so it
// stops and cleans up, and exits the process when a second signal comes or
// the grace period ends first.
func watchSignals(sigs <-chan os.Signal, cancel context.CancelCauseFunc, grace time.Duration, stderr io.Writer, exit func(int)) {
	first := <-sigs
	cancel(&interrupted{first})
	fmt.Fprintf(stderr, "archtics: %s received, stopping (a second signal exits at once)\n", signalName(first))
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case again := <-sigs:
		fmt.Fprintf(stderr, "archtics: %s received again, exiting now; nothing unfinished was committed\n", signalName(again))
		exit(signalExitCode(again))
	case <-timer.C:
		fmt.Fprintf(stderr, "archtics: still stopping %s after %s, exiting now; nothing unfinished was committed\n", signalName(first), grace)
		exit(signalExitCode(first))
	}
}

func run(ctx context.Context, args []string) int {
	stopProfile := startProfile()
	app := newApp()
	err := app.RunContext(ctx, args)
	stopProfile()
	var intr *interrupted
	if errors.As(context.Cause(ctx), &intr) {
		// Whatever the command answered, it was stopped: say so, and exit
		// with the signal's code so a scheduler sees the kill, not a data
		// failure.
		if err != nil {
			fmt.Fprintln(os.Stderr, "archtics:", storage.Redact(err.Error())) // where it stopped
		}
		fmt.Fprintf(os.Stderr, "archtics: %s; nothing unfinished was committed (commits are all or nothing): rerun the command to finish\n", intr)
		return signalExitCode(intr.sig)
	}
	if err == nil {
		if name, ok := app.Metadata[unknownHelpTopic].(string); ok {
			// `archtics help demoo`: urfave/cli's hook cannot fail.
			fmt.Fprintln(os.Stderr, "archtics:", unknownCommandMessage(name, app.Commands, "archtics"))
			return exitUsage
		}
		return exitOK
	}
	var exit cli.ExitCoder
	if errors.As(err, &exit) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "archtics:", storage.Redact(msg))
		}
		return exit.ExitCode()
	}
	// A location or source URL the user typed with a password may be in
	// the message: the last place to keep it out of a terminal or a log.
	fmt.Fprintln(os.Stderr, "archtics:", storage.Redact(err.Error()))
	if h := hint(err); h != "" {
		fmt.Fprintln(os.Stderr, "archtics:", storage.Redact(h))
	}
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, txlog.ErrCommitConflict) {
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
   2  usage error (bad flag, argument or command; a flag out of its bounds; a time in the future)
   3  commit conflict: another writer committed first; rerun
   4  any other failure (the message says what and where)
 130  stopped by SIGINT (Ctrl-C)
 143  stopped by SIGTERM (Airflow's task timeout, kill)

SIGINT or SIGTERM stops any command within seconds: the unfinished work is
abandoned, nothing of it is committed, and a rerun picks up from the last
commit. A second signal, or 10 seconds without stopping, exits at once.`,
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
				Name:    metricsFileFlag,
				Usage:   "after each stage that commits, write its figures (rows in, loaded, rejected, committed bytes, duration, watermark lag) to this Prometheus text `FILE`, replaced atomically (node_exporter's textfile collector)",
				EnvVars: []string{"ARCHTICS_METRICS_FILE"},
			},
			&cli.StringFlag{
				Name:    "log-level",
				Value:   "info",
				Usage:   "log level: debug, info, warn or error",
				EnvVars: []string{"ARCHTICS_LOG_LEVEL"},
			},
			maxFutureCLIFlag(),
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
			incrementalCommand(),
			queryCommand(),
			sqlCommand(),
			catalogCommand(),
			syncCommand(),
			logCommand(),
			verifyCommand(),
			restoreCommand(),
			vacuumCommand(),
			realtimeCommand(),
			compactCommand(),
			dedupCommand(),
			crmCommand(),
			serveCommand(),
			simulateCommand(),
			versionCommand(),
		},
	}
	usageErrorsExit2(app.Commands)
	unknownCommandsExit2(app)
	enforceBounds(app)
	return app
}

// usageErrorsExit2 gives every command the app's handling of a bad flag:
// exit code 2 and a pointer to --help. That includes a missing required
// flag, which urfave/cli reports with the whole help text and an error the
// caller cannot tell from any other (exit 4): the check moves into the
// command's Before, after --help is handled, as a usage error.
func usageErrorsExit2(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = func(c *cli.Context, err error, isSubcommand bool) error {
			return cli.Exit(fmt.Sprintf("%v (see %s --help)", err, commandPath(c)), exitUsage)
		}
		if required := takeRequired(c.Flags); len(required) > 0 {
			before := c.Before
			c.Before = func(ctx *cli.Context) error {
				for _, names := range required {
					if !anySet(ctx, names) {
						cmd := commandPath(ctx)
						return cli.Exit(fmt.Sprintf("--%s is required (see %s --help)", names[0], cmd), exitUsage)
					}
				}
				if before != nil {
					return before(ctx)
				}
				return nil
			}
		}
		usageErrorsExit2(c.Subcommands)
	}
}

// commandPath is the command line that reaches c's command, such as
// "archtics simulate dump".
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	if len(names) == 0 || names[0] != c.App.Name {
		names = append([]string{c.App.Name}, names...)
	}
	return strings.Join(names, " ")
}

// takeRequired clears the Required mark of flags and returns their names,
// marking their usage text "(required)" instead. Every urfave/cli v2 flag
// type has a Required field; reflection reaches it without listing them.
func takeRequired(flags []cli.Flag) [][]string {
	var out [][]string
	for _, f := range flags {
		rf, ok := f.(cli.RequiredFlag)
		if !ok || !rf.IsRequired() {
			continue
		}
		v := reflect.ValueOf(f)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		req, usage := v.Elem().FieldByName("Required"), v.Elem().FieldByName("Usage")
		if !req.CanSet() || req.Kind() != reflect.Bool {
			continue // left to urfave/cli's own check
		}
		req.SetBool(false)
		if usage.CanSet() && usage.Kind() == reflect.String {
			usage.SetString(usage.String() + " (required)")
		}
		out = append(out, f.Names())
	}
	return out
}

func anySet(c *cli.Context, names []string) bool {
	for _, n := range names {
		if c.IsSet(n) {
			return true
		}
	}
	return false
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: redactAttr}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// redactAttr hides the passwords of URLs in a log line's text and errors.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value.Any().(type) {
	case string:
		if r := storage.Redact(v); r != v {
			return slog.String(a.Key, r)
		}
	case error:
		if s := v.Error(); storage.Redact(s) != s {
			return slog.String(a.Key, storage.Redact(s))
		}
	}
	return a
}

// openWarehouse opens the warehouse the global --warehouse flag names,
// creating a local folder if needed: for the commands that write.
func openWarehouse(c *cli.Context) (*pipeline.Warehouse, error) {
	if err := checkLocation(c.String("warehouse")); err != nil {
		return nil, err
	}
	w, err := openWarehouseAt(c.Context, c.String("warehouse"), slog.Default())
	if err != nil {
		return nil, err
	}
	return autoPublishIceberg(w), nil
}

// openWarehouseAt opens the warehouse at url with the backend its scheme
// names (storage/backend: the one choice of backend in the program); its
// commits record this build's version.
func openWarehouseAt(ctx context.Context, url string, logger *slog.Logger) (*pipeline.Warehouse, error) {
	store, err := backend.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open warehouse %s: %w", storage.Redact(url), err)
	}
	w := pipeline.New(store, logger)
	w.Version = version
	return w, nil
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

// checkLocation refuses, as a usage error, a --warehouse the store
// backends do not open: a scheme other than s3:// or file://, a malformed
// file URL.
func checkLocation(location string) error {
	_, local, err := backend.LocalPath(location)
	if err != nil {
		return cli.Exit("--warehouse: "+err.Error(), exitUsage)
	}
	if scheme, _, _ := strings.Cut(location, "://"); !local && !strings.EqualFold(scheme, "s3") {
		return cli.Exit(fmt.Sprintf("--warehouse %q: unsupported scheme %q; want a folder path, file:///absolute/path or s3://bucket/prefix (check --warehouse or ARCHTICS_WAREHOUSE)",
			storage.Redact(location), scheme), exitUsage)
	}
	return nil
}

// mustExist fails with a usage error when location is a local path that
// does not exist or is a file; S3 locations are checked by their first
// request.
func mustExist(location, what, advice string) error {
	path, local, err := backend.LocalPath(location)
	if err != nil {
		return cli.Exit(err.Error(), exitUsage)
	}
	if !local {
		return nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cli.Exit(fmt.Sprintf("no %s at %s: the folder does not exist (%s)", what, location, advice), exitUsage)
	}
	if err == nil && !fi.IsDir() {
		return cli.Exit(fmt.Sprintf("the %s location %s is a file, not a folder (%s; did you mean its folder %s?)",
			what, location, advice, filepath.Dir(path)), exitUsage)
	}
	return nil
}

// openWarehouseToWrite opens the warehouse for a command that writes,
// creating a local folder if needed, and returns what to call if the
// command fails: the folders this run created are removed if they still
// hold no file, so a load that failed before writing anything does not
// leave an empty warehouse behind for later commands to take for a real one.
func openWarehouseToWrite(c *cli.Context) (*pipeline.Warehouse, func(), error) {
	undo := func() {}
	path, local, err := backend.LocalPath(c.String("warehouse"))
	if err != nil {
		return nil, undo, cli.Exit(err.Error(), exitUsage)
	}
	if local {
		if top := firstMissing(path); top != "" {
			undo = func() { removeIfNoFiles(top) }
		}
	}
	w, err := openWarehouse(c)
	if err != nil {
		undo()
		return nil, func() {}, err
	}
	return w, undo, nil
}

// firstMissing is the outermost folder of path that does not exist yet
// ("" if path exists): what creating path creates.
func firstMissing(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	missing := ""
	for p := abs; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = p
		if filepath.Dir(p) == p {
			return missing
		}
	}
}

// removeIfNoFiles removes root and the folders below it when none of them
// holds a file. Folders are removed one by one, deepest first, with
// os.Remove, which refuses a folder that is not empty: a file that another
// process writes meanwhile is never deleted.
func removeIfNoFiles(root string) {
	var dirs []string
	found := false
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			found = true
			return fs.SkipAll
		}
		dirs = append(dirs, p)
		return nil
	})
	if err != nil || found {
		return
	}
	// WalkDir visits a folder before its contents: backwards is deepest first.
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i])
	}
}

// unknownHelpTopic is the app's Metadata key under which `archtics help X`
// records an X that names no command.
const unknownHelpTopic = "unknown-help-topic"

// unknownCommandsExit2 makes a word that names no command a usage error
// with the nearest command's name, for the app and every command that
// groups subcommands: without an action of their own, urfave/cli answers
// "No help topic for 'demoo'" with exit 3, the code of a commit conflict.
func unknownCommandsExit2(app *cli.App) {
	app.Action = func(c *cli.Context) error {
		if c.NArg() == 0 {
			return cli.ShowAppHelp(c)
		}
		return cli.Exit(unknownCommandMessage(c.Args().First(), app.Commands, "archtics"), exitUsage)
	}
	app.CommandNotFound = func(c *cli.Context, name string) { c.App.Metadata[unknownHelpTopic] = name }
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			path := prefix + " " + cmd.Name
			if len(cmd.Subcommands) > 0 && cmd.Action == nil {
				subs := cmd.Subcommands
				cmd.Action = func(c *cli.Context) error {
					if c.NArg() == 0 {
						return cli.ShowSubcommandHelp(c)
					}
					return cli.Exit(unknownCommandMessage(c.Args().First(), subs, path), exitUsage)
				}
			}
			walk(path, cmd.Subcommands)
		}
	}
	walk("archtics", app.Commands)
}

// unknownCommandMessage names the unknown word and the nearest command.
func unknownCommandMessage(word string, cmds []*cli.Command, path string) string {
	best, bestDist := "", len(word)/2+2 // farther than this is no suggestion
	for _, cmd := range cmds {
		if cmd.Hidden {
			continue
		}
		for _, name := range cmd.Names() {
			if d := editDistance(strings.ToLower(word), name); d < bestDist {
				best, bestDist = cmd.Name, d
			}
		}
	}
	msg := fmt.Sprintf("%s: unknown command %q", path, word)
	if best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	return msg + fmt.Sprintf(" (see %s --help for the commands)", path)
}

// editDistance is the Levenshtein distance of a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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
