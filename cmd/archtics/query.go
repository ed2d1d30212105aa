package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/pipeline/views"
)

func queryCommand() *cli.Command {
	return &cli.Command{
		Name:      "query",
		Usage:     "query the warehouse with DuckDB, or write a DuckDB file of views for DBeaver",
		ArgsUsage: "[SQL]",
		Description: `query runs DuckDB over the committed Parquet files, with one view per table:
archtics.event, archtics.cust, archtics.ticket, archtics.tex,
archtics_rtx.attendance, archtics_meta.rejects, ...

The SQL comes from the arguments, from -f FILE, or, when neither is given
and stdin is not a terminal, from stdin. It may hold several statements
separated by semicolons: they run in order in one session (SET, temporary
tables and macros carry over), and every statement's result is printed,
one after the other.

Only the tables the statements name as schema.table get views, and only
their files are checked. Statements that name none that way (SELECT 1,
SHOW TABLES, after SET search_path) get views over every table, and one
that reads more than they name fails to bind and is rerun over every table.
Each committed file is verified once against the SHA-256 its commit records
(downloaded into the cache first when the warehouse is on S3) and stamped
in the cache; later queries trust it while its size, times and inode are
unchanged, and hash it again when they change.

--format: table (aligned, row count on stderr), csv, json (one JSON array
of row objects per statement), markdown (a pipe table), or parquet (the
last statement's result written to --out; the statements before it run
without output). --out writes to a file instead of stdout.

Bad SQL fails with DuckDB's message, which shows the line and a caret at
the position, and names the statement and its line in the input; it exits
2 when DuckDB could not parse or bind it (fix the SQL), 4 when it failed
while running.

With --db, views over every table are also saved in that DuckDB file, which
DBeaver, the duckdb CLI and Tableau open (the views point at the verified
files by absolute path).

The statements run with all of DuckDB, as in DuckDB's own shell: COPY ... TO
any file, ATTACH, INSTALL, read_csv of any file. One thing is refused: writing
inside a warehouse that is a local folder (COPY, EXPORT or ATTACH there, or a
setting such as temp_directory pointing there), where a file no commit names
is an orphan. With --read-only, only SELECT statements run (SHOW, DESCRIBE
and SUMMARIZE too), DuckDB reads no file but the verified files of the views,
reaches no network, loads no extension and its settings are locked: use it
for SQL you did not write yourself.

Examples:
   archtics query "SELECT team, count(*) FROM archtics.cust GROUP BY team"
   archtics query -f report.sql --format markdown
   echo "SELECT count(*) FROM archtics.ticket" | archtics query --format json
   archtics query --format parquet --out tickets.parquet "SELECT * FROM archtics.ticket"
   archtics query --db warehouse.duckdb
   archtics query --read-only -f someone_elses.sql`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "read the SQL from this file (- for stdin)"},
			&cli.StringFlag{Name: "db", Usage: "also save the views in this DuckDB file (not named archtics.duckdb: that would clash with the archtics schema)"},
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table, csv, json, markdown or parquet (parquet needs --out)"},
			&cli.StringFlag{Name: "out", Usage: "write the result to this file instead of stdout (replaced whole, never half-written)"},
			&cli.BoolFlag{Name: "read-only", Usage: "run SELECT statements only, reading no file but the warehouse's verified ones (for SQL you did not write)"},
			asOfFlag(),
			offlineFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.Bool("read-only") && c.String("db") != "" {
				return cli.Exit("--read-only runs the statements in memory and writes no database file: give --read-only or --db, not both", exitUsage)
			}
			format := c.String("format")
			if !slices.Contains(queryFormats, format) {
				return cli.Exit(fmt.Sprintf("--format %q: want one of %s", format, strings.Join(queryFormats, ", ")), exitUsage)
			}
			if format == "parquet" && c.String("out") == "" {
				return cli.Exit("--format parquet writes a file: give --out FILE.parquet", exitUsage)
			}
			text, err := querySQL(c)
			if err != nil {
				return err
			}
			if strings.TrimSpace(text) == "" && c.String("db") == "" {
				return cli.Exit("give a SQL statement (as an argument, -f FILE or on stdin), --db FILE, or both (see --help)", exitUsage)
			}
			w, cache, err := openReader(c)
			if err != nil {
				return err
			}
			if w, err = atAsOf(c, w); err != nil {
				return err
			}
			opts := queryOptions{Cache: cache, DB: c.String("db"), Format: format, Out: c.String("out"), ReadOnly: c.Bool("read-only")}
			return queryExit(runQueryOptions(c.Context, os.Stdout, os.Stderr, w, opts, text))
		},
	}
}

