package realtime

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/internal/dbtest"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// rawColumns renders archtics_rtx.attendance_raw's columns as one string.
var rawColumns = func() string {
	var parts []string
	for _, c := range schemas.RTXAttendanceRaw.Columns {
		v := "CAST(" + schemas.QuoteIdent(c.Name) + " AS VARCHAR)"
		if c.Type == schemas.Timestamp {
			v = "strftime(" + schemas.QuoteIdent(c.Name) + ", '%Y-%m-%d %H:%M:%S')"
		}
		parts = append(parts, "coalesce("+v+", '')")
	}
	return "concat_ws('|', " + strings.Join(parts, ", ") + ")"
}()

// storedScans reads team's archtics_rtx.attendance_raw as committed now.
func storedScans(tb testing.TB, g *gameDay, team string) []string {
	tb.Helper()
	db, err := views.OpenDuckDB(context.Background(), "", g.w.Log, g.cache, schemas.RTXAttendanceRaw)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	return queryStrings(tb, db, "SELECT "+rawColumns+" FROM archtics_rtx.attendance_raw WHERE team = ?", team)
}

// truthScans is the truth's archtics_rtx.attendance_raw at at, for the events
// whose window opened at or after from (the replay's first tick).
func truthScans(g *gameDay, team string, at, from time.Time) []string {
	keep := map[string]bool{}
	for _, e := range g.world.FollowedEvents(team, at, nil) {
		if !e.Start.Add(-WindowBefore).Before(from) {
			keep[strconv.Itoa(int(e.EventID))] = true
		}
	}
	var out []string
	for _, r := range g.world.TrueAttendance(team, at, nil) {
		if keep[r[schemas.RTXAttendanceRaw.ColumnIndex("event_id")]] {
			out = append(out, strings.Join(r, "|"))
		}
	}
	return out
}

// TestGameDayMatchesTruth replays the doubleheader's day (the third day
// after the cutoff: nhl plays at 13:00 and 19:00, the arena has a college
// game at 13:00 and a concert at 20:00) tick by tick for both teams, and
// after each tick compares archtics_rtx.attendance_raw, row for row, with the
// simulator's truth as of delivery. In the middle of the day the writer
// "restarts": a new warehouse handle, ticks missed for an hour and caught
// up, a tick retried. At the end the enriched view is compared with the
// truth's scans, holders and names.
func TestGameDayMatchesTruth(t *testing.T) {
	cfg := simulator.SmallConfig()
	g := newGameDay(t, cfg, "")
	loc := g.world.Location()
	cut := g.world.Cutoff().In(loc)
	day := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)
	from := day
	end := day.Add(21 * time.Hour) // 04:00 the next day: the concert's window and late deliveries are over
	step := 15 * time.Minute       // the test's tick; production's is three minutes (the truth holds at any tick time)
	restartAt := day.Add(7 * time.Hour)
	var kept, drops int64
	dropped := map[string]int64{}
	// holders sums, per team, where each tick's kept scans got their
	// account (the commit summaries' holder_<outcome>).
	holders := map[string]map[string]int64{"nhl": {}, "arena": {}}
	addHolders := func(rep *TickReport) {
		for k, v := range rep.Holders {
			holders[rep.Team][k] += v
		}
	}
	for at := from; !at.After(end); at = at.Add(step) {
		if !at.Before(restartAt) && at.Before(restartAt.Add(time.Hour)) {
			continue // the writer is down: these ticks are caught up below
		}
		if at.Equal(restartAt.Add(time.Hour)) {
			// The restart: a fresh handle on the warehouse, then the
			// missed ticks in order, each stores what the feed held at its
			// time and no more.
			w, err := pipelinetest.Open(context.Background(), g.w.Store.URL(), quietLogger)
			if err != nil {
				t.Fatal(err)
			}
			g.w = w
			for m := restartAt; m.Before(at); m = m.Add(step) {
				g.clock.Set(at) // the feed has delivered more than the missed tick may store
				rep, err := Tick(context.Background(), g.w, g.cli, "nhl", m, g.selected("nhl", m), TickOptions{Logger: quietLogger, CacheDir: g.cache})
				if err != nil {
					t.Fatalf("catch-up tick at %s: %v", m, err)
				}
				if want := truthScans(g, "nhl", m, from); len(storedScans(t, g, "nhl")) != len(want) {
					t.Fatalf("catch-up tick at %s: %d stored, truth %d (deferred %d)", m, len(storedScans(t, g, "nhl")), len(want), rep.Deferred)
				}
				addHolders(rep)
				arep, err := Tick(context.Background(), g.w, g.cli, "arena", m, g.selected("arena", m), TickOptions{Logger: quietLogger, CacheDir: g.cache})
				if err != nil {
					t.Fatal(err)
				}
				addHolders(arep)
			}
		}
		for _, team := range []string{"nhl", "arena"} {
			rep := g.tick(t, team, at, TickOptions{})
			kept += rep.Kept
			addHolders(rep)
			for k, v := range rep.Dropped {
				dropped[k] += v
				drops += v
			}
			if diff := diffSets(truthScans(g, team, at, from), storedScans(t, g, team)); diff != "" {
				t.Fatalf("%s after the tick at %s: stored scans differ from the truth:\n%s", team, at.In(loc).Format(time.DateTime), diff)
			}
			if at.Equal(restartAt.Add(2 * time.Hour)) {
				// A retried tick (a scheduler's retry) adds nothing.
				again := g.tick(t, team, at, TickOptions{})
				if !again.Commit.Existing || again.Commit.Seq != rep.Commit.Seq {
					t.Fatalf("%s: the retried tick at %s made commit %d, want the existing %d", team, at, again.Commit.Seq, rep.Commit.Seq)
				}
			}
		}
	}
	for _, reason := range []string{DropResultCode, DropScanType, DropBeforeWindow, DropAfterWindow, DropDuplicate} {
		if dropped[reason] == 0 {
			t.Errorf("no scan dropped for %s over the day: the day must exercise every rule (dropped %v)", reason, dropped)
		}
	}
	if kept == 0 {
		t.Fatal("nothing kept over a game day")
	}
	t.Logf("kept %d scans, dropped %d: %v", kept, drops, dropped)
	checkEnrichedIsTruth(t, g, end, from, holders, g.world.Cutoff().Add(-time.Second), end)
}

