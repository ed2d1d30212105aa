package realtime

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"archtics/schemas"
)

// sampleRows is how many scans the shipped sample tables hold (written
// by simulator/cmd/samples, which checks them against the simulator).
const sampleRows = 240

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
