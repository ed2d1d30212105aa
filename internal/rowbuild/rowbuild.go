// Package rowbuild turns text rows (fields in a schemas.Table's column
// order, as a dump, a change page or a truth file gives them) into Arrow
// record batches of that table's schema, converting, checking and, when
// asked, repairing each field. The clone's stages, the CRM stage, the
// realtime criteria and the simulator's truth files all build their
// records with it, so a value reads the same way everywhere.
package rowbuild

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/textenc"
	"archtics/schemas"
)

// FieldError says which field of a row could not be converted and why.
// Callers add the file and line.
type FieldError struct {
	Column string
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Column == "" {
		return e.Reason
	}
	return fmt.Sprintf("field %s %q: %s", e.Column, truncate(e.Value, 60), e.Reason)
}

// truncate cuts s to about n bytes for a message, never inside a UTF-8
// sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return textenc.Truncate(s, n) + "..."
}

// Repair is a field a Builder changed to keep its row: a value that
// was not UTF-8 (transcoded from Windows-1252), or one that did not
// convert in a column that may be NULL (stored NULL, in lossless mode).
type Repair struct {
	Column   string
	Raw      string // the value as received
	Repaired string // the value stored; "" when Null
	Null     bool
	Reason   string
}

// value is one parsed field, held until the whole row has parsed so that a
// bad field rejects the row without leaving half of it in the builders.
type value struct {
	null bool
	s    string
	i    int64
	f    float64
}

// Builder turns text rows (fields in a table's column order, "" = NULL)
// into Arrow record batches of the table's full schema.
//
// No string it builds is invalid UTF-8: such a field is transcoded from
// Windows-1252 and listed in Repairs. With Lossless set, a field that
// does not convert and is neither part of the key nor required is
// stored NULL and listed in Repairs, instead of rejecting the row.
type Builder struct {
	table   *schemas.Table
	builder *array.RecordBuilder
	parsed  []value
	inKey   []bool // part of the key, or required in the source table (RequireAsIn): never stored NULL
	keyCols []int
	repairs []Repair
	// Lossless keeps a row whose optional fields do not convert.
	Lossless bool
}

// New returns a builder for rows of t.
func New(mem memory.Allocator, t *schemas.Table) *Builder {
	rb := &Builder{
		table:   t,
		builder: array.NewRecordBuilder(mem, t.ArrowSchema()),
		parsed:  make([]value, len(t.Columns)),
		inKey:   make([]bool, len(t.Columns)),
	}
	for _, k := range t.Key {
		if i := t.ColumnIndex(k); i >= 0 {
			rb.inKey[i] = true
			rb.keyCols = append(rb.keyCols, i)
		}
	}
	return rb
}

// RequireAsIn makes the columns src requires required here too, for
// lossless mode: a change table takes NULLs in every column but the key
// (a tombstone is a key alone), yet a version whose required field does
// not convert is rejected, not stored with it NULL.
func (rb *Builder) RequireAsIn(src *schemas.Table) {
	for _, c := range src.Columns {
		if i := rb.table.ColumnIndex(c.Name); i >= 0 && !c.Nullable {
			rb.inKey[i] = true
		}
	}
}

// Repairs are the fields the last Append changed (valid until the next).
func (rb *Builder) Repairs() []Repair { return rb.repairs }

// Len is the number of rows appended since the last NewRecord.
func (rb *Builder) Len() int { return rb.builder.Field(0).Len() }

// NewRecord returns the rows appended so far and resets the builder.
func (rb *Builder) NewRecord() arrow.RecordBatch { return rb.builder.NewRecordBatch() }

// Release frees the builder.
func (rb *Builder) Release() { rb.builder.Release() }

// Append converts fields and appends them as one row. On a bad field it
// returns a *FieldError and appends nothing.
func (rb *Builder) Append(fields []string) error {
	if err := rb.Parse(fields); err != nil {
		return err
	}
	rb.AppendParsed()
	return nil
}

