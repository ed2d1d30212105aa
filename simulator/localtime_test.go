package simulator

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseLocalTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		in      string
		want    time.Time
		wantErr error
		mention []string // substrings the error must hold
	}{
		{in: "2026-11-20 12:00:01", want: utc("2026-11-20T17:00:01Z")},
		{in: "2026-07-04", want: utc("2026-07-04T04:00:00Z")},
		{in: "2026-11-20T17:00:01Z", want: utc("2026-11-20T17:00:01Z")},
		{in: "2026-11-20T12:00:01-05:00", want: utc("2026-11-20T17:00:01Z")},
		// Fall back: 01:00-02:00 happens twice; the offset says which.
		{in: "2026-11-01 01:30:00-04:00", want: utc("2026-11-01T05:30:00Z")},
		{in: "2026-11-01 01:30:00-05:00", want: utc("2026-11-01T06:30:00Z")},
		{in: "2026-11-01 01:30:00 -05:00", want: utc("2026-11-01T06:30:00Z")},
		{in: "2026-11-01 01:30:00", wantErr: ErrAmbiguousLocalTime,
			mention: []string{"2026-11-01 01:30:00-04:00", "2026-11-01 01:30:00-05:00", "twice"}},
		{in: "2026-11-01 00:59:59", want: utc("2026-11-01T04:59:59Z")},
		{in: "2026-11-01 02:00:00", want: utc("2026-11-01T07:00:00Z")},
		// Spring forward: 02:00-03:00 does not exist.
		{in: "2026-03-08 02:30:00", wantErr: ErrNonexistentLocalTime, mention: []string{"EST (-05:00)", "EDT (-04:00)", "skipping"}},
		{in: "2026-03-08 02:00:00", wantErr: ErrNonexistentLocalTime},
		{in: "2026-03-08 01:59:59", want: utc("2026-03-08T06:59:59Z")},
		{in: "2026-03-08 03:00:00", want: utc("2026-03-08T07:00:00Z")},
		{in: "2026-03-08 02:30:00-05:00", want: utc("2026-03-08T07:30:00Z")},
		{in: "yesterday", mention: []string{"RFC 3339", "YYYY-MM-DD HH:MM:SS"}},
		{in: "2026-13-01 00:00:00", mention: []string{"want RFC 3339"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLocalTime(tc.in, ny)
			if tc.wantErr == nil && len(tc.mention) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if !got.Equal(tc.want) || got.Location() != time.UTC {
					t.Fatalf("got %v, want %v (UTC)", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted as %v, want an error", got)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}
