package schemas

// Arrivals and no-shows: the views game-day staff and the arrivals page
// read, over the realtime scans and each event's sold seats.
//
// A seat is sold for an event when archtics.ticket_holder names a holder
// of it at the event's start (the client's wall clock: archtics.event's
// event_date and event_time): a returned block's seats are nobody's, a
// resold or forwarded seat counts once, for its holder then. The realtime
// stage stores each followed event's sold seats, with the holder's
// primary name and email, in archtics_rtx.event_seats (RTXEventSeats),
// and derives them again whenever the clone moves until the event is
// reconciled: the views read that table, one event's file, instead of
// the ticket timeline of every event.
//
// A seat is scanned, until the event is reconciled, when a stored
// realtime scan (archtics_rtx.attendance_enriched: initial entries,
// result_code '0', scan_type 'S', inside the window) names it; staff
// credentials have no seat and count as scans only. Once the event is
// reconciled (the standard attendance has arrived), the next refresh
// reads Archtics' standard attendance (archtics.attendance) into each
// seat's standard_entry: a successful entry of it (result_code '0',
// scan_type 'S' or 'M': a manual entry, which the realtime feed never
// carries, is an arrival too); from then on that is what counts.

// RTXEventSeats is archtics_rtx.event_seats: the sold seats of each event
// the realtime stage followed, with the holder at the start and the
// holder's primary name, and once the event is reconciled whether the
// standard attendance saw each seat enter. One file per event, kept after
// the scans expire (as the reconciliation), so the no-shows of a
// reconciled event stay.
var RTXEventSeats = &Table{
	Schema: "archtics_rtx", Name: "event_seats",
	Doc: "Each followed event's sold seats: the holder at the event's start (archtics.ticket_holder) and the holder's " +
		"primary name and email, derived again as the clone moves until the event is reconciled; kept after the scans expire.",
	Columns: []Column{
		req(col("event_id", Int32, "archtics.event.event_id")),
		str("event_name", 50, "archtics.event.event_name: the event's code"),
		col("event_start", TimestampTZ, "the event's start as an instant; the realtime window is [event_start - 5 h, event_start + 6 h]"),
		col("event_time", Timestamp, "the event's start on the client's wall clock (archtics.event's event_date and event_time)"),
		str("section_name", 50, ""),
		str("row_name", 50, ""),
		req(col("seat_num", Int32, "")),
		col("acct_id", Int32, "the seat's holder at the event's start (archtics.ticket_holder, merges followed)"),
		str("name_first", 100, "archtics.cust.name_first of acct_id's primary name (the lowest cust_name_id), NULL when empty"),
		str("name_last", 250, ""),
		str("email_addr", 100, ""),
		col("standard_entry", Bool, "once the event is reconciled: whether archtics.attendance holds a successful entry of the seat "+
			"(result_code '0', scan_type 'S' or 'M'); NULL before"),
		col("standard_as_of", TimestampTZ, "the clone's watermark standard_entry was read at; NULL before the event is reconciled"),
		col("clone_seq", Int64, "the clone commit (of {team}/clone) the row was derived from"),
		teamColumn,
	},
	Key:         []string{"team", "event_id", "section_name", "row_name", "seat_num"},
	PartitionBy: []string{"team", "event_id"},
	Owner:       RealtimeOwner,
}

