package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/pipeline/check"
	"archtics/pipeline/views"
	"archtics/simulator"
	"archtics/stages/clone"
	"archtics/stages/dedup"
	"archtics/storage/backend"
	"archtics/web"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the whole job end to end on the simulator and a local warehouse",
		Description: `demo runs what a team's first day looks like, with the simulator standing in
for Ticketmaster:

   1. simulate dump   write the simulated client's full dump cut at its cutoff
                      into DIR/dump (gzip pipe-delimited parts + manifest.json)
   2. load-dump       load every team's dump into DIR/warehouse, one commit per
                      team on "<team>/clone", with the cutoff as the watermark;
                      rows that do not convert go to archtics_meta.rejects
   3. crm dedup       deduplicate every team's accounts into the client's CRM
                      (the dump's crm/ files) with a new CRM's rule set
                      (evidence; --rules picks another), the simulated
                      client's excluded account types left out; under
                      KORE's rules every pre-existing contact's primary
                      account is compared with the simulator's CRM
                      truth, under the others no pre-existing contact may
                      take another person's account as its primary and
                      the pairs joined are measured against the
                      simulator's people (precision at least 0.99)
   4. incremental     serve the simulator's change API on loopback, move its
                      clock five days past the cutoff and bring every team's
                      clone up to it at once (the first large incremental)
   5. hourly          then every simulated hour for --hours (a week by default):
                      each team's incremental with its key sweep; after every
                      run the clone is compared with the simulator's truth,
                      every row and column of the four tables; once a
                      simulated day every clone is compacted (and compared),
                      and the day's new and changed accounts deduplicated
   6. realtime        within those hours, every three simulated minutes, each
                      team whose events (the seed's first example criteria,
                      set first) have their window open is ticked against the
                      scan feed; the stored scans are compared with the
                      truth as of delivery after every hour
   7. crm report      why the CRM has fewer contacts than Archtics accounts
   8. verify          re-read every committed file against its commit
   9. query           cache the committed files in DIR/cache and write
                      DIR/warehouse.duckdb with one view per table (open it
                      in DBeaver, or the duckdb CLI if you have it), then
                      print a summary

The results go to stdout as each step finishes; the log goes to stderr at
warn level unless --log-level is given.

The warehouse is a plain folder of Hive-partitioned Parquet; the same steps
run against s3://... with the load-dump and query commands. Rerunning the
demo is safe: every step is idempotent, and a finished load is not redone.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "./demo", Usage: "folder for the dump, the warehouse, the cache and the DuckDB file"},
			&cli.StringFlag{Name: "scale", Value: "default", Usage: "simulator preset: small (a second), default (seconds) or bench (1,000,000 accounts; minutes)"},
			&cli.IntFlag{Name: "hours", Value: demoGameDay, DefaultText: "a game day", Usage: "hourly incrementals after the large one: by default the hours of a game day (the large incremental stops that morning, the hours run until the first selected event's realtime window closes); 168: the simulated week of the seed's story; 0: the large one only; -1: no incrementals, the dump alone"},
			&cli.Uint64Flag{Name: "seed", Usage: "simulator seed (default: the preset's); a warehouse holds one seed's clone, so use a new --dir for a new seed"},
			&cli.StringFlag{Name: "rules", Usage: "the CRM deduplication's rule set: evidence (a new CRM's default), kore (then the CRM is checked against the simulator's exact expected load) or probabilistic"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("demo takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			if r := c.String("rules"); r != "" {
				if _, err := dedup.ParseRules(r); err != nil {
					return cli.Exit(fmt.Sprintf("--rules %q: want evidence, kore or probabilistic (see --help)", r), exitUsage)
				}
			}
			cfg, err := simulator.Scale(c.String("scale"))
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			if c.IsSet("seed") {
				cfg.Seed = c.Uint64("seed")
			}
			// A real dump has bad lines; the demo shows where they go.
			cfg.DirtyLines = true
			dir, err := filepath.Abs(c.String("dir"))
			if err != nil {
				return err
			}
			// The demo prints its results as it goes; info logs on the
			// same terminal would interleave with them.
			logger := slog.Default()
			if !c.IsSet("log-level") {
				if logger, err = newLogger(c.String("log-format"), "warn"); err != nil {
					return cli.Exit(err.Error(), exitUsage)
				}
			}
			return runDemo(c.Context, logger, cfg, dir, c.Int("hours"), c.String("rules"), os.Stdout)
		},
	}
}

// demoPaths are the demo's outputs under its folder.
type demoPaths struct {
	dump, warehouse, cache, duckdb string
}

func newDemoPaths(dir string) demoPaths {
	return demoPaths{
		dump:      filepath.Join(dir, "dump"),
		warehouse: filepath.Join(dir, "warehouse"),
		cache:     filepath.Join(dir, "cache"),
		// Not archtics.duckdb: DuckDB names a database after its file, and
		// a catalog called "archtics" would clash with the archtics schema.
		duckdb: filepath.Join(dir, "warehouse.duckdb"),
	}
}

// runDemo runs the demo into dir, printing its results to out.
// rules is the CRM's rule set ("": a new CRM's default).
func runDemo(ctx context.Context, logger *slog.Logger, cfg simulator.Config, dir string, hours int, rules string, out io.Writer) error {
	p := newDemoPaths(dir)
	var (
		w  *pipeline.Warehouse
		db *sql.DB
	)
	dc := &demoClone{cfg: cfg, cache: p.cache, out: out, logger: logger, catchUp: demoCatchUp, hours: hours, dump: p.dump, rules: rules}
	defer func() {
		if db != nil {
			db.Close()
		}
		if dc.stop != nil {
			dc.stop()
		}
	}()
	steps := []pipeline.Step{
		{Name: "simulate dump", Run: func(ctx context.Context) (string, error) {
			start := time.Now()
			dst, err := openDumpDest(ctx, p.dump)
			if err != nil {
				return "", err
			}
			m, err := writeDump(ctx, cfg, dst, dumpProgress(start))
			clearProgress()
			if err != nil {
				return "", err
			}
			var rows int64
			for _, f := range m.Files {
				rows += f.Rows
			}
			fmt.Fprintf(out, "1. dump of %q: %d files, %d rows, cut at %s (%s), in %s\n",
				m.Client, len(m.Files), rows, m.CutoffLocal, m.TimeZone, p.dump)
			return fmt.Sprintf("%d files, %d rows", len(m.Files), rows), nil
		}},
		{Name: "load-dump", Run: func(ctx context.Context) (string, error) {
			var err error
			if w, err = openWarehouseAt(ctx, p.warehouse, logger); err != nil {
				return "", err
			}
			dc.w = w
			src, err := backend.Open(ctx, p.dump)
			if err != nil {
				return "", fmt.Errorf("open dump: %w", err)
			}
			dump, err := clone.OpenDump(ctx, src)
			if err != nil {
				return "", err
			}
			var total, totalRejected int64
			for _, team := range dump.Teams() {
				rep, err := clone.LoadDump(ctx, w, dump, team, rowProgress(team))
				clearProgress()
				if err != nil {
					return "", err // run's hint says what to do about another seed's clone
				}
				if rep.Commit.Existing {
					fmt.Fprintf(out, "2. %s: already loaded (commit %d of %s), nothing to do\n", team, rep.Commit.Seq, rep.Commit.Stream)
					continue
				}
				in, loaded, rejected := rep.Totals()
				total += in
				totalRejected += rejected
				fmt.Fprintf(out, "2. %s: %d rows in, %d loaded, %d rejected; commit %d of %s, watermark %s\n",
					team, in, loaded, rejected, rep.Commit.Seq, rep.Commit.Stream, rep.Commit.Watermark.To)
			}
			return fmt.Sprintf("%d rows in, %d rejected", total, totalRejected), nil
		}},
	}
	if hours >= 0 || hours == demoGameDay {
		steps = append(steps, dc.steps()...)
	}
	steps = append(steps, []pipeline.Step{
		{Name: "verify", Run: func(ctx context.Context) (string, error) {
			var progress func(check.Progress)
			if isTerminal(os.Stderr) {
				progress = terminalProgress()
			}
			rep, err := check.Verify(ctx, w.Log, progress)
			clearProgress()
			if err != nil {
				return "", err
			}
			for _, pr := range rep.Problems {
				fmt.Fprintf(out, "   %-12s %s: %s\n", pr.Kind, pr.Key, pr.Detail)
			}
			fmt.Fprintf(out, "8. verify: %d streams, %d commits, %d files (%d rows, %s): %d problems\n",
				rep.Streams, rep.Commits, rep.Files, rep.Rows, humanBytes(rep.Bytes), len(rep.Problems))
			if !rep.OK() {
				return "", fmt.Errorf("verify found %d problems in %s (run `archtics --warehouse %s verify` for the list)", len(rep.Problems), p.warehouse, p.warehouse)
			}
			return fmt.Sprintf("%d files sound", rep.Files), nil
		}},
		{Name: "query", Run: func(ctx context.Context) (string, error) {
			var err error
			if db, err = views.OpenDuckDB(ctx, p.duckdb, w.Log, p.cache); err != nil {
				return "", err
			}
			fmt.Fprintf(out, "9. DuckDB views written to %s (open it in DBeaver, or the duckdb CLI if you have it)\n", p.duckdb)
			return "views attached", printDemoSummary(ctx, out, db, p.warehouse)
		}},
		{Name: "report", Run: func(ctx context.Context) (string, error) {
			return demoReport(ctx, out, w, p, dir, logger)
		}},
	}...)
	if _, err := pipeline.Run(ctx, logger, steps...); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nNext (%s is the binary make build writes):\n  %s --warehouse %s query \"SELECT team, count(*) FROM archtics.cust GROUP BY team\"\n",
		demoBinary, demoBinary, p.warehouse)
	return nil
}

// demoBinary is how the demo's hints name the program: the binary make
// build and make run produce, as the README names it.
const demoBinary = "./bin/archtics"

// demoCatchUp is how much change the demo's first incremental takes at once.
const demoCatchUp = 5 * 24 * time.Hour

// demoRejectGroups caps the rejects the demo lists; the heading says how
// many there are and how to see them all.
const demoRejectGroups = 20

// demoQueries are what the demo prints: row counts per table and team, the
// rejects by reason, and the seed's event-selection query for realtime
// attendance (with its example criteria), verbatim but for the criteria.
// A title with %s gets a count from countSQL.
var demoQueries = []struct{ title, sql, countSQL string }{
	{"rows per table and team", `
