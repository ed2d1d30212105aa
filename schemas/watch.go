package schemas

import "fmt"

// The watch list: accounts a team marks (season-ticket holders, VIPs, a
// sponsor's guests) so game-day staff see who of them has arrived, and an
// optional webhook told of each arrival. A team's settings stream
// ({team}/settings, SettingsOwner) owns its two stored tables, as it owns
// the realtime criteria: every change is a new version, nothing is
// rewritten, so the history says who changed the list, when and how.
//
//	korebi.watch_list_versions   one row per version: who, when, what changed,
//	                             the webhook in force (WatchListVersions)
//	korebi.watch_list_history    the version's entries, the whole list each time
//	                             (WatchListHistory)
//	korebi.watch_list            the live list: the newest version's entries (a view)
//	archtics.watch_arrivals      per event and watched account, arrived or not (a view)

// Bounds of a watch list, enforced when a version is set: a list is a
// page of names for the gate staff, not a copy of the customer table.
const (
	MaxWatchEntries    = 100_000
	MaxWatchLabel      = 100
	MaxWatchNote       = 500
	MaxWebhookURL      = 2000
	MaxWatchSecretName = 100
)

// WatchListVersions is korebi.watch_list_versions.
var WatchListVersions = &Table{
	Schema: "korebi", Name: "watch_list_versions",
	Doc: "Every version of each team's watch list: who set it, when, what changed, and the webhook told of arrivals.",
	Columns: []Column{
		req(col("version", Int64, "1 for the team's first list, then 2, 3, ...: the highest is the live list")),
		req(str("change", 500, "what the version did: set (the list replaced), add, remove, webhook (only the webhook changed)")),
		req(col("entries", Int64, "how many accounts the version lists (korebi.watch_list_history has them)")),
		str("webhook_url", MaxWebhookURL, "the URL each arrival is POSTed to (http or https, no user:password); NULL for none. "+
			"Its path may carry the receiver's token: commands show only its host"),
		str("webhook_secret_env", MaxWatchSecretName, "the environment variable holding the secret the HMAC-SHA256 signature "+
			"header is made with; the secret itself is never stored. NULL: requests are not signed"),
		req(str("set_by", 100, "who set it: --by, else $USER")),
		req(col("set_at", TimestampTZ, "when it was committed")),
		str("note", 500, "why it was set (--note)"),
		teamColumn,
	},
	Key:         []string{"team", "version"},
	PartitionBy: []string{"team"},
	Owner:       SettingsOwner,
	TimeColumns: []string{"set_at"},
}

// WatchListHistory is korebi.watch_list_history.
var WatchListHistory = &Table{
	Schema: "korebi", Name: "watch_list_history",
	Doc: "The accounts each version of a team's watch list holds, with their label.",
	Columns: []Column{
		req(col("version", Int64, "korebi.watch_list_versions.version")),
		req(col("acct_id", Int32, "the watched account, as the team gave it (an account merged away still matches: see archtics.watch_arrivals)")),
		req(str("label", MaxWatchLabel, "what the team calls the account on the list: VIP, Season, Sponsor X guests, ...")),
		str("note", MaxWatchNote, "the team's note on the account"),
		teamColumn,
	},
	Key:         []string{"team", "version", "acct_id"},
	PartitionBy: []string{"team"},
	Owner:       SettingsOwner,
}

// WatchList is korebi.watch_list: each team's live list.
var WatchList = &Table{
	Schema: "korebi", Name: "watch_list",
	Doc: "Each team's live watch list: the entries of its newest version.",
	Columns: []Column{
		teamColumn,
		col("acct_id", Int32, ""),
		str("label", MaxWatchLabel, ""),
		str("note", MaxWatchNote, ""),
		col("version", Int64, "the version the list is"),
	},
	ViewSQL: `WITH live AS (SELECT team, max(version) AS version FROM ` + WatchListVersions.SQLName() + ` GROUP BY team)
SELECT h.team, h.acct_id, h.label, h.note, h.version
FROM ` + WatchListHistory.SQLName() + ` AS h JOIN live ON live.team = h.team AND live.version = h.version`,
	DependsOn: []string{WatchListVersions.SQLName(), WatchListHistory.SQLName()},
}

