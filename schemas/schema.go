// Package schemas is the single source of truth for every table the product
// reads or writes: the Archtics source tables as the dump and change API carry
// them, and the warehouse tables and views analysts query.
//
// One Table definition yields the Arrow schema the writers use, the Parquet
// layout (Hive partition columns, time columns recorded in commits), the
// object-store location of the table, the DuckDB DDL of its view, and a
// fingerprint recorded in every commit so a reader can tell which definition
// wrote a file.
package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Type is a column's logical type. Each maps to one Arrow type, one Parquet
// physical/logical type (through pqarrow) and one DuckDB type.
type Type int

const (
	String      Type = iota + 1 // varchar(n); Arrow utf8
	Int32                       // int4
	Int64                       // int8
	Float64                     // double precision
	Decimal                     // numeric(18,2): money; Arrow decimal128(18,2)
	Date                        // date; Arrow date32
	Timestamp                   // timestamp without time zone, microseconds
	Bool                        // boolean
	TimestampTZ                 // timestamp with time zone: an instant, microseconds, UTC
)

// String returns the SQL spelling of the type, as DuckDB and Redshift take it.
func (t Type) String() string {
	switch t {
	case String:
		return "VARCHAR"
	case Int32:
		return "INTEGER"
	case Int64:
		return "BIGINT"
	case Float64:
		return "DOUBLE"
	case Decimal:
		return "DECIMAL(18,2)"
	case Date:
		return "DATE"
	case Timestamp:
		return "TIMESTAMP"
	case Bool:
		return "BOOLEAN"
	case TimestampTZ:
		return "TIMESTAMPTZ"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Arrow returns the Arrow data type of the column type.
func (t Type) Arrow() arrow.DataType {
	switch t {
	case String:
		return arrow.BinaryTypes.String
	case Int32:
		return arrow.PrimitiveTypes.Int32
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Float64:
		return arrow.PrimitiveTypes.Float64
	case Decimal:
		return &arrow.Decimal128Type{Precision: 18, Scale: 2}
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case TimestampTZ:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
	panic(fmt.Sprintf("schemas: unknown type %d", int(t)))
}

// Column is one column of a table.
type Column struct {
	Name     string
	Type     Type
	Width    int  // declared varchar width in the source documents, 0 if none
	Nullable bool // false: a row without a value is rejected on load
	Doc      string
	// NoDictionary marks a text column whose values are nearly all
	// different within a file (an e-mail address, a time of day): the
	// Parquet writer stores it without a dictionary, which would hash and
	// copy every value only to fall back to plain encoding.
	NoDictionary bool
}

// Table is one table's definition.
type Table struct {
	// Schema and Name are the table's identity: its folder (Prefix), the
	// name commits and the cache record its files under (FullName).
	Schema string // warehouse schema: "archtics", "archtics_rtx", ...
	Name   string // table name as in the source documents
	// ViewSchema, when set, is the SQL schema the table's view lives in
	// instead of Schema (SQLName): the dump's tables keep their storage
	// under archtics/ but are served as archtics_dump.*, because
	// archtics.* is the current state over the dump and the changes.
	ViewSchema string
	// ViewSQL, when set, makes the table a view only: no files, no owner;
	// its view is this SELECT over the views of DependsOn.
	ViewSQL string
	// MacroParams, when set with ViewSQL, makes the table a DuckDB table
	// macro instead of a view: SQLName(params...) returns ViewSQL's rows,
	// which refers to the parameters by these names; Columns are its
	// result's. It is created where the views are (ViewDDL).
	MacroParams []string
	Doc         string
	Columns     []Column
	// Key lists the columns that identify a row (the primary key in
	// Archtics); the merge stage keeps the newest version per key.
	Key []string
	// PartitionBy lists Hive partition columns, outermost first. They are
	// columns of the table, stored in the path (col=value/) and, last, in
	// the file (FileSchema).
	PartitionBy []string
	// TimeColumns are the columns whose min/max each commit records per
	// file, so readers can prune files by time without opening them.
	TimeColumns []string
	// UpdatedAt names the column carrying the source's update time, which
	// drives "changes since" pulls and the merge order.
	UpdatedAt string
	// Owner is the template of the commit stream that owns each partition
	// of the table: slash-separated segments, each a literal or a
	// {partition_column} placeholder ("{team}/clone"). Exactly one stream
	// may add or retire files in a partition (see owner.go).
	Owner string
	// NoDeletes marks a source table whose rows the source never deletes
	// (Archtics' attendance: a scan, once posted, stays): the clone's key
	// sweep, which pages every key to find deletions, skips it. Account
	// merges still move its account references.
	NoDeletes bool
	// Bloom lists the columns whose Parquet files carry a Bloom filter per
	// row group: the columns users look one value up by (the seed asks for
	// a fan by email), whose values no row group's min and max can rule
	// out. DuckDB skips a row group whose filter lacks the value.
	Bloom []string
	// DependsOn lists the other tables this table's view reads besides
	// its own files, by the names SQL gives them (SQLName). A reader that materializes the table
	// materializes these first (and theirs, transitively). Empty today:
	// every view reads only its own files; views over several tables
	// (realtime attendance joined with events, say) declare them here.
	DependsOn []string
}

// FullName is "schema.table".
func (t *Table) FullName() string { return t.Schema + "." + t.Name }

// SQLName is "schema.table" as SQL names the table's view: FullName
// unless ViewSchema moves the view to another schema.
func (t *Table) SQLName() string { return t.SQLSchema() + "." + t.Name }

// SQLSchema is the schema of the table's view.
func (t *Table) SQLSchema() string {
	if t.ViewSchema != "" {
		return t.ViewSchema
	}
	return t.Schema
}

// Prefix is the object-store folder of the table: "<schema>/<table>/". It is
// the only place a table's location is defined.
func (t *Table) Prefix() string { return t.Schema + "/" + t.Name + "/" }

// Column returns the named column.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// ColumnIndex returns the position of the named column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// IsPartition reports whether name is a partition column.
func (t *Table) IsPartition(name string) bool {
	for _, p := range t.PartitionBy {
		if p == name {
			return true
		}
	}
	return false
}

// ArrowSchema is the schema of the table's rows as a whole, partition
// columns included, in declared order.
func (t *Table) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: c.Nullable}
	}
	return arrow.NewSchema(fields, nil)
}

