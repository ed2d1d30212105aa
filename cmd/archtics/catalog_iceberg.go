package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"archtics/icebergcat/layout"
	"archtics/pipeline"
)

func catalogIcebergCommand() *cli.Command {
	return &cli.Command{
		Name:  "iceberg",
		Usage: "publish the warehouse as Apache Iceberg tables over the committed files, kept current by every later commit",
		Description: `iceberg writes Apache Iceberg (format v2) metadata over the same Parquet
files under <warehouse>/iceberg/<schema>/<table>/metadata/ (v<N>.metadata.json
and version-hint.text: the Hadoop catalog layout), each table under the name
SQL gives its rows here: every stored table (the dump's as archtics_dump.<t>),
and archtics.<t>, the clone's current state, for event, cust, ticket, tex and
attendance.

A stored table's snapshots are our commits that touched it, one each; the
summary names it (archtics.stream, archtics.seq, archtics.commit_id). Files
are registered as they are (no rewrite); retired files (compaction, expiry, a
replaced dump) leave the table in an overwrite snapshot. A current-state
table lists the dump's, base's and changes' files with position-delete files
that drop every row but each key's current version, one snapshot per publish.
See docs/iceberg.md.

The first run records the setting in the warehouse (iceberg/settings.json):
from then on every command that commits (load-dump, incremental, compact,
realtime tick/run/expire/rollup) publishes the tables it touched after its
commit. The commit log stays the truth: a publish that fails or is
interrupted leaves Iceberg behind, never ahead, and the next one catches up.
ARCHTICS_ICEBERG=0 keeps a command from publishing; --off stops it for good.

--rebuild writes every table's metadata afresh from the whole log, as the
next version (use it if the metadata was damaged or deleted).

--catalog sql also keeps a row per table in the Iceberg JDBC catalog tables
(iceberg_tables, iceberg_namespace_properties) of the database at --sql-uri
(postgres://user:password@host:5432/db, or from ARCHTICS_ICEBERG_SQL_URI;
every committing command then needs that variable), so Spark and Trino read
the tables through their JDBC catalog. The URI is never stored.

Then register the tables in an engine: archtics catalog ddl --dialect trino|athena.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "rebuild", Usage: "write every table's metadata afresh from the whole commit log"},
			&cli.StringFlag{Name: "catalog", Usage: "file (metadata files with a version hint) or sql (also a JDBC-catalog row per table); default: the warehouse's setting, else file"},
			&cli.StringFlag{Name: "sql-uri", EnvVars: []string{layout.SQLURIEnv}, Usage: "--catalog sql: the catalog database, postgres://user:password@host:5432/db (never stored)"},
			&cli.StringFlag{Name: "sql-catalog-name", Usage: "--catalog sql: the catalog_name of the rows (what Spark and Trino are configured with; default: the setting, else archtics)"},
			&cli.BoolFlag{Name: "off", Usage: "stop publishing after commits (the metadata written so far stays)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("catalog iceberg takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			settings, etag, found, err := layout.ReadSettings(c.Context, w.Store)
			if err != nil {
				return err
			}
			if c.Bool("off") {
				if !found || !settings.Enabled {
					fmt.Fprintln(os.Stderr, "Iceberg publishing is already off")
					return nil
				}
				settings.Enabled = false
				if err := layout.WriteSettings(c.Context, w.Store, settings, etag); err != nil {
					return err
				}
				fmt.Fprintln(os.Stderr, "Iceberg publishing is off: commits no longer publish; the metadata written so far stays (it falls behind the log)")
				return nil
			}
			next := settings
			next.Enabled = true
			if next.Catalog == "" {
				next.Catalog = layout.CatalogFile
			}
			if c.String("catalog") != "" {
				next.Catalog = c.String("catalog")
			}
			if next.Catalog != layout.CatalogFile && next.Catalog != layout.CatalogSQL {
				return cli.Exit(fmt.Sprintf("--catalog %q: want file or sql", next.Catalog), exitUsage)
			}
			if n := c.String("sql-catalog-name"); n != "" {
				next.SQLCatalogName = n
			}
			// The program first: a setting that enables publishing with
			// no program to publish would make every commit warn.
			if _, err := icebergProgram(); err != nil {
				return err
			}
			r := icebergRun{warehouse: w.Store.URL(), stdout: os.Stdout, stderr: os.Stderr,
				args: []string{"--log-format", c.String("log-format"), "--log-level", c.String("log-level")}}
			if c.Bool("rebuild") {
				r.args = append(r.args, "--rebuild")
			}
			if next.Catalog == layout.CatalogSQL {
				if next.SQLCatalogName == "" {
					next.SQLCatalogName = layout.DefaultSQLCatalogName
				}
				if c.String("sql-uri") == "" {
					return cli.Exit(fmt.Sprintf("--catalog sql needs --sql-uri or %s: the PostgreSQL database of the JDBC catalog", layout.SQLURIEnv), exitUsage)
				}
				r.sqlURI = c.String("sql-uri")
				r.args = append(r.args, "--sql-catalog-name", next.SQLCatalogName)
			}
			// The setting first: a commit landing while this publish runs
			// then publishes too, so nothing is left behind.
			if !found || next != settings {
				if err := layout.WriteSettings(c.Context, w.Store, next, etag); err != nil {
					return err
				}
			}
			// archtics-iceberg prints the tables and their metadata files,
			// and the error if it fails; its exit code is ours.
			err = runIceberg(c.Context, r)
			var exit *errIcebergExit
			if errors.As(err, &exit) {
				return cli.Exit("", exit.code)
			}
			return err
		},
	}
}

// autoPublishIceberg keeps a warehouse's Iceberg tables current after its
// commits when the warehouse's setting says so (catalog iceberg).
func autoPublishIceberg(w *pipeline.Warehouse) *pipeline.Warehouse {
	autoPublishHook(w.Log, os.Getenv)
	return w
}