// WatchArrivals is archtics.watch_arrivals. It reads the stored scans
// through archtics_rtx.attendance_enriched, the table under
// archtics.attendance_realtime_v (the same acct_id: the holder at the
// scan, merges the tick knew followed), because the seed's view has no
// team or event_id. Both the listed account and each scan's account are
// followed through archtics.acct_merge to the end of their chains before
// they are compared, so a listed account merged away matches its
// winner's scans, and a scan stored before the clone knew of a merge
// still matches the winner listed.
var WatchArrivals = &Table{
	Schema: "archtics", Name: "watch_arrivals",
	Doc: "Per event with realtime scans and per account on the team's watch list: whether it has arrived, when, at which gate, with how many seats.",
	Columns: []Column{
		str("team", 50, "Archtics database (DSN)"),
		col("event_id", Int32, ""),
		str("archtics_event_name", 50, "the Archtics event code"),
		col("event_time", Timestamp, "the event's start in the preferred time zone (as archtics.attendance_realtime_v)"),
		col("acct_id", Int32, "the account as the watch list names it"),
		str("label", MaxWatchLabel, "the watch list's label"),
		str("note", MaxWatchNote, "the watch list's note"),
		col("holder_acct_id", Int32, "acct_id followed through archtics.acct_merge: the account the scans name"),
		col("arrived", Bool, "a stored realtime entry scan names the account (a seat of it scanned)"),
		col("first_scan_time", Timestamp, "its earliest entry scan at the event, in the preferred time zone; NULL when not arrived"),
		str("gate", 50, "the gate of that scan"),
		col("seats_scanned", Int64, "distinct seats of the account scanned at the event"),
	},
	ViewSQL: fmt.Sprintf(`WITH RECURSIVE
merge_chain(team, loser, winner, depth) AS (
  SELECT team, loser_acct_id, winner_acct_id, 1 FROM archtics.acct_merge
  UNION ALL
  SELECT c.team, c.loser, m.winner_acct_id, c.depth + 1
  FROM merge_chain AS c JOIN archtics.acct_merge AS m ON m.team = c.team AND m.loser_acct_id = c.winner
  WHERE c.depth < %[1]d AND m.winner_acct_id <> c.loser
),
final_winner AS (SELECT team, loser, arg_max(winner, depth) AS winner FROM merge_chain GROUP BY team, loser),
wl AS (
  SELECT w.team, w.acct_id, w.label, w.note, coalesce(fw.winner, w.acct_id) AS holder
  FROM %[2]s AS w LEFT JOIN final_winner AS fw ON fw.team = w.team AND fw.loser = w.acct_id
),
sc AS (
  SELECT s.team, s.event_id, coalesce(fw.winner, s.acct_id) AS holder, s.gate, s.section_name, s.row_name, s.seat_num,
    s.scan_at, s.ticket_scan_time, CAST(s.attendance_seq_id AS BIGINT) AS seq
  FROM %[3]s AS s LEFT JOIN final_winner AS fw ON fw.team = s.team AND fw.loser = s.acct_id
  WHERE s.acct_id IS NOT NULL AND s.team IN (SELECT team FROM wl)
),
per AS (
  SELECT team, event_id, holder, min(scan_at) AS scan_at, arg_min(ticket_scan_time, (scan_at, seq)) AS ticket_scan_time,
    arg_min(gate, (scan_at, seq)) AS gate,
    count(DISTINCT (section_name, row_name, seat_num)) FILTER (WHERE seat_num IS NOT NULL) AS seats
  FROM sc WHERE (team, holder) IN (SELECT (team, holder) FROM wl)
  GROUP BY team, event_id, holder
),
ev AS (
  SELECT team, event_id, any_value(archtics_event_name) AS archtics_event_name,
    any_value(event_start) AS event_start, any_value(event_time) AS event_time
  FROM %[3]s WHERE team IN (SELECT team FROM wl) GROUP BY team, event_id
)
SELECT ev.team, ev.event_id, ev.archtics_event_name, %[4]s AS event_time, wl.acct_id, wl.label, wl.note,
  wl.holder AS holder_acct_id, per.holder IS NOT NULL AS arrived, %[5]s AS first_scan_time, per.gate,
  coalesce(per.seats, 0) AS seats_scanned
FROM ev JOIN wl ON wl.team = ev.team
LEFT JOIN per ON per.team = ev.team AND per.event_id = ev.event_id AND per.holder = wl.holder`,
		maxMergeChain, WatchList.SQLName(), RTXEnriched.SQLName(),
		localIn("ev.event_start", "ev.event_time"), localIn("per.scan_at", "per.ticket_scan_time")),
	DependsOn: []string{RTXEnriched.SQLName(), AcctMerge.SQLName(), WatchList.SQLName()},
}
