package views

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	// The DuckDB driver, registered as "duckdb".
	duckdb "github.com/duckdb/duckdb-go/v2"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// AttachViews creates, in db, a view per table over its local files
// (from Materialize): SELECT ... FROM archtics_rtx.attendance then reads
// the committed Parquet files with Hive partitioning. Paths are absolute,
// so a database file written this way opens anywhere the files are (for
// example in DBeaver). A table without files gets an empty view with the
// right columns and types. tables defaults to every known table; the
// tables their views depend on get views too, created first.
func AttachViews(ctx context.Context, db *sql.DB, files LocalFiles, tables ...*schemas.Table) error {
	tables, err := schemas.ReadSet(tables, nil)
	if err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	// DuckDB names a file database's catalog after the file: a file
	// called archtics.duckdb makes "archtics.event" ambiguous (catalog or
	// schema?) for every query, so refuse it with a clear message.
	var catalog string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&catalog); err != nil {
		return fmt.Errorf("duckdb: current database: %w", err)
	}
	for _, t := range tables {
		if strings.EqualFold(catalog, t.SQLSchema()) {
			return fmt.Errorf("the DuckDB database is named %q like the schema of %s, which makes table names ambiguous: name the file differently (for example warehouse.duckdb)", catalog, t.SQLName())
		}
	}
	for _, t := range tables {
		ddl := t.ViewDDL(files[t.FullName()])
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("create view %s over %d files: %w", t.SQLName(), len(files[t.FullName()]), err)
		}
	}
	return nil
}

// DuckDB is an open DuckDB database with a view per materialized table.
type DuckDB struct {
	*sql.DB
	// Tables have views, each after the tables its view depends on.
	Tables []*schemas.Table
	// Commits counts the commits, across every stream, of the state the
	// views show: 0 means nothing has been committed (loaded) yet.
	Commits int64
	// Files are the verified local files the views read (LockReadOnly
	// allows them and nothing else).
	Files []string
}

// OpenDuckDB materializes the committed files of tables (default: every
// known table) into cacheDir and opens the DuckDB database at dbPath
// ("" for in-memory) with a view per table over them. The caller closes
// the database.
func OpenDuckDB(ctx context.Context, dbPath string, w *txlog.Log, cacheDir string, tables ...*schemas.Table) (*sql.DB, error) {
	d, err := OpenViews(ctx, w, dbPath, cacheDir, tables...)
	if err != nil {
		return nil, err
	}
	return d.DB, nil
}

// OpenViews is OpenDuckDB, also telling which views it made and how many
// commits their state holds.
func OpenViews(ctx context.Context, w *txlog.Log, dbPath, cacheDir string, tables ...*schemas.Table) (*DuckDB, error) {
	w, err := w.WithStreamTables(ctx)
	if err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	tables, err = schemas.ReadSet(tables, w.Tables)
	if err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	files, st, err := materialize(ctx, w, cacheDir, tables)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", dsnOf(dbPath))
	if err != nil {
		return nil, fmt.Errorf("open duckdb %s: %w", dbPath, err)
	}
	// Creating a view binds it, which reads the Parquet footers, and the
	// statement binds it again: keep the parsed footers rather than read
	// them twice. The files are immutable and verified, and DuckDB checks
	// a cached footer against the file's modification time anyway. (A
	// setting of this process only, not saved in a database file.)
	if _, err := db.ExecContext(ctx, "SET parquet_metadata_cache = true"); err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb %s: %w", dbPath, err)
	}
	if err := AttachViews(ctx, db, files, tables...); err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb %s: %w", dbPath, err)
	}
	if dbPath != "" {
		// Fold the views into the database file now, so a tool that opens
		// it (DBeaver, the duckdb CLI) finds them without a .wal beside it.
		if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
			db.Close()
			return nil, fmt.Errorf("duckdb %s: checkpoint: %w", dbPath, err)
		}
	}
	var commits int64
	for _, s := range st.Streams {
		commits += s.Seq
	}
	var paths []string
	for _, t := range tables {
		paths = append(paths, files[t.FullName()]...)
	}
	return &DuckDB{DB: db, Tables: tables, Commits: commits, Files: paths}, nil
}

