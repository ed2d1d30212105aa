package icebergcat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"archtics/icebergcat/layout"

	// PostgreSQL, the SQL catalog users point Spark and Trino at (pure Go).
	_ "github.com/lib/pq"

	"archtics/schemas"
)

// SQLPointer keeps the tables of the Iceberg JDBC catalog (the schema
// Iceberg's Java JdbcCatalog, Spark, Trino's iceberg.catalog.type=jdbc and
// iceberg-go's catalog/sql share: iceberg_tables and
// iceberg_namespace_properties) pointing at each table's newest metadata
// file. The metadata files are written by the publisher as for the file
// catalog; the database holds only the pointer, moved forward with an
// optimistic UPDATE ... WHERE metadata_location = <the old one>, as the
// JDBC catalog's own commits do.
type SQLPointer struct {
	db   *sql.DB
	name string
	ph   func(int) string // the driver's placeholder for argument n (1-based)
}

// OpenSQLPointer connects to the catalog database and creates the JDBC
// catalog's tables if they are missing. uri: postgres://user:pass@host/db
// (or postgresql://), or duckdb:/path/file.duckdb (a local catalog
// database, for one machine). The URI is never put in an error: it may
// hold a password.
func OpenSQLPointer(ctx context.Context, uri, catalogName string) (*SQLPointer, error) {
	if catalogName == "" {
		catalogName = layout.DefaultSQLCatalogName
	}
	driver, dsn, err := sqlDriver(uri)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("iceberg SQL catalog (%s): open: %w", redact(uri), err)
	}
	p := &SQLPointer{db: db, name: catalogName, ph: func(n int) string { return fmt.Sprintf("$%d", n) }}
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS iceberg_tables (
			catalog_name VARCHAR(255) NOT NULL,
			table_namespace VARCHAR(255) NOT NULL,
			table_name VARCHAR(255) NOT NULL,
			metadata_location VARCHAR(1000),
			previous_metadata_location VARCHAR(1000),
			iceberg_type VARCHAR(5),
			PRIMARY KEY (catalog_name, table_namespace, table_name))`,
		`CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
			catalog_name VARCHAR(255) NOT NULL,
			namespace VARCHAR(255) NOT NULL,
			property_key VARCHAR(255),
			property_value VARCHAR(1000),
			PRIMARY KEY (catalog_name, namespace, property_key))`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("iceberg SQL catalog (%s): create the JDBC catalog tables: %w", redact(uri), err)
		}
	}
	return p, nil
}

// Close closes the connection.
func (p *SQLPointer) Close() error { return p.db.Close() }

// sqlDriver picks the database/sql driver by the URI's scheme.
func sqlDriver(uri string) (driver, dsn string, err error) {
	switch {
	case strings.HasPrefix(uri, "postgres://"), strings.HasPrefix(uri, "postgresql://"):
		return "postgres", uri, nil
	case strings.HasPrefix(uri, "duckdb:"):
		return "duckdb", strings.TrimPrefix(uri, "duckdb:"), nil
	}
	return "", "", fmt.Errorf("iceberg SQL catalog (%s): want postgres://user:password@host:5432/db or duckdb:/path/catalog.duckdb", redact(uri))
}

// redact drops a URI's password and query (which may hold one).
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return "the URI in " + layout.SQLURIEnv
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// Point implements Pointer: the table's row names metadataLocation,
// created if absent, moved only forward (a publisher that lost a race
// never moves it back to an older version).
func (p *SQLPointer) Point(ctx context.Context, t *schemas.Table, metadataLocation string) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var cur sql.NullString
	err = tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT metadata_location FROM iceberg_tables
		WHERE catalog_name = %s AND table_namespace = %s AND table_name = %s`, p.ph(1), p.ph(2), p.ph(3)),
		p.name, t.SQLSchema(), t.Name).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO iceberg_tables
			(catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type)
			VALUES (%s, %s, %s, %s, NULL, 'TABLE')`, p.ph(1), p.ph(2), p.ph(3), p.ph(4)),
			p.name, t.SQLSchema(), t.Name, metadataLocation); err != nil {
			return fmt.Errorf("register %s: %w", t.FullName(), err)
		}
		// The JDBC catalog knows a namespace by a property row.
		var n int
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM iceberg_namespace_properties
			WHERE catalog_name = %s AND namespace = %s`, p.ph(1), p.ph(2)), p.name, t.SQLSchema()).Scan(&n); err != nil {
			return fmt.Errorf("namespace %s: %w", t.SQLSchema(), err)
		}
		if n == 0 {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO iceberg_namespace_properties
				(catalog_name, namespace, property_key, property_value) VALUES (%s, %s, 'exists', 'true')`, p.ph(1), p.ph(2)),
				p.name, t.SQLSchema()); err != nil {
				return fmt.Errorf("namespace %s: %w", t.SQLSchema(), err)
			}
		}
	case err != nil:
		return fmt.Errorf("read the pointer of %s: %w", t.FullName(), err)
	default:
		if cur.String == metadataLocation {
			return nil
		}
		if v, ok := versionOf(cur.String); ok && v >= mustVersion(metadataLocation) && sameTableDir(cur.String, metadataLocation) {
			return nil // a newer publish already moved it
		}
		res, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE iceberg_tables
			SET metadata_location = %s, previous_metadata_location = %s, iceberg_type = 'TABLE'
			WHERE catalog_name = %s AND table_namespace = %s AND table_name = %s AND metadata_location = %s`,
			p.ph(1), p.ph(2), p.ph(3), p.ph(4), p.ph(5), p.ph(6)),
			metadataLocation, cur.String, p.name, t.SQLSchema(), t.Name, cur.String)
		if err != nil {
			return fmt.Errorf("move the pointer of %s: %w", t.FullName(), err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("move the pointer of %s: another writer moved it meanwhile: %w", t.FullName(), ErrConflict)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit the pointer of %s: %w", t.FullName(), err)
	}
	return nil
}

// versionOf reads N of a ".../v<N>.metadata.json" location.
func versionOf(location string) (int, bool) {
	return layout.ParseVersionName(path.Base(location))
}

func mustVersion(location string) int {
	v, _ := versionOf(location)
	return v
}

func sameTableDir(a, b string) bool { return path.Dir(a) == path.Dir(b) }
