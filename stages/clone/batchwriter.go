package clone

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/rowbuild"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// batchWriters writes the rows of one logical batch to any number of
// tables, text row by text row, each table through a piped Parquet
// encoder: memory is a record batch or two per table, whatever the number
// of rows. Writers open on a table's first row; Close uploads every file
// and returns them for the batch's commit, Abort drops them.
type batchWriters struct {
	ctx     context.Context
	w       *pipeline.Warehouse
	batch   string
	order   []*schemas.Table
	writers map[*schemas.Table]*batchWriter
}

type batchWriter struct {
	tw       *pipeline.TableWriter
	pipe     *pipedWriter
	rb       *rowbuild.Builder
	rows     int64
	required *schemas.Table // the source table whose required columns rb requires
}

func newBatchWriters(ctx context.Context, w *pipeline.Warehouse, batch string) *batchWriters {
	return &batchWriters{ctx: ctx, w: w, batch: batch, writers: map[*schemas.Table]*batchWriter{}}
}

// Append converts fields (t's columns as text, "" NULL) and queues the
// row. A row that does not convert returns a *rowbuild.FieldError and
// nothing is queued, so the caller can reject it and go on.
func (b *batchWriters) Append(t *schemas.Table, fields []string) error {
	_, err := b.append(t, fields, false)
	return err
}

// AppendLossless is Append for rows of source table src: a field that
// does not convert and is neither in t's key nor required in src is
// stored NULL instead of rejecting the row, and a field that is not UTF-8
// is transcoded; the fields so changed are returned (valid until the
// next append) for the caller to record.
func (b *batchWriters) AppendLossless(t, src *schemas.Table, fields []string) ([]rowbuild.Repair, error) {
	bw, err := b.writer(t)
	if err != nil {
		return nil, err
	}
	if bw.required != src {
		bw.rb.RequireAsIn(src)
		bw.required = src
	}
	return b.append(t, fields, true)
}

func (b *batchWriters) append(t *schemas.Table, fields []string, lossless bool) ([]rowbuild.Repair, error) {
	bw, err := b.writer(t)
	if err != nil {
		return nil, err
	}
	bw.rb.Lossless = lossless
	if err := bw.rb.Append(fields); err != nil {
		return nil, err
	}
	bw.rows++
	if bw.rb.Len() >= recordRows {
		return bw.rb.Repairs(), b.flush(t, bw)
	}
	return bw.rb.Repairs(), nil
}

func (b *batchWriters) writer(t *schemas.Table) (*batchWriter, error) {
	if bw := b.writers[t]; bw != nil {
		return bw, nil
	}
	tw, err := pipeline.NewTableWriter(b.w, t, b.batch)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", t.SQLName(), err)
	}
	bw := &batchWriter{tw: tw, pipe: newPipedWriter(b.ctx, tw), rb: rowbuild.New(memory.DefaultAllocator, t)}
	b.writers[t] = bw
	b.order = append(b.order, t)
	return bw, nil
}

// WriteRecord queues a record batch of t's schema, after t's rows
// appended so far (the caller keeps its reference to rec).
func (b *batchWriters) WriteRecord(t *schemas.Table, rec arrow.RecordBatch) error {
	bw, err := b.writer(t)
	if err != nil {
		return err
	}
	if err := b.flush(t, bw); err != nil {
		return err
	}
	bw.rows += rec.NumRows()
	if err := bw.pipe.Write(rec); err != nil {
		if err == errWriterFailed {
			err = bw.pipe.Close()
		}
		return fmt.Errorf("write %s: %w", t.SQLName(), err)
	}
	return nil
}

// Rows is the number of rows queued for t.
func (b *batchWriters) Rows(t *schemas.Table) int64 {
	if bw := b.writers[t]; bw != nil {
		return bw.rows
	}
	return 0
}

func (b *batchWriters) flush(t *schemas.Table, bw *batchWriter) error {
	if bw.rb.Len() == 0 {
		return nil
	}
	rec := bw.rb.NewRecord()
	defer rec.Release()
	if err := bw.pipe.Write(rec); err != nil {
		if err == errWriterFailed {
			err = bw.pipe.Close()
		}
		return fmt.Errorf("write %s: %w", t.SQLName(), err)
	}
	return nil
}

// Close writes what is queued and uploads every table's files, in the
// order the tables got their first row.
func (b *batchWriters) Close() ([]txlog.FileEntry, error) {
	var files []txlog.FileEntry
	for i, t := range b.order {
		bw := b.writers[t]
		err := b.flush(t, bw)
		if cerr := bw.pipe.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s: %w", t.SQLName(), cerr)
		}
		bw.rb.Release()
		bw.rb = nil
		var fs []txlog.FileEntry
		if err == nil {
			fs, err = bw.tw.Close(b.ctx)
		}
		if err != nil {
			bw.tw.Abort()
			for _, rest := range b.order[i+1:] {
				b.abortOne(b.writers[rest])
			}
			b.writers = map[*schemas.Table]*batchWriter{}
			return nil, fmt.Errorf("batch %s: %w", b.batch, err)
		}
		files = append(files, fs...)
	}
	b.writers = map[*schemas.Table]*batchWriter{}
	return files, nil
}

// Abort drops every queued row and written file (safe after Close).
func (b *batchWriters) Abort() {
	for _, t := range b.order {
		if bw := b.writers[t]; bw != nil {
			b.abortOne(bw)
		}
	}
	b.writers = map[*schemas.Table]*batchWriter{}
}

func (b *batchWriters) abortOne(bw *batchWriter) {
	bw.pipe.Close()
	if bw.rb != nil {
		bw.rb.Release()
		bw.rb = nil
	}
	bw.tw.Abort()
}
