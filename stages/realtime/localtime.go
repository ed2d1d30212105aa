package realtime

import (
	"fmt"
	"time"

	"archtics/internal/wallclock"
)

// The feed speaks the client's wall clock: upd_datetime is a local date and
// time, action_time a local time of day with no date. Both become instants
// here, in the client's zone, without trusting a wall clock to be
// monotonic (a fall-back repeats an hour) or to exist (a spring-forward
// skips one).

// latestWallAtOrBefore returns the latest instant at or before d whose
// local time of day in loc is tod seconds after midnight.
func latestWallAtOrBefore(d time.Time, tod int, loc *time.Location) (time.Time, bool) {
	local := d.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	for back := 0; back <= 2; back++ {
		naive := day.AddDate(0, 0, -back).Add(time.Duration(tod) * time.Second)
		cands := wallclock.Instants(naive, loc)
		for k := len(cands) - 1; k >= 0; k-- {
			if !cands[k].After(d) {
				return cands[k], true
			}
		}
	}
	return time.Time{}, false
}

// scanTimes resolves a feed row's times: delivered is upd_datetime as an
// instant, scanned the latest instant at or before it whose local time of
// day is action_time. When upd_datetime falls in a repeated hour, the
// reading with the shorter delay between scan and delivery wins (delays
// are minutes, never an hour), the earlier on a tie.
func scanTimes(updDatetime, actionTime string, loc *time.Location) (delivered, scanned time.Time, err error) {
	tod, err := time.Parse("15:04:05", actionTime)
	if err != nil {
		return delivered, scanned, fmt.Errorf("action_time %q: want HH:MM:SS", actionTime)
	}
	naive, err := time.Parse(wallclock.Layout, updDatetime)
	if err != nil {
		return delivered, scanned, fmt.Errorf("upd_datetime %q: want YYYY-MM-DD HH:MM:SS", updDatetime)
	}
	cands := wallclock.Instants(naive, loc)
	if len(cands) == 0 {
		return delivered, scanned, fmt.Errorf("upd_datetime %q: no such wall clock in %s (clocks spring forward then)", updDatetime, loc)
	}
	lag := time.Duration(-1)
	for _, d := range cands {
		s, ok := latestWallAtOrBefore(d, tod.Hour()*3600+tod.Minute()*60+tod.Second(), loc)
		if ok && (lag < 0 || d.Sub(s) < lag) {
			delivered, scanned, lag = d, s, d.Sub(s)
		}
	}
	if lag < 0 {
		return delivered, scanned, fmt.Errorf("no instant reads action_time %q at or before upd_datetime %q", actionTime, updDatetime)
	}
	return delivered, scanned, nil
}

// wallMicros is t's wall clock in loc as a TIMESTAMP (microseconds since
// the epoch of the wall clock read as UTC): how the clone stores Archtics'
// local times.
func wallMicros(t time.Time, loc *time.Location) int64 {
	l := t.In(loc)
	_, off := l.Zone()
	return t.Unix()*1e6 + int64(off)*1e6 + int64(t.Nanosecond()/1000)
}

// zoneWalls turns instants into wall-clock microseconds of one zone
// (wallMicros), remembering the span in which the last offset holds: a
// tick's scans nearly all fall in one span, so they skip the zone's
// lookup.
type zoneWalls struct {
	loc        *time.Location
	ok         bool
	start, end time.Time // the span of off; zero: unbounded on that side
	off        int64     // seconds east of UTC
}

func (z *zoneWalls) micros(t time.Time) int64 {
	if !z.ok || (!z.start.IsZero() && t.Before(z.start)) || (!z.end.IsZero() && !t.Before(z.end)) {
		l := t.In(z.loc)
		_, off := l.Zone()
		z.start, z.end = l.ZoneBounds()
		z.off, z.ok = int64(off), true
	}
	return t.Unix()*1e6 + z.off*1e6 + int64(t.Nanosecond()/1000)
}
