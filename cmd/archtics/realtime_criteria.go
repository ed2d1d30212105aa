package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/simulator"
	"archtics/stages/clone"
	"archtics/stages/realtime"
)

// A refused criteria fragment exits with the usage code: the argument is
// what is wrong, and nothing was written.
const exitRefusedCriteria = exitUsage

func realtimeCriteriaCommand() *cli.Command {
	// A flag per subcommand: usageErrorsExit2 moves Required into each
	// command's Before, clearing the mark on the flag it sees.
	teamFlag := func() cli.Flag {
		return &cli.StringFlag{Name: "team", Usage: "the Archtics database (team) whose criteria these are", Required: true}
	}
	cacheFlag := &cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}}
	tzFlag := &cli.StringFlag{Name: "timezone", Usage: "the client's IANA time zone, when the clone does not know it (default: the one load-dump recorded)"}
	return &cli.Command{
		Name:  "criteria",
		Usage: "set, show or check the criteria that select a team's realtime events (korebi.birulesettings)",
		Description: `The criteria are an SQL expression over archtics.event's columns: what the seed's
verification query puts at /* INSERT CRITERIA HERE */. A tick follows the events that
query selects at its logical time, in the team's time zone:

   SELECT event_name, event_date, event_time, event_day, team,
   major_category, minor_category, season_name
   FROM archtics.event
   WHERE enabled = 'Y' AND event_date >= current_date
   AND event_date <= current_date + 8
   AND (<criteria>);

The seed's examples:
   total_events = 1 AND major_category IN ('SPORTS','CONCERTS')
   major_category = 'SPORTS' AND minor_category = 'NHL PRO HOCKEY'

Only an expression is allowed: columns of archtics.event, constants, comparisons,
AND/OR/NOT, IN, BETWEEN, LIKE/ILIKE, IS [NOT] NULL, CAST, CASE and plain functions
(lower, upper, trim, substr, coalesce, date_part, year, ...). Refused, with the reason:
';', comments, subqueries, other tables, file, network and table functions (read_csv,
read_parquet, glob, ...), COPY, ATTACH, PRAGMA, SET and DDL; and what costs too much:
more than 4000 bytes, nesting deeper than 32, a replace whose texts are not constants,
text that can grow past 64 times the values it is made of (nested replaces). The query
runs on one thread, within 256 MB and 5 seconds. A refused fragment exits 2 and nothing
is written.`,
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "check FRAGMENT and record it as the team's criteria (a new version; the history is kept)",
				ArgsUsage: "FRAGMENT",
				Flags: []cli.Flag{
					teamFlag(),
					&cli.StringFlag{Name: "by", Usage: "who sets them (default: $USER)"},
					&cli.StringFlag{Name: "note", Usage: "why they are set, kept in the history"},
					&cli.StringFlag{Name: "effective", Usage: "from when ticks use them: RFC 3339 or local 'YYYY-MM-DD HH:MM:SS' in the team's zone (default: now; earlier lets a catch-up of past ticks use them)"},
					tzFlag,
				},
				Action: func(c *cli.Context) error {
					fragment, err := oneFragment(c, true)
					if err != nil {
						return err
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					opts := realtime.SetOptions{By: c.String("by"), Note: c.String("note")}
					if s := c.String("effective"); s != "" {
						if opts.Effective, err = parseTeamTime(c.Context, w, c.String("team"), c.String("timezone"), s, "--effective"); err != nil {
							return err
						}
					}
					return runCriteriaSet(c.Context, os.Stdout, w, c.String("team"), fragment, opts)
				},
			},
			{
				Name:  "show",
				Usage: "print the team's criteria in force now (the live record of korebi.birulesettings), or every version",
				Flags: []cli.Flag{
					teamFlag(),
					&cli.BoolFlag{Name: "history", Usage: "every version, oldest first"},
					cacheFlag,
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return cli.Exit("show takes no argument (see --help)", exitUsage)
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					return runCriteriaShow(c.Context, os.Stdout, w, c.String("team"), cacheDir(c, w), c.Bool("history"), time.Now())
				},
			},
			{
				Name:      "check",
				Usage:     "print the events the seed's verification query selects, with the team's criteria or FRAGMENT, now or --at",
				ArgsUsage: "[FRAGMENT]",
				Flags: []cli.Flag{
					teamFlag(),
					&cli.StringFlag{Name: "at", Usage: "the instant to check at: RFC 3339 or local 'YYYY-MM-DD HH:MM:SS' in the team's zone (default: now); current_date is its local date"},
					tzFlag,
					cacheFlag,
				},
				Action: func(c *cli.Context) error {
					fragment, err := oneFragment(c, false)
					if err != nil {
						return err
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					at := time.Now()
					if s := c.String("at"); s != "" {
						if at, err = parseTeamTime(c.Context, w, c.String("team"), c.String("timezone"), s, "--at"); err != nil {
							return err
						}
					}
					opts := realtime.SelectOptions{TimeZone: c.String("timezone"), CacheDir: cacheDir(c, w), Criteria: fragment}
					return runCriteriaCheck(c.Context, os.Stdout, os.Stderr, w, c.String("team"), at, opts)
				},
			},
		},
	}
}

