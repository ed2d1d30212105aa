package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/urfave/cli/v2"

	"archtics/icebergcat"
	"archtics/pipeline"
)

func catalogIcebergCommand() *cli.Command {
	return &cli.Command{
		Name:  "iceberg",
		Usage: "publish every table as an Apache Iceberg table over the committed files, kept current by every later commit",
		Description: `iceberg writes, for every stored table, Apache Iceberg (format v2) metadata
over the same Parquet files under <warehouse>/iceberg/<schema>/<table>/metadata/
(v<N>.metadata.json and version-hint.text: the Hadoop catalog layout). Each
Iceberg snapshot is one of our commits that touched the table; its summary
names it (archtics.stream, archtics.seq, archtics.commit_id). Files are
registered as they are (no rewrite); retired files (compaction, expiry, a
replaced dump) leave the table in an overwrite snapshot.

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
			&cli.StringFlag{Name: "sql-uri", EnvVars: []string{icebergcat.SQLURIEnv}, Usage: "--catalog sql: the catalog database, postgres://user:password@host:5432/db (never stored)"},
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
			settings, etag, found, err := icebergcat.ReadSettings(c.Context, w.Store)
			if err != nil {
				return err
			}
			if c.Bool("off") {
				if !found || !settings.Enabled {
					fmt.Fprintln(os.Stderr, "Iceberg publishing is already off")
					return nil
				}
				settings.Enabled = false
				if err := icebergcat.WriteSettings(c.Context, w.Store, settings, etag); err != nil {
					return err
				}
				fmt.Fprintln(os.Stderr, "Iceberg publishing is off: commits no longer publish; the metadata written so far stays (it falls behind the log)")
				return nil
			}
			next := settings
			next.Enabled = true
			if next.Catalog == "" {
				next.Catalog = icebergcat.CatalogFile
			}
			if c.String("catalog") != "" {
				next.Catalog = c.String("catalog")
			}
			if next.Catalog != icebergcat.CatalogFile && next.Catalog != icebergcat.CatalogSQL {
				return cli.Exit(fmt.Sprintf("--catalog %q: want file or sql", next.Catalog), exitUsage)
			}
			if n := c.String("sql-catalog-name"); n != "" {
				next.SQLCatalogName = n
			}
			opt := icebergcat.Options{Rebuild: c.Bool("rebuild"), Progress: func(r icebergcat.TableResult) {
				fmt.Fprintf(os.Stderr, "%s: %d new snapshots, metadata v%d\n", r.Table, r.Snapshots, r.Version)
			}}
			if next.Catalog == icebergcat.CatalogSQL {
				if next.SQLCatalogName == "" {
					next.SQLCatalogName = icebergcat.DefaultSQLCatalogName
				}
				if c.String("sql-uri") == "" {
					return cli.Exit(fmt.Sprintf("--catalog sql needs --sql-uri or %s: the PostgreSQL database of the JDBC catalog", icebergcat.SQLURIEnv), exitUsage)
				}
				p, err := icebergcat.OpenSQLPointer(c.Context, c.String("sql-uri"), next.SQLCatalogName)
				if err != nil {
					return err
				}
				defer p.Close()
				opt.Pointer = p
			}
			// The setting first: a commit landing while this publish runs
			// then publishes too, so nothing is left behind.
			if !found || next != settings {
				if err := icebergcat.WriteSettings(c.Context, w.Store, next, etag); err != nil {
					return err
				}
			}
			res, err := icebergcat.Publish(c.Context, w.Log, opt)
			if err != nil {
				if errors.Is(err, icebergcat.ErrConflict) {
					return cli.Exit(err.Error(), exitConflict)
				}
				return fmt.Errorf("catalog iceberg %s: %w", w.Store.URL(), err)
			}
			printIcebergResults(res)
			return nil
		},
	}
}

// printIcebergResults lists each table's metadata file, what engines
// register.
func printIcebergResults(res []icebergcat.TableResult) {
	sort.Slice(res, func(i, j int) bool { return res[i].Table < res[j].Table })
	added := 0
	for _, r := range res {
		added += r.Snapshots
		fmt.Printf("%s\t%s\n", r.Table, r.MetadataLocation)
	}
	fmt.Fprintf(os.Stderr, "published %d tables (%d new snapshots); register them: archtics catalog ddl --dialect trino|athena\n", len(res), added)
}

// autoPublishIceberg keeps a warehouse's Iceberg tables current after its
// commits when the warehouse's setting says so (catalog iceberg).
func autoPublishIceberg(w *pipeline.Warehouse) *pipeline.Warehouse {
	icebergcat.AutoPublish(w.Log, icebergcat.HookOptions{})
	return w
}
