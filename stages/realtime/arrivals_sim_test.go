package realtime

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// TestArrivalsAndNoShowsMatchTruth ticks the doubleheader's day, pulls
// the clone past it, and compares archtics.arrivals and archtics.no_shows
// row for row with counts made from the truth: the scans the realtime
// store must hold (TrueScansDelivered), and the seats held at each
// event's start as the clone can know them (World.SeatHolders with the
// instants the clone read the ticket table: a pending Ticket Exchange
// posting counts as a hand-over there, as in archtics.ticket_holder), the
// holders' primary names as of the pull.
func TestArrivalsAndNoShowsMatchTruth(t *testing.T) {
	ctx := context.Background()
	g, day, end := tickedGameDay(t)
	pulled := end.Add(time.Hour)
	pullClone(t, g, pulled)
	loc := g.world.Location()
	db, err := views.OpenDuckDB(ctx, "", g.w.Log, g.cache, schemas.Arrivals, schemas.NoShows)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, team := range g.world.Teams() {
		head, err := g.w.Stream(ctx, team+"/clone")
		if err != nil {
			t.Fatal(err)
		}
		wm, err := time.Parse(time.RFC3339Nano, head.Watermark)
		if err != nil {
			t.Fatal(err)
		}
		holders := g.world.SeatHolders(team, wm, g.world.Cutoff().Add(-time.Nanosecond), wm)
		names := truthNames(g, team, wm)
		starts := map[int32]time.Time{}
		codes := map[int32]string{}
		for _, e := range g.world.FollowedEvents(team, end, nil) {
			if !e.Start.Add(-WindowBefore).Before(day) {
				starts[e.EventID] = e.Start
			}
		}
		// The stored scans, as the truth has them.
		type seat struct {
			event     int32
			sec, row  string
			seat      int32
			firstScan time.Time
			firstGate string
		}
		perBucket := map[string]int64{} // event|gate|minutes → scans
		seats := map[string]*seat{}
		sc := func(r simulator.Row, name string) string { return r[schemas.Scan.ColumnIndex(name)] }
		for _, r := range g.world.TrueScansDelivered(team, end, nil) {
			id, _ := strconv.Atoi(sc(r, "event_id"))
			start, ok := starts[int32(id)]
			if !ok {
				continue
			}
			codes[int32(id)] = sc(r, "event_name")
			scanned, err := g.world.ScanInstant(r)
			if err != nil {
				t.Fatal(err)
			}
			mins := bucketMinutes(start.In(loc), scanned.In(loc))
			perBucket[fmt.Sprintf("%d|%s|%d", id, sc(r, "gate"), mins)]++
			n, err := strconv.Atoi(sc(r, "seat_num"))
			if err != nil {
				continue // a staff credential: a scan, no seat
			}
			k := fmt.Sprintf("%d|%s|%s|%d", id, sc(r, "section_name"), sc(r, "row_name"), n)
			if s, ok := seats[k]; !ok || scanned.Before(s.firstScan) {
				seats[k] = &seat{int32(id), sc(r, "section_name"), sc(r, "row_name"), int32(n), scanned, sc(r, "gate")}
			}
		}
		if len(perBucket) == 0 {
			t.Fatalf("%s: no scans to compare", team)
		}
		// Sold seats: a holder at the start.
		sold := map[int32]int64{}
		var wantNoShows []string
		for _, h := range holders {
			start, ok := starts[h.EventID]
			if !ok {
				continue
			}
			if h.From.After(start) || !h.Until.IsZero() && !start.Before(h.Until) {
				continue
			}
			// The last interval holding the start wins, as HolderAt.
			hh, _ := simulator.HolderAt(holders, h.EventID, h.Section, h.Row, h.Seat, start)
			if hh != h {
				continue
			}
			sold[h.EventID]++
			if _, ok := seats[fmt.Sprintf("%d|%s|%s|%d", h.EventID, h.Section, h.Row, h.Seat)]; ok {
				continue
			}
			acct := strconv.Itoa(int(h.Acct))
			n := names[acct]
			wantNoShows = append(wantNoShows, strings.Join([]string{strconv.Itoa(int(h.EventID)), codes[h.EventID],
				start.In(loc).Format(time.DateTime), h.Section, h.Row, strconv.Itoa(int(h.Seat)), acct, n[0], n[1], n[2], "realtime"}, "|"))
		}
		// Arrivals: per event, gate and bucket.
		firstAt := map[string]int64{}     // event|gate|minutes → seats first scanned there
		firstByEvent := map[int32][]int{} // event → first-scan minutes
		for _, s := range seats {
			m := bucketMinutes(starts[s.event].In(loc), s.firstScan.In(loc))
			firstAt[fmt.Sprintf("%d|%s|%d", s.event, s.firstGate, m)]++
			firstByEvent[s.event] = append(firstByEvent[s.event], m)
		}
		var keys []string
		for k := range perBucket {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, b int) bool {
			pa, pb := strings.Split(keys[a], "|"), strings.Split(keys[b], "|")
			if pa[0] != pb[0] || pa[1] != pb[1] {
				return keys[a] < keys[b]
			}
			ma, _ := strconv.Atoi(pa[2])
			mb, _ := strconv.Atoi(pb[2])
			return ma < mb
		})
		gateCum := map[string]int64{}
		var wantArrivals []string
		for _, k := range keys {
			p := strings.Split(k, "|")
			id, _ := strconv.Atoi(p[0])
			m, _ := strconv.Atoi(p[2])
			gateCum[p[0]+"|"+p[1]] += perBucket[k]
			var seen int64
			for _, f := range firstByEvent[int32(id)] {
				if f <= m {
					seen++
				}
			}
			start := starts[int32(id)].In(loc)
			share := "NULL"
			if sold[int32(id)] > 0 {
				share = strconv.FormatFloat(float64(seen)/float64(sold[int32(id)]), 'f', 6, 64)
			}
			wantArrivals = append(wantArrivals, strings.Join([]string{p[0], codes[int32(id)], start.Format(time.DateTime), p[1],
				start.Add(time.Duration(m) * time.Minute).Format(time.DateTime), p[2], strconv.FormatInt(perBucket[k], 10),
				strconv.FormatInt(gateCum[p[0]+"|"+p[1]], 10), strconv.FormatInt(firstAt[k], 10), strconv.FormatInt(seen, 10),
				strconv.FormatInt(sold[int32(id)], 10), share}, "|"))
		}
		gotArrivals := queryStrings(t, db, `SELECT concat_ws('|', event_id, archtics_event_name, strftime(event_time, '%Y-%m-%d %H:%M:%S'),
  gate, strftime(bucket_start, '%Y-%m-%d %H:%M:%S'), minutes_to_start, scans, gate_cumulative_scans, first_entries, seats_scanned,
  sold_seats, coalesce(printf('%.6f', share_scanned), 'NULL'))
FROM archtics.arrivals WHERE team = ?`, team)
		if diff := diffSets(wantArrivals, gotArrivals); diff != "" {
			t.Errorf("%s: archtics.arrivals differs from the truth (%d want, %d got):\n%s", team, len(wantArrivals), len(gotArrivals), diff)
		}
		gotNoShows := queryStrings(t, db, `SELECT concat_ws('|', event_id, archtics_event_name, strftime(event_time, '%Y-%m-%d %H:%M:%S'),
  coalesce(section_name, ''), coalesce(row_name, ''), seat_num, acct_id, coalesce(name_first, ''), coalesce(name_last, ''),
  coalesce(email_addr, ''), source)
FROM archtics.no_shows WHERE team = ?`, team)
		if len(wantNoShows) == 0 {
			t.Fatalf("%s: the truth has no no-shows to compare", team)
		}
		if diff := diffSets(wantNoShows, gotNoShows); diff != "" {
			t.Errorf("%s: archtics.no_shows differs from the truth (%d want, %d got):\n%s", team, len(wantNoShows), len(gotNoShows), diff)
		}
		t.Logf("%s: %d arrivals rows, %d no-shows over %d events (sold %v)", team, len(gotArrivals), len(gotNoShows), len(starts), sold)
	}
}

