package schemas

// Repairs is archtics_meta.repairs: every field a stage changed to keep
// its row: a value that was not UTF-8 (transcoded from Windows-1252) or
// that did not convert in a column that may be NULL (written NULL). The
// row is loaded; this says what it held. Partitioned and owned like
// archtics_meta.rejects.
var Repairs = &Table{
	Schema: "archtics_meta", Name: "repairs",
	Doc: "Fields a stage repaired to keep their row: the raw value, what was written instead, and why.",
	Columns: []Column{
		req(str("target_table", 100, "schema.table the row was loaded into")),
		req(str("source", 500, "file or API call the row came from")),
		req(col("line", Int64, "1-based line in the source file (for API rows, the row's position in the pull)")),
		req(str("field", 100, "column repaired")),
		req(str("reason", 500, "why the value could not be stored as received")),
		str("raw", 65535, "the value as received, each byte that is not UTF-8 written \\xNN"),
		str("raw_hex", 16384, "the value's bytes in hex when they were not UTF-8 (the first 8 KiB)"),
		str("repaired", 65535, "the value stored; NULL when the field was stored NULL"),
		req(str("batch_id", 200, "logical batch that read the row")),
		teamColumn,
		req(str("origin", 20, "the kind of stream that read the row: clone (dump and change pulls) or realtime")),
	},
	PartitionBy: []string{"team", "origin"},
	Owner:       "{team}/{origin}",
}
