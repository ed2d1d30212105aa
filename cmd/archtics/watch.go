package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/stages/watch"
)

func realtimeWatchCommand() *cli.Command {
	// A flag per subcommand: usageErrorsExit2 moves Required into each
	// command's Before, clearing the mark on the flag it sees.
	teamFlag := func() cli.Flag {
		return &cli.StringFlag{Name: "team", Usage: "the Archtics database (team) whose watch list this is", Required: true}
	}
	cacheFlag := func() cli.Flag {
		return &cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}}
	}
	byFlags := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "by", Usage: "who changes the list (default: $USER)"},
			&cli.StringFlag{Name: "note", Usage: "why, kept in the history"},
		}
	}
	fileFlag := func(what string) cli.Flag {
		return &cli.StringFlag{Name: "file", Usage: what + ": CSV lines acct_id,label[,note] (- for stdin)"}
	}
	return &cli.Command{
		Name:  "watch",
		Usage: "the team's watch list (VIPs, season holders, a sponsor's guests): who of them arrived, and a webhook told of each arrival",
		Description: `A watch list is accounts a team marks, each with a label: VIP, Season, Sponsor X
guests. Every change is a new version on the team's settings stream (<team>/settings,
korebi.watch_list_versions and korebi.watch_list_history), so the history says who
changed it, when and how; korebi.watch_list is the live list. archtics.watch_arrivals
shows, per event with realtime scans and per listed account, whether it arrived, its
first entry scan (time, gate) and its seats scanned. A listed account merged into
another (archtics.acct_merge) still matches: both the listed account and each scan's
are followed to the end of their merges.

A list file is CSV, one account a line: acct_id,label[,note]; a header line
acct_id,label,note, blank lines and lines starting with # are skipped. A label is
at most 100 bytes, a note 500, a list 100,000 accounts; acct_id is a positive integer.

The webhook (optional) is an http or https URL: each arrival is POSTed to it once as
a JSON object, in scan order, with the header Idempotency-Key (the scan's stable id)
and, with --secret-env NAME, the header X-Archtics-Signature: sha256=<HMAC-SHA256 of
the body with the secret in $NAME>. The secret is read from the environment when
delivering and never stored. The URL is stored in the warehouse (its path may hold
the receiver's token: readers of the warehouse can read it); commands show its scheme
and host only; a URL with user:password is refused. An arrival is the first stored
entry scan of a seat of a watched account at an event: an account with four seats
arrives four times, once per seat.

deliver sends the arrivals the realtime ticks stored since the last delivery and
commits its cursor on <team>/watch after each one; a failed request (connection,
timeout, 408, 425, 429, 5xx) is retried with backoff. An arrival answered with a 2xx
is never sent again; only the one in flight, whose outcome is unknown (a timeout, a
dropped connection, a delivery stopped or crashed), may be: a receiver that drops an
Idempotency-Key it has seen gets each arrival exactly once. An account added to the
list is announced for the scans stored after the next delivery; its earlier arrivals
show in archtics.watch_arrivals. The first delivery sends every arrival stored (the
last seven days); archtics restore --stream <team>/watch --to 0 sends them all again.

Exit codes: 0 done, 2 usage (a refused list or webhook: nothing was written; no
webhook set), 3 another writer committed first (a second delivery at once; rerun),
4 failure (the receiver refused, or failed every attempt: the arrival is sent first
next time).

Examples:
   archtics realtime watch set --team nhl --file vips.csv --webhook https://hooks.example.com/arrivals --secret-env NHL_WATCH_SECRET
   archtics realtime watch add --team nhl --acct 100042 --label VIP
   archtics realtime watch remove --team nhl 100042
   archtics realtime watch list --team nhl
   archtics realtime watch deliver --team nhl`,
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "replace the list with --file, and/or set or remove the webhook (a new version; the history is kept)",
				ArgsUsage: " ",
				Flags: append([]cli.Flag{
					teamFlag(),
					fileFlag("the whole list"),
					&cli.StringFlag{Name: "webhook", Usage: "the http or https `URL` each arrival is POSTed to (never shown beyond its host)"},
					&cli.BoolFlag{Name: "no-webhook", Usage: "remove the webhook"},
					&cli.StringFlag{Name: "secret-env", Usage: "with --webhook: sign requests with the secret in this environment `VARIABLE` (read when delivering, never stored)"},
					cacheFlag(),
				}, byFlags()...),
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return cli.Exit("set takes no arguments (see --help)", exitUsage)
					}
					var ch watch.Change
					if f := c.String("file"); f != "" {
						entries, err := readEntriesFile(f)
						if err != nil {
							return err
						}
						ch.Replace, ch.Entries = true, entries
					}
					switch {
					case c.IsSet("webhook") && c.Bool("no-webhook"):
						return cli.Exit("give --webhook or --no-webhook, not both", exitUsage)
					case c.IsSet("webhook"):
						ch.Webhook = &watch.Webhook{URL: c.String("webhook"), SecretEnv: c.String("secret-env")}
					case c.Bool("no-webhook"):
						ch.Webhook = &watch.Webhook{}
					}
					if c.IsSet("secret-env") && !c.IsSet("webhook") {
						return cli.Exit("--secret-env goes with --webhook (give the URL again)", exitUsage)
					}
					if !ch.Replace && ch.Webhook == nil {
						return cli.Exit("give --file (the list), --webhook or --no-webhook (see --help)", exitUsage)
					}
					return runWatchChange(c, ch)
				},
			},
			{
				Name:      "add",
				Usage:     "add accounts to the list, or relabel listed ones (a new version)",
				ArgsUsage: " ",
				Flags: append([]cli.Flag{
					teamFlag(),
					&cli.IntFlag{Name: "acct", Usage: "the account's acct_id"},
					&cli.StringFlag{Name: "label", Usage: "with --acct: its label (VIP, Season, Sponsor X guests, ...)"},
					&cli.StringFlag{Name: "acct-note", Usage: "with --acct: a note on the account"},
					fileFlag("accounts to add"),
					cacheFlag(),
				}, byFlags()...),
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return cli.Exit("add takes no arguments: --acct N --label L, or --file (see --help)", exitUsage)
					}
					var ch watch.Change
					switch {
					case c.IsSet("acct") && c.IsSet("file"):
						return cli.Exit("give --acct or --file, not both", exitUsage)
					case c.IsSet("acct"):
						if !c.IsSet("label") {
							return cli.Exit("--acct needs --label", exitUsage)
						}
						ch.Add = []watch.Entry{{AcctID: int32(c.Int("acct")), Label: c.String("label"), Note: c.String("acct-note")}}
					case c.IsSet("file"):
						entries, err := readEntriesFile(c.String("file"))
						if err != nil {
							return err
						}
						ch.Add = entries
					default:
						return cli.Exit("give --acct N --label L, or --file (see --help)", exitUsage)
					}
					return runWatchChange(c, ch)
				},
			},
			{
				Name:      "remove",
				Usage:     "remove accounts from the list (a new version)",
				ArgsUsage: "ACCT_ID...",
				Flags:     append([]cli.Flag{teamFlag(), cacheFlag()}, byFlags()...),
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return cli.Exit("give the acct_id of each account to remove (see --help)", exitUsage)
					}
					var ch watch.Change
					for _, a := range c.Args().Slice() {
						n, err := strconv.ParseInt(a, 10, 32)
						if err != nil || n <= 0 {
							return cli.Exit(fmt.Sprintf("%.20q is not an acct_id (a positive integer)", a), exitUsage)
						}
						ch.Remove = append(ch.Remove, int32(n))
					}
					return runWatchChange(c, ch)
				},
			},
			{
				Name:      "list",
				Usage:     "print the live list and its webhook (the host only)",
				ArgsUsage: " ",
				Flags:     []cli.Flag{teamFlag(), cacheFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return cli.Exit("list takes no arguments (see --help)", exitUsage)
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					return runWatchList(c.Context, os.Stdout, w, c.String("team"), cacheDir(c, w))
				},
			},
			{
				Name:      "history",
				Usage:     "print every version of the list: who changed it, when and how",
				ArgsUsage: " ",
				Flags:     []cli.Flag{teamFlag(), cacheFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return cli.Exit("history takes no arguments (see --help)", exitUsage)
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					return runWatchHistory(c.Context, os.Stdout, w, c.String("team"), cacheDir(c, w))
				},
			},
			{
				Name:      "deliver",
				Usage:     "POST the arrivals stored since the last delivery to the webhook, once each, in order (one pass)",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					teamFlag(),
					&cli.IntFlag{Name: "attempts", Value: 8, Usage: "tries per arrival before the pass gives up (backoff doubling from 0.5s to 30s between them)"},
					&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "how long one request may take"},
					cacheFlag(),
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return cli.Exit("deliver takes no arguments (see --help)", exitUsage)
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					opts := watchDeliverOptions(cacheDir(c, w), c.Duration("timeout"), slog.Default())
					opts.Attempts = c.Int("attempts")
					return runWatchDeliver(c.Context, os.Stdout, w, c.String("team"), opts)
				},
			},
		},
	}
}

