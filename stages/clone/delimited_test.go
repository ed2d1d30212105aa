package clone

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"archtics/schemas"
)

func TestDelimitedReader(t *testing.T) {
	header := "team|event_id|event_name|event_date|event_time|event_day|plan_abv|plan_type|enabled|total_events|season_name|season_id|event_name_long|tm_event_name|game_number|event_type|arena_name|major_category|minor_category|add_date|upd_date\n"
	tests := []struct {
		name string
		body string
		want [][]string
	}{
		{"plain", "a|b|c\n", [][]string{{"a", "b", "c"}}},
		{"no final newline", "a|b", [][]string{{"a", "b"}}},
		{"escaped separator", `a\|b|c` + "\n", [][]string{{"a|b", "c"}}},
		{"escaped newline and backslash", `x\ny|\\z` + "\n", [][]string{{"x\ny", `\z`}}},
		{"crlf", "a|b\r\nc|d\r\n", [][]string{{"a", "b"}, {"c", "d"}}},
		{"empty fields", "||\n", [][]string{{"", "", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDelimitedReader("f.txt", strings.NewReader(header+tt.body), schemas.Event)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for {
				f, _, err := d.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, append([]string(nil), f...))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDelimitedReaderErrors(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "f.txt: empty file"},
		{"wrong header", "team|acct_id\n", "f.txt line 1: header has 2 columns"},
		{"renamed column", strings.Replace(strings.Join(columnNames(schemas.Event), "|"), "event_day", "day", 1) + "\n", `header column 6 is "day", want "event_day"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDelimitedReader("f.txt", strings.NewReader(tt.input), schemas.Event)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	d, err := NewDelimitedReader("f.txt", strings.NewReader(strings.Join(columnNames(schemas.Event), "|")+"\nok\nbad\\"), schemas.Event)
	if err != nil {
		t.Fatal(err)
	}
	d.Next()
	if _, _, err := d.Next(); err == nil || !strings.Contains(err.Error(), "f.txt line 3") {
		t.Fatalf("dangling escape: err = %v, want it to name line 3", err)
	}
}

func columnNames(t *schemas.Table) []string {
	var names []string
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	return names
}

// failingReader serves data, then fails every read with err, as a gzip
// reader over a truncated file does.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestDelimitedReaderReadErrorIsFinal: a failure to read the bytes is a
// *ReadError naming the file and the last whole line, and every later Next
// returns it again, never a line, never io.EOF; a malformed line is not
// a ReadError and reading goes on after it.
func TestDelimitedReaderReadErrorIsFinal(t *testing.T) {
	header := strings.Join(columnNames(schemas.Event), "|") + "\n"
	damage := errors.New("flate: corrupt input before offset 77")
	d, err := NewDelimitedReader("f.txt.gz", &failingReader{data: []byte(header + "a|b\nbad\\\nc|d\npartial li"), err: damage}, schemas.Event)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a|b", "dangling", "c|d"} {
		_, raw, err := d.Next()
		var re *ReadError
		if errors.As(err, &re) {
			t.Fatalf("line %q: a ReadError for a readable line: %v", want, err)
		}
		if want == "dangling" {
			if err == nil {
				t.Fatal("a line ending in a lone backslash split without error")
			}
			continue
		}
		if err != nil || raw != want {
			t.Fatalf("got %q, %v; want %q", raw, err, want)
		}
	}
	for i := range 3 {
		_, _, err := d.Next()
		var re *ReadError
		if !errors.As(err, &re) || !errors.Is(err, damage) {
			t.Fatalf("call %d after the damage: %v, want a ReadError wrapping it", i+1, err)
		}
		if re.Name != "f.txt.gz" || re.Line != 4 {
			t.Fatalf("ReadError names %s after line %d, want f.txt.gz after line 4", re.Name, re.Line)
		}
	}
}

// TestDelimitedReaderLongLine: a line longer than MaxLineBytes (a file
// that is not text) is a read error, not a line held whole in memory.
func TestDelimitedReaderLongLine(t *testing.T) {
	header := strings.Join(columnNames(schemas.Event), "|") + "\n"
	endless := io.MultiReader(strings.NewReader(header), &repeatReader{b: 'x'})
	d, err := NewDelimitedReader("f.txt.gz", endless, schemas.Event)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = d.Next()
	var re *ReadError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("an endless line: %v, want a ReadError saying it is too long", err)
	}
}

// repeatReader is an endless stream of one byte.
type repeatReader struct{ b byte }

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b
	}
	return len(p), nil
}

// TestDelimitedReaderBlocks: lines come out whole and in order however the
// bytes arrive (one at a time, in halves, with the last data and the end
// together) and whatever their length against the read-ahead's blocks
// (lines of a byte, lines longer than a block, the last without '\n').
func TestDelimitedReaderBlocks(t *testing.T) {
	header := strings.Join(columnNames(schemas.Event), "|") + "\n"
	var lines []string
	for i := range 2000 {
		n := (i * 7919) % 900
		switch i % 500 {
		case 17:
			n = readBlockBytes + 3 // longer than a block
		case 18:
			n = 3*readBlockBytes + 11
		}
		lines = append(lines, fmt.Sprintf("%d|%s", i, strings.Repeat(string(rune('a'+i%26)), n)))
	}
	body := strings.Join(lines, "\n") // the last line without its '\n'
	for _, tc := range []struct {
		name string
		r    func(io.Reader) io.Reader
	}{
		{"as is", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
		{"halves", iotest.HalfReader},
		{"data with the end", iotest.DataErrReader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDelimitedReader("f.txt", tc.r(strings.NewReader(header+body)), schemas.Event)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			for i, want := range lines {
				fields, raw, err := d.Next()
				if err != nil {
					t.Fatalf("line %d: %v", i+2, err)
				}
				if raw != want || len(fields) != 2 || fields[0]+"|"+fields[1] != want {
					t.Fatalf("line %d: %d bytes in %d fields, want %d bytes", i+2, len(raw), len(fields), len(want))
				}
				if d.Line() != int64(i+2) {
					t.Fatalf("Line() = %d, want %d", d.Line(), i+2)
				}
			}
			if _, _, err := d.Next(); err != io.EOF {
				t.Fatalf("after the last line: %v, want io.EOF", err)
			}
		})
	}
}

// TestDelimitedReaderFailureWithData: when a read returns the last bytes
// and a failure together, the whole lines among them still come out, then
// the failure.
func TestDelimitedReaderFailureWithData(t *testing.T) {
	header := strings.Join(columnNames(schemas.Event), "|") + "\n"
	damage := errors.New("unexpected EOF")
	r := iotest.DataErrReader(io.MultiReader(strings.NewReader(header+"a|b\nc|d\npart"), iotest.ErrReader(damage)))
	d, err := NewDelimitedReader("f.txt.gz", r, schemas.Event)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, want := range []string{"a|b", "c|d"} {
		if _, raw, err := d.Next(); err != nil || raw != want {
			t.Fatalf("got %q, %v; want %q", raw, err, want)
		}
	}
	var re *ReadError
	if _, _, err := d.Next(); !errors.As(err, &re) || !errors.Is(err, damage) || re.Line != 3 {
		t.Fatalf("after the whole lines: %v, want a ReadError after line 3 wrapping the damage", err)
	}
}
