package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/urfave/cli/v2"

	"archtics/icebergcat/layout"
	"archtics/pipeline"
	"archtics/schemas"
)

// icebergTableRef is a published table and its current metadata file.
type icebergTableRef struct {
	t        *schemas.Table
	location string // the table's folder URI: <warehouse>/iceberg/<schema>/<table>
	metadata string // the current metadata file's URI
}

// publishedIcebergTables lists every stored table's current Iceberg
// metadata; a table never published is an error that says what to run.
func publishedIcebergTables(ctx context.Context, w *pipeline.Warehouse) ([]icebergTableRef, error) {
	streams, err := w.Streams(ctx)
	if err != nil {
		return nil, err
	}
	var out []icebergTableRef
	for _, t := range layout.PublishedTables(w.Tables, streams) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		meta, err := layout.CurrentMetadata(ctx, w.Store, t)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s has no Iceberg metadata yet: run archtics catalog iceberg first (it also keeps the tables current after every commit)", t.SQLName())
		}
		if err != nil {
			return nil, err
		}
		// Cut with strings, not path.Dir, which would fold file:/// to file:/.
		dir := meta[:strings.LastIndex(meta, "/")]
		out = append(out, icebergTableRef{t: t, location: strings.TrimSuffix(dir, "/metadata"), metadata: meta})
	}
	return out, nil
}

// trinoDDL prints the Trino statements registering every published table
// (the Iceberg connector's register_table procedure) in catalog trinoCat.
// reregister first unregisters each table (keeping its files), which
// moves an already registered table to the newest metadata.
func trinoDDL(out io.Writer, w *pipeline.Warehouse, refs []icebergTableRef, trinoCat string, reregister bool) {
	root := layout.RootURI(w.Store)
	fmt.Fprintf(out, `-- archtics catalog ddl --dialect trino: the Iceberg tables of %s
-- Always current, nothing to rerun: a Trino Iceberg catalog over the SQL catalog
-- archtics keeps (archtics catalog iceberg --catalog sql), e.g. etc/catalog/archtics.properties:
--   connector.name=iceberg
--   iceberg.catalog.type=jdbc
--   iceberg.jdbc-catalog.catalog-name=archtics
--   iceberg.jdbc-catalog.driver-class=org.postgresql.Driver
--   iceberg.jdbc-catalog.connection-url=jdbc:postgresql://<host>:5432/<db>
--   iceberg.jdbc-catalog.default-warehouse-dir=%s/iceberg
-- Otherwise (a Hive metastore or Glue catalog) register each table's current metadata
-- file below; the catalog needs iceberg.register-table-procedure.enabled=true. These
-- tables stay at that metadata: after later commits rerun with --reregister, which
-- unregisters (files kept) and registers each table again at its newest metadata.
`, root, root)
	schemasDone := map[string]bool{}
	for _, r := range refs {
		if !schemasDone[r.t.SQLSchema()] {
			schemasDone[r.t.SQLSchema()] = true
			fmt.Fprintf(out, "\nCREATE SCHEMA IF NOT EXISTS %s.%s;\n", schemas.QuoteIdent(trinoCat), schemas.QuoteIdent(r.t.SQLSchema()))
		}
		if reregister {
			fmt.Fprintf(out, "CALL %s.system.unregister_table(schema_name => %s, table_name => %s);\n",
				schemas.QuoteIdent(trinoCat), schemas.QuoteString(r.t.SQLSchema()), schemas.QuoteString(r.t.Name))
		}
		fmt.Fprintf(out, "CALL %s.system.register_table(schema_name => %s, table_name => %s, table_location => %s, metadata_file_name => %s);\n",
			schemas.QuoteIdent(trinoCat), schemas.QuoteString(r.t.SQLSchema()), schemas.QuoteString(r.t.Name),
			schemas.QuoteString(r.location), schemas.QuoteString(path.Base(r.metadata)))
	}
}

