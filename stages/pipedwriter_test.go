package stages

import (
	"errors"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/schemas"
)

// failingWriter records the event_id of each batch's first row and
// fails at the failAt-th write (0: never).
type failingWriter struct {
	got    []string
	failAt int
}

func (f *failingWriter) Write(rec arrow.RecordBatch) error {
	if len(f.got)+1 == f.failAt {
		return errors.New("disk full")
	}
	f.got = append(f.got, rec.Column(1).ValueStr(0))
	return nil
}

func TestPipedWriter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failAt  int
		wantErr bool
	}{
		{"all written in order", 0, false},
		{"write error reaches Close", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			fw := &failingWriter{failAt: tc.failAt}
			pw := newPipedWriter(fw)
			rb := NewRowBuilder(mem, schemas.Event)
			defer rb.Release()
			sent := 0
			for i := range 20 {
				row := eventRow(func(r []string) { r[1] = strconv.Itoa(i + 1) })
				if err := rb.Append(row); err != nil {
					t.Fatal(err)
				}
				rec := rb.NewRecord()
				err := pw.Write(rec)
				rec.Release()
				if err != nil {
					if !errors.Is(err, errWriterFailed) {
						t.Fatalf("write %d: %v", i, err)
					}
					break
				}
				sent++
			}
			err := pw.Close()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Close: %v, want error %v", err, tc.wantErr)
			}
			if pw.Close() != err {
				t.Error("a second Close gave another answer")
			}
			if !tc.wantErr {
				if len(fw.got) != 20 {
					t.Fatalf("%d batches written, want 20", len(fw.got))
				}
				for i, v := range fw.got {
					if want := strconv.Itoa(i + 1); v != want {
						t.Errorf("batch %d first value %q", i, v)
					}
				}
			}
		})
	}
}