// FileStorageVersion is the DuckDB storage version a new database file
// is written in: the one DuckDB 1.x writes by default, which every DuckDB
// from v0.10.2 on opens, DBeaver's older drivers among them. DuckDB 2.0
// writes its own format unless told, and 1.x cannot open that.
const FileStorageVersion = "v0.10.2"

// dsnOf is the data source name of the database at dbPath ("" for
// in-memory). Only a new file is given FileStorageVersion: an existing
// one keeps the version it was written in, and DuckDB refuses to open a
// file with a version older than the file's own.
func dsnOf(dbPath string) string {
	if dbPath == "" {
		return ""
	}
	if _, err := os.Stat(dbPath); err == nil {
		return dbPath
	}
	return dbPath + "?storage_compatibility_version=" + FileStorageVersion
}

// QueryInfo says how Query answered.
type QueryInfo struct {
	Tables   []string // the tables that had views (schema.table)
	Fallback bool     // the guess missed a table: the statement was rerun over every table
	Commits  int64    // as DuckDB.Commits: 0 means nothing is committed yet
}

// Query runs the SQL text in an in-memory DuckDB with views over only the
// tables it reads (TablesReadBy: only their files are verified, only their
// views bound) and hands the result to fn.
//
// If the guess missed a table, DuckDB refuses the statement with a catalog
// error while binding it, before any row reaches fn; Query then reruns the
// text in a fresh database with a view over every table, so a wrong guess
// costs time, never a wrong or empty answer.
func Query(ctx context.Context, w *txlog.Log, cacheDir, sqlText string, fn func(*sql.Rows) error) (QueryInfo, error) {
	w, err := w.WithStreamTables(ctx)
	if err != nil {
		return QueryInfo{}, fmt.Errorf("query: %w", err)
	}
	return query(ctx, w, cacheDir, sqlText, tablesReadBy(sqlText, w.Tables), fn)
}

// query is Query with the guess given (nil: every table).
func query(ctx context.Context, w *txlog.Log, cacheDir, sqlText string, guess []*schemas.Table, fn func(*sql.Rows) error) (QueryInfo, error) {
	info, answered, err := queryOver(ctx, w, cacheDir, sqlText, guess, fn)
	if err == nil || guess == nil || answered || !isCatalogError(err) {
		return info, err
	}
	logger(w).Debug("the statement reads a table it does not name as schema.table; rerunning it over every table", "tables", info.Tables, "err", err)
	info, _, err = queryOver(ctx, w, cacheDir, sqlText, nil, fn)
	info.Fallback = true
	return info, err
}

// queryOver runs sqlText over views of tables; answered says whether fn
// was called (after which a rerun could print rows twice).
func queryOver(ctx context.Context, w *txlog.Log, cacheDir, sqlText string, tables []*schemas.Table, fn func(*sql.Rows) error) (info QueryInfo, answered bool, err error) {
	d, err := OpenViews(ctx, w, "", cacheDir, tables...)
	if err != nil {
		return info, false, err
	}
	defer d.Close()
	info.Commits = d.Commits
	for _, t := range d.Tables {
		info.Tables = append(info.Tables, t.FullName())
	}
	rows, err := d.QueryContext(ctx, sqlText)
	if err != nil {
		return info, false, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	return info, true, fn(rows)
}

// isCatalogError reports whether DuckDB refused a statement for naming
// something its catalog lacks (a table, view or schema).
func isCatalogError(err error) bool {
	var de *duckdb.Error
	if errors.As(err, &de) {
		return de.Type == duckdb.ErrorTypeCatalog
	}
	return strings.Contains(err.Error(), "Catalog Error")
}