var queryFormats = []string{"table", "csv", "json", "markdown", "parquet"}

// querySQL is the SQL text of the query command: its arguments, the file
// -f names, or stdin when neither is given and stdin is not a terminal.
func querySQL(c *cli.Context) (string, error) {
	file := c.String("file")
	if file != "" && c.NArg() > 0 {
		return "", cli.Exit("give the SQL as arguments or with -f, not both", exitUsage)
	}
	switch {
	case c.NArg() > 0:
		return strings.Join(c.Args().Slice(), " "), nil
	case file == "-" || file == "" && c.String("db") == "" && !isTerminal(os.Stdin):
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return "", fmt.Errorf("read the SQL from stdin: %w", err)
		}
		return string(b), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", cli.Exit(fmt.Sprintf("-f %s: %v", file, err), exitUsage)
		}
		return string(b), nil
	}
	return "", nil
}

// queryExit gives a statement DuckDB could not parse or bind, or that
// was refused (by the guard, or by the read-only lock), the usage exit
// code (2): the SQL needs fixing, rerunning will not help.
func queryExit(err error) error {
	if errors.Is(err, views.ErrRefusedStatement) {
		return cli.Exit(err.Error(), exitUsage)
	}
	var de *duckdb.Error
	if err != nil && errors.As(err, &de) {
		switch de.Type {
		case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax, duckdb.ErrorTypeBinder, duckdb.ErrorTypeCatalog, duckdb.ErrorTypePermission:
			return cli.Exit(err.Error(), exitUsage)
		}
	}
	return err
}

// queryOptions are the query command's settings.
type queryOptions struct {
	Cache  string // the verified cache folder
	DB     string // also save views over every table in this DuckDB file
	Format string // one of queryFormats
	Out    string // write the result here instead of stdout
	// ReadOnly runs SELECT statements only, in a locked-down DuckDB
	// (views.SQLGuard).
	ReadOnly bool
}

// runQuery is runQueryOptions without --out.
func runQuery(ctx context.Context, stdout, stderr io.Writer, w *pipeline.Warehouse, cache, dbPath, sqlText, format string) error {
	return runQueryOptions(ctx, stdout, stderr, w, queryOptions{Cache: cache, DB: dbPath, Format: format}, sqlText)
}

