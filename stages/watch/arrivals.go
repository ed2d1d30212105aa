package watch

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"archtics/schemas"
)

// Arrival is what the webhook is told once: the first stored entry scan
// of a seat of a watched account at an event. "First" is the lowest
// attendance_seq_id among the stored scans of (event, seat) naming the
// account: the feed numbers an event's scans in the order it delivers
// them and a tick stores them in that order, so a seat's first scan
// stays first however many later scans the feed brings. A staff
// credential has no account and is never an arrival; an account with
// four seats arrives four times, once per seat.
type Arrival struct {
	Team         string
	EventID      int32
	EventName    string // archtics_event_name: the Archtics event code
	EventStart   time.Time
	AcctID       int32 // as the watch list names it
	HolderAcctID int32 // the account the scan names, merges followed
	Label, Note  string
	Section, Row string // "" for none
	Seat         *int32
	Gate         string
	ScanAt       time.Time // the scan's instant
	ScanLocal    time.Time // its wall clock in the team's preferred zone, as the views show it
	Seq          int64     // attendance_seq_id
	NameFirst    string
	NameLast     string
}

// Key is the arrival's idempotency key: its scan's identity (team, event,
// the feed's sequence number), the same on every attempt and every run.
func (a *Arrival) Key() string {
	return fmt.Sprintf("archtics:%s:%d:%d", a.Team, a.EventID, a.Seq)
}

// position is an arrival's place in the delivery order: scan instant,
// then event and sequence number, which break ties for good.
type position struct {
	ScanAt int64 `json:"scan_at"` // Unix microseconds
	Event  int32 `json:"event"`
	Seq    int64 `json:"seq"`
}

func (a *Arrival) position() position {
	return position{ScanAt: a.ScanAt.UnixMicro(), Event: a.EventID, Seq: a.Seq}
}

