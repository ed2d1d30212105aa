package schemas

// Reconciliation of the realtime feed with Archtics' standard attendance
// (issue 20). Three stored tables, owned by the team's realtime stream:
//
//	archtics_rtx.attendance_delivery  when the feed delivered each stored scan
//	                                  and which tick stored it (RTXDelivery),
//	                                  written by the tick beside the raw scans,
//	                                  rolled up and expired with them
//	archtics_rtx.reconcile            one row per reconciled event (RTXReconcile),
//	                                  kept after the scans expire
//	archtics_rtx.reconcile_scans      the scans of a reconciled event that one
//	                                  side lacks (RTXReconcileScans), kept too
//
// and archtics.reconcile_v, the per-event view over archtics_rtx.reconcile.

// RTXDelivery is archtics_rtx.attendance_delivery: when the feed
// delivered each stored scan and which tick stored it, as runs: the feed
// serves an event's scans in seq_num order, which is its delivery order,
// so the scans a tick stored with the same delivery second are the
// seq_nums first_seq..last_seq of one row (a league night's million
// scans share a few thousand delivery seconds). A scan's run is the row
// of its event with the greatest first_seq at or below its seq_num.
// The scan's instant is archtics_rtx.attendance_enriched.scan_at. A table of its own because the
// stored scan tables' files cannot gain columns (there is no schema
// evolution), and roll-ups merge tick files, so a file's commit does not
// say which tick stored a scan.
var RTXDelivery = &Table{
	Schema: "archtics_rtx", Name: "attendance_delivery",
	Doc: "When the realtime feed delivered the stored scans and which tick stored them, as runs of seq_nums; kept seven days, as the scans.",
	Columns: []Column{
		req(col("event_id", Int32, "feed.event_id")),
		req(col("first_seq", Int64, "the run's first stored scan: its feed.seq_num (archtics_rtx.attendance_raw.attendance_seq_id)")),
		req(col("last_seq", Int64, "the run's last stored scan's seq_num")),
		col("scans", Int64, "how many stored scans the run holds (the raw table's seq_nums in first_seq..last_seq of the event)"),
		col("delivered_at", TimestampTZ, "feed.upd_datetime (the client's wall clock) as an instant: when the feed delivered the run's scans"),
		col("stored_at", TimestampTZ, "the logical time of the tick that stored them"),
		teamColumn,
		req(col("event_date", Date, "feed.event_date: the event's date (partition)")),
	},
	Key:         []string{"team", "event_id", "first_seq"},
	PartitionBy: []string{"team", "event_date"},
	Owner:       RealtimeOwner,
	TimeColumns: []string{"delivered_at"},
}

// RTXReconcile is archtics_rtx.reconcile: per event, how the realtime
// feed covered the final initial entries of Archtics' standard
// attendance. Partitioned by event, so each event's row is in a file of
// its own, and a rerun that finds more data retires that file and adds
// the new one in one commit.
var RTXReconcile = &Table{
	Schema: "archtics_rtx", Name: "reconcile",
	Doc: "Per event, how many of the final initial-entry scans (archtics.attendance) the realtime feed delivered, " +
		"how late, which it missed and which it had that the final data does not; kept after the scans expire.",
	Columns: []Column{
		req(col("event_id", Int32, "archtics.attendance.event_id")),
		str("event_name", 50, "the event's code (archtics.event.event_name)"),
		col("event_date", Date, "the event's local date"),
		col("event_start", TimestampTZ, "the event's start; the window is [event_start - 5 h, event_start + 6 h]"),
		col("final_scans", Int64, "archtics.attendance rows of the event with result_code '0', scan_type 'S', "+
			"action_datetime in the window: the final initial entries"),
		col("realtime_scans", Int64, "scans of the event the realtime store holds (archtics_rtx.attendance_raw)"),
		col("delivered", Int64, "final initial entries the realtime store holds, matched by attendance_seq_id"),
		col("delivered_share", Float64, "delivered / final_scans (NULL when final_scans is 0)"),
		col("missed", Int64, "final initial entries the realtime store lacks (archtics_rtx.reconcile_scans kind 'missed')"),
		col("extra", Int64, "realtime scans the final initial entries lack (kind 'extra')"),
		col("timed", Int64, "delivered scans with a delivery record (archtics_rtx.attendance_delivery): those the lateness figures cover"),
		col("late_p50_s", Float64, "median of attendance_delivery.delivered_at - attendance_enriched.scan_at over the timed scans, seconds"),
		col("late_p90_s", Float64, "90th percentile (nearest rank), seconds"),
		col("late_max_s", Float64, "the latest delivery, seconds"),
		col("late_over_3m", Int64, "timed scans delivered more than 3 minutes after the scan"),
		col("late_over_15m", Int64, "more than 15 minutes"),
		col("late_over_60m", Int64, "more than 60 minutes"),
		col("final_as_of", TimestampTZ, "the clone's watermark the final data was read at"),
		col("realtime_as_of", TimestampTZ, "the realtime stream's watermark (its last tick) the store was read at"),
		req(str("digest", 64, "SHA-256 of the figures and the missed and extra scans: a rerun that finds the same commits nothing")),
		teamColumn,
	},
	Key:         []string{"team", "event_id"},
	PartitionBy: []string{"team", "event_id"},
	Owner:       RealtimeOwner,
}

