package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	_ "github.com/duckdb/duckdb-go/v2"

	"archtics/pipeline"
)

func queryCommand() *cli.Command {
	return &cli.Command{
		Name:      "query",
		Usage:     "query the warehouse with DuckDB, or write a DuckDB file of views for DBeaver",
		ArgsUsage: "[SQL]",
		Description: `query runs DuckDB over the committed Parquet files, with one view per table:
archtics.event, archtics.cust, archtics.ticket, archtics.tex,
archtics_rtx.attendance, archtics_meta.rejects, ...

Only the tables the statement names as schema.table get views, and only
their files are checked. A statement that names none that way (SELECT 1,
SHOW TABLES, after SET search_path) gets views over every table, and one
that reads more than it names fails to bind and is rerun over every table.
Each committed file is verified once against the SHA-256 its commit records
(downloaded into the cache first when the warehouse is on S3) and stamped
in the cache; later queries trust it while its size, times and inode are
unchanged, and hash it again when they change.

With SQL, it runs the statement and prints the result. With --db, views over
every table are also saved in that DuckDB file, which DBeaver, the duckdb
CLI and Tableau open (the views point at the verified files by absolute
path).

Examples:
   archtics query "SELECT team, count(*) FROM archtics.cust GROUP BY team"
   archtics query --db warehouse.duckdb`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "db", Usage: "also save the views in this DuckDB file (not named archtics.duckdb: that would clash with the archtics schema)"},
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table or csv"},
			asOfFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 && c.String("db") == "" {
				return cli.Exit("give a SQL statement, --db FILE, or both (see --help)", exitUsage)
			}
			if f := c.String("format"); f != "table" && f != "csv" {
				return cli.Exit(fmt.Sprintf("--format %q: want table or csv", f), exitUsage)
			}
			w, err := openExistingWarehouse(c)
			if err != nil {
				return err
			}
			if w, err = atAsOf(c, w); err != nil {
				return err
			}
			cache := c.String("cache")
			if cache == "" {
				cache = defaultCacheDir(w)
			}
			return runQuery(c.Context, os.Stdout, os.Stderr, w, cache, c.String("db"), strings.Join(c.Args().Slice(), " "), c.String("format"))
		},
	}
}

// runQuery is the query command: sqlText over views of the tables it
// reads, or, with dbPath, views over every table saved in that file (and
// sqlText, if any, run there).
func runQuery(ctx context.Context, stdout, stderr io.Writer, w *pipeline.Warehouse, cache, dbPath, sqlText, format string) error {
	var commits int64
	if dbPath == "" {
		info, err := w.Query(ctx, cache, sqlText, func(rows *sql.Rows) error {
			return printRows(stdout, stderr, rows, format)
		})
		if err != nil {
			return err
		}
		commits = info.Commits
	} else {
		d, err := w.OpenViews(ctx, dbPath, cache)
		if err != nil {
			return err
		}
		defer d.Close()
		commits = d.Commits
		if sqlText == "" {
			fmt.Fprintf(stderr, "wrote %s: open it in DBeaver or `duckdb %s`\n", dbPath, dbPath)
		} else {
			rows, err := d.QueryContext(ctx, sqlText)
			if err != nil {
				return fmt.Errorf("query: %w", err)
			}
			defer rows.Close()
			if err := printRows(stdout, stderr, rows, format); err != nil {
				return err
			}
		}
	}
	if commits == 0 {
		// Every view is empty, which looks like a legitimate empty answer.
		fmt.Fprintf(stderr, "note: nothing is committed in the warehouse %s yet, so every table is empty: load a dump first (archtics load-dump --dump DIR), or try archtics demo\n", w.Store.URL())
	}
	return nil
}

// defaultCacheDir is a per-warehouse folder in the user's cache directory,
// so two warehouses never share cached keys.
func defaultCacheDir(w *pipeline.Warehouse) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	name := strings.NewReplacer("/", "_", ":", "_").Replace(strings.TrimPrefix(w.Store.URL(), "/"))
	return filepath.Join(base, "archtics", name)
}

// printQuery runs query and prints its rows (see printRows), the row
// count going to the process's stderr.
func printQuery(ctx context.Context, out io.Writer, db *sql.DB, query, format string) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	return printRows(out, os.Stderr, rows, format)
}

// printRows prints rows as an aligned table (with a row count on stderr)
// or as CSV.
func printRows(out, stderr io.Writer, rows *sql.Rows, format string) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	sep := "\t"
	var w io.Writer = out
	var tw *tabwriter.Writer
	if format == "csv" {
		sep = ","
	} else {
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		w = tw
	}
	fmt.Fprintln(w, strings.Join(cols, sep))
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		cells := make([]string, len(cols))
		for i, v := range vals {
			cells[i] = formatCell(v, format == "csv")
		}
		fmt.Fprintln(w, strings.Join(cells, sep))
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if tw != nil {
		tw.Flush()
		fmt.Fprintf(stderr, "(%d rows)\n", n)
	}
	return nil
}

func formatCell(v any, csv bool) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = ""
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			s = x.Format("2006-01-02")
		} else {
			s = x.Format("2006-01-02 15:04:05")
		}
	case []byte:
		s = string(x)
	default:
		s = fmt.Sprint(x)
	}
	if csv && strings.ContainsAny(s, ",\"\n") {
		s = `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
