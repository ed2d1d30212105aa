package crm

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"archtics/pipeline"
	"archtics/schemas"
)

// rowWriter appends typed values straight to a table's Arrow record
// builder, column by column in the table's order, and hands full records
// to the table writer. It checks what rowbuild.Builder checks of text
// (a required column not empty, a string not wider than its column) but
// skips making text of every value and parsing it back: a first run
// writes a million contact and a million mapping rows. "" and a zero time
// are NULL, as empty text is for rowbuild.Builder.
//
// A full record goes to a goroutine of its own that hands it to the table
// writer (Parquet encoding, most of the work), while the next one is
// built: a first run's contact rows are otherwise the last to finish,
// alone on one core. Only that goroutine uses the table writer.
type rowWriter struct {
	ctx  context.Context
	t    *schemas.Table
	b    *array.RecordBuilder
	col  int   // the next column of the row being appended
	rows int64 // rows appended, for messages
	err  error // the first bad value

	recs   chan arrow.RecordBatch // full records to write
	done   chan error             // the writing goroutine's first error, once recs is closed
	failed atomic.Bool            // the writing goroutine failed: stop building
}

func newRowWriter(ctx context.Context, tw *pipeline.TableWriter) *rowWriter {
	t := tw.Table()
	b := array.NewRecordBuilder(&recycler{}, t.ArrowSchema())
	for i := range t.Columns {
		b.Field(i).Reserve(recordRows)
	}
	w := &rowWriter{ctx: ctx, t: t, b: b, recs: make(chan arrow.RecordBatch, 1), done: make(chan error, 1)}
	go func() {
		var err error
		for rec := range w.recs {
			if err == nil {
				if err = tw.Write(rec); err != nil {
					w.failed.Store(true)
				}
			}
			rec.Release()
		}
		w.done <- err
	}()
	return w
}

// next is the next column, checked to be of type want.
func (w *rowWriter) next(want schemas.Type) (schemas.Column, array.Builder, bool) {
	if w.err != nil {
		return schemas.Column{}, nil, false
	}
	if w.col >= len(w.t.Columns) {
		w.err = fmt.Errorf("%s row %d: more values than the table's %d columns", w.t.SQLName(), w.rows+1, len(w.t.Columns))
		return schemas.Column{}, nil, false
	}
	c := w.t.Columns[w.col]
	if c.Type != want && !(want == schemas.Timestamp && c.Type == schemas.TimestampTZ) {
		w.err = fmt.Errorf("%s row %d column %s: the column is %s, the stage wrote a %s", w.t.SQLName(), w.rows+1, c.Name, c.Type, want)
		return schemas.Column{}, nil, false
	}
	b := w.b.Field(w.col)
	w.col++
	return c, b, true
}

func (w *rowWriter) null(c schemas.Column, b array.Builder) {
	if !c.Nullable {
		w.err = fmt.Errorf("%s row %d column %s: required field is empty", w.t.SQLName(), w.rows+1, c.Name)
		return
	}
	b.AppendNull()
}

// str appends s ("" is NULL).
func (w *rowWriter) str(s string) {
	c, b, ok := w.next(schemas.String)
	switch {
	case !ok:
	case s == "":
		w.null(c, b)
	case c.Width > 0 && len(s) > c.Width:
		w.err = fmt.Errorf("%s row %d column %s: %q is %d bytes, longer than varchar(%d)", w.t.SQLName(), w.rows+1, c.Name, s, len(s), c.Width)
	default:
		b.(*array.StringBuilder).Append(s)
	}
}

// int64 appends n.
func (w *rowWriter) int64(n int64) {
	if _, b, ok := w.next(schemas.Int64); ok {
		b.(*array.Int64Builder).Append(n)
	}
}

// int32 appends n, or NULL when !valid.
func (w *rowWriter) int32(n int32, valid bool) {
	c, b, ok := w.next(schemas.Int32)
	switch {
	case !ok:
	case !valid:
		w.null(c, b)
	default:
		b.(*array.Int32Builder).Append(n)
	}
}

// score appends a similarity; a negative one (not compared) is NULL.
func (w *rowWriter) score(f float64) {
	c, b, ok := w.next(schemas.Float64)
	switch {
	case !ok:
	case f < 0:
		w.null(c, b)
	default:
		b.(*array.Float64Builder).Append(f)
	}
}

// float64 appends f; NaN is NULL.
func (w *rowWriter) float64(f float64) {
	c, b, ok := w.next(schemas.Float64)
	switch {
	case !ok:
	case f != f:
		w.null(c, b)
	default:
		b.(*array.Float64Builder).Append(f)
	}
}

// instant appends t in microseconds; the zero time is NULL.
func (w *rowWriter) instant(t time.Time) {
	c, b, ok := w.next(schemas.Timestamp)
	switch {
	case !ok:
	case t.IsZero():
		w.null(c, b)
	default:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(t.UnixMicro()))
	}
}

// end finishes a row, and writes a record when it has recordRows rows.
func (w *rowWriter) end() error {
	if w.err == nil && w.col != len(w.t.Columns) {
		w.err = fmt.Errorf("%s row %d: %d values for the table's %d columns", w.t.SQLName(), w.rows+1, w.col, len(w.t.Columns))
	}
	if w.err != nil {
		return w.err
	}
	w.col = 0
	w.rows++
	if w.rows%4096 == 0 {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if w.failed.Load() {
			return fmt.Errorf("%s: the table writer failed (finish says why)", w.t.SQLName())
		}
	}
	if w.b.Field(0).Len() >= recordRows {
		return w.flush()
	}
	return nil
}

// flush writes the rows appended so far.
func (w *rowWriter) flush() error {
	if w.b.Field(0).Len() == 0 {
		return nil
	}
	// The next record is about as large as this one: reserve its room
	// now rather than grow every column's buffers by doubling again.
	data := make([]int, len(w.t.Columns))
	for i := range w.t.Columns {
		if sb, ok := w.b.Field(i).(*array.StringBuilder); ok {
			data[i] = sb.DataLen()
		}
	}
	rec := w.b.NewRecordBatch()
	for i, n := range data {
		w.b.Field(i).Reserve(recordRows)
		if n > 0 {
			w.b.Field(i).(*array.StringBuilder).ReserveData(n)
		}
	}
	w.recs <- rec // the writing goroutine releases it
	return nil
}

// finish ends the writing: when err is nil it writes what is left. It
// waits for the writing goroutine, frees the builder and returns the
// first cause of failure: the table writer's, else err, else a bad value.
// Call it once, after an error too.
func (w *rowWriter) finish(err error) error {
	defer w.b.Release()
	if err == nil && w.err == nil {
		err = w.flush()
	}
	close(w.recs)
	if werr := <-w.done; werr != nil {
		return werr // a later error may only follow from it
	}
	if err == nil {
		err = w.err
	}
	return err
}
