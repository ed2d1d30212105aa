package web

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"archtics/pipeline/views"
	"archtics/stages/realtime"
)

// The page's queries. Each is fixed text with bound parameters: nothing
// the browser sends becomes SQL, and the team and event id a URL names are
// checked against the snapshot before any query runs.

const (
	// storedCTE is each event of team $1 with stored realtime scans: its
	// id, name, start (instant and wall clock) and event_date.
	storedCTE = `
  SELECT event_id, any_value(archtics_event_name) AS name, any_value(event_start) AS event_start,
    any_value(event_time) AS event_time, strftime(any_value(event_date), '%Y-%m-%d') AS event_date
  FROM archtics_rtx.attendance_enriched WHERE team = $1 GROUP BY event_id
`

	// storedEventsSQL is every event with stored realtime scans of a team,
	// and whether it is reconciled: a cheap list (its counts come from
	// each event's arrivals, read with its page).
	storedEventsSQL = `WITH ev AS (` + storedCTE + `),
rec AS (SELECT DISTINCT event_id FROM archtics.reconcile_v WHERE team = $1)
SELECT ev.event_id, ev.name, ev.event_start, ev.event_time, ev.event_date, rec.event_id IS NOT NULL
FROM ev LEFT JOIN rec USING (event_id)
ORDER BY ev.event_start, ev.event_id`

	// eventCategorySQL is an event's long name and categories from the clone.
	eventCategorySQL = `SELECT coalesce(event_name_long, ''), coalesce(major_category, ''), coalesce(minor_category, '')
FROM archtics.event WHERE team = $1 AND event_id = $2`

	// previousSQL is the team's latest event before $3 (an instant) of the
	// same categories with stored scans: the comparable event drawn beside.
	previousSQL = `WITH stored AS (` + storedCTE + `)
SELECT s.event_id, s.name, s.event_start, s.event_time, s.event_date
FROM stored AS s JOIN archtics.event AS e ON e.team = $1 AND e.event_id = s.event_id
WHERE coalesce(e.major_category, '') = $2 AND coalesce(e.minor_category, '') = $3 AND s.event_start < $4
ORDER BY s.event_start DESC LIMIT 1`

	// arrivalsSQL is an event's scans per gate and three-minute bucket,
	// with the seats scanned by the bucket's end (the share curve).
	arrivalsSQL = `SELECT coalesce(gate, '(none)'), minutes_to_start, scans, first_entries, seats_scanned, sold_seats
FROM archtics.arrivals WHERE team = $1 AND event_id = $2 ORDER BY minutes_to_start, gate`

	// newestScansSQL is an event's newest scans with their holders.
	newestScansSQL = `SELECT ticket_scan_time, coalesce(gate, ''), coalesce(section_name, ''), coalesce(row_name, ''),
  seat_num, acct_id, coalesce(name_first, ''), coalesce(name_last, '')
FROM archtics_rtx.attendance_enriched WHERE team = $1 AND event_id = $2
ORDER BY scan_at DESC, attendance_seq_id DESC LIMIT $3`

	// noShowsSQL is an event's no-shows (archtics.no_shows).
	noShowsSQL = `SELECT coalesce(section_name, ''), coalesce(row_name, ''), seat_num, acct_id,
  coalesce(name_first, ''), coalesce(name_last, ''), coalesce(email_addr, '')
FROM archtics.no_shows WHERE team = $1 AND event_id = $2
ORDER BY section_name, row_name, seat_num`

	// watchSQL is the team's watch list at an event
	// (archtics.watch_arrivals): arrived first, by first scan.
	watchSQL = `SELECT acct_id, coalesce(label, ''), arrived, first_scan_time, coalesce(gate, ''), seats_scanned
FROM archtics.watch_arrivals WHERE team = $1 AND event_id = $2
ORDER BY arrived DESC, first_scan_time, label, acct_id`

	// reconcileSQL is an event's reconciliation (archtics.reconcile_v).
	reconcileSQL = `SELECT final_scans, delivered, coalesce(delivered_share, 0), missed, extra,
  coalesce(late_p50_min, 0), coalesce(late_p90_min, 0), coalesce(late_max_min, 0),
  late_over_3m, late_over_15m, late_over_60m
FROM archtics.reconcile_v WHERE team = $1 AND event_id = $2`
)

