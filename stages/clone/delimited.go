package clone

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"archtics/schemas"
)

// DelimitedReader reads a bulk-export text file: one header line naming the
// columns, then one record per line, fields separated by '|'. A backslash
// escapes the separator, itself and line breaks (\|, \\, \n, \r), so a
// field may hold any text and a record is always one physical line; any
// other escape is an error of its line.
//
// A failure to read the file itself (I/O, decompression) is a *ReadError:
// it ends the file, and every later Next returns it again. A line that
// reads but does not split is an error of that line only; the next call
// reads the next line.
type DelimitedReader struct {
	name   string
	r      *bufio.Reader
	line   int64
	fields []string
	sb     strings.Builder
	long   []byte // assembles a line longer than the buffer
	err    *ReadError
}

// MaxLineBytes bounds one record's line. A dump line holds one row of a
// few hundred bytes; a far longer one means the file is not what it claims
// (damaged, or binary), and reading it whole would only exhaust memory.
const MaxLineBytes = 64 << 20

// ReadError is a failure to read a file's bytes, not a malformed line: the
// rest of the file cannot be trusted, so it is fatal to the load, never a
// rejected row.
type ReadError struct {
	Name string // the file
	Line int64  // the last line read whole (0: none, not even the header)
	Err  error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("%s: read failed after line %d: %v", e.Name, e.Line, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// NewDelimitedReader reads and checks the header of a file of table t:
// its columns must be t's, in t's order. name is used in errors.
func NewDelimitedReader(name string, r io.Reader, t *schemas.Table) (*DelimitedReader, error) {
	d := &DelimitedReader{name: name, r: bufio.NewReaderSize(r, 1<<20)}
	header, _, err := d.Next()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header line", name)
	}
	if err != nil {
		return nil, err
	}
	if len(header) != len(t.Columns) {
		return nil, fmt.Errorf("%s line 1: header has %d columns, %s has %d: is this the right table's file?",
			name, len(header), t.FullName(), len(t.Columns))
	}
	for i, c := range t.Columns {
		if !strings.EqualFold(strings.TrimSpace(header[i]), c.Name) {
			return nil, fmt.Errorf("%s line 1: header column %d is %q, want %q", name, i+1, header[i], c.Name)
		}
	}
	return d, nil
}

// Line is the 1-based line number of the record Next returned last.
func (d *DelimitedReader) Line() int64 { return d.line }

// Next returns the fields of the next record and its raw text. The fields
// slice is reused by the next call. At the end it returns io.EOF.
// A read failure is a *ReadError, returned again by every later call.
func (d *DelimitedReader) Next() (fields []string, raw string, err error) {
	if d.err != nil {
		return nil, "", d.err
	}
	text, err := d.readLine()
	if err == io.EOF && text == "" {
		return nil, "", io.EOF
	}
	if err != nil && err != io.EOF {
		// Sticky: the underlying reader may answer the same error again or
		// something else, but either way the rest of the file is unknown.
		d.err = &ReadError{Name: d.name, Line: d.line, Err: err}
		return nil, "", d.err
	}
	d.line++
	text = strings.TrimSuffix(text, "\n")
	text = strings.TrimSuffix(text, "\r")
	d.fields = d.fields[:0]
	if strings.IndexByte(text, '\\') < 0 {
		// The common case: no escapes, fields are substrings of the line.
		d.fields = append(d.fields, strings.Split(text, "|")...)
		return d.fields, text, nil
	}
	d.sb.Reset()
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '|':
			d.fields = append(d.fields, d.sb.String())
			d.sb.Reset()
		case '\\':
			if i+1 == len(text) {
				return nil, text, fmt.Errorf("%s line %d: %w", d.name, d.line, errDanglingEscape)
			}
			i++
			switch text[i] {
			case 'n':
				d.sb.WriteByte('\n')
			case 'r':
				d.sb.WriteByte('\r')
			case '|', '\\':
				d.sb.WriteByte(text[i])
			default:
				// Guessing what the writer meant (a tab? a quote?) would
				// store text the source never held: the line is rejected.
				return nil, text, fmt.Errorf("%s line %d: unknown escape %s at byte %d: the dump escapes only \\|, \\\\, \\n and \\r",
					d.name, d.line, showEscape(text[i]), i)
			}
		default:
			d.sb.WriteByte(c)
		}
	}
	d.fields = append(d.fields, d.sb.String())
	return d.fields, text, nil
}

// readLine reads up to and including the next '\n', like ReadString, but
// fails on a line longer than MaxLineBytes instead of growing without end.
func (d *DelimitedReader) readLine() (string, error) {
	chunk, err := d.r.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return string(chunk), err
	}
	d.long = append(d.long[:0], chunk...)
	for err == bufio.ErrBufferFull {
		if len(d.long) > MaxLineBytes {
			return "", fmt.Errorf("line %d is longer than %d MiB: not a dump file, or a damaged one", d.line+1, MaxLineBytes>>20)
		}
		chunk, err = d.r.ReadSlice('\n')
		d.long = append(d.long, chunk...)
	}
	text := string(d.long)
	if cap(d.long) > 4<<20 {
		d.long = nil // do not keep one freak line's buffer for the rest of the file
	}
	return text, err
}

// showEscape shows a backslash and the byte after it as text that is
// valid UTF-8 and printable.
func showEscape(c byte) string {
	if c >= 0x20 && c < 0x7F {
		return "\\" + string(c)
	}
	return fmt.Sprintf("\\\\x%02X", c)
}

var errDanglingEscape = errors.New("line ends in a lone backslash")
