package realtime

import (
	"testing"
	"time"

	"archtics/internal/wallclock"
)

// TestFeedTimesMatchScanTimes: the tick's fast resolution of the feed's
// times (per delivery second, arithmetic on the zone's offset) gives what
// scanTimes, which tries every reading of the wall clock, gives: on
// ordinary days and around both clock changes (a delivery in the skipped
// hour fails in both, one in the repeated hour picks the same reading),
// for scans made seconds to hours before the delivery, across midnight,
// and for malformed action times.
func TestFeedTimesMatchScanTimes(t *testing.T) {
	for _, zone := range []string{"America/New_York", "America/Phoenix", "UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, day := range []string{"2026-03-08", "2026-11-01", "2026-11-23", "2026-12-31"} {
			t.Run(zone+"/"+day, func(t *testing.T) {
				start, _ := time.Parse(time.DateOnly, day)
				ft := &feedTimes{loc: loc}
				checked := 0
				for m := -120; m < 26*60; m += 7 {
					upd := start.Add(time.Duration(m) * time.Minute).Add(13 * time.Second).Format(wallclock.Layout)
					naive, _ := time.Parse(wallclock.Layout, upd)
					for _, back := range []time.Duration{0, 13 * time.Second, 6 * time.Minute, 59 * time.Minute, 61 * time.Minute, 5 * time.Hour} {
						action := naive.Add(-back).Format("15:04:05")
						for _, a := range []string{action, "7:00:00", "12:61:00", "24:00:00", ""} {
							if a != action && back != 0 {
								continue
							}
							d, s, werr := scanTimes(upd, a, loc)
							got, gerr := ft.resolve(upd, a)
							if (werr != nil) != (gerr != nil) {
								t.Fatalf("upd %s action %q: scanTimes error %v, feedTimes error %v", upd, a, werr, gerr)
							}
							if werr != nil {
								continue
							}
							if !got.delivered.Equal(d) || !got.scanned.Equal(s) || got.wall != wallMicros(s, loc) {
								t.Fatalf("upd %s action %q: feedTimes %s %s %d, scanTimes %s %s %d", upd, a,
									got.delivered, got.scanned, got.wall, d, s, wallMicros(s, loc))
							}
							checked++
						}
					}
				}
				if checked == 0 {
					t.Fatalf("nothing checked on %s", day)
				}
			})
		}
	}
}