// runQueryOptions is the query command: every statement of sqlText over
// views of the tables it reads, or, with opts.DB, views over every table
// saved in that file (and the statements, if any, run there).
func runQueryOptions(ctx context.Context, stdout, stderr io.Writer, w *pipeline.Warehouse, opts queryOptions, sqlText string) (err error) {
	statements := splitStatements(sqlText)
	guard := views.Guard(w.Log, opts.ReadOnly)
	for _, f := range []struct{ flag, path string }{{"--out", opts.Out}, {"--db", opts.DB}} {
		if f.path != "" && guard.Inside(f.path) {
			return cli.Exit(fmt.Sprintf("%s %s lies inside the warehouse %s, where a file no commit names is an orphan: write it elsewhere", f.flag, f.path, guard.Root), exitUsage)
		}
	}
	var allow []string
	if opts.Format == "parquet" {
		// The result's temporary file, written by COPY: the one file a
		// read-only run may write.
		tmp, err := parquetTemp(opts.Out)
		if err != nil {
			return err
		}
		allow = append(allow, tmp)
	}
	out := stdout
	var commitOut func() error
	if opts.Out != "" && opts.Format != "parquet" {
		f, err := os.CreateTemp(filepath.Dir(opts.Out), "."+filepath.Base(opts.Out)+".*.tmp")
		if err != nil {
			return fmt.Errorf("--out %s: %w", opts.Out, err)
		}
		defer func() {
			f.Close()
			if err != nil {
				os.Remove(f.Name())
			}
		}()
		out = f
		commitOut = func() error {
			if err := f.Chmod(0o644); err != nil { // CreateTemp's 0600 would hide the result from the group
				return fmt.Errorf("--out %s: %w", opts.Out, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("--out %s: %w", opts.Out, err)
			}
			return os.Rename(f.Name(), opts.Out)
		}
	}
	printed := 0
	run := func(ctx context.Context, i int, conn *sql.Conn) error {
		s := statements[i]
		checked, err := guard.CheckStatement(ctx, conn, s.SQL)
		if err == nil {
			err = runStatement(ctx, out, stderr, conn, s, opts, i == len(statements)-1, &printed)
		}
		if err == nil {
			err = checked.CheckSettings(ctx, conn)
		}
		if err != nil {
			return fmt.Errorf("statement %d of %d (input line %d): %w", i+1, len(statements), s.Line, err)
		}
		return nil
	}
	var commits int64
	if opts.DB == "" {
		info, err := views.QueryEach(ctx, w.Log, opts.Cache, sqlTexts(statements), guard, allow, run)
		if err != nil {
			return err
		}
		commits = info.Commits
	} else {
		d, err := views.OpenViews(ctx, w.Log, opts.DB, opts.Cache)
		if err != nil {
			return err
		}
		defer d.Close()
		commits = d.Commits
		if len(statements) == 0 {
			fmt.Fprintf(stderr, "wrote %s: open it in DBeaver or `duckdb %s`\n", opts.DB, opts.DB)
		} else {
			conn, err := d.Conn(ctx)
			if err != nil {
				return fmt.Errorf("query: %w", err)
			}
			defer conn.Close()
			for i := range statements {
				if err := run(ctx, i, conn); err != nil {
					return err
				}
			}
		}
	}
	if commitOut != nil {
		if err := commitOut(); err != nil {
			return err
		}
	}
	if commits == 0 {
		// Every view is empty, which looks like a legitimate empty answer.
		fmt.Fprintf(stderr, "note: nothing is committed in the warehouse %s yet, so every table is empty: load a dump first (archtics load-dump --dump DIR), or try archtics demo\n", w.Store.URL())
	}
	return nil
}

func sqlTexts(statements []sqlStatement) []string {
	out := make([]string, len(statements))
	for i, s := range statements {
		out[i] = s.SQL
	}
	return out
}

// runStatement runs one statement and prints its result; with the parquet
// format, only the last statement's result is written (to opts.Out,
// through a temporary file renamed into place).
func runStatement(ctx context.Context, out, stderr io.Writer, conn *sql.Conn, s sqlStatement, opts queryOptions, last bool, printed *int) error {
	if opts.Format == "parquet" {
		if !last {
			_, err := conn.ExecContext(ctx, s.SQL)
			return err
		}
		tmp, err := parquetTemp(opts.Out)
		if err != nil {
			return err
		}
		copySQL := fmt.Sprintf("COPY (%s\n) TO '%s' (FORMAT parquet)", s.SQL, strings.ReplaceAll(tmp, "'", "''"))
		if _, err := conn.ExecContext(ctx, copySQL); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Rename(tmp, opts.Out); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("--out %s: %w", opts.Out, err)
		}
		fmt.Fprintf(stderr, "wrote %s\n", opts.Out)
		return nil
	}
	quiet, err := statementIsQuiet(ctx, conn, s.SQL)
	if err != nil {
		return err
	}
	if quiet {
		_, err := conn.ExecContext(ctx, s.SQL)
		return err
	}
	rows, err := conn.QueryContext(ctx, s.SQL)
	if err != nil {
		return err
	}
	defer rows.Close()
	if *printed > 0 && opts.Format != "json" {
		fmt.Fprintln(out) // a blank line between results
	}
	*printed++
	return printRows(out, stderr, rows, opts.Format)
}

// parquetTemp is the temporary file the parquet format writes out's
// result to before renaming it into place.
func parquetTemp(out string) (string, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", fmt.Errorf("--out %s: %w", out, err)
	}
	return filepath.Join(filepath.Dir(abs), fmt.Sprintf(".%s.%d.tmp", filepath.Base(abs), os.Getpid())), nil
}

