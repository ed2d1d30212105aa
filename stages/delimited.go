package stages

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
// field may hold any text and a record is always one physical line.
type DelimitedReader struct {
	name   string
	r      *bufio.Reader
	line   int64
	fields []string
	sb     strings.Builder
}

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
func (d *DelimitedReader) Next() (fields []string, raw string, err error) {
	text, err := d.r.ReadString('\n')
	if err == io.EOF && text == "" {
		return nil, "", io.EOF
	}
	if err != nil && err != io.EOF {
		return nil, "", fmt.Errorf("%s line %d: %w", d.name, d.line+1, err)
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
			default: // \| and \\, and any other escaped byte as itself
				d.sb.WriteByte(text[i])
			}
		default:
			d.sb.WriteByte(c)
		}
	}
	d.fields = append(d.fields, d.sb.String())
	return d.fields, text, nil
}

var errDanglingEscape = errors.New("line ends in a lone backslash")
