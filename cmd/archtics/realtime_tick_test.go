package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/schemas"
	"archtics/simulator"
)

// seedQueries are the seed's six example queries, verbatim.
var seedQueries = []string{
	`SELECT COUNT(*)
FROM archtics.attendance_realtime_v
WHERE section_name = '308';`,
	`SELECT COUNT(*)
FROM archtics.attendance_realtime_v
WHERE CAST(event_time AS date) = '2022-01-01'
AND ticket_scan_time > event_time;`,
	`SELECT *
FROM archtics.attendance_realtime_v
WHERE email_addr = 'username@example.com'
AND CAST(ticket_scan_time AS DATE) = CURRENT_DATE;`,
	`SELECT COUNT(*)
FROM archtics_rtx.dwa_archtics_realtime_attendance_view
WHERE section_name = '308';`,
	`SELECT COUNT(*)
FROM korebi.dwa_archtics_realtime_attendance_view
WHERE CAST(event_time AS date) = '2022-01-01'
AND ticket_scan_time > event_time;`,
	`SELECT *
FROM korebi.dwa_archtics_realtime_attendance_view
WHERE email_addr = 'username@example.com'
AND CAST(ticket_scan_time AS DATE) = CURRENT_DATE;`,
}

// TestSeedQueriesOnAGameDay: the test chooses the game day the seed's
// queries name, 2022-01-01 (a world cut three days before, so it is the
// doubleheader's day), ticks both teams through it with `archtics realtime
// tick`, then runs the six example queries verbatim through `archtics
// query` and compares each answer with one computed from the simulator's
// truth: scans in section 308, scans after the start of the day's events,
// and the scans of a ticket holder's email today (none: no account has
// the seed's placeholder address, and today is not 2022-01-01).
func TestSeedQueriesOnAGameDay(t *testing.T) {
	ctx := context.Background()
	wh, cache, want := seedGameDay(t)
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range seedQueries {
		var out, errOut bytes.Buffer
		if err := runQuery(ctx, &out, &errOut, w, cache, "", q, "csv"); err != nil {
			t.Fatalf("seed query %d: %v\n%s", i+1, err, q)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		got := strings.Join(lines[1:], "\n") // the header, then the rows
		if got != want[i] {
			t.Errorf("seed query %d answered %q, the truth says %q:\n%s", i+1, got, want[i], q)
		}
	}
	checkRealtimeMetrics(t, w, wh, cache)
}

// checkRealtimeMetrics rolls nhl's day up and then expires it (three weeks
// later) with --metrics-file, and checks what the file says against the
// warehouse: the roll-up rewrote as many rows as it read, and the expiry
// retired every live scan of the team.
func checkRealtimeMetrics(t *testing.T, w *pipeline.Warehouse, wh, cache string) {
	t.Helper()
	ctx := context.Background()
	prom := filepath.Join(t.TempDir(), "archtics.prom")
	base := []string{"archtics", "-w", wh, "--log-level", "error", "--metrics-file", prom, "realtime"}
	// The scans of nhl: rows of the raw table (the enriched table holds
	// the same scans again).
	liveRows := func() (n float64) {
		st, err := w.StateOf(ctx, schemas.RTXAttendanceRaw)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range st.Files(schemas.RTXAttendanceRaw.FullName()) {
			if strings.Contains(f.Key, "team=nhl/") {
				n += float64(f.Rows)
			}
		}
		return n
	}
	before := liveRows()
	captureStdout(t, func() {
		if code := run(ctx, append(append([]string{}, base...), "rollup", "--team", "nhl", "--min-files", "2", "--cache", cache)); code != exitOK {
			t.Fatalf("realtime rollup: exit %d", code)
		}
		if code := run(ctx, append(append([]string{}, base...), "expire", "--team", "nhl", "--at", "2022-01-22 00:00:00")); code != exitOK {
			t.Fatalf("realtime expire: exit %d", code)
		}
	})
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	got := parseExposition(t, string(b))
	sample := func(family, stage string) float64 {
		for l, v := range got[family] {
			if strings.Contains(l, "stage="+stage) && strings.Contains(l, "team=nhl") {
				return v
			}
		}
		t.Fatalf("%s has no %s sample for stage %s:\n%s", prom, family, stage, b)
		return 0
	}
	if in, loaded := sample("archtics_stage_rows_in", "realtime-rollup"), sample("archtics_stage_rows_loaded", "realtime-rollup"); in == 0 || in != loaded {
		t.Errorf("realtime-rollup metrics: %v rows in, %v loaded; want equal and not zero", in, loaded)
	}
	if in := sample("archtics_stage_rows_in", "realtime-expire"); before == 0 || in != before || liveRows() != 0 {
		t.Errorf("realtime-expire metrics: %v rows retired; the warehouse held %v live nhl realtime rows, %v after", in, before, liveRows())
	}
}

// seedGameDay builds the warehouse TestSeedQueriesOnAGameDay describes
// (the game day 2022-01-01 ticked for both teams) in a temporary folder
// and returns it, its cache and each seed query's answer from the truth
// (the CSV rows without the header).
func seedGameDay(t *testing.T) (wh, cache string, want []string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	loc, _ := time.LoadLocation(cfg.TimeZone)
	cfg.Cutoff = time.Date(2021, 12, 29, 12, 0, 1, 0, loc).UTC()
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(filepath.Join(dir, "dump")), nil); err != nil {
		t.Fatal(err)
	}
	wh, cache = filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
	if code := run(ctx, []string{"archtics", "-w", wh, "--log-level", "error", "load-dump", "--dump", filepath.Join(dir, "dump")}); code != exitOK {
		t.Fatalf("load-dump: exit %d", code)
	}
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := simulator.NewSimClock(world.Cutoff())
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: "t", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	// The seed's first example criteria, in force from before the day.
	for _, team := range world.Teams() {
		args := []string{"archtics", "-w", wh, "--log-level", "error", "realtime", "criteria", "set", "--team", team,
			"--effective", "2021-12-31 00:00:00", "total_events = 1 AND major_category IN ('SPORTS','CONCERTS')"}
		if code := run(ctx, args); code != exitOK {
			t.Fatalf("%s: exit %d", strings.Join(args, " "), code)
		}
	}
	day := time.Date(2022, 1, 1, 7, 0, 0, 0, loc)
	end := day.Add(21 * time.Hour)
	for at := day; !at.After(end); at = at.Add(time.Hour) {
		clock.Set(at)
		for _, team := range world.Teams() {
			args := []string{"archtics", "-w", wh, "--log-level", "error", "realtime", "tick", "--team", team, "--source", hs.URL,
				"--token", "t", "--cache", cache, "--at", at.In(loc).Format(time.DateTime)}
			if code := run(ctx, args); code != exitOK {
				t.Fatalf("%s: exit %d", strings.Join(args, " "), code)
			}
		}
	}

	// The truth: every team's stored scans at the end, with their event's
	// start, scan instant and holder's email (the clone is the dump).
	var section308, late int
	for _, team := range world.Teams() {
		for _, r := range world.TrueScansDelivered(team, end, nil) {
			sc := func(n string) string { return r[schemas.Scan.ColumnIndex(n)] }
			start := startOf(t, world, team, sc("event_id"))
			if start.Add(-5 * time.Hour).Before(day) {
				continue // an event before the replayed day: not ticked
			}
			if sc("section_name") == "308" {
				section308++
			}
			scanned, err := world.ScanInstant(r)
			if err != nil {
				t.Fatal(err)
			}
			if start.In(loc).Format(time.DateOnly) == "2022-01-01" && scanned.After(start) {
				late++
			}
		}
	}
	if section308 == 0 || late == 0 {
		t.Fatalf("the truth has %d scans in section 308 and %d after the start: the day must have both", section308, late)
	}
	want = []string{strconv.Itoa(section308), strconv.Itoa(late), "", strconv.Itoa(section308), strconv.Itoa(late), ""}
	return wh, cache, want
}

// startOf is an event's start instant from the truth's feed events.
func startOf(t *testing.T, world *simulator.World, team, eventID string) time.Time {
	t.Helper()
	for _, e := range world.ScanEvents(team) {
		if strconv.Itoa(int(e.EventID)) == eventID {
			return e.Start
		}
	}
	t.Fatalf("%s event %s is not a feed event", team, eventID)
	return time.Time{}
}
