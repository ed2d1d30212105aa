package realtime

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// A feed field that is not UTF-8 (a gate named in Latin-1) is stored
// read as Windows-1252: the partition writer refuses invalid text, and
// the tick must not fail on it. An empty field is NULL.
func TestTextColumnRepairsText(t *testing.T) {
	in := []string{"G\xe4ste Nord", "", "Gäste Süd", "\x80"}
	c := newTextColumn(len(in), 0)
	for _, v := range in {
		c.add(v)
	}
	a := c.array().(*array.String)
	defer a.Release()
	want := []string{"Gäste Nord", "", "Gäste Süd", "€"}
	if a.Len() != len(want) || a.NullN() != 1 {
		t.Fatalf("%d values, %d NULL; want %d, 1", a.Len(), a.NullN(), len(want))
	}
	for i, w := range want {
		if w == "" {
			if !a.IsNull(i) {
				t.Errorf("value %d = %q, want NULL", i, a.Value(i))
			}
			continue
		}
		if !a.IsValid(i) || a.Value(i) != w {
			t.Errorf("value %d = %q, want %q", i, a.Value(i), w)
		}
	}
}

// A fixed-width column keeps its values and NULLs in order, in the
// Arrow type it was given.
func TestFixedColumn(t *testing.T) {
	c := newFixedColumn[int64](&arrow.TimestampType{Unit: arrow.Microsecond}, 3)
	c.add(-5)
	c.addOK(0, false)
	c.addOK(1<<40, true)
	a := c.array().(*array.Timestamp)
	defer a.Release()
	if a.Len() != 3 || a.NullN() != 1 || a.Value(0) != -5 || !a.IsNull(1) || a.Value(2) != 1<<40 {
		t.Fatalf("got %v (%d NULL)", a, a.NullN())
	}
}
