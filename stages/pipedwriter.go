package stages

import (
	"errors"
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
// most two batches are in flight, which bounds the memory.
type pipedWriter struct {
	recs   chan arrow.RecordBatch
	done   chan struct{}
	err    error       // the first write error; read after done is closed
	failed atomic.Bool // set once err is; lets Write stop a producer early
	once   sync.Once
}

func newPipedWriter(w recordWriter) *pipedWriter {
	p := &pipedWriter{recs: make(chan arrow.RecordBatch, 1), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for rec := range p.recs {
			if p.err == nil {
				if err := w.Write(rec); err != nil {
					p.err = err
					p.failed.Store(true)
				}
			}
			rec.Release()
		}
	}()
	return p
}

// Write queues rec (retained until written). After a failed write it
// returns errWriterFailed; Close then returns the cause.
func (p *pipedWriter) Write(rec arrow.RecordBatch) error {
	if p.failed.Load() {
		return errWriterFailed
	}
	rec.Retain()
	p.recs <- rec
	return nil
}

// Close waits for every batch sent to be written and returns the first
// error. It is safe to call more than once.
func (p *pipedWriter) Close() error {
	p.once.Do(func() { close(p.recs) })
	<-p.done
	return p.err
}