// statementIsQuiet reports whether sqlText is a statement whose result is
// only DuckDB's "Success" (SET, CREATE, DROP, ATTACH, ...): like DuckDB's
// own shell, query prints nothing for it. DuckDB prepares it to tell; a
// statement that fails to prepare fails here with DuckDB's message.
func statementIsQuiet(ctx context.Context, conn *sql.Conn, sqlText string) (quiet bool, err error) {
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return nil
		}
		st, err := pc.PrepareContext(ctx, sqlText)
		if err != nil {
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return nil
		}
		t, err := ds.StatementType()
		if err != nil {
			return err
		}
		switch t {
		case duckdb.STATEMENT_TYPE_SET, duckdb.STATEMENT_TYPE_VARIABLE_SET, duckdb.STATEMENT_TYPE_CREATE,
			duckdb.STATEMENT_TYPE_DROP, duckdb.STATEMENT_TYPE_ALTER, duckdb.STATEMENT_TYPE_TRANSACTION,
			duckdb.STATEMENT_TYPE_ATTACH, duckdb.STATEMENT_TYPE_DETACH, duckdb.STATEMENT_TYPE_LOAD,
			duckdb.STATEMENT_TYPE_PREPARE, duckdb.STATEMENT_TYPE_CREATE_FUNC:
			quiet = true
		}
		return nil
	})
	return quiet, err
}

// cacheDir is the --cache flag, else the warehouse's default cache.
func cacheDir(c *cli.Context, w *pipeline.Warehouse) string {
	if s := c.String("cache"); s != "" {
		return s
	}
	return defaultCacheDir(w)
}

// defaultCacheDir is the warehouse's default cache folder.
func defaultCacheDir(w *pipeline.Warehouse) string { return views.DefaultCacheDir(w.Store.URL()) }

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

// printRows prints rows in format: an aligned table (with a row count on
// stderr), CSV, a JSON array of row objects, or a Markdown pipe table.
func printRows(out, stderr io.Writer, rows *sql.Rows, format string) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var w io.Writer = out
	var tw *tabwriter.Writer
	switch format {
	case "csv":
		fmt.Fprintln(w, strings.Join(cols, ","))
	case "json":
		fmt.Fprint(w, "[")
	case "markdown":
		fmt.Fprintln(w, markdownRow(cols))
		fmt.Fprintln(w, "|"+strings.Repeat(" --- |", len(cols)))
	default:
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		w = tw
		fmt.Fprintln(w, strings.Join(cols, "\t"))
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		switch format {
		case "json":
			if n > 0 {
				fmt.Fprint(w, ",")
			}
			fmt.Fprint(w, "\n  {")
			for i, v := range vals {
				if i > 0 {
					fmt.Fprint(w, ", ")
				}
				k, _ := json.Marshal(cols[i])
				fmt.Fprintf(w, "%s: %s", k, jsonCell(v))
			}
			fmt.Fprint(w, "}")
		default:
			cells := make([]string, len(cols))
			for i, v := range vals {
				cells[i] = formatCell(v, format == "csv")
			}
			switch format {
			case "csv":
				fmt.Fprintln(w, strings.Join(cells, ","))
			case "markdown":
				fmt.Fprintln(w, markdownRow(cells))
			default:
				fmt.Fprintln(w, strings.Join(cells, "\t"))
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if format == "json" {
		if n > 0 {
			fmt.Fprint(w, "\n")
		}
		fmt.Fprintln(w, "]")
	}
	if tw != nil {
		tw.Flush()
		fmt.Fprintf(stderr, "(%d rows)\n", n)
	}
	return nil
}

// markdownRow is one row of a Markdown pipe table, pipes and line breaks
// in cells escaped so the table keeps its shape.
func markdownRow(cells []string) string {
	r := strings.NewReplacer("|", `\|`, "\n", "<br>", "\r", "")
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + r.Replace(c) + " |")
	}
	return b.String()
}

// jsonCell is a value as JSON: numbers, booleans and null as themselves,
// times as the text the other formats print, anything DuckDB returns that
// JSON has no type for (decimals, huge integers, intervals) as its text.
func jsonCell(v any) []byte {
	switch x := v.(type) {
	case nil, bool, string, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, float32, float64, map[string]any, []any:
		if b, err := json.Marshal(x); err == nil {
			return b
		}
	}
	b, _ := json.Marshal(formatCell(v, false))
	return b
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
