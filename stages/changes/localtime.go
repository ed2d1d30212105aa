package changes

import (
	"fmt"
	"time"
)

// TimeLayout is Archtics' wall-clock timestamp, as rows carry it.
const TimeLayout = "2006-01-02 15:04:05"

// wallCandidates returns the instants whose wall clock in loc reads s, in
// order: one normally, two in the hour a fall-back repeats, none in the
// hour a spring-forward skips.
func wallCandidates(s string, loc *time.Location) ([]time.Time, error) {
	naive, err := time.Parse(TimeLayout, s)
	if err != nil {
		return nil, fmt.Errorf("timestamp %q: want 'YYYY-MM-DD HH:MM:SS'", s)
	}
	u := naive.Unix()
	var out []time.Time
	// The offsets in effect within two days either side: zone transitions
	// are never closer together than that in the IANA data.
	for _, d := range []int64{-2 * 86400, 0, 2 * 86400} {
		_, off := time.Unix(u+d, 0).In(loc).Zone()
		inst := time.Unix(u-int64(off), 0)
		if _, o := inst.In(loc).Zone(); o != off {
			continue
		}
		dup := false
		for _, c := range out {
			dup = dup || c.Equal(inst)
		}
		if !dup {
			out = append(out, inst.UTC())
		}
	}
	if len(out) == 2 && out[1].Before(out[0]) {
		out[0], out[1] = out[1], out[0]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("timestamp %q does not exist in %s (clocks spring forward over it): the source wrote an impossible local time", s, loc)
	}
	return out, nil
}

// WallInstants returns the instants whose wall clock in loc reads s
// ('YYYY-MM-DD HH:MM:SS'), earliest first: one normally, two in the hour a
// fall-back repeats, an error in the hour a spring-forward skips.
func WallInstants(s string, loc *time.Location) ([]time.Time, error) { return wallCandidates(s, loc) }