// queryTables are the tables the queries read, with what their views
// depend on: the snapshot's DuckDB has views over these only.
var queryTables = views.TablesReadBy(storedEventsSQL + ";\n" + eventCategorySQL + ";\n" + previousSQL + ";\n" +
	arrivalsSQL + ";\n" + newestScansSQL + ";\n" + noShowsSQL + ";\n" + watchSQL + ";\n" + reconcileSQL)

// Event states on the pages.
const (
	StateNotOpen    = "window not open"
	StateOpen       = "open"
	StateClosed     = "closed"
	StateReconciled = "reconciled"
)

// Event is one realtime event of a team.
type Event struct {
	Team      string
	ID        int32
	Name      string    // the Archtics event code
	Start     time.Time // an instant
	StartWall time.Time // the start as the preferred zone's wall clock (as the views show it)
	Date      string    // event_date, the partition its scans are stored in
	// Scanned and Sold come from the event's arrivals (its page's data):
	// the seats scanned by the latest bucket, and the seats sold.
	Scanned   int64
	Sold      int64
	Stored    bool // has stored scans
	Reconcile bool // archtics.reconcile_v has it
	State     string
}

// Share is Scanned / Sold, 0 when nothing is sold.
func (e Event) Share() float64 {
	if e.Sold == 0 {
		return 0
	}
	return float64(e.Scanned) / float64(e.Sold)
}

// state is the event's state at ref, the team's latest tick.
func state(start, ref time.Time, reconciled bool) string {
	switch {
	case reconciled:
		return StateReconciled
	case ref.Before(start.Add(-realtime.WindowBefore)):
		return StateNotOpen
	case !ref.After(start.Add(realtime.WindowAfter)):
		return StateOpen
	default:
		return StateClosed
	}
}

// storedEvents lists the team's events with stored scans.
func storedEvents(ctx context.Context, db *sql.DB, t *Team) ([]Event, error) {
	rows, err := db.QueryContext(ctx, storedEventsSQL, t.Name)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", t.Name, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e := Event{Team: t.Name, Stored: true}
		if err := rows.Scan(&e.ID, &e.Name, &e.Start, &e.StartWall, &e.Date, &e.Reconcile); err != nil {
			return nil, fmt.Errorf("events of %s: %w", t.Name, err)
		}
		e.State = state(e.Start, t.Ref, e.Reconcile)
		out = append(out, e)
	}
	return out, rows.Err()
}