func (p position) compare(o position) int {
	switch {
	case p.ScanAt != o.ScanAt:
		return cmpInt(p.ScanAt, o.ScanAt)
	case p.Event != o.Event:
		return cmpInt(int64(p.Event), int64(o.Event))
	}
	return cmpInt(p.Seq, o.Seq)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxMergeChain bounds how many merges are followed from one account, as
// archtics.ticket_holder does: a cycle ends there.
const maxMergeChain = 64

// arrivalsSQL selects the team's arrivals whose sequence number is in
// (lo, hi] of their event's bounds (the CTE "bounds": event_id, lo, hi;
// an event without bounds has none), in delivery order.
func arrivalsSQL(bounds string) string {
	return fmt.Sprintf(`WITH RECURSIVE
merge_chain(team, loser, winner, depth) AS (
  SELECT team, loser_acct_id, winner_acct_id, 1 FROM archtics.acct_merge WHERE team = $1
  UNION ALL
  SELECT c.team, c.loser, m.winner_acct_id, c.depth + 1
  FROM merge_chain AS c JOIN archtics.acct_merge AS m ON m.team = c.team AND m.loser_acct_id = c.winner
  WHERE c.depth < %[1]d AND m.winner_acct_id <> c.loser
),
final_winner AS (SELECT loser, arg_max(winner, depth) AS winner FROM merge_chain GROUP BY loser),
wl AS (
  SELECT w.acct_id, w.label, w.note, coalesce(fw.winner, w.acct_id) AS holder
  FROM %[2]s AS w LEFT JOIN final_winner AS fw ON fw.loser = w.acct_id
  WHERE w.team = $1
  -- Two listed accounts merged into one: the one the scans name, else the lowest.
  QUALIFY row_number() OVER (PARTITION BY holder ORDER BY w.acct_id <> holder, w.acct_id) = 1
),
sc AS (
  SELECT s.event_id, s.archtics_event_name, s.event_start, coalesce(fw.winner, s.acct_id) AS holder,
    s.section_name, s.row_name, s.seat_num, s.gate, s.scan_at, s.ticket_scan_time,
    CAST(s.attendance_seq_id AS BIGINT) AS seq, s.name_first, s.name_last
  FROM %[3]s AS s LEFT JOIN final_winner AS fw ON fw.loser = s.acct_id
  WHERE s.team = $1 AND s.acct_id IS NOT NULL
),
firsts AS (
  SELECT * FROM sc WHERE holder IN (SELECT holder FROM wl)
  QUALIFY row_number() OVER (PARTITION BY event_id, holder, section_name, row_name, seat_num ORDER BY seq) = 1
),
bounds(event_id, lo, hi) AS (%[4]s)
SELECT f.event_id, f.archtics_event_name, f.event_start, wl.acct_id, f.holder, wl.label, coalesce(wl.note, ''),
  coalesce(f.section_name, ''), coalesce(f.row_name, ''), f.seat_num, coalesce(f.gate, ''), f.scan_at, f.ticket_scan_time, f.seq,
  coalesce(f.name_first, ''), coalesce(f.name_last, '')
FROM firsts AS f JOIN wl ON wl.holder = f.holder JOIN bounds AS b ON b.event_id = f.event_id
WHERE f.seq > b.lo AND f.seq <= b.hi
ORDER BY f.scan_at, f.event_id, f.seq`, maxMergeChain, schemas.WatchList.SQLName(), schemas.RTXEnriched.SQLName(), bounds)
}

// boundsSQL is the rows (event_id, lo, hi) as a query: the events of
// hi, each from lo's value (0 when absent).
func boundsSQL(lo, hi map[int32]int64) string {
	if len(hi) == 0 {
		return "SELECT CAST(NULL AS INTEGER), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) WHERE false"
	}
	events := make([]int32, 0, len(hi))
	for e := range hi {
		events = append(events, e)
	}
	slices.Sort(events)
	var b strings.Builder
	b.WriteString("VALUES ")
	for i, e := range events {
		if i > 0 {
			b.WriteString(", ")
		}
		// Numbers this package made: nothing of the input reaches the text.
		fmt.Fprintf(&b, "(CAST(%d AS INTEGER), CAST(%d AS BIGINT), CAST(%d AS BIGINT))", e, lo[e], hi[e])
	}
	return b.String()
}

// pendingArrivals reads the team's arrivals with base[e] < seq <= high[e]
// that come after the position after (nil: all), in delivery order.
func pendingArrivals(ctx context.Context, db *sql.DB, team string, base, high map[int32]int64, after *position) ([]Arrival, error) {
	rows, err := db.QueryContext(ctx, arrivalsSQL(boundsSQL(base, high)), team)
	if err != nil {
		return nil, fmt.Errorf("arrivals of %s: %w", team, err)
	}
	defer rows.Close()
	var out []Arrival
	for rows.Next() {
		a := Arrival{Team: team}
		var seat sql.NullInt32
		if err := rows.Scan(&a.EventID, &a.EventName, &a.EventStart, &a.AcctID, &a.HolderAcctID, &a.Label, &a.Note,
			&a.Section, &a.Row, &seat, &a.Gate, &a.ScanAt, &a.ScanLocal, &a.Seq, &a.NameFirst, &a.NameLast); err != nil {
			return nil, fmt.Errorf("arrivals of %s: %w", team, err)
		}
		if seat.Valid {
			a.Seat = &seat.Int32
		}
		a.EventStart, a.ScanAt = a.EventStart.UTC(), a.ScanAt.UTC()
		if after != nil && a.position().compare(*after) <= 0 {
			continue
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("arrivals of %s: %w", team, err)
	}
	return out, nil
}

// storedHighs is, per event of the team with stored scans, the highest
// stored sequence number.
func storedHighs(ctx context.Context, db *sql.DB, team string) (map[int32]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT event_id, max(CAST(attendance_seq_id AS BIGINT)) FROM `+schemas.RTXEnriched.SQLName()+`
WHERE team = ? GROUP BY event_id`, team)
	if err != nil {
		return nil, fmt.Errorf("stored scans of %s: %w", team, err)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var e int32
		var s int64
		if err := rows.Scan(&e, &s); err != nil {
			return nil, fmt.Errorf("stored scans of %s: %w", team, err)
		}
		out[e] = s
	}
	return out, rows.Err()
}
