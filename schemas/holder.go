package schemas

import (
	"fmt"
	"strings"
)

// The ticket holder (issue 8, item 6): who held each seat of each event
// from when to when. The realtime stage names the account behind a scan
// with it; the seed's "the original purchaser, the last person who
// purchased it on Ticket Exchange, or the recipient of a ticket transfer".
//
// Rules, per seat (team, event_id, section_name, row_name, seat_num):
//   - a block of archtics.ticket (seat_num..last_seat) is held by its
//     buyer (acct_id) from its sale (add_datetime, else upd_datetime);
//   - a returned block (ticket_status 'R') is held by nobody from its
//     return: the update time of the earliest returned version the clone
//     has seen (archtics_dump.ticket or archtics_changes.ticket). The dump
//     keeps one version per key, so a return before the cutoff whose row
//     was updated again before the cutoff is dated by that later update;
//     Archtics records no return time of its own;
//   - each Ticket Exchange activity of archtics.tex, resale 'R' or
//     forward 'F', over seats seat_num..last_seat of a block, hands those
//     seats to its acct_id at its upd_datetime (a tex row names no
//     ticket_seq_id: it covers seats, not a block); last one wins, ties
//     broken purchase before exchange before return, then by source id;
//   - every account is followed through archtics.acct_merge to its final
//     winner (a loser whose winner later lost too is followed to the end).
//
// Times are the client's wall clock, like upd_datetime and the scans'
// ticket_scan_time; intervals are half-open [held_from, held_until),
// held_until NULL while the holder still holds the seat.
//
// Performance: archtics.ticket has about 20 M blocks at bench scale. Only
// the seats of rows (team, event, section, row) with exchange activity go
// through the per-seat timeline (a window ordered by time); every other
// block is expanded straight to its seats with its buyer and return time.
// Merges are resolved per block and per activity, before the expansion.
//
// A pending Ticket Exchange posting (a forward not yet accepted, a listing
// not yet sold) is a row of archtics.tex like a completed one, with
// nothing to tell them apart; it counts as a hand-over until a later sweep
// finds it deleted (cancelled), when it drops out of archtics.tex and of
// this view.

// TicketHolder is archtics.ticket_holder. Its columns are a contract the
// realtime stage codes against: do not rename or retype them.
var TicketHolder = &Table{
	Schema: currentSchema, ViewSchema: "archtics", Name: "ticket_holder",
	Doc: "Who held each seat of each event from when to when: the buyer, then each Ticket Exchange resale buyer or forward recipient, " +
		"last one wins; nobody after a return; accounts followed through merges to the final winner. Wall-clock times, [held_from, held_until).",
	Columns: []Column{
		req(str("team", 50, "Archtics database (DSN)")),
		req(col("event_id", Int32, "")),
		str("section_name", 50, ""),
		str("row_name", 50, ""),
		req(col("seat_num", Int32, "one seat (blocks are expanded)")),
		col("acct_id", Int32, "the holder, merges followed to the final winner"),
		req(col("held_from", Timestamp, "the sale (ticket add_datetime) or the exchange activity (tex upd_datetime), client wall clock")),
		col("held_until", Timestamp, "the next holder's held_from or the block's return; NULL: still holds"),
		req(str("via", 10, "purchase, resale or forward")),
		req(col("source_id", Int64, "ticket_seq_id of a purchase, tex_id of a resale or forward")),
	},
	Key:       []string{"team", "event_id", "section_name", "row_name", "seat_num", "held_from", "source_id"},
	ViewSQL:   ticketHolderSQL(),
	DependsOn: []string{"archtics.ticket", "archtics.tex", "archtics.acct_merge", DumpSchema + ".ticket", ChangesSchema + ".ticket"},
}

// HolderAt is the table macro archtics.holder_at(team, event_id,
// section_name, row_name, seat_num, at): the row of ticket_holder whose
// interval holds the wall-clock instant at (no row: nobody held the seat).
// For a batch (a tick's scans), join ticket_holder with the same condition:
//
//	h.team = s.team AND h.event_id = s.event_id AND h.section_name = s.section_name
//	AND h.row_name = s.row_name AND h.seat_num = s.seat_num
//	AND h.held_from <= s.ticket_scan_time AND (h.held_until IS NULL OR s.ticket_scan_time < h.held_until)
var HolderAt = &Table{
	Schema: currentSchema, ViewSchema: "archtics", Name: "holder_at",
	Doc:     "Table macro: the holder of one seat at one wall-clock instant, as archtics.ticket_holder says (no row: nobody).",
	Columns: TicketHolder.Columns,
	// DuckDB refuses parameters named like the result's columns, hence p_;
	// callers pass them by position.
	MacroParams: []string{"p_team", "p_event_id", "p_section_name", "p_row_name", "p_seat_num", "p_at"},
	ViewSQL: `SELECT h.* FROM archtics.ticket_holder AS h
WHERE h.team = p_team AND h.event_id = p_event_id AND h.section_name IS NOT DISTINCT FROM p_section_name
AND h.row_name IS NOT DISTINCT FROM p_row_name AND h.seat_num = p_seat_num
AND h.held_from <= p_at AND (h.held_until IS NULL OR p_at < h.held_until)`,
	DependsOn: []string{"archtics.ticket_holder"},
}

// holderColumns is the view's output list, in contract order.
func holderColumns(prefix string) string {
	parts := make([]string, len(TicketHolderColumnNames))
	for i, c := range TicketHolderColumnNames {
		parts[i] = prefix + c
	}
	return strings.Join(parts, ", ")
}