// todays keeps the events of the team's day at ref (its local day in the
// team's zone): those whose window overlaps the day, and those whose
// window closed within the last twelve hours (a night game's).
func todays(events []Event, ref time.Time, loc *time.Location) []Event {
	l := ref.In(loc)
	dayStart := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	dayEnd := dayStart.AddDate(0, 0, 1)
	from := dayStart
	if h := ref.Add(-12 * time.Hour); h.Before(from) {
		from = h
	}
	var out []Event
	for _, e := range events {
		if e.Start.Add(-realtime.WindowBefore).Before(dayEnd) && !e.Start.Add(realtime.WindowAfter).Before(from) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// GateBucket is one gate's scans in one three-minute bucket.
type GateBucket struct {
	Gate         string
	Minutes      int // minutes_to_start of the bucket's start
	Scans        int64
	FirstEntries int64
}

// SharePoint is the cumulative share scanned at the end of a bucket.
type SharePoint struct {
	Minutes int
	Seats   int64
	Sold    int64
}

// Share is Seats / Sold (0 when nothing is sold).
func (p SharePoint) Share() float64 {
	if p.Sold == 0 {
		return 0
	}
	return float64(p.Seats) / float64(p.Sold)
}

// Scan is one stored scan with its holder.
type Scan struct {
	At                  time.Time // the preferred zone's wall clock
	Gate, Section, Row  string
	Seat                sql.NullInt32
	Acct                sql.NullInt32
	NameFirst, NameLast string
}

// NoShow is a sold seat no stored scan names, with its holder.
type NoShow struct {
	Section, Row        string
	Seat                int32
	Acct                sql.NullInt32
	NameFirst, NameLast string
	Email               string
}

// Reconcile is an event's line of archtics.reconcile_v.
type Reconcile struct {
	Final, Delivered          int64
	DeliveredShare            float64
	Missed, Extra             int64
	LateP50, LateP90, LateMax float64
	Over3m, Over15m, Over60m  int64
}

// listedNoShows is how many no-shows the page lists (the CSV has them all):
// a big arena's thousands would make every refresh of the page heavy.
const listedNoShows = 200

// NoShowsListed are the no-shows the page lists.
func (p *EventPage) NoShowsListed() []NoShow { return p.NoShows[:min(len(p.NoShows), listedNoShows)] }

// ShowsNoShows reports whether the page lists no-shows: once the window
// closed.
func (e Event) ShowsNoShows() bool { return e.State == StateClosed || e.State == StateReconciled }

// EventPage is everything the event page shows.
type EventPage struct {
	Event
	LongName, Major, Minor string
	Arrivals               []GateBucket
	ShareCurve             []SharePoint
	Previous               *Event
	PreviousCurve          []SharePoint
	Newest                 []Scan
	// Watch is the team's watch list at the event: who has arrived.
	Watch []Watched
	// NoShows are read apart (snapshot.noShowsOf), when the page shows
	// them: the view is the costliest, and the day's list needs none.
	NoShows        []NoShow
	Reconciliation *Reconcile
	// Took is how long each of the page's queries took (logged at debug
	// level: which views a slow page waits for).
	Took []QueryTime
}

// QueryTime is one query's time.
type QueryTime struct {
	Query string
	Took  time.Duration
}

// newestScans is how many of the newest scans the page lists.
const newestScans = 25

// arrivalsFunc reads an event's arrivals (gateBuckets), by event id and
// the partition (event_date) its scans are stored in.
type arrivalsFunc func(ctx context.Context, id int32, date string) ([]GateBucket, []SharePoint, error)

// eventPage reads the event page's data but its no-shows (t.Stored says
// which events have stored scans); ok is false for an event without.
func eventPage(ctx context.Context, db *sql.DB, t *Team, id int32, arrivals arrivalsFunc) (*EventPage, bool, error) {
	var p EventPage
	found := false
	for _, e := range t.Stored {
		if e.ID == id {
			p.Event, found = e, true
		}
	}
	if !found {
		return nil, false, nil
	}
	wrap := func(what string, err error) error { return fmt.Errorf("event %d of %s: %s: %w", id, t.Name, what, err) }
	last := time.Now()
	mark := func(what string) {
		now := time.Now()
		p.Took = append(p.Took, QueryTime{what, now.Sub(last)})
		last = now
	}
	err := db.QueryRowContext(ctx, eventCategorySQL, t.Name, id).Scan(&p.LongName, &p.Major, &p.Minor)
	if err != nil && err != sql.ErrNoRows {
		return nil, false, wrap("archtics.event", err)
	}
	mark("event")
	if p.Arrivals, p.ShareCurve, err = arrivals(ctx, id, p.Date); err != nil {
		return nil, false, wrap("arrivals", err)
	}
	if n := len(p.ShareCurve); n > 0 {
		p.Scanned, p.Sold = p.ShareCurve[n-1].Seats, p.ShareCurve[n-1].Sold
	}
	mark("arrivals")
	var prev Event
	err = db.QueryRowContext(ctx, previousSQL, t.Name, p.Major, p.Minor, p.Start).Scan(&prev.ID, &prev.Name, &prev.Start, &prev.StartWall, &prev.Date)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return nil, false, wrap("the previous comparable event", err)
	default:
		prev.Team = t.Name
		p.Previous = &prev
		if _, p.PreviousCurve, err = arrivals(ctx, prev.ID, prev.Date); err != nil {
			return nil, false, wrap("the previous event's share", err)
		}
	}
	mark("previous")
	if p.Newest, err = newest(ctx, db, t.Name, id); err != nil {
		return nil, false, wrap("newest scans", err)
	}
	mark("newest")
	if p.Watch, err = watched(ctx, db, t.Name, id); err != nil {
		return nil, false, wrap("archtics.watch_arrivals", err)
	}
	mark("watch list")
	if p.Reconcile {
		var r Reconcile
		err := db.QueryRowContext(ctx, reconcileSQL, t.Name, id).Scan(&r.Final, &r.Delivered, &r.DeliveredShare, &r.Missed, &r.Extra,
			&r.LateP50, &r.LateP90, &r.LateMax, &r.Over3m, &r.Over15m, &r.Over60m)
		if err != nil && err != sql.ErrNoRows {
			return nil, false, wrap("archtics.reconcile_v", err)
		}
		if err == nil {
			p.Reconciliation = &r
		}
	}
	if p.Reconcile {
		mark("reconcile")
	}
	return &p, true, nil
}

// gateBuckets reads an event's arrivals: per gate and bucket, and the
// share curve (one point per bucket).
func gateBuckets(ctx context.Context, db *sql.DB, team string, id int32) ([]GateBucket, []SharePoint, error) {
	rows, err := db.QueryContext(ctx, arrivalsSQL, team, id)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []GateBucket
	var curve []SharePoint
	for rows.Next() {
		var b GateBucket
		var m int64
		var sp SharePoint
		if err := rows.Scan(&b.Gate, &m, &b.Scans, &b.FirstEntries, &sp.Seats, &sp.Sold); err != nil {
			return nil, nil, err
		}
		b.Minutes, sp.Minutes = int(m), int(m)
		out = append(out, b)
		// Rows come by bucket: every gate's row of a bucket has the same
		// seats scanned by its end.
		if n := len(curve); n == 0 || curve[n-1].Minutes != sp.Minutes {
			curve = append(curve, sp)
		}
	}
	return out, curve, rows.Err()
}

func newest(ctx context.Context, db *sql.DB, team string, id int32) ([]Scan, error) {
	rows, err := db.QueryContext(ctx, newestScansSQL, team, id, newestScans)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Scan
	for rows.Next() {
		var s Scan
		if err := rows.Scan(&s.At, &s.Gate, &s.Section, &s.Row, &s.Seat, &s.Acct, &s.NameFirst, &s.NameLast); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Watched is an account of the team's watch list at an event.
type Watched struct {
	Acct    int32
	Label   string
	Arrived bool
	First   sql.NullTime // its first entry scan, the preferred zone's wall clock
	Gate    string
	Seats   int64
}

// watched reads the team's watch list at the event.
func watched(ctx context.Context, db *sql.DB, team string, id int32) ([]Watched, error) {
	rows, err := db.QueryContext(ctx, watchSQL, team, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Watched
	for rows.Next() {
		var w Watched
		if err := rows.Scan(&w.Acct, &w.Label, &w.Arrived, &w.First, &w.Gate, &w.Seats); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WatchArrived counts the watched accounts that have arrived.
func (p *EventPage) WatchArrived() int {
	n := 0
	for _, w := range p.Watch {
		if w.Arrived {
			n++
		}
	}
	return n
}

func noShows(ctx context.Context, db *sql.DB, team string, id int32) ([]NoShow, error) {
	rows, err := db.QueryContext(ctx, noShowsSQL, team, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []NoShow
	for rows.Next() {
		var n NoShow
		if err := rows.Scan(&n.Section, &n.Row, &n.Seat, &n.Acct, &n.NameFirst, &n.NameLast, &n.Email); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// selected adds the events the team's criteria select at its latest tick
// whose window has not opened (they have no stored scans yet).
func selected(ctx context.Context, s *snapshot, t *Team, events []Event) []Event {
	events = append([]Event(nil), events...)
	have := map[int32]bool{}
	for _, e := range events {
		have[e.ID] = true
	}
	sel, err := realtime.SelectEvents(ctx, s.w, t.Name, t.Ref, realtime.SelectOptions{CacheDir: s.cacheDir, Logger: s.logger})
	if err != nil {
		// No criteria, or criteria that fail: the stored events still show.
		s.logger.Debug("serve: no selection for the day's list", "team", t.Name, "err", err)
		return events
	}
	for _, e := range sel {
		if have[e.EventID] {
			continue
		}
		out := Event{Team: t.Name, ID: e.EventID, Name: e.Name, Start: e.Start, StartWall: wall(e.Start.In(t.Loc))}
		out.State = state(out.Start, t.Ref, false)
		events = append(events, out)
	}
	return events
}

// wall is t's wall clock as a zone-less time (how DuckDB hands TIMESTAMP back).
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
