package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/storage"
	"archtics/storage/backend"
)

func catalogCommand() *cli.Command {
	return &cli.Command{
		Name:  "catalog",
		Usage: "register the warehouse's tables elsewhere: a DuckDB file, or DDL for Redshift, Athena, Trino",
		Subcommands: []*cli.Command{
			catalogIcebergCommand(),
			{
				Name:  "export",
				Usage: "write a DuckDB file with a view per table, described, for DBeaver and the duckdb CLI",
				Description: `export writes --out, a DuckDB database with every schema, table and view of
the warehouse (as archtics query --db) over the verified cache, and each
table's and column's description from the definitions as a DuckDB comment
(COMMENT ON), which DBeaver shows. The file is checkpointed (no .wal beside
it) and opens as it is; its views read the cached files by absolute path.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Required: true, Usage: "the DuckDB `FILE` to write (not named archtics.duckdb)"},
					&cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
					asOfFlag(),
					offlineFlag(),
				},
				Action: func(c *cli.Context) error {
					w, cache, err := catalogWarehouse(c)
					if err != nil {
						return err
					}
					if g := views.Guard(w.Log, false); g.Inside(c.String("out")) {
						return cli.Exit(fmt.Sprintf("--out %s lies inside the warehouse %s, where a file no commit names is an orphan: write it elsewhere", c.String("out"), g.Root), exitUsage)
					}
					if err := exportCatalog(c.Context, w, cache, c.String("out")); err != nil {
						return err
					}
					fmt.Fprintf(os.Stderr, "wrote %s: open it in DBeaver or `duckdb %s`\n", c.String("out"), c.String("out"))
					return nil
				},
			},
			{
				Name:  "ddl",
				Usage: "print the statements that register the tables in Redshift Spectrum, Trino or Athena (over the Iceberg tables)",
				Description: `ddl prints statements over the committed files only, never over a bare
prefix (which would also read retired and orphan files).

redshift: a Redshift Spectrum external table per table, whose location is a
manifest listing exactly the live files (one manifest per partition). The
manifests are written, content-addressed and never overwritten, under
--manifests (an S3 location Spectrum can read, or a local folder to upload).
Rerun it after commits and run its output again: the statements drop and
recreate the tables over the new manifests.

athena, trino: their plain Parquet tables read every file under a prefix
and cannot be given a file list, so ddl registers the Iceberg tables that
archtics catalog iceberg publishes (run it first), whose metadata lists
exactly the committed files. trino: Trino statements calling the Iceberg
connector's register_table with each table's current metadata file (and how
to use the always-current JDBC catalog instead). athena: a shell script of
AWS CLI commands registering each table in the Glue Data Catalog as an
Iceberg table at its metadata_location, which Athena queries. --reregister
moves already registered tables to the newest metadata after commits.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "dialect", Required: true, Usage: "redshift, athena or trino"},
					&cli.StringFlag{Name: "manifests", Usage: "redshift: where to write the manifests (`LOCATION`: s3://bucket/prefix or a folder)"},
					&cli.StringFlag{Name: "external-schema", Value: "spectrum", Usage: "redshift: the external schema the tables go in (prefixed to each table's schema)"},
					&cli.StringFlag{Name: "trino-catalog", Value: "iceberg", Usage: "trino: the Iceberg catalog the tables are registered in"},
					&cli.BoolFlag{Name: "reregister", Usage: "athena, trino: move already registered tables to the newest metadata (after later commits)"},
					asOfFlag(),
				},
				Action: func(c *cli.Context) error {
					dialect := c.String("dialect")
					switch dialect {
					case "athena", "trino":
						return icebergDDLAction(c, dialect)
					case "redshift":
					default:
						return cli.Exit(fmt.Sprintf("--dialect %q: want redshift, athena or trino", dialect), exitUsage)
					}
					if c.String("manifests") == "" {
						return cli.Exit("--dialect redshift needs --manifests LOCATION: where the manifests listing each table's files go (an S3 prefix Spectrum reads)", exitUsage)
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					if w, err = atAsOf(c, w); err != nil {
						return err
					}
					dest, err := backend.Open(c.Context, c.String("manifests"))
					if err != nil {
						return fmt.Errorf("--manifests %s: %w", c.String("manifests"), err)
					}
					return redshiftDDL(c.Context, os.Stdout, w, dest, c.String("external-schema"))
				},
			},
		},
	}
}

