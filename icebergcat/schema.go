package icebergcat

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"

	"archtics/schemas"
)

// icebergType maps a column type to its Iceberg type. Every field is
// optional: our Parquet columns are written nullable, and an engine
// checking a required field against an optional column would refuse it.
func icebergType(t schemas.Type) (iceberg.Type, error) {
	switch t {
	case schemas.String:
		return iceberg.PrimitiveTypes.String, nil
	case schemas.Int32:
		return iceberg.PrimitiveTypes.Int32, nil
	case schemas.Int64:
		return iceberg.PrimitiveTypes.Int64, nil
	case schemas.Float64:
		return iceberg.PrimitiveTypes.Float64, nil
	case schemas.Decimal:
		return iceberg.DecimalTypeOf(18, 2), nil
	case schemas.Date:
		return iceberg.PrimitiveTypes.Date, nil
	case schemas.Timestamp:
		return iceberg.PrimitiveTypes.Timestamp, nil
	case schemas.Bool:
		return iceberg.PrimitiveTypes.Bool, nil
	case schemas.TimestampTZ:
		return iceberg.PrimitiveTypes.TimestampTz, nil
	}
	return nil, fmt.Errorf("column type %v has no Iceberg type: add it to icebergcat.icebergType", t)
}

// tableSchema is t's Iceberg schema (field ids 1..n in column order, the
// partition columns included) and its identity partition spec over the
// Hive partition columns. Each data file's partition tuple holds the
// values of its Hive path; the files hold them too (schemas.Table.FileSchema),
// but for files written before they did, whose readers take the tuple's.
func tableSchema(t *schemas.Table) (*iceberg.Schema, *iceberg.PartitionSpec, error) {
	fields := make([]iceberg.NestedField, 0, len(t.Columns))
	ids := map[string]int{}
	for i, c := range t.Columns {
		typ, err := icebergType(c.Type)
		if err != nil {
			return nil, nil, fmt.Errorf("iceberg schema of %s column %s: %w", t.FullName(), c.Name, err)
		}
		fields = append(fields, iceberg.NestedField{ID: i + 1, Name: c.Name, Type: typ, Required: false, Doc: c.Doc})
		ids[c.Name] = i + 1
	}
	sc := iceberg.NewSchema(0, fields...)
	var opts []iceberg.PartitionOption
	for i, p := range partitionBy(t) {
		fieldID := 1000 + i
		opts = append(opts, iceberg.AddPartitionFieldBySourceID(ids[p], p, iceberg.IdentityTransform{}, sc, &fieldID))
	}
	spec, err := iceberg.NewPartitionSpecOpts(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg partition spec of %s: %w", t.FullName(), err)
	}
	return sc, &spec, nil
}

// partitionBy is the partition columns of t's Iceberg table: t's own, or,
// for the current state of a source table (a view), those of the stored
// tables it is folded from, whose files it lists.
func partitionBy(t *schemas.Table) []string {
	if src, ok := schemas.CurrentOf(t); ok {
		return src.PartitionBy
	}
	return t.PartitionBy
}

// extraFieldID is the first id of the file columns a table's schema does
// not have (nameMapping).
const extraFieldID = 10000

// nameMapping is the schema.name-mapping.default property: our Parquet
// files carry no field ids, so readers resolve columns by name.
// A current-state table's files are those of the stored tables it is
// folded from, which hold more columns than it (the change and fold
// columns: _op, _updated_at, ...): they are mapped too, to ids no schema
// field has, so that readers that want every file column mapped (iceberg-go)
// read the files, and every reader leaves those columns out.
func nameMapping(t *schemas.Table, sc *iceberg.Schema) (string, error) {
	nm := sc.NameMapping()
	if src, ok := schemas.CurrentOf(t); ok {
		seen := map[string]bool{}
		for _, c := range t.Columns {
			seen[c.Name] = true
		}
		for _, part := range schemas.CurrentParts(src) {
			for _, c := range part.Columns {
				if seen[c.Name] {
					continue
				}
				seen[c.Name] = true
				id := extraFieldID + len(nm)
				nm = append(nm, iceberg.MappedField{Names: []string{c.Name}, FieldID: &id})
			}
		}
	}
	data, err := json.Marshal(nm)
	if err != nil {
		return "", err
	}
	return string(data), nil
}

// partitionValue converts a partition value as committed (the Hive path's
// text) to the Go value iceberg-go stores for the column's type.
func partitionValue(t *schemas.Table, col, text string) (any, error) {
	c, ok := t.Column(col)
	if !ok {
		return nil, fmt.Errorf("partition column %s is not a column of %s", col, t.FullName())
	}
	switch c.Type {
	case schemas.String:
		return text, nil
	case schemas.Int32:
		n, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("partition %s=%q of %s: %w", col, text, t.FullName(), err)
		}
		return int32(n), nil
	case schemas.Int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("partition %s=%q of %s: %w", col, text, t.FullName(), err)
		}
		return n, nil
	case schemas.Date:
		d, err := time.Parse(time.DateOnly, text)
		if err != nil {
			return nil, fmt.Errorf("partition %s=%q of %s: %w", col, text, t.FullName(), err)
		}
		return iceberg.Date(d.Unix() / 86400), nil
	}
	return nil, fmt.Errorf("partition column %s of %s has type %v, which is not a string, integer or date", col, t.FullName(), c.Type)
}