// TicketHolderColumnNames are the contract's columns, in order.
var TicketHolderColumnNames = []string{"team", "event_id", "section_name", "row_name", "seat_num", "acct_id", "held_from", "held_until", "via", "source_id"}

// maxMergeChain bounds how many merges the view follows from one account:
// a cycle in archtics.acct_merge (which Archtics cannot produce) ends
// there instead of running for ever.
const maxMergeChain = 64

func ticketHolderSQL() string {
	// The same row of a venue: NULL section or row names match each other.
	sameRow := func(a, b string) string {
		return fmt.Sprintf("%[1]s.team = %[2]s.team AND %[1]s.event_id = %[2]s.event_id AND %[1]s.section_name IS NOT DISTINCT FROM %[2]s.section_name AND %[1]s.row_name IS NOT DISTINCT FROM %[2]s.row_name", a, b)
	}
	return fmt.Sprintf(`WITH RECURSIVE
merge_chain(team, loser, winner, depth) AS (
	SELECT team, loser_acct_id, winner_acct_id, 1 FROM archtics.acct_merge
	UNION ALL
	SELECT c.team, c.loser, m.winner_acct_id, c.depth + 1
	FROM merge_chain AS c JOIN archtics.acct_merge AS m ON m.team = c.team AND m.loser_acct_id = c.winner
	WHERE c.depth < %[1]d AND m.winner_acct_id <> c.loser
),
final_winner AS (
	SELECT team, loser, arg_max(winner, depth) AS winner FROM merge_chain GROUP BY team, loser
),
returned AS (
	SELECT team, ticket_seq_id, min(upd_datetime) AS returned_at FROM (
		SELECT team, ticket_seq_id, upd_datetime FROM %[2]s.ticket WHERE ticket_status = 'R'
		UNION ALL
		SELECT team, ticket_seq_id, upd_datetime FROM %[3]s.ticket WHERE _op = '%[4]s' AND ticket_status = 'R'
	) GROUP BY team, ticket_seq_id
),
block AS (
	SELECT t.team, t.ticket_seq_id, t.event_id, t.section_name, t.row_name, t.seat_num, t.last_seat,
		coalesce(fw.winner, t.acct_id) AS acct_id,
		coalesce(t.add_datetime, t.upd_datetime) AS sold_at,
		CASE WHEN t.ticket_status = 'R' THEN coalesce(r.returned_at, t.upd_datetime) END AS returned_at
	FROM archtics.ticket AS t
	LEFT JOIN final_winner AS fw ON fw.team = t.team AND fw.loser = t.acct_id
	LEFT JOIN returned AS r ON r.team = t.team AND r.ticket_seq_id = t.ticket_seq_id
	WHERE t.seat_num IS NOT NULL AND t.last_seat >= t.seat_num
),
exchange AS (
	SELECT x.team, x.tex_id, x.event_id, x.section_name, x.row_name, x.seat_num, x.last_seat,
		coalesce(fw.winner, x.acct_id) AS acct_id, x.upd_datetime,
		CASE x.activity WHEN 'R' THEN 'resale' ELSE 'forward' END AS via
	FROM archtics.tex AS x
	LEFT JOIN final_winner AS fw ON fw.team = x.team AND fw.loser = x.acct_id
	WHERE x.activity IN ('R', 'F') AND x.seat_num IS NOT NULL AND x.last_seat >= x.seat_num
),
touched AS (
	SELECT DISTINCT team, event_id, section_name, row_name FROM exchange
),
plain AS (
	SELECT b.team, b.event_id, b.section_name, b.row_name,
		CAST(unnest(generate_series(b.seat_num, b.last_seat)) AS INTEGER) AS seat_num,
		b.acct_id, b.sold_at AS held_from, b.returned_at AS held_until, 'purchase' AS via, b.ticket_seq_id AS source_id
	FROM block AS b WHERE NOT EXISTS (SELECT 1 FROM touched AS u WHERE %[5]s)
),
timeline AS (
	SELECT b.team, b.event_id, b.section_name, b.row_name,
		CAST(unnest(generate_series(b.seat_num, b.last_seat)) AS INTEGER) AS seat_num,
		b.acct_id, b.sold_at AS handed_at, 0 AS ord, 'purchase' AS via, b.ticket_seq_id AS source_id
	FROM block AS b WHERE EXISTS (SELECT 1 FROM touched AS u WHERE %[5]s)
	UNION ALL
	SELECT b.team, b.event_id, b.section_name, b.row_name,
		CAST(unnest(generate_series(b.seat_num, b.last_seat)) AS INTEGER) AS seat_num,
		CAST(NULL AS INTEGER), b.returned_at, 2, CAST(NULL AS VARCHAR), b.ticket_seq_id
	FROM block AS b WHERE b.returned_at IS NOT NULL AND EXISTS (SELECT 1 FROM touched AS u WHERE %[5]s)
	UNION ALL
	SELECT x.team, x.event_id, x.section_name, x.row_name,
		CAST(unnest(generate_series(x.seat_num, x.last_seat)) AS INTEGER) AS seat_num,
		x.acct_id, x.upd_datetime, 1, x.via, x.tex_id
	FROM exchange AS x
),
handed AS (
	SELECT *, lead(handed_at) OVER (PARTITION BY team, event_id, section_name, row_name, seat_num ORDER BY handed_at, ord, source_id) AS held_until
	FROM timeline
)
SELECT %[6]s FROM plain
UNION ALL
SELECT team, event_id, section_name, row_name, seat_num, acct_id, handed_at AS held_from, held_until, via, source_id FROM handed WHERE via IS NOT NULL`,
		maxMergeChain, DumpSchema, ChangesSchema, OpUpsert, sameRow("u", "b"), holderColumns(""))
}
