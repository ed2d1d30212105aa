package schemas

import (
	"fmt"
	"strings"
)

// The realtime attendance tables and views (issue 9). A team's realtime
// stream ({team}/realtime) owns two stored tables, partitioned by team and
// event date:
//
//	archtics_rtx.attendance_raw        the raw kept scans (RTXAttendanceRaw):
//	                                   the seed's eleven columns, then the five
//	                                   the warehouse adds to tell teams and
//	                                   events apart and to window scans
//	archtics_rtx.attendance_enriched   the same scans with the event's start,
//	                                   the holder's account and primary name
//	                                   (RTXEnriched): what the views read
//
// and the views over them have the seed's names, column order and types:
//
//	archtics_rtx.attendance                     11 columns, every team's raw scans
//	                                            (RTXAttendance, over attendance_raw)
//	archtics.attendance_realtime_v              12 columns (AttendanceRealtimeV)
//	korebi.dwa_archtics_realtime_attendance_view 10 columns, the legacy view
//	archtics_rtx.dwa_archtics_realtime_attendance_view  the same, where the
//	                                            seed's first legacy example reads it
//	archtics_<team>_rtx.attendance              11 columns, one schema per team
//	                                            (TeamRTXAttendance, generated per
//	                                            team from the warehouse's streams)

// PreferredTimeZoneVariable is the DuckDB variable that overrides, for one
// session, the preferred time zone the views convert timestamps to:
// SET VARIABLE preferred_time_zone = 'America/Chicago'. Unset, each row
// shows the zone its team's setting named when it was stored
// (RTXEnriched.display_zone; the realtime stream's setting, by default the
// client's zone).
const PreferredTimeZoneVariable = "preferred_time_zone"

// RTXEnriched is archtics_rtx.attendance_enriched: one row per stored
// scan, as archtics_rtx.attendance_raw, with what the tick looked up in the
// clone. Times are instants (TIMESTAMPTZ), so the views can show them in
// any zone without the ambiguity of a wall clock in the hour a fall-back
// repeats.
var RTXEnriched = &Table{
	Schema: "archtics_rtx", Name: "attendance_enriched",
	Doc: "Realtime scans with the event's start and the ticket holder's account and primary name; the realtime views read it.",
	Columns: []Column{
		str("archtics_event_name", 50, "feed.event_name: the Archtics event code"),
		str("section_name", 50, "feed.section_name"),
		str("row_name", 50, "feed.row_name"),
		str("gate", 50, "feed.gate"),
		str("scan_type", 50, "feed.scan_type (always 'S')"),
		col("seat_num", Int32, "feed.seat_num as an integer; NULL for a staff credential"),
		col("acct_id", Int32, "the ticket holder at scan time: feed.acct_id moved to the winner of the account merges the clone "+
			"knew at the tick (archtics.acct_merge, followed to the end of a chain); when the feed names none, the clone's "+
			"archtics.ticket_holder for the seat at ticket_scan_time (merges followed)"),
		col("event_start", TimestampTZ, "the event's start: archtics.event.event_date + event_time in the client's zone, as an instant"),
		col("scan_at", TimestampTZ, "the scan's instant: the latest at or before the delivery (feed.upd_datetime) "+
			"whose local time of day is feed.action_time"),
		col("event_time", Timestamp, "event_start as the wall clock of display_zone, computed at the tick: what the views "+
			"show unless the session sets the variable "+PreferredTimeZoneVariable+" (converting instants per row in "+
			"DuckDB costs seconds over a week of scans)"),
		col("ticket_scan_time", Timestamp, "scan_at as the wall clock of display_zone, computed at the tick"),
		str("name_first", 100, "archtics.cust.name_first of acct_id's primary name (primary_code = 'Primary') in the clone at the tick"),
		str("name_last", 250, "archtics.cust.name_last of the same row"),
		noDict(str("email_addr", 100, "archtics.cust.email_addr of the same row")),
		str("display_zone", 64, "the preferred time zone (IANA) the team's setting named at the tick: event_time and "+
			"ticket_scan_time are its wall clock, which the views show unless the session sets the variable "+PreferredTimeZoneVariable),
		req(col("event_id", Int32, "feed.event_id")),
		req(str("attendance_seq_id", 50, "feed.seq_num as text")),
		teamColumn,
		req(col("event_date", Date, "feed.event_date: the event's date (partition)")),
	},
	Key:         []string{"team", "event_id", "attendance_seq_id"},
	PartitionBy: []string{"team", "event_date"},
	Owner:       RealtimeOwner,
	Bloom:       []string{"email_addr"},
	TimeColumns: []string{"scan_at"},
}

// localIn is the SQL that shows instant column instant as a wall clock in
// the preferred time zone: the session's variable when set (one zone for
// the whole statement), else the wall clock the tick stored (column
// stored, in the team's display_zone). DuckDB folds getvariable to a
// constant when it binds the statement, so an unset variable leaves the
// plain column, and filters on it reach the Parquet scan; a zone per row
// (timezone(display_zone, instant)) took 35 CPU-seconds over a week of
// 5.4 million scans.
func localIn(instant, stored string) string {
	v := fmt.Sprintf("getvariable('%s')", PreferredTimeZoneVariable)
	return fmt.Sprintf("CASE WHEN %s IS NULL THEN %s ELSE CAST(timezone(%s, %s) AS TIMESTAMP) END", v, stored, v, instant)
}