// catalogWarehouse opens the warehouse (as of --as-of) and its cache folder.
func catalogWarehouse(c *cli.Context) (*pipeline.Warehouse, string, error) {
	w, cache, err := openReader(c)
	if err != nil {
		return nil, "", err
	}
	if w, err = atAsOf(c, w); err != nil {
		return nil, "", err
	}
	return w, cache, nil
}

// exportCatalog writes the DuckDB file out: the views of every table
// (views.OpenViews), then the descriptions as comments, checkpointed.
func exportCatalog(ctx context.Context, w *pipeline.Warehouse, cache, out string) error {
	d, err := views.OpenViews(ctx, w.Log, out, cache)
	if err != nil {
		return fmt.Errorf("catalog export: %w", err)
	}
	defer d.Close()
	for _, t := range d.Tables {
		for _, stmt := range commentStatements(t) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := d.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("catalog export %s: %s: %w", out, stmt, err)
			}
		}
	}
	if _, err := d.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("catalog export %s: checkpoint: %w", out, err)
	}
	if d.Commits == 0 {
		fmt.Fprintf(os.Stderr, "note: nothing is committed in the warehouse %s yet, so every view in %s is empty\n", w.Store.URL(), out)
	}
	return d.Close()
}

// commentStatements describe t and its columns (its view's, or its table
// macro's, which DuckDB does not give column comments).
func commentStatements(t *schemas.Table) []string {
	name := schemas.QuoteIdent(t.SQLSchema()) + "." + schemas.QuoteIdent(t.Name)
	if len(t.MacroParams) > 0 {
		if t.Doc == "" {
			return nil
		}
		return []string{fmt.Sprintf("COMMENT ON MACRO TABLE %s IS %s", name, schemas.QuoteString(oneLine(t.Doc)))}
	}
	var out []string
	if t.Doc != "" {
		out = append(out, fmt.Sprintf("COMMENT ON VIEW %s IS %s", name, schemas.QuoteString(oneLine(t.Doc))))
	}
	for _, c := range t.Columns {
		if c.Doc != "" {
			out = append(out, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", name, schemas.QuoteIdent(c.Name), schemas.QuoteString(oneLine(c.Doc))))
		}
	}
	return out
}

// spectrumType is the Redshift Spectrum type of a column.
func spectrumType(c schemas.Column) string {
	switch c.Type {
	case schemas.String:
		if c.Width > 0 {
			return fmt.Sprintf("VARCHAR(%d)", c.Width)
		}
		return "VARCHAR(65535)"
	case schemas.Float64:
		return "DOUBLE PRECISION"
	case schemas.TimestampTZ:
		// Spectrum reads a UTC-adjusted Parquet timestamp as TIMESTAMP.
		return "TIMESTAMP"
	}
	return c.Type.String()
}

// spectrumManifest is a Redshift Spectrum manifest: the exact files of a
// table or partition (content_length is required for Parquet).
type spectrumManifest struct {
	Entries []spectrumEntry `json:"entries"`
}

type spectrumEntry struct {
	URL       string `json:"url"`
	Mandatory bool   `json:"mandatory"`
	Meta      struct {
		ContentLength int64 `json:"content_length"`
	} `json:"meta"`
}

// redshiftDDL writes a manifest per table or partition of the live files
// to dest and prints the Spectrum statements over them. Manifests are named
// by their content's hash and never overwritten.
func redshiftDDL(ctx context.Context, out io.Writer, w *pipeline.Warehouse, dest storage.Store, extSchema string) error {
	tables, st, err := w.StoredTables(ctx)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(w.Store.URL(), "/")
	fmt.Fprintf(out, "-- archtics catalog ddl --dialect redshift: the committed files of %s\n", base)
	fmt.Fprintf(out, "-- Create the external schema first, e.g.:\n--   CREATE EXTERNAL SCHEMA %s FROM DATA CATALOG DATABASE 'archtics' IAM_ROLE '<role arn>' CREATE EXTERNAL DATABASE IF NOT EXISTS;\n", extSchema)
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return err
		}
		files := st.Files(t.FullName())
		// Group the files by partition, in the order of the partition columns.
		groups := map[string][]txlog.FileEntry{}
		for _, f := range files {
			groups[partitionSpec(t, f.Partition)] = append(groups[partitionSpec(t, f.Partition)], f)
		}
		name := schemas.QuoteIdent(extSchema) + "." + schemas.QuoteIdent(t.SQLSchema()+"__"+t.Name)
		fmt.Fprintf(out, "\n-- %s: %d live files\n", t.SQLName(), len(files))
		fmt.Fprintf(out, "DROP TABLE IF EXISTS %s;\n", name)
		var cols, parts []string
		for _, c := range t.Columns {
			def := fmt.Sprintf("  %s %s", schemas.QuoteIdent(c.Name), spectrumType(c))
			if t.IsPartition(c.Name) {
				parts = append(parts, def)
			} else {
				cols = append(cols, def)
			}
		}
		fmt.Fprintf(out, "CREATE EXTERNAL TABLE %s (\n%s\n)", name, strings.Join(cols, ",\n"))
		if len(parts) > 0 {
			fmt.Fprintf(out, "\nPARTITIONED BY (\n%s\n)", strings.Join(parts, ",\n"))
		}
		specs := make([]string, 0, len(groups))
		for s := range groups {
			specs = append(specs, s)
		}
		sort.Strings(specs)
		if len(parts) == 0 {
			loc, err := putManifest(ctx, dest, t, base, files)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\nSTORED AS PARQUET\nLOCATION %s;\n", schemas.QuoteString(loc))
			continue
		}
		// A partitioned table's own location is never read: every
		// partition is added with its own manifest.
		fmt.Fprintf(out, "\nSTORED AS PARQUET\nLOCATION %s;\n", schemas.QuoteString(strings.TrimSuffix(dest.URL(), "/")+"/"+t.FullName()+"/"))
		for _, s := range specs {
			loc, err := putManifest(ctx, dest, t, base, groups[s])
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "ALTER TABLE %s ADD IF NOT EXISTS PARTITION (%s) LOCATION %s;\n", name, s, schemas.QuoteString(loc))
		}
	}
	return nil
}

