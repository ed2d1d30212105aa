package ats

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// rowsSeeds are answers' rows as servers send them, and as they break.
var rowsSeeds = []string{
	`[]`, `null`, `[[]]`, `[["a","b"],[null,"c"]]`, ` [ [ "x" , null ] ] `,
	`[["caf\u00e9","tab\there","quote\"in","back\\slash"]]`, `[["M\u00fcller"]]`,
	`[[1,true,"x"]]`, `[["a"],["b","c","d"]]`, `[["unterminated]]`, `[["a"]`, `[["a"]]x`, `[[`, `[`, ``,
	`[["\ud800"]]`, `[["` + "\xfc" + `"]]`,
}

// jsonRows decodes rows as encoding/json does, null as "": the reference
// parseRows must agree with wherever both accept.
func jsonRows(data []byte) ([][]string, bool) {
	var raw [][]*string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, false
	}
	if raw == nil {
		return nil, true
	}
	out := make([][]string, len(raw))
	for i, r := range raw {
		out[i] = make([]string, len(r))
		for j, v := range r {
			if v != nil {
				out[i][j] = *v
			}
		}
	}
	return out, true
}

// FuzzParseRows: the feed's hand-written row decoder never panics, and on
// valid UTF-8 JSON both it and encoding/json accept, it returns the same
// rows (null as "").
func FuzzParseRows(f *testing.F) {
	for _, s := range rowsSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseRows(data)
		if err != nil {
			return
		}
		want, ok := jsonRows(data)
		if !ok || !utf8.Valid(data) {
			return
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parseRows(%q) = %q, encoding/json reads %q", data, got, want)
		}
	})
}

// FuzzDecodeScanPage: the attendance answer's decoder (rows cut out of
// the envelope by position) never panics, and agrees with a plain
// json.Unmarshal of the same answer wherever both accept it.
func FuzzDecodeScanPage(f *testing.F) {
	for _, s := range []string{
		`{"columns":["seq_num","gate"],"rows":[["1","A"],["2",null]],"last_seq":2,"more":false,"as_of":"2026-11-20T17:00:01Z"}`,
		`{"rows":[],"last_seq":0}`, `{"rows":null}`, `{}`, `{"rows":[["a"]]`, `{"columns":["rows"],"rows":[["\"rows\":"]]}`,
		`{"note":"\"rows\": [[", "rows":[["x"]]}`, `{"rows":[["x"]],"rows":[["y"]]}`, `{"last_seq":"x","rows":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeScanPage(data)
		if err != nil {
			return
		}
		var want ScanPage
		if json.Unmarshal(data, &want) != nil || !utf8.Valid(data) {
			return
		}
		if len(got.Rows) == 0 && len(want.Rows) == 0 {
			got.Rows, want.Rows = nil, nil
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("decodeScanPage(%q) = %+v, encoding/json reads %+v", data, *got, want)
		}
	})
}

// FuzzDecodePage: a changes or lookup page (rows through Rows'
// UnmarshalJSON) decodes as the rows' plain JSON reading says, or fails;
// it never panics.
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		`{"columns":["team","acct_id"],"rows":[["nhl","1"]],"updated_at":"upd_datetime","next_cursor":"c1","as_of":"2026-11-20T17:00:01Z"}`,
		`{"columns":[],"rows":[]}`, `{"rows":[[null]],"missing":["1|2"]}`, `{"rows":"x"}`, `{"rows":[["a","b"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Page
		var l LookupResult
		errP, errL := json.Unmarshal(data, &p), json.Unmarshal(data, &l)
		if (errP == nil) != (errL == nil) {
			t.Fatalf("Page and LookupResult disagree on %q: %v / %v", data, errP, errL)
		}
		if errP != nil || !utf8.Valid(data) {
			return
		}
		var plain struct {
			Rows json.RawMessage `json:"rows"`
		}
		if json.Unmarshal(data, &plain) != nil || plain.Rows == nil {
			return
		}
		want, ok := jsonRows(plain.Rows)
		if !ok {
			t.Fatalf("a page whose rows encoding/json refuses was accepted: %q", data)
		}
		if (len(want) > 0 || len(p.Rows) > 0) && !reflect.DeepEqual([][]string(p.Rows), want) {
			t.Fatalf("page %q: rows %q, encoding/json reads %q", data, p.Rows, want)
		}
	})
}
