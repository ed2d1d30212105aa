package schemas

// Field names follow Archtics' own exports (see ../shared/reference in the
// repository history and the seed documents). Every source table carries
// `team`: a client may run several Archtics databases (an NHL team and the
// arena's concerts), and one warehouse holds them all, partitioned by team.

func str(name string, width int, doc string) Column {
	return Column{Name: name, Type: String, Width: width, Nullable: true, Doc: doc}
}

func req(c Column) Column { c.Nullable = false; return c }

// noDict marks c NoDictionary.
func noDict(c Column) Column { c.NoDictionary = true; return c }

func col(name string, t Type, doc string) Column {
	return Column{Name: name, Type: t, Nullable: true, Doc: doc}
}

var teamColumn = req(str("team", 50, "Archtics database (DSN) the row comes from"))

// Event is archtics.event: one row per event (game, concert, parking...).
var Event = &Table{
	Schema: "archtics", Name: "event", ViewSchema: DumpSchema,
	Doc: "Events of an Archtics database; the realtime criteria select from it.",
	Columns: []Column{
		teamColumn,
		req(col("event_id", Int32, "Archtics event id")),
		str("event_name", 50, "short event code, e.g. 25NHL0412"),
		col("event_date", Date, "local date of the event"),
		str("event_time", 20, "local start time, HH:MM:SS"),
		str("event_day", 10, "day of week"),
		str("plan_abv", 50, ""),
		str("plan_type", 10, ""),
		str("enabled", 1, "Y or N"),
		col("total_events", Int32, "1 for a single event, >1 for a plan"),
		str("season_name", 100, ""),
		col("season_id", Int32, ""),
		str("event_name_long", 250, ""),
		str("tm_event_name", 50, ""),
		col("game_number", Int32, ""),
		str("event_type", 50, ""),
		str("arena_name", 100, ""),
		str("major_category", 50, "SPORTS, CONCERTS, ..."),
		str("minor_category", 50, "NHL PRO HOCKEY, ..."),
		col("add_date", Timestamp, ""),
		req(col("upd_date", Timestamp, "last update; drives changes-since pulls")),
	},
	Key:         []string{"team", "event_id"},
	PartitionBy: []string{"team"},
	Owner:       CloneOwner,
	TimeColumns: []string{"upd_date"},
	UpdatedAt:   "upd_date",
}

// Cust is archtics.cust: one row per account and customer name.
var Cust = &Table{
	Schema: "archtics", Name: "cust", ViewSchema: DumpSchema,
	Doc: "Accounts and their customer names; primary_code = 'Primary' marks the account's primary name.",
	Columns: []Column{
		teamColumn,
		req(col("acct_id", Int32, "Archtics account id")),
		req(col("cust_name_id", Int32, "customer name id")),
		str("primary_code", 20, "Primary, Secondary or Other"),
		str("rec_status", 10, "A active, I inactive"),
		str("acct_type_desc", 50, "account type; some types must not sync to the CRM"),
		str("company_name", 100, ""),
		str("name_first", 100, ""),
		str("name_mi", 10, ""),
		str("name_last", 250, ""),
		noDict(str("street_addr_1", 250, "")),
		str("street_addr_2", 250, ""),
		str("city", 100, ""),
		str("state", 20, ""),
		str("zip", 20, ""),
		str("phone_day", 30, ""),
		str("phone_eve", 30, ""),
		noDict(str("phone_cell", 30, "")),
		noDict(str("email_addr", 100, "")),
		col("birth_date", Date, ""),
		col("since_date", Date, ""),
		col("household_id", Int32, ""),
		col("add_date", Timestamp, ""),
		req(col("upd_date", Timestamp, "")),
	},
	Key:         []string{"team", "acct_id", "cust_name_id"},
	PartitionBy: []string{"team"},
	Owner:       CloneOwner,
	TimeColumns: []string{"upd_date"},
	UpdatedAt:   "upd_date",
}

// Ticket is archtics.ticket: a sold block of seats seat_num..last_seat.
var Ticket = &Table{
	Schema: "archtics", Name: "ticket", ViewSchema: DumpSchema,
	Doc: "Sold seat blocks; acct_id is the original buyer.",
	Columns: []Column{
		teamColumn,
		req(col("ticket_seq_id", Int64, "unique id of the seat block")),
		req(col("event_id", Int32, "")),
		str("event_name", 50, ""),
		col("section_id", Int32, ""),
		str("section_name", 50, ""),
		col("row_id", Int32, ""),
		str("row_name", 50, ""),
		col("seat_num", Int32, "first seat of the block"),
		col("last_seat", Int32, "last seat of the block"),
		col("num_seats", Int32, ""),
		col("acct_id", Int32, "buyer"),
		str("ticket_status", 10, "A active, R returned"),
		str("price_code", 10, ""),
		col("purchase_price", Decimal, "price per seat"),
		col("order_num", Int64, ""),
		col("add_datetime", Timestamp, ""),
		req(col("upd_datetime", Timestamp, "")),
	},
	Key:         []string{"team", "ticket_seq_id"},
	PartitionBy: []string{"team"},
	Owner:       CloneOwner,
	TimeColumns: []string{"upd_datetime"},
	UpdatedAt:   "upd_datetime",
}