// partitionSpec is "col='value', ..." in the table's partition order.
func partitionSpec(t *schemas.Table, p map[string]string) string {
	var s []string
	for _, c := range t.PartitionBy {
		s = append(s, fmt.Sprintf("%s=%s", schemas.QuoteIdent(c), schemas.QuoteString(p[c])))
	}
	return strings.Join(s, ", ")
}

// putManifest stores the manifest of files under dest, named by its
// content's hash, and returns its location.
func putManifest(ctx context.Context, dest storage.Store, t *schemas.Table, base string, files []txlog.FileEntry) (string, error) {
	m := spectrumManifest{Entries: []spectrumEntry{}} // "entries": [] when there are none, not null
	for _, f := range files {
		e := spectrumEntry{URL: base + "/" + f.Key, Mandatory: true}
		e.Meta.ContentLength = f.Bytes
		m.Entries = append(m.Entries, e)
	}
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	key := t.FullName() + "/" + hex.EncodeToString(sum[:8]) + ".manifest"
	if _, err := dest.PutIfAbsent(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil && !errors.Is(err, storage.ErrExists) {
		return "", fmt.Errorf("write the manifest of %s to %s: %w", t.FullName(), dest.URL(), err)
	}
	return strings.TrimSuffix(dest.URL(), "/") + "/" + key, nil
}