// Parse converts fields and lists their Repairs without appending them:
// the caller may still drop the row, or keep it with AppendParsed. On a
// bad field it returns a *FieldError.
func (rb *Builder) Parse(fields []string) error {
	cols := rb.table.Columns
	rb.repairs = rb.repairs[:0]
	if len(fields) != len(cols) {
		return &FieldError{Reason: fmt.Sprintf("has %d fields, want %d (%s)", len(fields), len(cols), rb.table.FullName())}
	}
	for i, c := range cols {
		s := fields[i]
		if c.Type == schemas.String && !utf8.ValidString(s) {
			fixed, _ := textenc.Repair(s)
			rb.repairs = append(rb.repairs, Repair{Column: c.Name, Raw: s, Repaired: fixed, Reason: "not valid UTF-8: read as Windows-1252"})
			s = fixed
		}
		v, err := parseField(c, s)
		if err != nil {
			if !rb.Lossless || !c.Nullable || rb.inKey[i] {
				return &FieldError{Column: c.Name, Value: s, Reason: err.Error()}
			}
			if n := len(rb.repairs); n > 0 && rb.repairs[n-1].Column == c.Name {
				rb.repairs = rb.repairs[:n-1] // one repair per field: the NULL
			}
			rb.repairs = append(rb.repairs, Repair{Column: c.Name, Raw: fields[i], Null: true, Reason: err.Error() + ": stored NULL"})
			v = value{null: true}
		}
		rb.parsed[i] = v
	}
	return nil
}

// AppendParsed appends the row Parse converted last.
func (rb *Builder) AppendParsed() {
	for i, c := range rb.table.Columns {
		appendValue(rb.builder.Field(i), c.Type, rb.parsed[i])
	}
}

// AppendKey appends the key of the row Parse or Append accepted last to
// dst, in a form equal for equal keys (a converted value, not its
// spelling: 007 and 7 are one account).
func (rb *Builder) AppendKey(dst []byte) []byte {
	for _, i := range rb.keyCols {
		v := rb.parsed[i]
		switch {
		case v.null:
			dst = append(dst, 0)
		case rb.table.Columns[i].Type == schemas.String:
			dst = append(dst, 1)
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v.s)))
			dst = append(dst, v.s...)
		case rb.table.Columns[i].Type == schemas.Float64:
			dst = append(dst, 2)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.f))
		default:
			dst = append(dst, 3)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v.i))
		}
	}
	return dst
}

// KeyText shows the key of the row Parse or Append accepted last, for
// messages.
func (rb *Builder) KeyText() string {
	parts := make([]string, 0, len(rb.keyCols))
	for _, i := range rb.keyCols {
		c, v := rb.table.Columns[i], rb.parsed[i]
		var s string
		switch {
		case v.null:
			s = "NULL"
		case c.Type == schemas.String:
			s = strconv.Quote(truncate(v.s, 40))
		case c.Type == schemas.Float64:
			s = strconv.FormatFloat(v.f, 'g', -1, 64)
		default:
			s = strconv.FormatInt(v.i, 10)
		}
		parts = append(parts, c.Name+"="+s)
	}
	return strings.Join(parts, ", ")
}

var (
	errRequired = errors.New("required field is empty")
)