// attendanceRealtimeSQL is archtics.attendance_realtime_v's query over
// archtics_rtx.attendance_enriched (AttendanceRealtimeV.ViewSQL).
func attendanceRealtimeSQL() string {
	return `SELECT archtics_event_name, section_name, row_name, gate, scan_type,
  seat_num, acct_id, ` + localIn("event_start", "event_time") + ` AS event_time,
  ` + localIn("scan_at", "ticket_scan_time") + ` AS ticket_scan_time,
  name_first, name_last, email_addr
FROM ` + RTXEnriched.SQLName()
}

// legacyColumns are the ten columns of the seed's legacy view
// korebi.dwa_archtics_realtime_attendance_view, in its order.
var legacyColumns = []string{"archtics_event_name", "section_name", "row_name", "seat_num", "acct_id",
	"event_time", "ticket_scan_time", "name_first", "name_last", "email_addr"}

func legacyView(schema, identity string) *Table {
	var cols []Column
	for _, n := range legacyColumns {
		c, _ := AttendanceRealtimeV.Column(n)
		switch n {
		case "name_last":
			c.Width = 100 // the legacy view declares varchar(100)
		case "email_addr":
			c.Width = 300 // and varchar(300)
		}
		cols = append(cols, c)
	}
	return &Table{
		Schema: identity, ViewSchema: schema, Name: "dwa_archtics_realtime_attendance_view",
		Doc:       "The legacy integration's view (ten columns), kept for the queries written against it.",
		Columns:   cols,
		ViewSQL:   "SELECT " + strings.Join(legacyColumns, ", ") + " FROM " + AttendanceRealtimeV.SQLName(),
		DependsOn: []string{AttendanceRealtimeV.SQLName()},
	}
}

// DWARealtimeAttendanceView is korebi.dwa_archtics_realtime_attendance_view,
// and DWARealtimeAttendanceRTX the same view as
// archtics_rtx.dwa_archtics_realtime_attendance_view, where the seed's
// first legacy example query reads it.
var (
	DWARealtimeAttendanceView = legacyView("korebi", "korebi")
	DWARealtimeAttendanceRTX  = legacyView("archtics_rtx", "archtics_rtx_legacy")
)

// seedRTXColumns is the seed's archtics_rtx.attendance: the first eleven
// columns of RTXAttendanceRaw, its names, order and types (varchar(50)).
func seedRTXColumns() []Column { return append([]Column(nil), RTXAttendanceRaw.Columns[:11]...) }

// rtxAttendanceView is a view of the seed's eleven columns over
// archtics_rtx.attendance_raw, restricted by where ("" for none).
func rtxAttendanceView(schema, doc, where string) *Table {
	cols := seedRTXColumns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = QuoteIdent(c.Name)
	}
	body := "SELECT " + strings.Join(names, ", ") + " FROM " + RTXAttendanceRaw.SQLName()
	if where != "" {
		body += " WHERE " + where
	}
	return &Table{Schema: schema, Name: "attendance", Doc: doc, Columns: cols, ViewSQL: body,
		DependsOn: []string{RTXAttendanceRaw.SQLName()}}
}

// RTXAttendance is the seed's archtics_rtx.attendance: every team's raw
// realtime scans with exactly the seed's eleven columns (names, order,
// varchar(50)), a view over archtics_rtx.attendance_raw. Which team a row
// is not among them, as in the seed's single-team table:
// archtics_<team>_rtx.attendance (TeamRTXAttendance) is one team's.
var RTXAttendance = rtxAttendanceView("archtics_rtx",
	"Realtime gate scans with the seed's eleven columns, every team's (a view over archtics_rtx.attendance_raw).", "")

// TeamRTXSchema is the per-team raw schema of the seed, archtics_<team>_rtx.
func TeamRTXSchema(team string) string { return "archtics_" + team + "_rtx" }

// TeamRTXAttendance is archtics_<team>_rtx.attendance: the team's raw
// realtime scans with exactly the seed's eleven columns, a view over
// archtics_rtx.attendance_raw (which holds every team's, with the team).
func TeamRTXAttendance(team string) *Table {
	return rtxAttendanceView(TeamRTXSchema(team), "Team "+team+"'s realtime scans with the seed's eleven columns.",
		"team = "+QuoteString(team))
}

// StreamTables returns the definitions the warehouse's streams imply
// beyond All: for each team with a realtime stream ("<team>/realtime"),
// its archtics_<team>_rtx.attendance. A team name that cannot be part of
// an SQL identifier gets none (stream names allow '.' and '-').
func StreamTables(streams []string) []*Table {
	var out []*Table
	for _, s := range streams {
		team, ok := strings.CutSuffix(s, "/realtime")
		if !ok || team == "" || strings.Contains(team, "/") || !plainIdent(team) {
			continue
		}
		out = append(out, TeamRTXAttendance(team))
	}
	return out
}

func plainIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
