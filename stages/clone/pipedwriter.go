package clone

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
)

// recordWriter is where a stage sends its record batches; a
// *pipeline.TableWriter is one. The caller keeps its reference to rec:
// a writer that holds on to it retains it.
type recordWriter interface {
	Write(rec arrow.RecordBatch) error
}

// errWriterFailed stops a producer early; Close returns the real error.
var errWriterFailed = errors.New("table writer failed")

// pipedWriter hands record batches to a goroutine that encodes them, so
// parsing the next batch overlaps with Parquet-encoding this one. One
// goroutine, one channel: batches reach the table writer in the order they
// were sent, so the files are byte for byte those of a serial write. At
// most two batches are in flight, which bounds the memory. Once ctx ends,
// Write stops waiting and the batches still queued are dropped unwritten:
// a stopped load is abandoned, not finished.
type pipedWriter struct {
	ctx    context.Context
	recs   chan pipedBatch
	done   chan struct{}
	err    error       // the first write error; read after done is closed
	failed atomic.Bool // set once err is; lets Write stop a producer early
	once   sync.Once
}

// pipedBatch is a batch queued, and what its write error is prefixed
// with ("" nothing).
type pipedBatch struct {
	rec  arrow.RecordBatch
	from string
}

func newPipedWriter(ctx context.Context, w recordWriter) *pipedWriter {
	p := &pipedWriter{ctx: ctx, recs: make(chan pipedBatch, 1), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for b := range p.recs {
			if p.err == nil {
				err := ctx.Err()
				if err == nil {
					err = w.Write(b.rec)
				}
				if err != nil {
					if b.from != "" {
						err = fmt.Errorf("%s: %w", b.from, err)
					}
					p.err = err
					p.failed.Store(true)
				}
			}
			b.rec.Release()
		}
	}()
	return p
}

// Write queues rec (retained until written). After a failed write it
// returns errWriterFailed; Close then returns the cause. When ctx ends it
// returns ctx's error rather than wait for the encoder.
func (p *pipedWriter) Write(rec arrow.RecordBatch) error { return p.write(rec, "") }

// From is a writer queueing to p whose batches, should one fail to
// write, name the error after from (a file and table: a pipe may outlive
// the producer of its batches, and its error must still say whose they
// were).
func (p *pipedWriter) From(from string) recordWriter { return pipedFrom{p, from} }

type pipedFrom struct {
	p    *pipedWriter
	from string
}

func (f pipedFrom) Write(rec arrow.RecordBatch) error { return f.p.write(rec, f.from) }

func (p *pipedWriter) write(rec arrow.RecordBatch, from string) error {
	// The context first: once it has ended, the encoder may also have
	// failed with its error, and the caller must hear why it stopped.
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if p.failed.Load() {
		return errWriterFailed
	}
	rec.Retain()
	select {
	case p.recs <- pipedBatch{rec, from}:
		return nil
	case <-p.ctx.Done():
		rec.Release()
		return p.ctx.Err()
	}
}

// Close waits for every batch sent to be written and returns the first
// error. It is safe to call more than once.
func (p *pipedWriter) Close() error {
	p.once.Do(func() { close(p.recs) })
	<-p.done
	return p.err
}