func parseField(c schemas.Column, s string) (value, error) {
	if s == "" {
		if !c.Nullable {
			return value{}, errRequired
		}
		return value{null: true}, nil
	}
	switch c.Type {
	case schemas.String:
		if c.Width > 0 && len(s) > c.Width {
			return value{}, fmt.Errorf("%d bytes, longer than varchar(%d)", len(s), c.Width)
		}
		return value{s: s}, nil
	case schemas.Int32:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return value{}, errors.New("not a 32-bit integer")
		}
		return value{i: n}, nil
	case schemas.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return value{}, errors.New("not a 64-bit integer")
		}
		return value{i: n}, nil
	case schemas.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return value{}, errors.New("not a number")
		}
		return value{f: f}, nil
	case schemas.Decimal:
		n, err := parseCents(strings.TrimSpace(s))
		if err != nil {
			return value{}, err
		}
		return value{i: n}, nil
	case schemas.Date:
		d, err := parseDate(s)
		if err != nil {
			return value{}, err
		}
		return value{i: d}, nil
	case schemas.Timestamp:
		us, err := parseTimestamp(s)
		if err != nil {
			return value{}, err
		}
		return value{i: us}, nil
	case schemas.TimestampTZ:
		ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
		if err != nil {
			return value{}, errors.New("not an RFC 3339 instant")
		}
		return value{i: ts.UnixMicro()}, nil
	case schemas.Bool:
		switch strings.ToUpper(strings.TrimSpace(s)) {
		case "Y", "YES", "T", "TRUE", "1":
			return value{i: 1}, nil
		case "N", "NO", "F", "FALSE", "0":
			return value{i: 0}, nil
		}
		return value{}, errors.New("not a boolean (Y/N)")
	}
	return value{}, fmt.Errorf("unsupported type %s", c.Type)
}

func appendValue(b array.Builder, t schemas.Type, v value) {
	if v.null {
		b.AppendNull()
		return
	}
	switch t {
	case schemas.String:
		b.(*array.StringBuilder).Append(v.s)
	case schemas.Int32:
		b.(*array.Int32Builder).Append(int32(v.i))
	case schemas.Int64:
		b.(*array.Int64Builder).Append(v.i)
	case schemas.Float64:
		b.(*array.Float64Builder).Append(v.f)
	case schemas.Decimal:
		b.(*array.Decimal128Builder).Append(decimal128.FromI64(v.i))
	case schemas.Date:
		b.(*array.Date32Builder).Append(arrow.Date32(v.i))
	case schemas.Timestamp, schemas.TimestampTZ:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.i))
	case schemas.Bool:
		b.(*array.BooleanBuilder).Append(v.i == 1)
	}
}

// parseCents parses a money amount with at most two decimals into cents,
// exactly (no float rounding).
func parseCents(s string) (int64, error) {
	bad := errors.New("not a decimal amount with at most 2 decimals")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, bad
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 9_999_999_999_999_999/100 {
		return 0, bad
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, bad
	}
	n := w*100 + f
	if neg {
		n = -n
	}
	return n, nil
}

func parseDate(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if y, mo, d, ok := civilDate(s); ok && len(s) == 10 {
		return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Unix() / 86400, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, errors.New("not a date (YYYY-MM-DD)")
	}
	return t.Unix() / 86400, nil
}

// timestampLayouts are the spellings of a timestamp accepted on input; the
// first is Archtics' own.
var timestampLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05Z07:00",
}

func parseTimestamp(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if y, mo, d, ok := civilDate(s); ok && len(s) == 19 && s[10] == ' ' && s[13] == ':' && s[16] == ':' {
		h, okh := digits2(s[11:13])
		mi, okm := digits2(s[14:16])
		sec, oks := digits2(s[17:19])
		if okh && okm && oks && h < 24 && mi < 60 && sec < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC).UnixMicro(), nil
		}
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMicro(), nil
		}
	}
	return 0, errors.New("not a timestamp (YYYY-MM-DD HH:MM:SS)")
}

// civilDate reads the valid date "YYYY-MM-DD" s starts with, the one
// spelling nearly every date and timestamp of a dump has, without
// time.Parse's layout walk (the load's costliest conversion). Anything
// else is not ok, and goes to time.Parse, which decides.
func civilDate(s string) (y, m, d int, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	hi, ok1 := digits2(s[0:2])
	lo, ok2 := digits2(s[2:4])
	m, ok3 := digits2(s[5:7])
	d, ok4 := digits2(s[8:10])
	y = hi*100 + lo
	if !ok1 || !ok2 || !ok3 || !ok4 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func digits2(s string) (int, bool) {
	a, b := s[0]-'0', s[1]-'0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int(m-1)%7%2
}
