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
		Description: `query downloads the committed Parquet files into a local cache (verifying each
file's SHA-256 against its commit; immutable files are fetched once), then opens
DuckDB with one view per table: archtics.event, archtics.cust, archtics.ticket,
archtics.tex, archtics_rtx.attendance, archtics_meta.rejects, ...

With SQL, it runs the statement and prints the result. With --db, the views are
also saved in that DuckDB file, which DBeaver, the duckdb CLI and Tableau open
(the views point at the cached files by absolute path).

Examples:
   archtics query "SELECT team, count(*) FROM archtics.cust GROUP BY team"
   archtics query --db warehouse.duckdb`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "db", Usage: "also save the views in this DuckDB file (not named archtics.duckdb: that would clash with the archtics schema)"},
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table or csv"},
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
			cache := c.String("cache")
			if cache == "" {
				cache = defaultCacheDir(w)
			}
			db, err := pipeline.OpenDuckDB(c.Context, c.String("db"), w, cache)
			if err != nil {
				return err
			}
			defer db.Close()
			if c.NArg() == 0 {
				fmt.Fprintf(os.Stderr, "wrote %s: open it in DBeaver or `duckdb %s`\n", c.String("db"), c.String("db"))
				return nil
			}
			return printQuery(c.Context, os.Stdout, db, strings.Join(c.Args().Slice(), " "), c.String("format"))
		},
	}
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

// printQuery runs query and prints its rows as an aligned table or CSV.
func printQuery(ctx context.Context, out io.Writer, db *sql.DB, query, format string) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
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
		fmt.Fprintf(os.Stderr, "(%d rows)\n", n)
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