// Tex is archtics.tex: Ticket Exchange resales and forwards, which change
// who holds a ticket.
var Tex = &Table{
	Schema: "archtics", Name: "tex", ViewSchema: DumpSchema,
	Doc: "Resales and forwards; acct_id is the new holder, owner_acct_id the previous one.",
	Columns: []Column{
		teamColumn,
		req(col("tex_id", Int64, "unique id of the exchange activity")),
		req(col("event_id", Int32, "")),
		str("section_name", 50, ""),
		str("row_name", 50, ""),
		col("seat_num", Int32, ""),
		col("last_seat", Int32, ""),
		col("num_seats", Int32, ""),
		col("owner_acct_id", Int32, "holder before the activity"),
		col("acct_id", Int32, "holder after the activity"),
		str("activity", 10, "R resale, F forward"),
		str("activity_name", 50, ""),
		col("te_purchase_price", Decimal, ""),
		noDict(str("forward_to_email_addr", 100, "")),
		col("add_datetime", Timestamp, ""),
		req(col("upd_datetime", Timestamp, "")),
	},
	Key:         []string{"team", "tex_id"},
	PartitionBy: []string{"team"},
	Owner:       CloneOwner,
	TimeColumns: []string{"upd_datetime"},
	UpdatedAt:   "upd_datetime",
}

// Attendance is archtics.attendance: every scan of every event, as
// Archtics posts it after the event through the standard integration. The
// realtime feed (Scan) carries the same scans live, but not all of them
// (a feed outage loses some, and it carries only sports and concerts);
// this table is complete. The name is archtics_rtx.attendance's without
// the realtime schema: the seed's realtime table mirrors this one, and
// its columns name the sequence number attendance_seq_id.
var Attendance = &Table{
	Schema: "archtics", Name: "attendance", ViewSchema: DumpSchema,
	Doc: "Every gate scan of every event, posted by Archtics some hours after the event: successful entries, " +
		"rejected scans, exits, re-entries and manual entries; never deleted. Archtics keeps the current and the " +
		"previous season's scans.",
	Columns: []Column{
		teamColumn,
		req(col("event_id", Int32, "")),
		req(col("attendance_seq_id", Int64, "the scan's sequence number, unique per team and event: the realtime feed's seq_num "+
			"for the same scan (archtics_rtx.attendance.attendance_seq_id)")),
		str("event_name", 50, "event code, e.g. 25NHL0412"),
		col("event_date", Date, "the event's local date"),
		str("section_name", 50, "NULL for a staff credential or an unreadable barcode"),
		str("row_name", 50, ""),
		col("seat_num", Int32, ""),
		col("acct_id", Int32, "the ticket holder at scan time; a later account merge moves it to the winner"),
		str("scan_type", 10, "S standard gate scanner; X exit, R re-entry, M manual"),
		str("result_code", 10, "0 successful entry; 14 already used, 21 wrong event, 3 unreadable"),
		col("action_datetime", Timestamp, "the scan's local date and time (the feed's action_time, with its date)"),
		str("gate", 50, ""),
		str("channel_ind", 10, "M mobile, P print-at-home, C card"),
		str("access_type", 50, "SEASON, SINGLE, GROUP, COMP, RESALE, FORWARD, STAFF"),
		str("mobile", 1, "Y or N"),
		req(col("upd_datetime", Timestamp, "when Archtics posted the scan: some hours after the event")),
	},
	Key:         []string{"team", "event_id", "attendance_seq_id"},
	PartitionBy: []string{"team"},
	Owner:       CloneOwner,
	TimeColumns: []string{"upd_datetime"},
	UpdatedAt:   "upd_datetime",
	NoDeletes:   true,
}

// Scan is one raw row of the realtime attendance feed, as the scan feed
// serves it (all varchar, as the seed's archtics_rtx.attendance declares).
// It is the source shape; RTXAttendanceRaw is where it lands.
var Scan = &Table{
	Schema: "archtics", Name: "attendance_feed",
	Doc: "Raw gate scans as the Archtics realtime feed delivers them.",
	Columns: []Column{
		teamColumn,
		req(col("event_id", Int32, "")),
		str("event_name", 50, ""),
		col("event_date", Date, ""),
		str("section_name", 50, ""),
		str("row_name", 50, ""),
		str("seat_num", 50, ""),
		col("acct_id", Int32, "holder at scan time as Archtics sees it"),
		str("scan_type", 50, "S standard gate scanner; X exit, R re-entry, M manual"),
		str("result_code", 50, "0 successful entry; others rejected scans"),
		str("action_time", 50, "time of day HH:MM:SS; the date comes from the event"),
		str("gate", 50, ""),
		str("channel_ind", 50, "M mobile, P print-at-home, C card"),
		str("access_type", 50, ""),
		str("mobile", 1, "Y or N"),
		req(col("seq_num", Int64, "feed sequence number; attendance_seq_id downstream")),
		col("upd_datetime", Timestamp, ""),
	},
	Key:         []string{"team", "event_id", "seq_num"},
	PartitionBy: []string{"team", "event_date"},
	Owner:       RealtimeOwner,
	TimeColumns: []string{"upd_datetime"},
	UpdatedAt:   "upd_datetime",
}

