package schemas

// AttendanceRealtimeV documents archtics.attendance_realtime_v, the view
// the seed tells analysts to use: its twelve columns with the seed's
// names, order and types (varchar(50) is String of width 50, int4 Int32),
// and how each is derived from the feed (through archtics_rtx.attendance_raw,
// RTXAttendanceRaw) and the clone. A view over archtics_rtx.attendance_enriched
// (RTXEnriched, attendanceRealtimeSQL), not a stored table.
//
// One row per stored scan (result_code '0', scan_type 'S', once per
// seq_num, inside its event's window). Timestamps are converted from the
// client's zone (the clone's wall clock) to the preferred time zone, a
// setting. The holder's name is the primary name (primary_code =
// 'Primary') of the account in the clone, after following merges: a
// merged-away account's rows are gone, its scans show the winner.
var AttendanceRealtimeV = &Table{
	Schema: "archtics", Name: "attendance_realtime_v",
	Doc: "Realtime scans with the event's start and the ticket holder (the seed's view).",
	Columns: []Column{
		str("archtics_event_name", 50, "archtics_rtx.attendance_raw.archtics_event_name (feed.event_name, the event code)"),
		str("section_name", 50, "archtics_rtx.attendance_raw.section_name (feed.section_name)"),
		str("row_name", 50, "archtics_rtx.attendance_raw.row_name (feed.row_name)"),
		str("gate", 50, "archtics_rtx.attendance_raw.gate (feed.gate)"),
		str("scan_type", 50, "archtics_rtx.attendance_raw.scan_type (feed.scan_type, always 'S')"),
		col("seat_num", Int32, "archtics_rtx.attendance_raw.seat_num (feed.seat_num) cast to int4; NULL for a staff credential"),
		col("acct_id", Int32, "archtics_rtx.attendance_raw.acct_id (feed.acct_id, the holder at scan time), moved to the winner "+
			"of any account merge done since"),
		col("event_time", Timestamp, "the event's start: archtics.event.event_date + event_time of (team, event_id), "+
			"in the preferred time zone"),
		col("ticket_scan_time", Timestamp, "archtics_rtx.attendance_raw.ticket_scan_time (the scan's instant: action_time on "+
			"the day of its delivery, feed.upd_datetime), in the preferred time zone"),
		str("name_first", 100, "archtics.cust.name_first of the acct_id's primary name (team, acct_id, primary_code = 'Primary')"),
		str("name_last", 250, "archtics.cust.name_last of the same row"),
		str("email_addr", 100, "archtics.cust.email_addr of the same row"),
	},
	ViewSQL:   attendanceRealtimeSQL(),
	DependsOn: []string{RTXEnriched.SQLName()},
}