SELECT 'archtics.event' AS "table", team, count(*) AS "rows" FROM archtics.event GROUP BY team
UNION ALL SELECT 'archtics.cust', team, count(*) FROM archtics.cust GROUP BY team
UNION ALL SELECT 'archtics.ticket', team, count(*) FROM archtics.ticket GROUP BY team
UNION ALL SELECT 'archtics.tex', team, count(*) FROM archtics.tex GROUP BY team
UNION ALL SELECT 'archtics_meta.rejects', team, count(*) FROM archtics_meta.rejects GROUP BY team
ORDER BY 1, 2`, ""},
	{"rejected rows by file and reason: %s (all kept in archtics_meta.rejects, none dropped)", fmt.Sprintf(`
SELECT team, source, min(line) AS first_line, field, reason, count(*) AS "rows"
FROM archtics_meta.rejects GROUP BY ALL ORDER BY "rows" DESC, team, source, first_line LIMIT %d`, demoRejectGroups),
		`SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT team, source, field, reason FROM archtics_meta.rejects)) FROM archtics_meta.rejects`},
	{"events the realtime criteria select (seed query, criteria: total_events = 1 AND major_category IN ('SPORTS','CONCERTS'))", `
SELECT event_name, event_date, event_time, event_day, team,
major_category, minor_category, season_name
FROM archtics.event
WHERE enabled = 'Y' AND event_date >= current_date
AND event_date <= current_date + 8
AND total_events = 1 AND major_category IN ('SPORTS','CONCERTS') ;`, ""},
}

func printDemoSummary(ctx context.Context, out io.Writer, db *sql.DB, warehouse string) error {
	for _, q := range demoQueries {
		title := q.title
		var rows, groups int64
		if q.countSQL != "" {
			if err := db.QueryRowContext(ctx, q.countSQL).Scan(&rows, &groups); err != nil {
				return fmt.Errorf("demo query %q: %w", q.title, err)
			}
			count := fmt.Sprintf("%d rows in %d groups", rows, groups)
			if groups > demoRejectGroups {
				count = fmt.Sprintf("%d rows in %d groups, the largest %d shown", rows, groups, demoRejectGroups)
			}
			title = fmt.Sprintf(q.title, count)
		}
		fmt.Fprintf(out, "\n-- %s\n", title)
		if err := printQuery(ctx, out, db, q.sql, "table"); err != nil {
			return fmt.Errorf("demo query %q: %w", q.title, err)
		}
		if groups > demoRejectGroups {
			fmt.Fprintf(out, "-- every rejected row: %s --warehouse %s query \"SELECT * FROM archtics_meta.rejects ORDER BY team, source, line\"\n", demoBinary, warehouse)
		}
	}
	return nil
}

// demoReport writes DIR/report.html, the static page of the game day the
// demo replayed (web.WriteReport), and says how to open the live pages.
func demoReport(ctx context.Context, out io.Writer, w *pipeline.Warehouse, p demoPaths, dir string, logger *slog.Logger) (string, error) {
	report := filepath.Join(dir, "report.html")
	if err := web.WriteReport(ctx, w, p.cache, report, logger); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "\n10. the game day's arrivals page written to %s (open it in a browser); the live pages: %s --warehouse %s serve, then http://127.0.0.1:8080/\n",
		report, demoBinary, p.warehouse)
	return report, nil
}
