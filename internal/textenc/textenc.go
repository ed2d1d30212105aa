// Package textenc keeps every string the product stores valid UTF-8: it
// decodes the single-byte encodings old Archtics exports use, repairs a
// value that is not UTF-8, and shows raw bytes safely.
package textenc

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Charset is a single-byte encoding: every byte maps to one rune.
type Charset struct {
	Name  string
	table [256]string // the UTF-8 of each byte
}

var (
	// Windows1252 maps the five bytes the code page leaves undefined (0x81,
	// 0x8D, 0x8F, 0x90, 0x9D) to the C1 controls of the same value, as the
	// WHATWG decoders do, so decoding never loses a byte.
	Windows1252 = newCharset("windows-1252", charmap.Windows1252)
	// ISO88591 maps each byte to the code point of the same value.
	ISO88591 = newCharset("iso-8859-1", charmap.ISO8859_1)
)

func newCharset(name string, cm *charmap.Charmap) *Charset {
	c := &Charset{Name: name}
	for b := 0; b < 256; b++ {
		r := cm.DecodeByte(byte(b))
		if r == utf8.RuneError {
			r = rune(b)
		}
		c.table[b] = string(r)
	}
	return c
}

// Decode returns s read as c.
func (c *Charset) Decode(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		sb.WriteString(c.table[s[i]])
	}
	return sb.String()
}

// Reader decodes r from c to UTF-8 as it is read.
func (c *Charset) Reader(r io.Reader) io.Reader {
	return &decodeReader{c: c, r: r, in: make([]byte, 32<<10)}
}

type decodeReader struct {
	c       *Charset
	r       io.Reader
	in, out []byte
	err     error
}

func (d *decodeReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		n, err := d.r.Read(d.in)
		d.err = err
		d.out = d.out[:0]
		for _, b := range d.in[:n] {
			if b < 0x80 {
				d.out = append(d.out, b)
				continue
			}
			d.out = append(d.out, d.c.table[b]...)
		}
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// Names are the encodings a dump's manifest may declare, by the names
// accepted for each.
var names = map[string]*Charset{
	"windows-1252": Windows1252, "cp1252": Windows1252, "win1252": Windows1252,
	"iso-8859-1": ISO88591, "iso8859-1": ISO88591, "latin-1": ISO88591, "latin1": ISO88591,
}

// Accepted lists the encoding names Lookup knows, for messages.
const Accepted = "utf-8 (the default), windows-1252 (cp1252), iso-8859-1 (latin-1)"

// Lookup returns the charset an encoding name declares: nil for UTF-8
// (or no name), an error naming the accepted names for anything else.
func Lookup(name string) (*Charset, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "", "utf-8", "utf8":
		return nil, nil
	}
	if c, ok := names[n]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("unknown encoding %q: want %s", name, Accepted)
}

// Repair returns s unchanged when it is valid UTF-8; otherwise s read as
// Windows-1252 (every byte maps; Archtics exports of older data are
// often Latin-1, of which 1252 is a superset for printable text) and
// true.
func Repair(s string) (string, bool) {
	if utf8.ValidString(s) {
		return s, false
	}
	return Windows1252.Decode(s), true
}

// Valid is Repair without the flag, for a writer that has nowhere to
// record the repair.
func Valid(s string) string {
	out, _ := Repair(s)
	return out
}

// Escape returns s with each byte that is not part of valid UTF-8
// written as \xNN, so raw input can be stored and shown as text. In a
// dump line, where a literal backslash is written \\, the form is
// unambiguous.
func Escape(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			fmt.Fprintf(&sb, `\x%02X`, s[i])
			i++
			continue
		}
		sb.WriteString(s[i : i+n])
		i += n
	}
	return sb.String()
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