// Arrivals is archtics.arrivals.
var Arrivals = &Table{
	Schema: "archtics", Name: "arrivals",
	Doc: "Realtime arrivals per event, gate and three-minute bucket from the start, with the share of sold seats scanned so far.",
	Columns: []Column{
		str("team", 50, "Archtics database (DSN)"),
		col("event_id", Int32, ""),
		str("archtics_event_name", 50, "the Archtics event code"),
		col("event_time", Timestamp, "the event's start in the preferred time zone (as archtics.attendance_realtime_v)"),
		str("gate", 50, ""),
		col("bucket_start", Timestamp, "the three-minute bucket's start in the preferred time zone; buckets are counted from the event's start"),
		col("minutes_to_start", Int64, "bucket_start − event_time in minutes: negative before the start"),
		col("scans", Int64, "scans at the gate in the bucket"),
		col("gate_cumulative_scans", Int64, "scans at the gate up to the end of the bucket"),
		col("first_entries", Int64, "seats first scanned in the bucket, at this gate"),
		col("seats_scanned", Int64, "distinct seats of the event scanned at any gate up to the end of the bucket"),
		col("sold_seats", Int64, "seats of the event with a holder at its start (archtics_rtx.event_seats)"),
		col("share_scanned", Float64, "seats_scanned / sold_seats; NULL when none is sold"),
	},
	ViewSQL: `WITH s AS (
  SELECT team, event_id, archtics_event_name, gate, section_name, row_name, seat_num,
    ` + localIn("event_start", "event_time") + ` AS event_time,
    ` + localIn("scan_at", "ticket_scan_time") + ` AS scan_time
  FROM archtics_rtx.attendance_enriched
),
b AS (SELECT *, time_bucket(INTERVAL 3 MINUTE, scan_time, event_time) AS bucket_start FROM s),
per AS (
  SELECT team, event_id, any_value(archtics_event_name) AS archtics_event_name, any_value(event_time) AS event_time,
    gate, bucket_start, count(*) AS scans
  FROM b GROUP BY team, event_id, gate, bucket_start
),
firsts AS (
  SELECT team, event_id, arg_min(gate, scan_time) AS gate, min(bucket_start) AS bucket_start
  FROM b WHERE seat_num IS NOT NULL
  GROUP BY team, event_id, section_name, row_name, seat_num
),
first_at_gate AS (SELECT team, event_id, gate, bucket_start, count(*) AS first_entries FROM firsts GROUP BY ALL),
seats_by AS (
  SELECT team, event_id, bucket_start, sum(count(*)) OVER (PARTITION BY team, event_id ORDER BY bucket_start) AS seats_scanned
  FROM firsts GROUP BY team, event_id, bucket_start
),
sold AS (SELECT team, event_id, count(*) AS sold_seats FROM archtics_rtx.event_seats GROUP BY team, event_id)
SELECT per.team, per.event_id, per.archtics_event_name, per.event_time, per.gate, per.bucket_start,
  CAST(date_diff('minute', per.event_time, per.bucket_start) AS BIGINT) AS minutes_to_start,
  per.scans,
  CAST(sum(per.scans) OVER (PARTITION BY per.team, per.event_id, per.gate ORDER BY per.bucket_start) AS BIGINT) AS gate_cumulative_scans,
  coalesce(f.first_entries, 0) AS first_entries,
  CAST(coalesce(sb.seats_scanned, 0) AS BIGINT) AS seats_scanned,
  coalesce(sold.sold_seats, 0) AS sold_seats,
  CAST(coalesce(sb.seats_scanned, 0) AS DOUBLE) / nullif(sold.sold_seats, 0) AS share_scanned
FROM per
LEFT JOIN first_at_gate AS f ON f.team = per.team AND f.event_id = per.event_id AND f.gate IS NOT DISTINCT FROM per.gate AND f.bucket_start = per.bucket_start
ASOF LEFT JOIN seats_by AS sb ON sb.team = per.team AND sb.event_id = per.event_id AND per.bucket_start >= sb.bucket_start
LEFT JOIN sold ON sold.team = per.team AND sold.event_id = per.event_id`,
	DependsOn: []string{RTXEnriched.SQLName(), RTXEventSeats.SQLName()},
}

