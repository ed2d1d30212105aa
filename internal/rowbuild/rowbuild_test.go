package rowbuild

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/schemas"
)

// eventRow is a valid archtics.event row; mod changes it.
func eventRow(mod func([]string)) []string {
	row := []string{"nhl", "42", "25NHL0412", "2026-11-21", "19:00:00", "Saturday", "", "", "Y", "1",
		"2025-26 Season", "7", "Hawks vs. Wings", "", "12", "Home", "Arena", "SPORTS", "NHL PRO HOCKEY",
		"2026-01-01 10:00:00", "2026-11-20 11:59:59"}
	if mod != nil {
		mod(row)
	}
	return row
}

func TestBuilderRejects(t *testing.T) {
	tests := []struct {
		name       string
		row        []string
		wantColumn string // "" means the row is accepted
	}{
		{"good row", eventRow(nil), ""},
		{"null optional int", eventRow(func(r []string) { r[9] = "" }), ""},
		{"bad int", eventRow(func(r []string) { r[1] = "4x2" }), "event_id"},
		{"required empty", eventRow(func(r []string) { r[20] = "" }), "upd_date"},
		{"bad date", eventRow(func(r []string) { r[3] = "2026-13-01" }), "event_date"},
		{"bad timestamp", eventRow(func(r []string) { r[19] = "yesterday" }), "add_date"},
		{"too wide", eventRow(func(r []string) { r[8] = "YES" }), "enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := New(memory.DefaultAllocator, schemas.Event)
			defer rb.Release()
			err := rb.Append(tt.row)
			if tt.wantColumn == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if rb.Len() != 1 {
					t.Fatalf("Len = %d, want 1", rb.Len())
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Column != tt.wantColumn {
				t.Fatalf("err = %v, want a FieldError on %s", err, tt.wantColumn)
			}
			if rb.Len() != 0 {
				t.Fatalf("a rejected row left %d values behind", rb.Len())
			}
		})
	}
}

func TestBuilderWrongFieldCount(t *testing.T) {
	rb := New(memory.DefaultAllocator, schemas.Event)
	defer rb.Release()
	var fe *FieldError
	if err := rb.Append([]string{"nhl", "1"}); !errors.As(err, &fe) || fe.Column != "" {
		t.Fatalf("err = %v, want a malformed-row FieldError", err)
	}
}

func TestParseCents(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12.50", 1250, true}, {"12.5", 1250, true}, {"12", 1200, true}, {"-3.07", -307, true},
		{"0.99", 99, true}, {"1.234", 0, false}, {"abc", 0, false}, {".5", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseCents(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseCents(%q) = %d, %v; want %d ok=%t", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestBuilderValues(t *testing.T) {
	rb := New(memory.DefaultAllocator, schemas.Event)
	defer rb.Release()
	if err := rb.Append(eventRow(nil)); err != nil {
		t.Fatal(err)
	}
	rec := rb.NewRecord()
	defer rec.Release()
	if got := rec.Column(1).(*array.Int32).Value(0); got != 42 {
		t.Errorf("event_id = %d", got)
	}
	if got := rec.Column(3).(*array.Date32).Value(0).FormattedString(); got != "2026-11-21" {
		t.Errorf("event_date = %s", got)
	}
	if got := rec.Column(20).(*array.Timestamp).Value(0).ToTime(arrow.Microsecond).UTC().Format("2006-01-02 15:04:05"); got != "2026-11-20 11:59:59" {
		t.Errorf("upd_date = %s", got)
	}
}

// TestDateAndTimestampAsTimeParse: the dates and timestamps parsed
// without time.Parse have the values, and the errors, time.Parse gives,
// for every day of three centuries' edges and leap rules, and for
// spellings that are not quite the canonical one.
func TestDateAndTimestampAsTimeParse(t *testing.T) {
	var inputs []string
	for _, y := range []int{0, 1, 1899, 1900, 1969, 1970, 1999, 2000, 2024, 2026, 2100, 2400, 9999} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				inputs = append(inputs, fmt.Sprintf("%04d-%02d-%02d", y, m, d))
			}
		}
	}
	for _, hms := range []string{"00:00:00", "23:59:59", "12:30:45", "24:00:00", "23:60:00", "23:59:60", "1:02:03", "01:2:03"} {
		for _, date := range []string{"2026-11-20", "2024-02-29", "2026-02-29", "1969-12-31", "0000-01-01"} {
			inputs = append(inputs, date+" "+hms)
		}
	}
	inputs = append(inputs, "2026-11-20T12:00:00", " 2026-11-20 12:00:00 ", "2026-11-20 12:00:00.5", "2026-11-2a", "2026/11/20",
		"2026-11-20 12:00", "+026-11-20", "2026-11-20 12:00:00Z", "２026-11-20", "")
	want := func(layouts []string, s string) (time.Time, bool) {
		for _, l := range layouts {
			if v, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
				return v, true
			}
		}
		return time.Time{}, false
	}
	for _, s := range inputs {
		t.Run(s, func(t *testing.T) {
			w, ok := want([]string{"2006-01-02"}, s)
			if got, err := parseDate(s); ok != (err == nil) || ok && got != w.Unix()/86400 {
				t.Errorf("parseDate(%q) = %d, %v; time.Parse says %v, %t", s, got, err, w, ok)
			}
			w, ok = want(timestampLayouts, s)
			if got, err := parseTimestamp(s); ok != (err == nil) || ok && got != w.UnixMicro() {
				t.Errorf("parseTimestamp(%q) = %d, %v; time.Parse says %v, %t", s, got, err, w, ok)
			}
		})
	}
}
