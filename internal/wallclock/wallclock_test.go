package wallclock

import (
	"testing"
	"time"
)

func TestInstants(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Lord Howe Island moves its clocks by half an hour.
	lh, err := time.LoadLocation("Australia/Lord_Howe")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		wall string
		loc  *time.Location
		want []string // RFC 3339, earliest first
	}{
		{"an ordinary evening", "2026-11-20 19:00:00", ny, []string{"2026-11-21T00:00:00Z"}},
		{"summer", "2026-07-04 12:00:00", ny, []string{"2026-07-04T16:00:00Z"}},
		{"the fall-back hour reads twice", "2026-11-01 01:30:00", ny, []string{"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"}},
		{"just before the repeated hour", "2026-11-01 00:59:59", ny, []string{"2026-11-01T04:59:59Z"}},
		{"just after it", "2026-11-01 02:00:00", ny, []string{"2026-11-01T07:00:00Z"}},
		{"the spring-forward hour never reads", "2026-03-08 02:30:00", ny, nil},
		{"the first second after the skip", "2026-03-08 03:00:00", ny, []string{"2026-03-08T07:00:00Z"}},
		{"a half-hour fall-back reads twice", "2026-04-05 01:45:00", lh, []string{"2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z"}},
		{"a half-hour spring-forward never reads", "2026-10-04 02:15:00", lh, nil},
		{"UTC", "2026-11-01 01:30:00", time.UTC, []string{"2026-11-01T01:30:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			naive, err := time.Parse(Layout, tc.wall)
			if err != nil {
				t.Fatal(err)
			}
			got := Instants(naive, tc.loc)
			if len(got) != len(tc.want) {
				t.Fatalf("Instants(%s in %s) = %v, want %v", tc.wall, tc.loc, got, tc.want)
			}
			for i, g := range got {
				if g.Format(time.RFC3339) != tc.want[i] || g.Location() != time.UTC {
					t.Fatalf("Instants(%s in %s) = %v, want %v in UTC", tc.wall, tc.loc, got, tc.want)
				}
				if w := g.In(tc.loc).Format(Layout); w != tc.wall {
					t.Fatalf("instant %s reads %s in %s, not %s", g, w, tc.loc, tc.wall)
				}
			}
			parsed, err := ParseInstants(tc.wall, tc.loc)
			if len(tc.want) == 0 {
				if err == nil {
					t.Fatalf("ParseInstants(%s) = %v, want an error: the wall clock does not exist", tc.wall, parsed)
				}
				return
			}
			if err != nil || len(parsed) != len(got) {
				t.Fatalf("ParseInstants(%s) = %v, %v; want %v", tc.wall, parsed, err, got)
			}
		})
	}
	t.Run("nanoseconds are kept, the naive zone ignored", func(t *testing.T) {
		naive := time.Date(2026, 11, 20, 19, 0, 0, 123456789, time.FixedZone("X", 3600))
		got := Instants(naive, ny)
		if len(got) != 1 || got[0].Nanosecond() != 123456789 || got[0].Format(time.RFC3339) != "2026-11-21T00:00:00Z" {
			t.Fatalf("Instants = %v", got)
		}
	})
	t.Run("a malformed timestamp", func(t *testing.T) {
		if _, err := ParseInstants("2026-11-20T19:00:00", ny); err == nil {
			t.Fatal("want an error")
		}
	})
}