// readEntriesFile reads a list file (- for stdin); a refused list is a
// usage error.
func readEntriesFile(path string) ([]watch.Entry, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, cli.Exit(fmt.Sprintf("--file: %v", err), exitUsage)
		}
		defer f.Close()
		r = f
	}
	entries, err := watch.ReadEntries(r)
	if err != nil {
		return nil, refusedWatch(fmt.Errorf("%s: %w", path, err))
	}
	return entries, nil
}

// refusedWatch turns a refused list or webhook into the usage exit.
func refusedWatch(err error) error {
	var ie *watch.InputError
	if errors.As(err, &ie) {
		return cli.Exit(err.Error()+"; nothing was written (see archtics realtime watch --help)", exitUsage)
	}
	return err
}

func runWatchChange(c *cli.Context, ch watch.Change) error {
	w, err := openExistingWarehouse(c)
	if err != nil {
		return err
	}
	team := c.String("team")
	v, commit, err := watch.Apply(c.Context, w, team, ch, watch.SetOptions{By: c.String("by"), Note: c.String("note")}, cacheDir(c, w))
	if err != nil {
		return refusedWatch(err)
	}
	fmt.Fprintf(os.Stdout, "%s: watch list version %d set by %s at %s (%s): %d accounts, webhook %s; commit %d of %s\n",
		team, v.Version, v.SetBy, v.SetAt.Format(time.RFC3339), v.Change, v.Count, webhookText(v.Webhook), commit.Seq, commit.Stream)
	return nil
}

