package realtime

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A feed field that is not UTF-8 (a gate named in Latin-1) is stored
// read as Windows-1252: the partition writer refuses invalid text, and
// the tick must not fail on it.
func TestAppendStrRepairsText(t *testing.T) {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for _, v := range []string{"G\xe4ste Nord", "", "Gäste Süd", "\x80"} {
		appendStr(b, v)
	}
	a := b.NewStringArray()
	defer a.Release()
	want := []string{"Gäste Nord", "", "Gäste Süd", "€"}
	for i, w := range want {
		if w == "" {
			if !a.IsNull(i) {
				t.Errorf("value %d = %q, want NULL", i, a.Value(i))
			}
			continue
		}
		if a.Value(i) != w {
			t.Errorf("value %d = %q, want %q", i, a.Value(i), w)
		}
	}
}
