package icebergcat

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
)

// TestIcebergSQLCatalogPointer: publishing with the SQL catalog leaves one
// JDBC-catalog row per table naming its newest metadata file, moved
// forward by later publishes (the previous location kept), never back.
// The database is a DuckDB file: the statements are the same on
// PostgreSQL, which is not available here.
func TestIcebergSQLCatalogPointer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSimWarehouse(t, smallWorld(), "")
	uri := "duckdb:" + filepath.Join(t.TempDir(), "catalog.duckdb")
	p, err := OpenSQLPointer(ctx, uri, "")
	if err != nil {
		t.Fatal(err)
	}
	res := publish(t, s.w, Options{Pointer: p})
	s.incremental(t, s.teams[0], 3*time.Hour)
	res2 := publish(t, s.w, Options{Pointer: p})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("duckdb", strings.TrimPrefix(uri, "duckdb:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := map[string][2]string{}
	r, err := db.Query(`SELECT table_namespace || '.' || table_name, metadata_location, coalesce(previous_metadata_location, '')
		FROM iceberg_tables WHERE catalog_name = 'archtics' AND iceberg_type = 'TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var name, loc, prev string
		if err := r.Scan(&name, &loc, &prev); err != nil {
			t.Fatal(err)
		}
		rows[name] = [2]string{loc, prev}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(res2) {
		t.Errorf("%d rows in iceberg_tables, %d tables published", len(rows), len(res2))
	}
	first := map[string]string{}
	for _, x := range res {
		first[x.Table] = x.MetadataLocation
	}
	moved := 0
	for _, x := range res2 {
		got := rows[x.Table]
		if got[0] != x.MetadataLocation {
			t.Errorf("%s: the catalog points at %s, the newest metadata is %s", x.Table, got[0], x.MetadataLocation)
		}
		if x.MetadataLocation != first[x.Table] {
			moved++
			if got[1] != first[x.Table] {
				t.Errorf("%s: previous_metadata_location %s, want %s", x.Table, got[1], first[x.Table])
			}
		}
	}
	if moved == 0 {
		t.Error("the incremental moved no table's pointer")
	}
	var ns int
	if err := db.QueryRow(`SELECT count(DISTINCT namespace) FROM iceberg_namespace_properties WHERE catalog_name = 'archtics'`).Scan(&ns); err != nil || ns == 0 {
		t.Errorf("namespaces registered: %d, %v", ns, err)
	}

	// An older location never replaces a newer one.
	p, err = OpenSQLPointer(ctx, uri, "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tbl := schemas.Ticket
	if err := p.Point(ctx, tbl, first[tbl.SQLName()]); err != nil {
		t.Fatal(err)
	}
	var loc string
	if err := p.db.QueryRow(`SELECT metadata_location FROM iceberg_tables WHERE table_namespace = 'archtics_dump' AND table_name = 'ticket'`).Scan(&loc); err != nil {
		t.Fatal(err)
	}
	for _, x := range res2 {
		if x.Table == tbl.SQLName() && loc != x.MetadataLocation {
			t.Errorf("pointing at an older version moved the pointer back to %s", loc)
		}
	}
}

// TestIcebergSQLURIRedacted: a malformed or unknown URI is refused without
// its password in the error.
func TestIcebergSQLURIRedacted(t *testing.T) {
	_, err := OpenSQLPointer(context.Background(), "mysql://admin:s3cret@db:3306/cat?password=s3cret", "")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("error %v: want a refusal naming the accepted forms, without the password", err)
	}
}