// RTXReconcileScans is archtics_rtx.reconcile_scans: the scans of each
// reconciled event that one side lacks, in the event's file beside its
// archtics_rtx.reconcile row.
var RTXReconcileScans = &Table{
	Schema: "archtics_rtx", Name: "reconcile_scans",
	Doc: "The scans of each reconciled event the realtime feed missed ('missed') or had that the final data lacks ('extra').",
	Columns: []Column{
		req(col("event_id", Int32, "")),
		req(col("attendance_seq_id", Int64, "the scan's sequence number (the feed's seq_num)")),
		req(str("kind", 10, "missed: a final initial entry the realtime store lacks; extra: a realtime scan the final initial entries lack")),
		str("result_code", 10, "archtics.attendance.result_code of the scan, NULL when the final data has no such scan"),
		str("scan_type", 10, "archtics.attendance.scan_type, NULL as result_code"),
		col("action_datetime", Timestamp, "the scan's local date and time: the final data's, else the realtime store's"),
		teamColumn,
	},
	Key:         []string{"team", "event_id", "attendance_seq_id"},
	PartitionBy: []string{"team", "event_id"},
	Owner:       RealtimeOwner,
}

// ReconcileV is archtics.reconcile_v: one row per reconciled event, every
// team's, with the lateness in minutes.
var ReconcileV = &Table{
	Schema: "archtics", Name: "reconcile_v",
	Doc: "Per event: the realtime feed's coverage of the final initial entries, its misses, extras and lateness (minutes).",
	Columns: []Column{
		teamColumn,
		col("event_id", Int32, ""),
		str("event_name", 50, ""),
		col("event_date", Date, ""),
		col("event_start", TimestampTZ, ""),
		col("final_scans", Int64, ""),
		col("delivered", Int64, ""),
		col("delivered_share", Float64, ""),
		col("missed", Int64, ""),
		col("extra", Int64, ""),
		col("late_p50_min", Float64, ""),
		col("late_p90_min", Float64, ""),
		col("late_max_min", Float64, ""),
		col("late_over_3m", Int64, ""),
		col("late_over_15m", Int64, ""),
		col("late_over_60m", Int64, ""),
		col("final_as_of", TimestampTZ, ""),
	},
	ViewSQL: `SELECT team, event_id, event_name, event_date, event_start, final_scans, delivered, delivered_share, missed, extra,
  late_p50_s / 60 AS late_p50_min, late_p90_s / 60 AS late_p90_min, late_max_s / 60 AS late_max_min,
  late_over_3m, late_over_15m, late_over_60m, final_as_of
FROM archtics_rtx.reconcile`,
	DependsOn: []string{"archtics_rtx.reconcile"},
}