// RTXAttendanceRaw is archtics_rtx.attendance_raw, the stored raw scans:
// the seed's eleven varchar columns in their ordinal order, then the
// columns the warehouse adds to join and partition (event_id, acct_id,
// ticket_scan_time, team, event_date). The seed's archtics_rtx.attendance
// itself is the eleven-column view over it (RTXAttendance). Each Doc says
// where the value comes from: the feed row (schemas.Scan, "feed.<field>")
// or the clone. A realtime tick stores the feed rows it keeps:
// result_code '0', scan_type 'S', one row per seq_num, scan instant within
// [start-5h, start+6h] of a selected event (see simulator.TrueAttendance,
// the expected content).
var RTXAttendanceRaw = &Table{
	Schema: "archtics_rtx", Name: "attendance_raw",
	Doc: "Realtime gate scans as stored, every team's, kept seven days: the seed's eleven columns, then the warehouse's five.",
	Columns: []Column{
		str("result_code", 50, "feed.result_code verbatim; only '0' (successful entry) is kept"),
		str("gate", 50, "feed.gate verbatim"),
		str("scan_type", 50, "feed.scan_type verbatim; only 'S' (standard gate scanner) is kept"),
		str("row_name", 50, "feed.row_name verbatim; NULL for a staff credential"),
		str("archtics_event_name", 50, "feed.event_name: the Archtics event code (27NHL1125), archtics.event.event_name"),
		noDict(str("action_time", 50, "feed.action_time verbatim: local time of day HH:MM:SS, no date (see ticket_scan_time)")),
		str("seat_num", 50, "feed.seat_num verbatim, as text; NULL for a staff credential"),
		str("section_name", 50, "feed.section_name verbatim; NULL for a staff credential"),
		str("channel_ind", 50, "feed.channel_ind verbatim: M mobile, P print-at-home, C card"),
		str("attendance_seq_id", 50, "feed.seq_num as text: the feed's sequence number, unique per team and event"),
		str("event_name", 50, "no feed field: archtics.event.tm_event_name of (team, event_id) in the clone at the tick, "+
			"the event's Ticketmaster name (Ice Hawks vs. Boston), which fits the seed's varchar(50); not event_name_long "+
			"(varchar(250), renamed by promotions) and not the feed's event_name (that code is archtics_event_name)"),
		req(col("event_id", Int32, "feed.event_id")),
		col("acct_id", Int32, "feed.acct_id: the ticket holder at scan time as Archtics sees it; NULL for a staff credential"),
		col("ticket_scan_time", Timestamp, "the scan's local wall clock: the latest instant at or before the delivery "+
			"(feed.upd_datetime) whose local time of day is action_time; not event_date + action_time, which is a day "+
			"early for scans after midnight"),
		teamColumn,
		req(col("event_date", Date, "feed.event_date: the event's date (partition)")),
	},
	Key:         []string{"team", "event_id", "attendance_seq_id"},
	PartitionBy: []string{"team", "event_date"},
	Owner:       RealtimeOwner,
	TimeColumns: []string{"ticket_scan_time"},
}

// SourceTables are the tables of an Archtics database the dump and the
// change API carry, in dump order.
var SourceTables = []*Table{Event, Cust, Ticket, Tex, Attendance}

// Rejects is archtics_meta.rejects: every input row a stage could not load,
// with the reason, so rows in = rows loaded + rows rejected always holds and
// the bad rows can be fixed and replayed.
var Rejects = &Table{
	Schema: "archtics_meta", Name: "rejects",
	Doc: "Rows a stage rejected, with file, line, field and reason.",
	Columns: []Column{
		req(str("target_table", 100, "schema.table the row was meant for")),
		req(str("source", 500, "file or API call the row came from")),
		req(col("line", Int64, "1-based line in the source file (0 for API rows)")),
		str("field", 100, "column that failed, empty for a malformed line"),
		req(str("reason", 500, "")),
		str("raw", 65535, "the row as received"),
		req(str("batch_id", 200, "logical batch that read the row")),
		teamColumn,
		req(str("origin", 20, "the kind of stream that rejected the row: clone (dump and change pulls) or realtime")),
	},
	// Partitioned by origin too, so each partition has one owning stream:
	// the clone's rejects and the realtime feed's never share a folder.
	PartitionBy: []string{"team", "origin"},
	Owner:       "{team}/{origin}",
}
