package stages

import (
	"io"
	"reflect"
	"strings"
	"testing"

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
