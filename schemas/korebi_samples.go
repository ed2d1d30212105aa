package schemas

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
)

// The realtime sample tables (the seed: "KORE provides sample data to use
// for this purpose ... stored in the realtime_attendance_sample and
// realtime_attendance_report_sample tables"). Their rows ship inside the
// program: the CSV files under samples/, generated from the simulator
// (one game's scans; `make samples` runs simulator/cmd/samples, whose
// test checks them), are served as views over VALUES. So they answer on a
// fresh warehouse with nothing committed, and the view definitions, rows
// included, are saved in the DuckDB file `archtics query --db` writes for
// DBeaver.

//go:embed samples/realtime_attendance_sample.csv
var realtimeAttendanceSampleCSV string

//go:embed samples/realtime_attendance_report_sample.csv
var realtimeAttendanceReportSampleCSV string

// RealtimeAttendanceSample is korebi.realtime_attendance_sample: raw
// realtime scans with the seed's ten varchar(50) columns in its order
// (archtics_rtx.attendance's first ten).
var RealtimeAttendanceSample = sampleTable("realtime_attendance_sample",
	"Sample realtime scans in the raw feed's shape, for writing queries when no game is on.",
	[]Column{
		str("result_code", 50, "always '0': only successful entries are kept"),
		str("gate", 50, ""),
		str("scan_type", 50, "always 'S': standard gate scanners"),
		str("row_name", 50, ""),
		str("archtics_event_name", 50, "the Archtics event code"),
		str("action_time", 50, "local time of day HH:MM:SS"),
		str("seat_num", 50, ""),
		str("section_name", 50, ""),
		str("channel_ind", 50, "M mobile, P print-at-home, C card"),
		str("attendance_seq_id", 50, "the feed's sequence number"),
	}, realtimeAttendanceSampleCSV)

// RealtimeAttendanceReportSample is korebi.realtime_attendance_report_sample:
// the same scans in the shape of korebi.dwa_archtics_realtime_attendance_view
// (the seed's ten columns, names, order and types), with the ticket holder.
var RealtimeAttendanceReportSample = sampleTable("realtime_attendance_report_sample",
	"Sample realtime scans with the event's start and the ticket holder, in the legacy view's shape.",
	[]Column{
		str("archtics_event_name", 50, "the Archtics event code"),
		str("section_name", 50, ""),
		str("row_name", 50, ""),
		col("seat_num", Int32, ""),
		col("acct_id", Int32, "the ticket holder at scan time"),
		col("event_time", Timestamp, "the event's start, local"),
		col("ticket_scan_time", Timestamp, "the scan's instant, local"),
		str("name_first", 100, "the holder's primary name"),
		str("name_last", 100, ""),
		str("email_addr", 300, ""),
	}, realtimeAttendanceReportSampleCSV)

// sampleTable is a view-only korebi table over the rows of data, a CSV
// whose header names cols in order; an empty field is NULL.
func sampleTable(name, doc string, cols []Column, data string) *Table {
	t := &Table{Schema: "korebi", Name: name, Doc: doc, Columns: cols}
	sqlText, err := valuesSQL(cols, data)
	if err != nil {
		// The data is embedded at build time: TestSampleTables reads it.
		panic(fmt.Sprintf("schemas: korebi.%s sample data: %v", name, err))
	}
	t.ViewSQL = sqlText
	return t
}

// valuesSQL selects the CSV's rows, each value cast to its column's type.
func valuesSQL(cols []Column, data string) (string, error) {
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		return "", err
	}
	if len(recs) == 0 {
		return "", fmt.Errorf("no header line")
	}
	for i, c := range cols {
		if i >= len(recs[0]) || recs[0][i] != c.Name {
			return "", fmt.Errorf("header %v: want the columns %s in order", recs[0], quotedList(cols, ""))
		}
	}
	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "CAST(c%d AS %s) AS %s", i, c.Type, QuoteIdent(c.Name))
	}
	if len(recs) == 1 {
		sb.WriteString(" FROM (SELECT ")
		for i := range cols {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "NULL AS c%d", i)
		}
		sb.WriteString(") WHERE false")
		return sb.String(), nil
	}
	sb.WriteString(" FROM (VALUES ")
	for r, rec := range recs[1:] {
		if len(rec) != len(cols) {
			return "", fmt.Errorf("line %d: %d fields, want %d", r+2, len(rec), len(cols))
		}
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(")
		for i, v := range rec {
			if i > 0 {
				sb.WriteString(", ")
			}
			if v == "" {
				sb.WriteString("NULL")
			} else {
				sb.WriteString(QuoteString(v))
			}
		}
		sb.WriteString(")")
	}
	sb.WriteString(") AS sample(")
	for i := range cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "c%d", i)
	}
	sb.WriteString(")")
	return sb.String(), nil
}
