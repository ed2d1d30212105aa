package realtime

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/simulator"
)

var updateSamples = flag.Bool("update-samples", false, "rewrite schemas/samples/*.csv from the simulator (make samples)")

// The sample game: the first game of the simulated doubleheader, in the
// demo-size world.
const (
	sampleTeam  = "nhl"
	sampleEvent = "27NHL1123"
	sampleRows  = 240
)

var sampleDir = filepath.Join("..", "..", "schemas", "samples")

// generateSamples computes the sample tables' CSV files from the
// simulator's truth: sampleRows of the sample game's stored scans (what a
// tick keeps: initial entries in the window), spread evenly over its
// arrivals, raw and with the ticket holder's primary name at the end of
// the window.
func generateSamples(t *testing.T) (raw, report []byte) {
	t.Helper()
	world, err := simulator.NewWorld(simulator.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	loc := world.Location()
	var ev *simulator.EventStart
	for _, e := range world.ScanEvents(sampleTeam) {
		if e.Name == sampleEvent {
			ev = &e
			break
		}
	}
	if ev == nil {
		t.Fatalf("the simulator has no realtime event %s of %s", sampleEvent, sampleTeam)
	}
	_, closes := simulator.RealtimeWindow(ev.Start)
	asOf := closes.Add(10 * time.Minute) // past the late deliveries
	col := func(name string) int { return schemas.RTXAttendanceRaw.ColumnIndex(name) }
	var scans []simulator.Row
	for _, r := range world.TrueAttendance(sampleTeam, asOf, simulator.HockeyCriteria) {
		if r[col("archtics_event_name")] == sampleEvent {
			scans = append(scans, r)
		}
	}
	if len(scans) < sampleRows {
		t.Fatalf("%s has %d stored scans, fewer than the %d samples", sampleEvent, len(scans), sampleRows)
	}
	sort.SliceStable(scans, func(i, j int) bool {
		return scans[i][col("ticket_scan_time")] < scans[j][col("ticket_scan_time")]
	})
	type name struct{ first, last, email string }
	holders := map[string]name{}
	cust := schemas.Cust
	for _, r := range world.StateAt(sampleTeam, cust, asOf) {
		if r[cust.ColumnIndex("primary_code")] == "Primary" {
			holders[r[cust.ColumnIndex("acct_id")]] = name{r[cust.ColumnIndex("name_first")], r[cust.ColumnIndex("name_last")], r[cust.ColumnIndex("email_addr")]}
		}
	}
	start := ev.Start.In(loc).Format("2006-01-02 15:04:05")
	var rawBuf, reportBuf bytes.Buffer
	rw, pw := csv.NewWriter(&rawBuf), csv.NewWriter(&reportBuf)
	header := func(w *csv.Writer, tbl *schemas.Table) {
		names := make([]string, len(tbl.Columns))
		for i, c := range tbl.Columns {
			names[i] = c.Name
		}
		w.Write(names)
	}
	header(rw, schemas.RealtimeAttendanceSample)
	header(pw, schemas.RealtimeAttendanceReportSample)
	for i := 0; i < sampleRows; i++ {
		r := scans[i*len(scans)/sampleRows]
		raw := make([]string, len(schemas.RealtimeAttendanceSample.Columns))
		for j, c := range schemas.RealtimeAttendanceSample.Columns {
			raw[j] = r[col(c.Name)]
		}
		rw.Write(raw)
		h := holders[r[col("acct_id")]]
		pw.Write([]string{r[col("archtics_event_name")], r[col("section_name")], r[col("row_name")], r[col("seat_num")],
			r[col("acct_id")], start, r[col("ticket_scan_time")], h.first, h.last, h.email})
	}
	rw.Flush()
	pw.Flush()
	if err := rw.Error(); err != nil {
		t.Fatal(err)
	}
	if err := pw.Error(); err != nil {
		t.Fatal(err)
	}
	return rawBuf.Bytes(), reportBuf.Bytes()
}

// TestSampleDataIsTheSimulators: the shipped sample rows are what the
// simulator's truth gives for the sample game (make samples rewrites
// them after an intended change to the simulator).
func TestSampleDataIsTheSimulators(t *testing.T) {
	raw, report := generateSamples(t)
	files := map[string][]byte{"realtime_attendance_sample.csv": raw, "realtime_attendance_report_sample.csv": report}
	for name, want := range files {
		path := filepath.Join(sampleDir, name)
		if *updateSamples {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the simulator's truth for %s: after an intended change to the simulator, run make samples", path, sampleEvent)
		}
	}
}

// TestSampleTables: the sample views answer in DuckDB with the seed's
// columns, order and types, and their rows look like the real views':
// one game, initial entries only, every scan inside the game's window,
// the two tables the same scans, holders with names.
func TestSampleTables(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seed := map[*schemas.Table]string{
		schemas.RealtimeAttendanceSample: "result_code VARCHAR, gate VARCHAR, scan_type VARCHAR, row_name VARCHAR, archtics_event_name VARCHAR, " +
			"action_time VARCHAR, seat_num VARCHAR, section_name VARCHAR, channel_ind VARCHAR, attendance_seq_id VARCHAR",
		schemas.RealtimeAttendanceReportSample: "archtics_event_name VARCHAR, section_name VARCHAR, row_name VARCHAR, seat_num INTEGER, " +
			"acct_id INTEGER, event_time TIMESTAMP, ticket_scan_time TIMESTAMP, name_first VARCHAR, name_last VARCHAR, email_addr VARCHAR",
	}
	for tbl, want := range seed {
		if _, err := db.ExecContext(ctx, tbl.ViewDDL(nil)); err != nil {
			t.Fatalf("%s: %v", tbl.SQLName(), err)
		}
		var cols []string
		rows, err := db.QueryContext(ctx, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'korebi' AND table_name = ? ORDER BY ordinal_position", tbl.Name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n, typ string
			if err := rows.Scan(&n, &typ); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, n+" "+typ)
		}
		rows.Close()
		if got := strings.Join(cols, ", "); got != want {
			t.Fatalf("%s columns:\n%s\nwant the seed's\n%s", tbl.SQLName(), got, want)
		}
	}
	var n, events, entries, outside, named, joined int
	q := `SELECT count(*), count(DISTINCT archtics_event_name),
  count(*) FILTER (WHERE ticket_scan_time BETWEEN event_time - INTERVAL 5 HOUR AND event_time + INTERVAL 6 HOUR),
  count(*) FILTER (WHERE ticket_scan_time NOT BETWEEN event_time - INTERVAL 5 HOUR AND event_time + INTERVAL 6 HOUR),
  count(*) FILTER (WHERE acct_id IS NULL OR name_last <> '')
FROM korebi.realtime_attendance_report_sample`
	if err := db.QueryRowContext(ctx, q).Scan(&n, &events, &entries, &outside, &named); err != nil {
		t.Fatal(err)
	}
	if n != sampleRows || events != 1 || entries != n || outside != 0 || named != n {
		t.Fatalf("report sample: %d rows (want %d), %d events (want 1), %d in the window, %d outside, %d with a holder's name or no account", n, sampleRows, events, entries, outside, named)
	}
	var bad int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE result_code <> '0' OR scan_type <> 'S'), count(DISTINCT attendance_seq_id) FROM korebi.realtime_attendance_sample`).Scan(&bad, &joined); err != nil {
		t.Fatal(err)
	}
	if bad != 0 || joined != sampleRows {
		t.Fatalf("raw sample: %d rows other than initial entries at standard gates, %d distinct seq ids (want %d)", bad, joined, sampleRows)
	}
	// Row for row the same scans: section, row, seat and time of day.
	q = `SELECT count(*) FROM (
  SELECT section_name, row_name, CAST(seat_num AS INTEGER), action_time FROM korebi.realtime_attendance_sample
  EXCEPT ALL
  SELECT section_name, row_name, seat_num, strftime(ticket_scan_time, '%H:%M:%S') FROM korebi.realtime_attendance_report_sample)`
	if err := db.QueryRowContext(ctx, q).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d raw sample rows have no report sample row (%v)", bad, err)
	}
}
