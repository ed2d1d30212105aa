package realtime

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/textenc"
	"archtics/schemas"
)

// A tick's records are built column by column straight into Go slices
// that become the Arrow buffers: Arrow's builders grow their buffers a
// value at a time and zero every new part of them, which at a million
// scans costs more than filling them.

// textColumn is a string column being filled, n rows, each set once.
type textColumn struct {
	offsets []int32
	data    []byte
	valid   []byte
	nulls   int
}

// newTextColumn sizes a column of n rows and about size bytes of text.
func newTextColumn(n, size int) *textColumn {
	return &textColumn{offsets: make([]int32, 1, n+1), data: make([]byte, 0, size), valid: make([]byte, bitutil.BytesForBits(int64(n)))}
}

// add appends the next row: NULL when v is empty (the feed's empty
// field); text that is not UTF-8 is read as Windows-1252 (textenc.Valid),
// as the dump loader does, since the partition writer refuses it.
func (c *textColumn) add(v string) { c.addUTF8(textenc.Valid(v)) }

// addUTF8 is add for text known to be UTF-8.
func (c *textColumn) addUTF8(v string) {
	i := len(c.offsets) - 1
	if v == "" {
		c.nulls++
	} else {
		bitutil.SetBit(c.valid, i)
		c.data = append(c.data, v...)
	}
	c.offsets = append(c.offsets, int32(len(c.data)))
}

func (c *textColumn) array() arrow.Array {
	n := len(c.offsets) - 1
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{
		memory.NewBufferBytes(c.valid), memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offsets)), memory.NewBufferBytes(c.data),
	}, nil, c.nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// fixedColumn is a column of fixed-width values (int32, date32,
// timestamps) being filled, n rows.
type fixedColumn[T int32 | int64] struct {
	typ   arrow.DataType
	vals  []T
	valid []byte
	nulls int
}

func newFixedColumn[T int32 | int64](typ arrow.DataType, n int) *fixedColumn[T] {
	return &fixedColumn[T]{typ: typ, vals: make([]T, 0, n), valid: make([]byte, bitutil.BytesForBits(int64(n)))}
}

func (c *fixedColumn[T]) add(v T) {
	bitutil.SetBit(c.valid, len(c.vals))
	c.vals = append(c.vals, v)
}

func (c *fixedColumn[T]) addNull() {
	c.nulls++
	c.vals = append(c.vals, 0)
}

// addOK adds v, or NULL when ok is false.
func (c *fixedColumn[T]) addOK(v T, ok bool) {
	if ok {
		c.add(v)
	} else {
		c.addNull()
	}
}

func (c *fixedColumn[T]) array() arrow.Array {
	var raw []byte
	switch v := any(c.vals).(type) {
	case []int32:
		raw = arrow.Int32Traits.CastToBytes(v)
	case []int64:
		raw = arrow.Int64Traits.CastToBytes(v)
	}
	d := array.NewData(c.typ, len(c.vals), []*memory.Buffer{memory.NewBufferBytes(c.valid), memory.NewBufferBytes(raw)}, nil, c.nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// arrayColumn is any of the columns above.
type arrayColumn interface{ array() arrow.Array }

// recordOf assembles t's record from its columns by name: every column
// of the table, no other.
func recordOf(t *schemas.Table, n int, cols map[string]arrayColumn) (arrow.RecordBatch, error) {
	schema := t.ArrowSchema()
	if len(cols) != len(t.Columns) {
		return nil, fmt.Errorf("%s: %d columns built, the table has %d", t.FullName(), len(cols), len(t.Columns))
	}
	arrs := make([]arrow.Array, len(t.Columns))
	defer func() {
		for _, a := range arrs {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, c := range t.Columns {
		col, ok := cols[c.Name]
		if !ok {
			return nil, fmt.Errorf("%s: column %s not built", t.FullName(), c.Name)
		}
		a := col.array()
		arrs[i] = a
		if !arrow.TypeEqual(a.DataType(), schema.Field(i).Type) || a.Len() != n {
			return nil, fmt.Errorf("%s: column %s built as %s of %d rows, want %s of %d", t.FullName(), c.Name, a.DataType(), a.Len(), schema.Field(i).Type, n)
		}
	}
	return array.NewRecordBatch(schema, arrs, int64(n)), nil
}
