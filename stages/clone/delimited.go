package clone

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"archtics/schemas"
)

// DelimitedReader reads a bulk-export text file: one header line naming the
// columns, then one record per line, fields separated by '|'. A backslash
// escapes the separator, itself and line breaks (\|, \\, \n, \r), so a
// field may hold any text and a record is always one physical line; any
// other escape is an error of its line.
//
// A goroutine reads ahead (for a dump part: decompresses, and hashes the
// compressed bytes) while the caller splits and converts the lines before:
// the two halves of a file's reading run on two cores. It hands over
// blocks of whole lines, each one string, so a line and its fields are
// substrings of a block and cost no allocation of their own. Close stops
// it.
//
// A failure to read the file itself (I/O, decompression) is a *ReadError:
// it ends the file, and every later Next returns it again. A line that
// reads but does not split is an error of that line only; the next call
// reads the next line.
type DelimitedReader struct {
	name   string
	blocks chan lineBlock
	stop   chan struct{}
	exited chan struct{}
	once   sync.Once
	text   string // the block being read: whole lines, or the file's last line without its '\n'
	pos    int    // where the next line of text starts
	srcErr error  // what ended the blocks (io.EOF at the end)
	line   int64
	fields []string
	sb     strings.Builder
	err    *ReadError
}

// lineBlock is what the read-ahead hands over: whole lines, and with err
// how the file ended after them (io.EOF: text ends with the file's last
// line, which may lack its '\n').
type lineBlock struct {
	text string
	err  error
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
//
// It starts reading r ahead, which it stops at the end of r, at r's first
// error or on Close: the caller must Close it unless it read it to io.EOF
// or a *ReadError, and must not use r before Close has returned.
func NewDelimitedReader(name string, r io.Reader, t *schemas.Table) (*DelimitedReader, error) {
	d := &DelimitedReader{name: name, blocks: make(chan lineBlock, readAheadBlocks), stop: make(chan struct{}), exited: make(chan struct{})}
	go d.readAhead(r)
	header, _, err := d.Next()
	if err == io.EOF {
		d.Close()
		return nil, fmt.Errorf("%s: empty file, want a header line", name)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	if len(header) != len(t.Columns) {
		d.Close()
		return nil, fmt.Errorf("%s line 1: header has %d columns, %s has %d: is this the right table's file?",
			name, len(header), t.FullName(), len(t.Columns))
	}
	for i, c := range t.Columns {
		if !strings.EqualFold(strings.TrimSpace(header[i]), c.Name) {
			d.Close()
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
		rest := text
		for {
			i := strings.IndexByte(rest, '|')
			if i < 0 {
				break
			}
			d.fields = append(d.fields, rest[:i])
			rest = rest[i+1:]
		}
		d.fields = append(d.fields, rest)
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

// readLine returns the next line with its '\n', or the file's last line
// if that has none; at the end "" and io.EOF, after a failure "" and the
// failure.
func (d *DelimitedReader) readLine() (string, error) {
	for {
		if d.pos < len(d.text) {
			rest := d.text[d.pos:]
			if i := strings.IndexByte(rest, '\n'); i >= 0 {
				d.pos += i + 1
				return rest[:i+1], nil
			}
			d.pos = len(d.text) // the last line, without a '\n'
			return rest, nil
		}
		if d.srcErr != nil {
			return "", d.srcErr
		}
		b, ok := <-d.blocks
		if !ok {
			// Closed, by this reader's own Close.
			return "", errClosed
		}
		d.text, d.pos, d.srcErr = b.text, 0, b.err
	}
}

var errClosed = errors.New("the reader was closed")

// Close stops the read-ahead and waits for it to end, after which the
// reader is done with r. It is safe to call more than once.
func (d *DelimitedReader) Close() {
	d.once.Do(func() { close(d.stop) })
	<-d.exited
}

// readAheadBlocks is how many blocks of lines the read-ahead may hold
// before the caller takes them, and readBlockBytes the size of one.
const (
	readAheadBlocks = 4
	readBlockBytes  = 512 << 10
)

// readAhead cuts r into blocks of whole lines for Next, until r ends or
// fails, or Close.
func (d *DelimitedReader) readAhead(r io.Reader) {
	defer close(d.exited)
	defer close(d.blocks)
	lr := lineBlocks{r: r, buf: make([]byte, readBlockBytes)}
	for {
		b := lr.next()
		select {
		case d.blocks <- b:
		case <-d.stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// lineBlocks cuts a stream into blocks of whole lines.
type lineBlocks struct {
	r          io.Reader
	buf        []byte
	start, end int // buf[start:end]: bytes read, not yet handed over (part of a line)
}

// next reads until it holds at least half a buffer, then returns the
// whole lines it holds as one string, keeping the part of a line after
// them for the next call. At the end of r it returns what is left and
// io.EOF; on a failure, the whole lines before it and the failure (the
// part of a line after them is lost); on a line longer than
// MaxLineBytes, an error saying so.
func (l *lineBlocks) next() lineBlock {
	for {
		if l.start > 0 {
			l.end = copy(l.buf, l.buf[l.start:l.end])
			l.start = 0
		}
		if l.end == len(l.buf) {
			if l.end >= MaxLineBytes {
				return lineBlock{err: fmt.Errorf("a line is longer than %d MiB: not a dump file, or a damaged one", MaxLineBytes>>20)}
			}
			grown := make([]byte, 2*len(l.buf))
			copy(grown, l.buf[:l.end])
			l.buf = grown
		}
		from := l.end
		var err error
		for l.end-from < len(l.buf)/2 && l.end < len(l.buf) && err == nil {
			var n int
			n, err = l.r.Read(l.buf[l.end:])
			l.end += n
		}
		if err == io.EOF {
			text := string(l.buf[:l.end])
			l.start, l.end = 0, 0
			return lineBlock{text: text, err: io.EOF}
		}
		// Only the bytes just read may hold a '\n': the part of a line
		// kept from before holds none.
		i := bytes.LastIndexByte(l.buf[from:l.end], '\n')
		if i < 0 && err == nil {
			continue
		}
		cut := 0
		if i >= 0 {
			cut = from + i + 1
		}
		text := string(l.buf[:cut])
		if err != nil {
			l.start, l.end = 0, 0
			return lineBlock{text: text, err: err}
		}
		l.start = cut
		if len(l.buf) > readBlockBytes && l.end-cut <= readBlockBytes {
			// Do not keep one freak line's buffer for the rest of the file.
			rest := make([]byte, readBlockBytes)
			l.end = copy(rest, l.buf[cut:l.end])
			l.buf, l.start = rest, 0
		}
		return lineBlock{text: text}
	}
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
