package clone

import (
	"encoding/hex"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/rowbuild"
	"archtics/internal/textenc"
	"archtics/schemas"
)

// metaSink collects rows of an archtics_meta table (rejects, repairs)
// through the same writer, and so the same commit, as the rows loaded.
type metaSink struct {
	tw     recordWriter
	rb     *rowbuild.Builder
	batch  string
	team   string
	origin string // "clone" or "realtime": the partition its stream owns
}

func newMetaSink(tw recordWriter, t *schemas.Table, batch, team, origin string) metaSink {
	return metaSink{tw: tw, rb: rowbuild.New(memory.DefaultAllocator, t), batch: batch, team: team, origin: origin}
}

func (s *metaSink) append(row []string) error {
	if err := s.rb.Append(row); err != nil {
		return err
	}
	if s.rb.Len() >= recordRows {
		return s.flush()
	}
	return nil
}

func (s *metaSink) flush() error {
	if s.rb.Len() == 0 {
		return nil
	}
	rec := s.rb.NewRecord()
	defer rec.Release()
	return s.tw.Write(rec)
}

func (s *metaSink) release() { s.rb.Release() }

// rejectSink collects rejected rows into archtics_meta.rejects.
type rejectSink struct{ metaSink }

func newRejectSink(tw recordWriter, batch, team, origin string) *rejectSink {
	return &rejectSink{newMetaSink(tw, schemas.Rejects, batch, team, origin)}
}

// maxRawBytes caps the raw text kept per reject or repair: enough to see
// and fix the row, not a way to smuggle a whole broken file into one cell.
const maxRawBytes = 8192

// safeRaw is raw input as text that is valid UTF-8 whatever it held
// (bytes that are not UTF-8 written \xNN), capped at maxRawBytes.
func safeRaw(raw string) string {
	if len(raw) > maxRawBytes {
		raw = raw[:maxRawBytes]
	}
	return textenc.Truncate(textenc.Escape(raw), 2*maxRawBytes)
}

func (s *rejectSink) add(f DumpFile, line int64, field, reason, raw string) error {
	if reason == "" {
		reason = "rejected"
	}
	return s.append([]string{f.Table.FullName(), textenc.Escape(f.Name), strconv.FormatInt(line, 10), field,
		truncate(textenc.Escape(reason), 490), safeRaw(raw), s.batch, s.team, s.origin})
}

// repairSink collects repaired fields into archtics_meta.repairs.
type repairSink struct{ metaSink }

func newRepairSink(tw recordWriter, batch, team, origin string) *repairSink {
	return &repairSink{newMetaSink(tw, schemas.Repairs, batch, team, origin)}
}

func (s *repairSink) add(f DumpFile, line int64, r rowbuild.Repair) error {
	raw, rawHex := r.Raw, ""
	if !utf8.ValidString(raw) {
		b := raw
		if len(b) > maxRawBytes {
			b = b[:maxRawBytes]
		}
		rawHex = hex.EncodeToString([]byte(b))
	}
	repaired := r.Repaired
	if r.Null {
		repaired = ""
	}
	return s.append([]string{f.Table.FullName(), textenc.Escape(f.Name), strconv.FormatInt(line, 10), r.Column,
		truncate(textenc.Escape(r.Reason), 490), safeRaw(raw), rawHex, textenc.Truncate(repaired, 65535), s.batch, s.team, s.origin})
}

// truncate cuts s to about n bytes for a stored reason, never inside a
// UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return textenc.Truncate(s, n) + "..."
}
