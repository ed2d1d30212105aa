package realtime

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/internal/gamedaytest"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// TestArrivalsAndNoShowsMatchTruth ticks the doubleheader's day, pulls
// the clone past it, refreshes (which derives each event's sold seats),
// and compares archtics.arrivals and archtics.no_shows row for row with
// counts made from the truth: the scans the realtime store must hold
// (TrueScansDelivered), and the seats held at each event's start as the
// clone can know them (World.SeatHolders with the instants the clone read
// the ticket table: a pending Ticket Exchange posting counts as a
// hand-over there, as in archtics.ticket_holder), the holders' primary
// names as of the pull. Then it pulls the clone past the standard
// attendance, reconciles and refreshes: every no-show is then the
// standard's, a sold seat with no successful 'S' or 'M' entry in the
// truth's archtics.attendance (the manual entries the feed never carries
// are arrivals), the names as of that pull.
func TestArrivalsAndNoShowsMatchTruth(t *testing.T) {
	ctx := context.Background()
	g, day, end := tickedGameDay(t)
	pulled := end.Add(time.Hour)
	pullClone(t, g, pulled)
	refreshAll(t, g)
	loc := g.world.Location()
	db, err := views.OpenDuckDB(ctx, "", g.w.Log, g.cache, schemas.Arrivals, schemas.NoShows)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	starts := map[string]map[int32]time.Time{} // team → event → start
	codes := map[int32]string{}
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
		starts[team] = map[int32]time.Time{}
		for _, e := range g.world.FollowedEvents(team, end, nil) {
			if !e.Start.Add(-WindowBefore).Before(day) {
				starts[team][e.EventID] = e.Start
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
			start, ok := starts[team][int32(id)]
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
		scanned := map[string]bool{}
		for k := range seats {
			scanned[k] = true
		}
		sold, wantNoShows := truthNoShows(g, starts[team], codes, holders, names, scanned, "realtime")
		// Arrivals: per event, gate and bucket.
		firstAt := map[string]int64{}     // event|gate|minutes → seats first scanned there
		firstByEvent := map[int32][]int{} // event → first-scan minutes
		for _, s := range seats {
			m := bucketMinutes(starts[team][s.event].In(loc), s.firstScan.In(loc))
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
			start := starts[team][int32(id)].In(loc)
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
		checkNoShows(t, db, team, wantNoShows)
		t.Logf("%s: %d arrivals rows, %d no-shows over %d events (sold %v)", team, len(gotArrivals), len(wantNoShows), len(starts[team]), sold)
	}

	// The standard attendance arrives: pulled, refreshed, reconciled.
	posted := pulled
	for _, team := range g.world.Teams() {
		for id, start := range starts[team] {
			at, ok := g.world.AttendancePosted(team, id)
			if !ok || at.After(start.Add(WindowAfter).Add(DefaultPostingDelay)) {
				t.Fatalf("%s event %d: its attendance is posted at %v (%v), after the posting delay the product assumes", team, id, at, ok)
			}
			posted = maxTime(posted, start.Add(WindowAfter).Add(DefaultPostingDelay))
		}
	}
	pullClone(t, g, posted)
	for _, team := range g.world.Teams() {
		rep, err := Reconcile(ctx, g.w, team, ReconcileOptions{CacheDir: g.cache, Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Events) != len(starts[team]) {
			t.Fatalf("%s: %d events reconciled, want the %d ticked", team, len(rep.Events), len(starts[team]))
		}
	}
	// Reconciled, their no-shows are still the realtime scans' until a
	// refresh reads the standard attendance into their seats.
	refreshAll(t, g)
	db2, err := views.OpenDuckDB(ctx, "", g.w.Log, g.cache, schemas.NoShows)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	att := schemas.Attendance
	for _, team := range g.world.Teams() {
		head, err := g.w.Stream(ctx, team+"/clone")
		if err != nil {
			t.Fatal(err)
		}
		wm, err := time.Parse(time.RFC3339Nano, head.Watermark)
		if err != nil {
			t.Fatal(err)
		}
		entered := map[string]bool{}
		manual := 0
		for _, r := range g.world.StateAt(team, att, wm) {
			at := func(name string) string { return r[att.ColumnIndex(name)] }
			typ := at("scan_type")
			if at("result_code") != simulator.ResultOK || typ != simulator.ScanStandard && typ != simulator.ScanManual || at("seat_num") == "" {
				continue
			}
			if typ == simulator.ScanManual {
				manual++
			}
			entered[fmt.Sprintf("%s|%s|%s|%s", at("event_id"), at("section_name"), at("row_name"), at("seat_num"))] = true
		}
		if manual == 0 {
			t.Fatalf("%s: the truth's attendance has no manual entry: the test cannot tell the standard no-shows from the realtime ones", team)
		}
		holders := g.world.SeatHolders(team, wm, g.world.Cutoff().Add(-time.Nanosecond), wm)
		_, want := truthNoShows(g, starts[team], codes, holders, truthNames(g, team, wm), entered, "standard")
		checkNoShows(t, db2, team, want)
		t.Logf("%s: %d standard no-shows (%d manual entries in the standard attendance)", team, len(want), manual)
	}
}

// truthNoShows counts, from the truth, the sold seats of the events
// (event → start) and lists the no-shows as archtics.no_shows renders
// them (see checkNoShows): each seat held at its event's start (the last
// interval holding the start wins, as HolderAt) that scanned
// ("event|section|row|seat") lacks, with the holder's names.
func truthNoShows(g *gameDay, starts map[int32]time.Time, codes map[int32]string, holders []simulator.SeatHolding,
	names map[string][3]string, scanned map[string]bool, source string) (map[int32]int64, []string) {
	loc := g.world.Location()
	sold := map[int32]int64{}
	var out []string
	for _, h := range holders {
		start, ok := starts[h.EventID]
		if !ok {
			continue
		}
		if h.From.After(start) || !h.Until.IsZero() && !start.Before(h.Until) {
			continue
		}
		if hh, _ := simulator.HolderAt(holders, h.EventID, h.Section, h.Row, h.Seat, start); hh != h {
			continue
		}
		sold[h.EventID]++
		if scanned[fmt.Sprintf("%d|%s|%s|%d", h.EventID, h.Section, h.Row, h.Seat)] {
			continue
		}
		acct := strconv.Itoa(int(h.Acct))
		n := names[acct]
		out = append(out, strings.Join([]string{strconv.Itoa(int(h.EventID)), codes[h.EventID],
			start.In(loc).Format(time.DateTime), h.Section, h.Row, strconv.Itoa(int(h.Seat)), acct, n[0], n[1], n[2], source}, "|"))
	}
	return sold, out
}

// checkNoShows compares team's archtics.no_shows with want.
func checkNoShows(t *testing.T, db *sql.DB, team string, want []string) {
	t.Helper()
	got := queryStrings(t, db, `SELECT concat_ws('|', event_id, archtics_event_name, strftime(event_time, '%Y-%m-%d %H:%M:%S'),
  coalesce(section_name, ''), coalesce(row_name, ''), seat_num, acct_id, coalesce(name_first, ''), coalesce(name_last, ''),
  coalesce(email_addr, ''), source)
FROM archtics.no_shows WHERE team = ?`, team)
	if len(want) == 0 {
		t.Fatalf("%s: the truth has no no-shows to compare", team)
	}
	if diff := diffSets(want, got); diff != "" {
		t.Errorf("%s: archtics.no_shows differs from the truth (%d want, %d got):\n%s", team, len(want), len(got), diff)
	}
}

// refreshAll refreshes every team's stored holders and event seats.
func refreshAll(t *testing.T, g *gameDay) {
	t.Helper()
	for _, team := range g.world.Teams() {
		if _, err := Refresh(context.Background(), g.w, team, g.cache); err != nil {
			t.Fatalf("refresh %s: %v", team, err)
		}
	}
}

// bucketMinutes is gamedaytest.BucketMinutes.
func bucketMinutes(start, scan time.Time) int { return gamedaytest.BucketMinutes(start, scan) }

// truthNames is gamedaytest.TruthNames of g's world.
func truthNames(g *gameDay, team string, at time.Time) map[string][3]string {
	return gamedaytest.TruthNames(g.world, team, at)
}
