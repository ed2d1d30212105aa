// Package wallclock turns Archtics' wall-clock times (the client's local
// date and time, no zone) into instants. A wall clock is neither unique
// nor sure to exist: the hour a fall-back repeats reads twice, the hour a
// spring-forward skips never. The change pull, the realtime feed and the
// simulator all resolve wall clocks here, so they agree on both hours.
package wallclock

import (
	"fmt"
	"time"
)

// Layout is how Archtics writes a wall-clock timestamp.
const Layout = "2006-01-02 15:04:05"

// searchDays is how far either side of a wall clock the zone's offsets are
// read: transitions are never closer together than that in the IANA data.
var searchDays = [...]int64{-2, -1, 0, 1, 2}

// Instants returns every instant whose wall clock in loc reads as naive's
// fields (its zone is ignored, its nanoseconds kept), earliest first, in
// UTC: one normally, two in the hour a fall-back repeats, none in the hour
// a spring-forward skips.
func Instants(naive time.Time, loc *time.Location) []time.Time {
	u := time.Date(naive.Year(), naive.Month(), naive.Day(), naive.Hour(), naive.Minute(), naive.Second(), 0, time.UTC).Unix()
	var offs [len(searchDays)]int
	n := 0
	for _, d := range searchDays {
		_, off := time.Unix(u+d*86400, 0).In(loc).Zone()
		seen := false
		for _, o := range offs[:n] {
			seen = seen || o == off
		}
		if !seen {
			offs[n] = off
			n++
		}
	}
	var out []time.Time
	for _, off := range offs[:n] {
		inst := time.Unix(u-int64(off), int64(naive.Nanosecond()))
		if _, o := inst.In(loc).Zone(); o == off {
			out = append(out, inst.UTC())
		}
	}
	// At most two readings: order them.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Before(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ParseInstants reads s ('YYYY-MM-DD HH:MM:SS') as a wall clock in loc
// and returns its instants (Instants); a wall clock the zone skips is an
// error, since the source cannot have written it.
func ParseInstants(s string, loc *time.Location) ([]time.Time, error) {
	naive, err := time.Parse(Layout, s)
	if err != nil {
		return nil, fmt.Errorf("timestamp %q: want 'YYYY-MM-DD HH:MM:SS'", s)
	}
	out := Instants(naive, loc)
	if len(out) == 0 {
		return nil, fmt.Errorf("timestamp %q does not exist in %s (clocks spring forward over it): the source wrote an impossible local time", s, loc)
	}
	return out, nil
}
