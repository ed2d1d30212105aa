package ats

import (
	"testing"
	"unicode/utf8"
)

// What the row parser makes of text that is not UTF-8: raw bytes pass
// through unchanged, so the stages' row builder can repair them and record
// the exact bytes (archtics_meta.repairs); an escaped lone surrogate,
// which no UTF-8 can hold, becomes U+FFFD, as encoding/json decodes it.
func TestParseRowsText(t *testing.T) {
	tests := []struct {
		name, body string
		want       string
	}{
		{"raw Latin-1 byte kept for the repair", "[[\"M\xfcller\"]]", "M\xfcller"},
		{"escaped lone surrogate", `[["a\ud800b"]]`, "a\uFFFDb"},
		{"escaped pair", `[["\ud83d\ude00"]]`, "\U0001F600"},
		{"escaped Latin-1 letter", `[["M\u00fcller"]]`, "Müller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := parseRows([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || len(rows[0]) != 1 || rows[0][0] != tt.want {
				t.Fatalf("rows = %q, want [[%q]]", rows, tt.want)
			}
			if tt.name != "raw Latin-1 byte kept for the repair" && !utf8.ValidString(rows[0][0]) {
				t.Fatalf("%q is not valid UTF-8", rows[0][0])
			}
		})
	}
}
