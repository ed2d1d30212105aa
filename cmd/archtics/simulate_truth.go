package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/simulator"
	"archtics/simulator/truthfiles"
)

func simulateTruthCommand() *cli.Command {
	return &cli.Command{
		Name:  "truth",
		Usage: "write the simulated client's true state at an instant as Parquet, for checking a warehouse with plain SQL",
		Description: `truth generates the client of --seed and --scale (the generator flags of
simulate dump: give both the same ones and the truth describes that dump's
client) and writes, at the instant --at, with the clone's column names and
types:

   archtics/event.parquet, cust, ticket, tex   every table as it stands (all teams)
   archtics_rtx/attendance_raw.parquet         the accepted scans (result_code 0, scan_type S,
                                               once per seq_num) the feed had delivered by
                                               --at, from 5 h before each event's start to
                                               6 h after, of the events the default criteria
                                               (total_events = 1 AND major_category IN
                                               ('SPORTS','CONCERTS')) select, started less
                                               than seven days before --at
   truth/duplicate_clusters.parquet            people with several accounts at --at
   truth/merges.parquet                        the merges done by --at
   truth/crm_contacts.parquet                  per CRM contact: who, and the expected initial load
   truth.json                                  written last: the instant, the zone, every file

Timestamps are the client's local wall clock, as in the clone. --at takes
local 'YYYY-MM-DD HH:MM:SS' (with an offset such as -05:00 in the hour a
fall-back repeats) or RFC 3339. The whole client is generated in memory:
use the small or default scale.

--out takes a local folder, file:///abs/path or s3://bucket/prefix.`,
		Flags: append(worldFlags(),
			&cli.StringFlag{Name: "out", Required: true, Usage: "where to write the truth: a folder, file:///abs/path or s3://bucket/prefix"},
			&cli.StringFlag{Name: "at", Required: true, Usage: "the instant: local 'YYYY-MM-DD HH:MM:SS' or RFC 3339"},
		),
		Action: func(c *cli.Context) error {
			cfg, err := dumpConfig(c)
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			loc, err := time.LoadLocation(cfg.TimeZone)
			if err != nil {
				return cli.Exit(fmt.Sprintf("time zone %q: %v", cfg.TimeZone, err), exitUsage)
			}
			at, err := simulator.ParseLocalTime(c.String("at"), loc)
			if err != nil {
				return cli.Exit("--at: "+err.Error(), exitUsage)
			}
			dst, err := openDumpDest(c.Context, c.String("out"))
			if err != nil {
				return err
			}
			start := time.Now()
			w, err := simulator.NewWorld(cfg)
			if err != nil {
				return fmt.Errorf("generate the simulated client: %w", err)
			}
			m, err := truthfiles.Write(c.Context, w, at, dst)
			if err != nil {
				return err
			}
			fmt.Printf("truth of %q at %s (%s) written to %s\n", m.Client, m.AtLocal, m.TimeZone, c.String("out"))
			for _, f := range m.Files {
				fmt.Printf("  %-34s %10d rows %10s\n", f.Path, f.Rows, humanBytes(f.Bytes))
			}
			fmt.Printf("in %s\n", time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}
