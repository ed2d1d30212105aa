package views

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// QueryEach runs statements in order on one connection of an in-memory
// DuckDB (so SET, temporary tables and macros carry from one statement to
// the next), with views over the tables the statements read, and calls fn
// for each statement with that connection: fn runs it and prints its
// result. Statements are executed by fn, not here, so the caller chooses
// how (a query, a COPY ... TO for Parquet).
//
// As in Query, the views cover only the tables the text names as
// schema.table. When fn fails on a statement with a catalog error (the
// guess missed a table, detected while binding, before any row was
// printed), the database is reopened with a view over every table, the
// statements before it are replayed without output (their effects on the
// session restored), and the run continues from the failed statement.
//
// With guard.ReadOnly the database is locked down before any statement
// (LockReadOnly, allowing allow too: the file fn writes a result to, say);
// fn checks each statement with guard (CheckStatement, CheckSettings).
func QueryEach(ctx context.Context, w *txlog.Log, cacheDir string, statements []string, guard SQLGuard, allow []string, fn func(ctx context.Context, i int, conn *sql.Conn) error) (QueryInfo, error) {
	w, err := w.WithStreamTables(ctx)
	if err != nil {
		return QueryInfo{}, fmt.Errorf("query: %w", err)
	}
	guess := tablesReadBy(strings.Join(statements, ";\n"), w.Tables)
	info, failedAt, err := queryEachOver(ctx, w, cacheDir, statements, guess, 0, guard, allow, fn)
	if err == nil || guess == nil || !isCatalogError(err) {
		return info, err
	}
	logger(w).Debug("a statement reads a table it does not name as schema.table; rerunning from it over every table",
		"statement", failedAt+1, "tables", info.Tables, "err", err)
	info, _, err = queryEachOver(ctx, w, cacheDir, statements, nil, failedAt, guard, allow, fn)
	info.Fallback = true
	return info, err
}

// queryEachOver opens views over tables, replays statements[:from]
// silently and hands statements[from:] to fn; failedAt is the index of the
// statement that failed.
func queryEachOver(ctx context.Context, w *txlog.Log, cacheDir string, statements []string, tables []*schemas.Table, from int, guard SQLGuard, allow []string, fn func(context.Context, int, *sql.Conn) error) (info QueryInfo, failedAt int, err error) {
	d, err := OpenViews(ctx, w, "", cacheDir, tables...)
	if err != nil {
		return info, 0, err
	}
	defer d.Close()
	if guard.ReadOnly {
		if err := d.LockReadOnly(ctx, allow...); err != nil {
			return info, 0, err
		}
	}
	info.Commits = d.Commits
	for _, t := range d.Tables {
		info.Tables = append(info.Tables, t.FullName())
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return info, 0, fmt.Errorf("query: duckdb connection: %w", err)
	}
	defer conn.Close()
	for i := 0; i < from; i++ {
		if _, err := conn.ExecContext(ctx, statements[i]); err != nil {
			return info, i, fmt.Errorf("query: statement %d (replayed over every table): %w", i+1, err)
		}
	}
	for i := from; i < len(statements); i++ {
		if err := ctx.Err(); err != nil {
			return info, i, err
		}
		if err := fn(ctx, i, conn); err != nil {
			return info, i, err
		}
	}
	return info, len(statements), nil
}