// checkEnrichedIsTruth compares archtics.attendance_realtime_v with the
// truth's scans delivered by at of the events replayed from from: the
// event's start, the scan's instant (in the client's zone, the default
// preferred zone), the holder and its primary name as the clone knows it
// (archtics.cust as of namesAt: the dump's cutoff, or the watermark the
// clone pulled to). The holder is the truth's: the seat's holder at the
// scan's instant with the merges done by holdersAt followed
// (World.SeatHolders as of holdersAt), else, for a scan without a seat,
// the feed's acct_id. Unless holders is nil, the outcomes the ticks
// counted (per team) must equal the truth's.
func checkEnrichedIsTruth(t *testing.T, g *gameDay, at, from time.Time, holders map[string]map[string]int64, namesAt, holdersAt time.Time) {
	t.Helper()
	if diff := enrichedDiff(t, g, at, from, holders, namesAt, holdersAt); diff != "" {
		t.Fatal(diff)
	}
}

// enrichedDiff is checkEnrichedIsTruth's comparison: "" when the view
// equals the truth, else what differs.
func enrichedDiff(t *testing.T, g *gameDay, at, from time.Time, holders map[string]map[string]int64, namesAt, holdersAt time.Time) string {
	t.Helper()
	loc := g.world.Location()
	ctx := context.Background()
	db, err := views.OpenDuckDB(ctx, "", g.w.Log, g.cache, schemas.AttendanceRealtimeV, schemas.RTXAttendanceRaw)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range g.world.Teams() {
		names := truthNames(g, team, namesAt)
		seatHolders := g.world.SeatHolders(team, holdersAt)
		starts := map[string]time.Time{}
		for _, e := range g.world.FollowedEvents(team, at, nil) {
			if !e.Start.Add(-WindowBefore).Before(from) {
				starts[strconv.Itoa(int(e.EventID))] = e.Start
			}
		}
		sc := func(r simulator.Row, name string) string { return r[schemas.Scan.ColumnIndex(name)] }
		outcomes := map[string]int64{}
		var want, wantChicago []string
		for _, r := range g.world.TrueScansDelivered(team, at, nil) {
			start, ok := starts[sc(r, "event_id")]
			if !ok {
				continue
			}
			scanned, err := g.world.ScanInstant(r)
			if err != nil {
				t.Fatal(err)
			}
			acct := sc(r, "acct_id")
			eventID, _ := strconv.Atoi(sc(r, "event_id"))
			seat, seatErr := strconv.Atoi(sc(r, "seat_num"))
			h, held := simulator.HolderAt(seatHolders, int32(eventID), sc(r, "section_name"), sc(r, "row_name"), int32(seat), scanned)
			switch {
			case acct != "":
				outcomes[HolderFeed]++
				if seatErr == nil && held && !h.Pending {
					acct = strconv.Itoa(int(h.Acct))
				}
			case seatErr == nil && held:
				outcomes[HolderClone]++
				acct = strconv.Itoa(int(h.Acct))
			default:
				outcomes[HolderNone]++
			}
			n := names[acct]
			want = append(want, strings.Join([]string{sc(r, "event_name"), sc(r, "section_name"), sc(r, "row_name"), sc(r, "gate"),
				sc(r, "scan_type"), sc(r, "seat_num"), acct, start.In(loc).Format(time.DateTime),
				scanned.In(loc).Format(time.DateTime), n[0], n[1], n[2]}, "|"))
			wantChicago = append(wantChicago, strings.Join([]string{sc(r, "event_name"), sc(r, "section_name"), sc(r, "row_name"), sc(r, "gate"),
				sc(r, "scan_type"), sc(r, "seat_num"), acct, start.In(chicago).Format(time.DateTime),
				scanned.In(chicago).Format(time.DateTime), n[0], n[1], n[2]}, "|"))
		}
		viewSQL := `SELECT concat_ws('|', coalesce(archtics_event_name, ''), coalesce(section_name, ''), coalesce(row_name, ''),
  coalesce(gate, ''), coalesce(scan_type, ''), coalesce(CAST(seat_num AS VARCHAR), ''), coalesce(CAST(acct_id AS VARCHAR), ''),
  strftime(event_time, '%Y-%m-%d %H:%M:%S'), strftime(ticket_scan_time, '%Y-%m-%d %H:%M:%S'),
  coalesce(name_first, ''), coalesce(name_last, ''), coalesce(email_addr, ''))
FROM archtics.attendance_realtime_v v WHERE archtics_event_name IN (SELECT DISTINCT archtics_event_name FROM archtics_rtx.attendance_raw WHERE team = ?)`
		got := queryStrings(t, db, viewSQL, team)
		if len(want) == 0 {
			t.Fatalf("%s: no truth scans to compare", team)
		}
		if diff := diffSets(want, got); diff != "" {
			return fmt.Sprintf("%s: archtics.attendance_realtime_v differs from the truth (%d want, %d got):\n%s", team, len(want), len(got), diff)
		}
		// The session's preferred zone converts the instants instead of
		// showing the wall clocks the tick stored.
		gotChicago := queryInZone(t, db, "America/Chicago", viewSQL, team)
		if diff := diffSets(wantChicago, gotChicago); diff != "" {
			return fmt.Sprintf("%s: archtics.attendance_realtime_v in America/Chicago differs from the truth:\n%s", team, diff)
		}
		for _, o := range []string{HolderFeed, HolderClone, HolderNone} {
			if holders == nil {
				break
			}
			if holders[team][o] != outcomes[o] {
				t.Errorf("%s: the ticks counted %d scans holder_%s, the truth %d (all: ticks %v, truth %v)", team, holders[team][o], o, outcomes[o], holders[team], outcomes)
			}
		}
		t.Logf("%s: holders %v", team, outcomes)
	}
	return ""
}

// queryInZone runs q, whose rows are one string each, with the session's
// preferred time zone set to zone, on one connection of db (a variable
// holds for its connection only, and is reset before the connection goes
// back to the pool), and returns the rows sorted.
func queryInZone(tb testing.TB, db *sql.DB, zone, q string, args ...any) []string {
	tb.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	set := "SET VARIABLE " + schemas.PreferredTimeZoneVariable + " = " + schemas.QuoteString(zone)
	if _, err := conn.ExecContext(ctx, set); err != nil {
		tb.Fatalf("%s: %v", set, err)
	}
	defer func() {
		if _, err := conn.ExecContext(ctx, "RESET VARIABLE "+schemas.PreferredTimeZoneVariable); err != nil {
			tb.Fatal(err)
		}
	}()
	return dbtest.Strings(tb, conn, q, args...)
}