// FileSchema is the schema of the Parquet files: every column but the
// partition columns in declared order, then the partition columns. The
// partition values are in the Hive path too, for DuckDB and Hive readers
// (DuckDB takes the path's value); they are in the file as well because
// readers that read only the files (Iceberg readers that ignore the
// manifests' partition tuples, a single file opened alone) would see none.
// They come last so a reader mapping columns by position over the
// non-partition columns (Redshift Spectrum's partitioned tables) still
// finds them where it did. Files written before the partition columns
// were stored lack them; readers take the path's value for those.
func (t *Table) FileSchema() *arrow.Schema {
	fields := make([]arrow.Field, 0, len(t.Columns))
	for _, i := range t.FileColumnOrder() {
		c := t.Columns[i]
		fields = append(fields, arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: c.Nullable})
	}
	return arrow.NewSchema(fields, nil)
}

// FileColumnOrder is the position in Columns of each column of
// FileSchema, in file order.
func (t *Table) FileColumnOrder() []int {
	order := make([]int, 0, len(t.Columns))
	for i, c := range t.Columns {
		if !t.IsPartition(c.Name) {
			order = append(order, i)
		}
	}
	for _, p := range t.PartitionBy {
		order = append(order, t.ColumnIndex(p))
	}
	return order
}

// Fingerprint is a SHA-256 over the canonical definition (names, types,
// widths, nullability, key, partitioning). Commits record it; a change in a
// table's shape changes its fingerprint.
func (t *Table) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s.%s\n", t.Schema, t.Name)
	for _, c := range t.Columns {
		fmt.Fprintf(h, "%s %s %d %t\n", c.Name, c.Type, c.Width, c.Nullable)
	}
	fmt.Fprintf(h, "key %s\npartition %s\ntime %s\nupd %s\n",
		strings.Join(t.Key, ","), strings.Join(t.PartitionBy, ","),
		strings.Join(t.TimeColumns, ","), t.UpdatedAt)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Validate checks the definition is self-consistent.
func (t *Table) Validate() error {
	if t.Schema == "" || t.Name == "" {
		return fmt.Errorf("schemas: table without schema or name")
	}
	seen := map[string]bool{}
	for _, c := range t.Columns {
		if c.Name == "" || c.Type == 0 {
			return fmt.Errorf("schemas: %s: column without name or type", t.FullName())
		}
		if seen[c.Name] {
			return fmt.Errorf("schemas: %s: column %s declared twice", t.FullName(), c.Name)
		}
		seen[c.Name] = true
	}
	for _, group := range [][]string{t.Key, t.PartitionBy, t.TimeColumns, t.Bloom} {
		for _, n := range group {
			if !seen[n] {
				return fmt.Errorf("schemas: %s: %q is not a column", t.FullName(), n)
			}
		}
	}
	if t.UpdatedAt != "" && !seen[t.UpdatedAt] {
		return fmt.Errorf("schemas: %s: updated-at column %q is not a column", t.FullName(), t.UpdatedAt)
	}
	if len(t.MacroParams) > 0 && t.ViewSQL == "" {
		return fmt.Errorf("schemas: %s: a table macro (MacroParams) needs its SELECT in ViewSQL", t.FullName())
	}
	if t.ViewSQL != "" && (t.Owner != "" || len(t.PartitionBy) > 0) {
		return fmt.Errorf("schemas: %s: a view-only table (ViewSQL) has no owner and no partitions: it stores nothing", t.FullName())
	}
	if err := t.validateOwner(); err != nil {
		return err
	}
	for _, d := range t.DependsOn {
		if d == t.SQLName() || strings.Count(d, ".") != 1 {
			return fmt.Errorf("schemas: %s: dependency %q must name another table as schema.table", t.FullName(), d)
		}
	}
	for _, p := range t.PartitionBy {
		c, _ := t.Column(p)
		if c.Type != String && c.Type != Int32 && c.Type != Int64 && c.Type != Date {
			return fmt.Errorf("schemas: %s: partition column %s must be a string, integer or date", t.FullName(), p)
		}
	}
	return nil
}