// NoShows is archtics.no_shows.
var NoShows = &Table{
	Schema: "archtics", Name: "no_shows",
	Doc: "Per followed event whose realtime window has ended, every sold seat with no entry scan, with its holder at the start " +
		"and the holder's primary name and email: from the realtime scans until the event is reconciled, from the standard attendance after.",
	Columns: []Column{
		str("team", 50, "Archtics database (DSN)"),
		col("event_id", Int32, ""),
		str("archtics_event_name", 50, "the Archtics event code"),
		col("event_time", Timestamp, "the event's start in the preferred time zone"),
		str("section_name", 50, ""),
		str("row_name", 50, ""),
		col("seat_num", Int32, ""),
		col("acct_id", Int32, "the seat's holder at the event's start (archtics.ticket_holder, merges followed)"),
		str("name_first", 100, "archtics.cust.name_first of acct_id's primary name"),
		str("name_last", 250, ""),
		str("email_addr", 100, ""),
		str("source", 20, "what says the seat was not scanned: 'realtime' (the stored realtime scans) until the event is "+
			"reconciled, then 'standard' (archtics.attendance: no successful 'S' or 'M' entry)"),
	},
	ViewSQL: `SELECT t.team, t.event_id, t.event_name AS archtics_event_name, ` + localIn("t.event_start", "t.event_time") + ` AS event_time,
  t.section_name, t.row_name, t.seat_num, t.acct_id, t.name_first, t.name_last, t.email_addr,
  CASE WHEN t.standard_entry IS NULL THEN 'realtime' ELSE 'standard' END AS source
FROM archtics_rtx.event_seats AS t
WHERE t.event_start + INTERVAL 6 HOUR <= now()
  AND CASE WHEN t.standard_entry IS NOT NULL THEN NOT t.standard_entry
    ELSE NOT EXISTS (
      SELECT 1 FROM archtics_rtx.attendance_enriched AS s
      WHERE s.team = t.team AND s.event_id = t.event_id AND s.section_name IS NOT DISTINCT FROM t.section_name
        AND s.row_name IS NOT DISTINCT FROM t.row_name AND s.seat_num = t.seat_num)
  END`,
	DependsOn: []string{RTXEnriched.SQLName(), RTXEventSeats.SQLName()},
}

// HeldAtStartSQL is the CTEs "starts" (team, event_id, event_name,
// start_wall) and "held": every seat of the events where selects (a
// condition on columns team and event_id, applied to archtics.event and
// archtics.ticket_holder) with a holder at the event's start, and that
// holder (should two intervals of a seat overlap the start, the later
// hand-over wins, as in the tick). A condition of constants reaches the
// scans under archtics.ticket_holder; one naming another table does not,
// and the view then builds every seat's timeline. The realtime stage
// derives archtics_rtx.event_seats with it.
func HeldAtStartSQL(where string) string {
	return `starts AS (
  SELECT team, event_id, event_name, event_date + CAST(event_time AS TIME) AS start_wall
  FROM archtics.event
  WHERE ` + where + `
),
held AS (
  SELECT h.team, h.event_id, h.section_name, h.row_name, h.seat_num, arg_max(h.acct_id, h.held_from) AS acct_id
  FROM (SELECT * FROM archtics.ticket_holder WHERE ` + where + `) AS h
  JOIN starts AS st ON st.team = h.team AND st.event_id = h.event_id
    AND h.held_from <= st.start_wall AND (h.held_until IS NULL OR st.start_wall < h.held_until)
  WHERE h.acct_id IS NOT NULL
  GROUP BY h.team, h.event_id, h.section_name, h.row_name, h.seat_num
)`
}

// PrimaryNamesSQL selects team, acct_id, name_first, name_last and
// email_addr of each account's primary name in archtics.cust (alias c)
// for the accounts where selects: the lowest cust_name_id among its rows
// with primary_code 'Primary', an empty value NULL (as the realtime
// tables store it).
func PrimaryNamesSQL(where string) string {
	return `SELECT c.team, c.acct_id, nullif(arg_min(coalesce(c.name_first, ''), c.cust_name_id), '') AS name_first,
    nullif(arg_min(coalesce(c.name_last, ''), c.cust_name_id), '') AS name_last,
    nullif(arg_min(coalesce(c.email_addr, ''), c.cust_name_id), '') AS email_addr
  FROM archtics.cust AS c
  WHERE c.primary_code = 'Primary' AND (` + where + `)
  GROUP BY c.team, c.acct_id`
}
