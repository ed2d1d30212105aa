package schemas

import (
	"fmt"
	"strings"
)

// QuoteIdent quotes an SQL identifier for DuckDB.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteString quotes an SQL string literal.
func QuoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ReadParquetSQL is the DuckDB table function call that reads the given
// local Parquet files of t with Hive partitioning, typing the partition
// columns as the definition says. Columns come out in declared order.
func (t *Table) ReadParquetSQL(files []string) string {
	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, c := range t.Columns {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(QuoteIdent(c.Name))
	}
	sb.WriteString(" FROM ")
	sb.WriteString(t.readParquetCall(files, ""))
	return sb.String()
}

// readParquetCall is the read_parquet call over files with t's Hive
// partition columns typed as the definition says, and more options.
func (t *Table) readParquetCall(files []string, options string) string {
	var sb strings.Builder
	sb.WriteString("read_parquet([")
	for i, f := range files {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(QuoteString(f))
	}
	sb.WriteString("], hive_partitioning = true")
	if len(t.PartitionBy) > 0 {
		sb.WriteString(", hive_types = {")
		for i, p := range t.PartitionBy {
			c, _ := t.Column(p)
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "%s: %s", QuoteString(p), c.Type)
		}
		sb.WriteString("}")
	}
	sb.WriteString(options)
	sb.WriteString(")")
	return sb.String()
}

// EmptySQL selects no rows with the table's columns and types, for a view
// over a table that has no committed file yet.
func (t *Table) EmptySQL() string {
	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, c := range t.Columns {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "CAST(NULL AS %s) AS %s", c.Type, QuoteIdent(c.Name))
	}
	sb.WriteString(" WHERE false")
	return sb.String()
}

// ViewDDL creates the schema and a view named after the table (SQLName)
// over the given committed files, or over ViewSQL for a view-only table (local paths from the verified cache);
// for a table macro (MacroParams), the macro instead.
func (t *Table) ViewDDL(files []string) string {
	if len(t.MacroParams) > 0 {
		params := make([]string, len(t.MacroParams))
		for i, p := range t.MacroParams {
			params[i] = QuoteIdent(p)
		}
		return fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s;\nCREATE OR REPLACE MACRO %s.%s(%s) AS TABLE %s;",
			QuoteIdent(t.SQLSchema()), QuoteIdent(t.SQLSchema()), QuoteIdent(t.Name), strings.Join(params, ", "), t.ViewSQL)
	}
	body := t.EmptySQL()
	switch {
	case t.ViewSQL != "":
		body = t.ViewSQL
	case len(files) > 0:
		body = t.ReadParquetSQL(files)
	}
	return fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s;\nCREATE OR REPLACE VIEW %s.%s AS %s;",
		QuoteIdent(t.SQLSchema()), QuoteIdent(t.SQLSchema()), QuoteIdent(t.Name), body)
}
