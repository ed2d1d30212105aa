package stages

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/schemas"
)

// rejectSink collects rejected rows into archtics_meta.rejects, through the
// same writer (and so the same commit) as the rows that loaded.
type rejectSink struct {
	tw     recordWriter
	rb     *RowBuilder
	batch  string
	team   string
	origin string // "clone": the partition of archtics_meta.rejects its stream owns
}

func newRejectSink(tw recordWriter, batch, team, origin string) *rejectSink {
	return &rejectSink{tw: tw, rb: NewRowBuilder(memory.DefaultAllocator, schemas.Rejects), batch: batch, team: team, origin: origin}
}

// maxRawBytes caps the raw text kept per reject: enough to see and fix the
// row, not a way to smuggle a whole broken file into one cell.
const maxRawBytes = 8192

func (s *rejectSink) add(f DumpFile, line int64, field, reason, raw string) error {
	if len(raw) > maxRawBytes {
		raw = raw[:maxRawBytes]
	}
	if reason == "" {
		reason = "rejected"
	}
	if err := s.rb.Append([]string{f.Table.FullName(), f.Name, strconv.FormatInt(line, 10), field, truncate(reason, 490), raw, s.batch, s.team, s.origin}); err != nil {
		return err
	}
	if s.rb.Len() >= recordRows {
		return s.flush()
	}
	return nil
}

func (s *rejectSink) flush() error {
	if s.rb.Len() == 0 {
		return nil
	}
	rec := s.rb.NewRecord()
	defer rec.Release()
	return s.tw.Write(rec)
}

func (s *rejectSink) release() { s.rb.Release() }