// glueType is the Hive type the Glue catalog shows for a column (Athena
// reads the schema from the Iceberg metadata itself).
func glueType(t schemas.Type) string {
	switch t {
	case schemas.String:
		return "string"
	case schemas.Int32:
		return "int"
	case schemas.Int64:
		return "bigint"
	case schemas.Float64:
		return "double"
	case schemas.Decimal:
		return "decimal(18,2)"
	case schemas.Date:
		return "date"
	case schemas.Timestamp, schemas.TimestampTZ:
		return "timestamp"
	case schemas.Bool:
		return "boolean"
	}
	return "string"
}

// athenaDDL prints the AWS CLI commands registering every published table
// in the Glue Data Catalog as an Iceberg table at its current metadata
// file (table_type ICEBERG, metadata_location), which Athena then
// queries. Athena's own CREATE TABLE ... TBLPROPERTIES
// ('table_type'='ICEBERG') makes a new, empty table, so it cannot adopt
// existing metadata. update moves registered tables to the newest metadata.
func athenaDDL(out io.Writer, w *pipeline.Warehouse, refs []icebergTableRef, update bool) error {
	root := layout.RootURI(w.Store)
	fmt.Fprintf(out, `#!/bin/sh
# archtics catalog ddl --dialect athena: the Iceberg tables of %s, registered
# in the AWS Glue Data Catalog (one database per schema) as Iceberg tables at
# their current metadata file; Athena (engine v3) queries them as
# SELECT * FROM "<schema>"."<table>". Run it with AWS credentials that may write
# to Glue. The tables stay at that metadata: after later commits rerun with
# --reregister, which updates each table's metadata_location instead.
set -e
`, root)
	if !strings.HasPrefix(root, "s3://") {
		fmt.Fprintf(out, "# NOTE: the warehouse is not on S3 (%s): Athena reads only s3:// locations.\n", root)
	}
	schemasDone := map[string]bool{}
	for _, r := range refs {
		if !update && !schemasDone[r.t.SQLSchema()] {
			schemasDone[r.t.SQLSchema()] = true
			db, _ := json.Marshal(map[string]string{"Name": r.t.SQLSchema(), "Description": "archtics " + r.t.SQLSchema()})
			fmt.Fprintf(out, "\naws glue create-database --database-input %s || true\n", shellQuote(string(db)))
		}
		type column struct {
			Name    string `json:"Name"`
			Type    string `json:"Type"`
			Comment string `json:"Comment,omitempty"`
		}
		var cols []column
		for _, c := range r.t.Columns {
			doc := strings.Join(strings.Fields(c.Doc), " ")
			if len(doc) > 255 {
				doc = doc[:255]
			}
			cols = append(cols, column{Name: c.Name, Type: glueType(c.Type), Comment: doc})
		}
		input := map[string]any{
			"Name":      r.t.Name,
			"TableType": "EXTERNAL_TABLE",
			"Parameters": map[string]string{
				"table_type":        "ICEBERG",
				"metadata_location": r.metadata,
			},
			"StorageDescriptor": map[string]any{"Location": r.location, "Columns": cols},
		}
		data, err := json.Marshal(input)
		if err != nil {
			return err
		}
		verb := "create-table"
		if update {
			verb = "update-table"
		}
		fmt.Fprintf(out, "aws glue %s --database-name %s --table-input %s\n", verb, shellQuote(r.t.SQLSchema()), shellQuote(string(data)))
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }

// icebergDDLAction is catalog ddl --dialect athena|trino.
func icebergDDLAction(c *cli.Context, dialect string) error {
	if c.String("as-of") != "" {
		return cli.Exit("--as-of: the "+dialect+" tables are the Iceberg tables, which hold every snapshot: time-travel there (FOR VERSION AS OF)", exitUsage)
	}
	w, err := openExistingWarehouse(c)
	if err != nil {
		return err
	}
	refs, err := publishedIcebergTables(c.Context, w)
	if err != nil {
		return fmt.Errorf("catalog ddl --dialect %s: %w", dialect, err)
	}
	if dialect == "trino" {
		trinoDDL(os.Stdout, w, refs, c.String("trino-catalog"), c.Bool("reregister"))
		return nil
	}
	return athenaDDL(os.Stdout, w, refs, c.Bool("reregister"))
}
