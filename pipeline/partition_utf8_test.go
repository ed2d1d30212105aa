package pipeline

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/schemas"
)

// rejectsRecord builds n rows of archtics_meta.rejects; raw(i) is row i's
// raw column.
func rejectsRecord(n int, raw func(i int) string) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.Rejects.ArrowSchema())
	defer b.Release()
	for i := 0; i < n; i++ {
		for c, col := range schemas.Rejects.Columns {
			switch col.Name {
			case "line":
				b.Field(c).(*array.Int64Builder).Append(int64(i + 2))
			case "raw":
				b.Field(c).(*array.StringBuilder).Append(raw(i))
			case "team":
				b.Field(c).(*array.StringBuilder).Append("nhl")
			case "origin":
				b.Field(c).(*array.StringBuilder).Append("clone")
			default:
				b.Field(c).(*array.StringBuilder).Append(col.Name + " " + strconv.Itoa(i))
			}
		}
	}
	return b.NewRecordBatch()
}

// The partition writer is the last line of defence: a string that is not
// UTF-8 would make DuckDB fail every later query of the table.
func TestWriterRefusesInvalidUTF8(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	rec := rejectsRecord(10, func(i int) string {
		if i == 7 {
			return "M\xfcller"
		}
		return "Müller"
	})
	defer rec.Release()
	tw, err := NewTableWriter(w, schemas.Rejects, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Abort()
	err = tw.Write(rec)
	for _, want := range []string{"archtics_meta.rejects", "raw", "row 7", "UTF-8"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Write err = %v, want one naming %q", err, want)
		}
	}
}

// BenchmarkUTF8Guard is the guard's cost on a record of 64k rows.
func BenchmarkUTF8Guard(b *testing.B) {
	rec := rejectsRecord(64*1024, func(i int) string {
		return "nhl|100001|1000000|Primary|A|Corporate|Chelmsford Software Group|Jeff||Johnson"
	})
	defer rec.Release()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := checkUTF8(schemas.Rejects, rec); err != nil {
			b.Fatal(err)
		}
	}
}
