// Command duckdb-sql runs SQL on an in-memory DuckDB and prints the result,
// tab-separated with a header line. It is the baseline of the query
// benchmark (cmd/archtics BenchmarkQueryVsDuckDB): DuckDB alone, as a whole
// process, reading the same committed Parquet files through
// read_parquet([...], hive_partitioning = true) that `archtics query` reads
// through its views. The duckdb CLI is not installed here, and this links
// the same DuckDB build as archtics, so the comparison measures what
// archtics adds, not a different engine.
//
//	duckdb-sql "SELECT count(*) FROM read_parquet(['/w/a.parquet'], hive_partitioning = true)"
//	duckdb-sql < statement.sql
//	duckdb-sql --version
//
// --version prints the DuckDB driver's module version and opens no
// database, as `duckdb --version` does: the start benchmark
// (BenchmarkStart) times it as the floor of any process that links
// DuckDB.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "duckdb-sql:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 1 && args[0] == "--version" {
		_, err := fmt.Fprintln(stdout, "duckdb-sql", driverVersion())
		return err
	}
	stmt := strings.Join(args, " ")
	if stmt == "" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read the statement from stdin: %w", err)
		}
		stmt = string(b)
	}
	if strings.TrimSpace(stmt) == "" {
		return fmt.Errorf("give a SQL statement as arguments or on stdin")
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fmt.Errorf("open duckdb: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, stmt)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	fmt.Fprintln(out, strings.Join(cols, "\t"))
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		for i, v := range vals {
			if i > 0 {
				out.WriteByte('\t')
			}
			if v != nil {
				fmt.Fprint(out, v)
			}
		}
		out.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return out.Flush()
}

// driverVersion is the version of the DuckDB driver module this program
// was built with ("(devel)" when unknown).
func driverVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/duckdb/duckdb-go/v2" {
				return m.Version
			}
		}
	}
	return "(devel)"
}
