package simulator

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"archtics/internal/wallclock"
)

// Errors of ParseLocalTime, for errors.Is.
var (
	// ErrNonexistentLocalTime: the wall-clock time falls in the hour a
	// spring-forward change skips (2026-03-08 02:30:00 in New York).
	ErrNonexistentLocalTime = errors.New("local time does not exist")
	// ErrAmbiguousLocalTime: the wall-clock time falls in the hour a
	// fall-back change repeats (2026-11-01 01:30:00 in New York) and no
	// offset says which of the two is meant.
	ErrAmbiguousLocalTime = errors.New("local time is ambiguous")
)

// localLayouts are the wall-clock spellings ParseLocalTime takes, with an
// optional explicit UTC offset after the time.
var localLayouts = []string{TimeLayout, DateLayout}

// ParseLocalTime reads an instant written as RFC 3339
// ("2026-11-20T17:00:01Z"), as the client's wall clock "YYYY-MM-DD
// HH:MM:SS" or "YYYY-MM-DD" (midnight) in loc, or as that wall clock with
// an explicit offset ("2026-11-01 01:30:00-04:00").
//
// A wall-clock time without an offset must name exactly one instant: a
// time the zone skips when clocks spring forward is refused
// (ErrNonexistentLocalTime) rather than shifted, and a time the zone
// repeats when clocks fall back is refused (ErrAmbiguousLocalTime) rather
// than silently taken as its first occurrence. The error names the
// offsets to choose from. Everywhere the simulator reads a local time (the
// admin clock API, the change API's since/from/to, --cutoff, --clock-start,
// --at) goes through here.
func ParseLocalTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range localLayouts {
		// An explicit offset after the wall clock names the instant.
		for _, suffix := range []string{"Z07:00", " Z07:00"} {
			if t, err := time.Parse(layout+suffix, s); err == nil {
				return t.UTC(), nil
			}
		}
		naive, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		cands := wallclock.Instants(naive, loc)
		switch len(cands) {
		case 1:
			return cands[0], nil
		case 0:
			return time.Time{}, fmt.Errorf("%q in %s: %w: clocks spring forward from %s to %s there, skipping this wall-clock time; give a time outside the skipped hour, or an RFC 3339 instant",
				s, loc, ErrNonexistentLocalTime, zoneAt(naive.Add(-3*time.Hour), loc), zoneAt(naive.Add(3*time.Hour), loc))
		default:
			opts := make([]string, len(cands))
			for i, c := range cands {
				_, off := c.In(loc).Zone()
				opts[i] = s + formatOffset(off)
			}
			return time.Time{}, fmt.Errorf("%q in %s: %w: that wall-clock time happens twice (clocks fall back); say which with its offset: %s",
				s, loc, ErrAmbiguousLocalTime, strings.Join(opts, " (first) or ")+" (second)")
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-11-20T17:00:01Z) or local 'YYYY-MM-DD HH:MM:SS', with an offset such as -05:00 when the local time is ambiguous", s)
}

// zoneAt names the zone abbreviation and offset in effect at the wall
// time naive (which must exist).
func zoneAt(naive time.Time, loc *time.Location) string {
	c := wallclock.Instants(naive, loc)
	if len(c) == 0 {
		return "?"
	}
	name, off := c[0].In(loc).Zone()
	return name + " (" + formatOffset(off) + ")"
}

func formatOffset(off int) string {
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return string(sign) + string(append2(nil, off/3600)) + ":" + string(append2(nil, off/60%60))
}
