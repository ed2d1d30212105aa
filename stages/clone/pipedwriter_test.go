package clone

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/rowbuild"
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
			pw := newPipedWriter(context.Background(), fw)
			rb := rowbuild.New(mem, schemas.Event)
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

// blockingWriter holds every write until release is closed.
type blockingWriter struct{ release chan struct{} }

func (b *blockingWriter) Write(arrow.RecordBatch) error {
	<-b.release
	return nil
}

// TestPipedWriterStopsOnCancel: with the encoder stuck on a batch, a
// Write after the context ends returns the context's error instead of
// waiting, and Close reports it, the queued batch dropped unwritten.
func TestPipedWriterStopsOnCancel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	bw := &blockingWriter{release: make(chan struct{})}
	pw := newPipedWriter(ctx, bw)
	rb := rowbuild.New(mem, schemas.Event)
	defer rb.Release()
	send := func() error {
		if err := rb.Append(eventRow(nil)); err != nil {
			t.Fatal(err)
		}
		rec := rb.NewRecord()
		defer rec.Release()
		return pw.Write(rec)
	}
	// One batch in the encoder, one in the queue: the third would wait.
	for i := range 2 {
		if err := send(); err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
	}
	cancel()
	if err := send(); !errors.Is(err, context.Canceled) {
		t.Fatalf("write after cancel: %v, want context.Canceled", err)
	}
	close(bw.release)
	if err := pw.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close after cancel: %v, want context.Canceled", err)
	}
}