// webhookText is how commands show a webhook: its host, never its path,
// query or secret.
func webhookText(h watch.Webhook) string {
	switch {
	case !h.Set():
		return "none"
	case h.SecretEnv != "":
		return h.Host() + " (signed with $" + h.SecretEnv + ")"
	}
	return h.Host() + " (unsigned)"
}

func runWatchList(ctx context.Context, out io.Writer, w *pipeline.Warehouse, team, cache string) error {
	v, err := watch.Current(ctx, w, team, cache)
	if err != nil {
		return err
	}
	if v == nil {
		fmt.Fprintf(out, "%s: no watch list set; set one with archtics realtime watch set --team %s --file LIST.csv\n", team, team)
		return nil
	}
	fmt.Fprintf(out, "%s: watch list version %d, set by %s at %s: %d accounts; webhook %s\n",
		team, v.Version, v.SetBy, v.SetAt.Format(time.RFC3339), v.Count, webhookText(v.Webhook))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "acct_id\tlabel\tnote")
	for _, e := range v.Entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", e.AcctID, e.Label, e.Note)
	}
	return tw.Flush()
}

func runWatchHistory(ctx context.Context, out io.Writer, w *pipeline.Warehouse, team, cache string) error {
	vs, err := watch.History(ctx, w, team, cache)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		fmt.Fprintf(out, "%s: no watch list set\n", team)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "version\tset_by\tset_at\taccounts\twebhook\tchange\tnote")
	for _, v := range vs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", v.Version, v.SetBy, v.SetAt.Format(time.RFC3339), v.Count, webhookText(v.Webhook), v.Change, v.Note)
	}
	return tw.Flush()
}

// watchDeliverOptions are the delivery options of the commands: a
// request timeout, redirects not followed (a POST redirected becomes a
// GET).
func watchDeliverOptions(cache string, timeout time.Duration, logger *slog.Logger) watch.DeliverOptions {
	return watch.DeliverOptions{
		Client: &http.Client{Timeout: timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		CacheDir: cache,
		Logger:   logger,
	}
}

func runWatchDeliver(ctx context.Context, out io.Writer, w *pipeline.Warehouse, team string, opts watch.DeliverOptions) error {
	rep, err := watch.Deliver(ctx, w, team, opts)
	if errors.Is(err, watch.ErrNoWebhook) {
		return cli.Exit(err.Error(), exitUsage)
	}
	if rep != nil {
		fmt.Fprintf(out, "%s: delivered %d arrivals to %s in %d requests", team, rep.Delivered, rep.Webhook, rep.Attempts)
		if rep.Left > 0 {
			fmt.Fprintf(out, "; %d left for the next pass", rep.Left)
		}
		fmt.Fprintln(out)
	}
	return err
}

// deliverWatchAfterTick is what realtime run calls after each tick: one
// delivery pass when the team's watch list has a webhook, nothing
// otherwise. A failed delivery is logged, not returned: the ticks go on
// and the next pass sends what this one could not, first. Fewer and
// shorter attempts than deliver's keep a receiver that is down from
// holding up the next tick for more than about 20 seconds.
func deliverWatchAfterTick(ctx context.Context, w *pipeline.Warehouse, team, cache string, logger *slog.Logger) {
	opts := watchDeliverOptions(cache, 5*time.Second, logger)
	opts.Attempts = 3
	rep, err := watch.DeliverIfSet(ctx, w, team, opts)
	if err != nil && ctx.Err() == nil {
		logger.Warn("watch list delivery failed; the next tick's pass retries it", "team", team, "err", err)
		return
	}
	if rep != nil && rep.Delivered > 0 {
		logger.Info("watch list arrivals delivered", "team", team, "webhook", rep.Webhook, "delivered", rep.Delivered)
	}
}