// bucketMinutes is the start, in minutes from the event's start, of the
// three-minute bucket holding the scan, both wall clocks of one zone.
func bucketMinutes(start, scan time.Time) int {
	wall := func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	}
	d := wall(scan).Sub(wall(start))
	b := d / (3 * time.Minute)
	if d < 0 && d%(3*time.Minute) != 0 {
		b--
	}
	return int(b) * 3
}

// truthNames is every account's primary name (the lowest cust_name_id
// with primary_code 'Primary') in the truth's archtics.cust as of at:
// first, last, email.
func truthNames(g *gameDay, team string, at time.Time) map[string][3]string {
	cust := schemas.Cust
	names := map[string][3]string{}
	best := map[string]int{}
	for _, r := range g.world.StateAt(team, cust, at) {
		if r[cust.ColumnIndex("primary_code")] != "Primary" {
			continue
		}
		acct := r[cust.ColumnIndex("acct_id")]
		id, _ := strconv.Atoi(r[cust.ColumnIndex("cust_name_id")])
		if b, ok := best[acct]; ok && b < id {
			continue
		}
		best[acct] = id
		names[acct] = [3]string{r[cust.ColumnIndex("name_first")], r[cust.ColumnIndex("name_last")], r[cust.ColumnIndex("email_addr")]}
	}
	return names
}
