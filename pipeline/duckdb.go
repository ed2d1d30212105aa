package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	// The DuckDB driver, registered as "duckdb".
	_ "github.com/duckdb/duckdb-go/v2"

	"archtics/schemas"
)

// AttachViews creates, in db, a view per table over its local files
// (from Materialize): SELECT ... FROM archtics_rtx.attendance then reads
// the committed Parquet files with Hive partitioning. Paths are absolute,
// so a database file written this way opens anywhere the files are (for
// example in DBeaver). A table without files gets an empty view with the
// right columns and types. tables defaults to every known table.
func AttachViews(ctx context.Context, db *sql.DB, files LocalFiles, tables ...*schemas.Table) error {
	if len(tables) == 0 {
		tables = knownTables()
	}
	// DuckDB names a file database's catalog after the file: a file
	// called archtics.duckdb makes "archtics.event" ambiguous (catalog or
	// schema?) for every query, so refuse it with a clear message.
	var catalog string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&catalog); err != nil {
		return fmt.Errorf("duckdb: current database: %w", err)
	}
	for _, t := range tables {
		if strings.EqualFold(catalog, t.Schema) {
			return fmt.Errorf("the DuckDB database is named %q like the schema of %s, which makes table names ambiguous: name the file differently (for example warehouse.duckdb)", catalog, t.FullName())
		}
	}
	for _, t := range tables {
		ddl := t.ViewDDL(files[t.FullName()])
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("create view %s over %d files: %w", t.FullName(), len(files[t.FullName()]), err)
		}
	}
	return nil
}

// OpenDuckDB materializes the committed files of tables (default: every
// known table) into cacheDir and opens the DuckDB database at dbPath
// ("" for in-memory) with a view per table over them. The caller closes
// the database.
func OpenDuckDB(ctx context.Context, dbPath string, w *Warehouse, cacheDir string, tables ...*schemas.Table) (*sql.DB, error) {
	files, err := w.Materialize(ctx, cacheDir, tables...)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", dbPath)
	if err != nil {
		return nil, fmt.Errorf("open duckdb %s: %w", dbPath, err)
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
	return db, nil
}
