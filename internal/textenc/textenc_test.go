package textenc

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

func TestRepair(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Müller", "Müller"},             // valid: unchanged
		{"M\xfcller", "Müller"},          // Latin-1
		{"\x80 \x9c \x81", "€ œ \u0081"}, // 1252's own, and a byte it leaves undefined
		{"\xc3", "Ã"},                    // a cut sequence
		{"\xed\xa0\x80", "í\u00a0€"},     // an encoded surrogate
		{"ok\x00nul", "ok\x00nul"},       // NUL is UTF-8
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, changed := Repair(tt.in)
			if got != tt.want || changed != (tt.in != tt.want) || !utf8.ValidString(got) {
				t.Errorf("Repair(%q) = %q, %v; want %q", tt.in, got, changed, tt.want)
			}
		})
	}
	// Every byte maps, so every repair is valid UTF-8 and no byte is lost.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if got, _ := Repair(string(all)); utf8.RuneCountInString(got) != 256 || strings.ContainsRune(got, utf8.RuneError) {
		t.Errorf("Repair of every byte: %d runes, U+FFFD %v", utf8.RuneCountInString(got), strings.ContainsRune(got, utf8.RuneError))
	}
}

func TestEscapeAndTruncate(t *testing.T) {
	if got := Escape("a\xfcb\xc3"); got != `a\xFCb\xC3` {
		t.Errorf("Escape = %q", got)
	}
	if got := Escape("Müller"); got != "Müller" {
		t.Errorf("Escape of valid text = %q", got)
	}
	if got := Truncate("aü", 2); got != "a" {
		t.Errorf("Truncate inside ü = %q, want a", got)
	}
	if got := Truncate("a€b", 4); got != "a€" {
		t.Errorf("Truncate after € = %q", got)
	}
}

func TestLookupAndReader(t *testing.T) {
	for _, name := range []string{"", "UTF-8", "utf8"} {
		if c, err := Lookup(name); c != nil || err != nil {
			t.Errorf("Lookup(%q) = %v, %v; want UTF-8 (nil)", name, c, err)
		}
	}
	if c, err := Lookup("Latin-1"); c != ISO88591 || err != nil {
		t.Errorf("Lookup(Latin-1) = %v, %v", c, err)
	}
	if _, err := Lookup("ebcdic"); err == nil || !strings.Contains(err.Error(), "windows-1252") {
		t.Errorf("Lookup(ebcdic) err = %v, want the accepted names", err)
	}
	// One byte at a time: the decoder must not depend on read sizes.
	in := strings.Repeat("Caf\xe9 \x80|\n", 5000)
	got, err := io.ReadAll(Windows1252.Reader(iotest.OneByteReader(strings.NewReader(in))))
	if err != nil || string(got) != strings.Repeat("Café €|\n", 5000) {
		t.Errorf("Reader: %v, %d bytes", err, len(got))
	}
	if got := ISO88591.Decode("\x80\xfc"); got != "\u0080ü" {
		t.Errorf("ISO-8859-1 decode = %q", got)
	}
}