// oneFragment returns the command's FRAGMENT argument. The fragment is
// one argument (quote it in the shell); several are joined with spaces,
// as an unquoted fragment arrives.
func oneFragment(c *cli.Context, required bool) (string, error) {
	if c.NArg() == 0 {
		if required {
			return "", cli.Exit("give the criteria as one argument, quoted: "+commandPath(c)+
				` --team T "major_category = 'SPORTS' AND minor_category = 'NHL PRO HOCKEY'"`, exitUsage)
		}
		return "", nil
	}
	return strings.Join(c.Args().Slice(), " "), nil
}

// parseTeamTime reads an RFC 3339 instant or a local wall-clock time in
// the team's zone (refusing one the zone skips or repeats).
func parseTeamTime(ctx context.Context, w *pipeline.Warehouse, team, tz, s, flag string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	loc, err := clone.CloneLocation(ctx, w, team, tz)
	if err != nil {
		return time.Time{}, cli.Exit(fmt.Sprintf("%s %q: a local time needs the team's zone: %v (or give an RFC 3339 instant)", flag, s, err), exitUsage)
	}
	t, err := simulator.ParseLocalTime(s, loc)
	if err != nil {
		return time.Time{}, cli.Exit(fmt.Sprintf("%s: %v", flag, err), exitUsage)
	}
	return t, nil
}

// refused turns a refused fragment into the usage exit.
func refused(err error) error {
	var ce *realtime.CriteriaError
	if errors.As(err, &ce) {
		return cli.Exit(err.Error()+"; nothing was written (see archtics realtime criteria --help for what criteria may use)", exitRefusedCriteria)
	}
	return err
}

func runCriteriaSet(ctx context.Context, out io.Writer, w *pipeline.Warehouse, team, fragment string, opts realtime.SetOptions) error {
	rec, commit, err := realtime.SetCriteria(ctx, w, team, fragment, opts)
	if err != nil {
		return refused(err)
	}
	fmt.Fprintf(out, "%s: realtime criteria version %d set by %s at %s, effective from %s; commit %d of %s\n  %s\n",
		team, rec.Version, rec.SetBy, rec.SetAt.Format(time.RFC3339), rec.EffectiveAt.Format(time.RFC3339), commit.Seq, commit.Stream, rec.Criteria)
	return nil
}

func runCriteriaShow(ctx context.Context, out io.Writer, w *pipeline.Warehouse, team, cache string, history bool, now time.Time) error {
	recs, err := realtime.CriteriaHistory(ctx, w, team, cache)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Fprintf(out, "%s: no realtime criteria set; set them with archtics realtime criteria set --team %s \"<criteria>\"\n", team, team)
		return nil
	}
	if !history {
		recs = recs[len(recs)-1:]
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "version\tset_by\tset_at\teffective_at\tnote\tcriteria")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Version, r.SetBy, r.SetAt.Format(time.RFC3339), r.EffectiveAt.Format(time.RFC3339), r.Note, r.Criteria)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if last := recs[len(recs)-1]; last.EffectiveAt.After(now) {
		fmt.Fprintf(out, "(version %d takes effect at %s; ticks before then use the version before it)\n", last.Version, last.EffectiveAt.Format(time.RFC3339))
	}
	return nil
}

// runCriteriaCheck prints what the seed's verification query prints
// (with event_id first) for team at the instant at; a note on stderr says
// which criteria ran and what current_date was.
func runCriteriaCheck(ctx context.Context, out, errOut io.Writer, w *pipeline.Warehouse, team string, at time.Time, opts realtime.SelectOptions) error {
	sel, err := realtime.Select(ctx, w, team, at, opts)
	if err != nil {
		return refused(err)
	}
	from := "given"
	if sel.Record != nil {
		from = fmt.Sprintf("version %d, set by %s at %s", sel.Record.Version, sel.Record.SetBy, sel.Record.SetAt.Format(time.RFC3339))
	}
	fmt.Fprintf(errOut, "-- %s at %s: current_date %s (%s); criteria (%s): %s\n", team, sel.At.In(sel.Location).Format(time.RFC3339),
		sel.Today.Format(time.DateOnly), sel.Location, from, sel.Criteria)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "event_id\t"+strings.Join(realtime.SeedColumns, "\t"))
	for _, r := range sel.Rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.EventID, r.EventName, r.EventDate.Format(time.DateOnly), r.EventTime,
			r.EventDay, r.Team, r.MajorCategory, r.MinorCategory, r.SeasonName)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "-- %d events\n", len(sel.Rows))
	return nil
}
