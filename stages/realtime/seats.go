package realtime

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// The seats of archtics_rtx.event_seats: Refresh derives them, for the
// events the realtime stream still follows or waits to reconcile, from
// the clone as it stands, and writes an event's file again only when its
// rows changed. A reconciled event's seats stay as the clone knew them
// when it was reconciled: its no-shows are final then.

// seatPlan is what Refresh derives seats for.
type seatPlan struct {
	starts  map[int32]time.Time         // event → start instant, from the cursors
	stored  map[int32][]txlog.FileEntry // event → its live files of archtics_rtx.event_seats
	derive  []int32                     // events to derive, sorted
	fromRec []int32                     // those of derive whose start comes from archtics_rtx.reconcile
}

// planSeats chooses the events whose seats Refresh derives from head (the
// realtime stream's): with cloneMoved, every event a cursor names
// (followed, or waiting for its reconciliation); else only those of them
// without seats yet. A reconciled event without seats (reconciled before
// the table existed) is derived once, its start read from its
// archtics_rtx.reconcile row.
func planSeats(head *txlog.StreamState, cloneMoved bool) (*seatPlan, error) {
	p := &seatPlan{starts: map[int32]time.Time{}, stored: map[int32][]txlog.FileEntry{}}
	for k, v := range head.Cursors {
		var id int32
		var start time.Time
		switch {
		case strings.HasPrefix(k, eventCursorPrefix):
			f, err := parseFollowed(k, v)
			if err != nil {
				return nil, err
			}
			id, start = f.id, f.start
		case strings.HasPrefix(k, reconcileCursorPrefix):
			n, err := strconv.ParseInt(strings.TrimPrefix(k, reconcileCursorPrefix), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("cursor %s: %w", k, err)
			}
			if start, err = time.Parse(time.RFC3339, v); err != nil {
				return nil, fmt.Errorf("cursor %s=%q: %w", k, v, err)
			}
			id = int32(n)
		default:
			continue
		}
		p.starts[id] = start
	}
	for _, e := range head.TableFiles(schemas.RTXEventSeats.FullName()) {
		id, err := partitionEvent(e)
		if err != nil {
			return nil, err
		}
		p.stored[id] = append(p.stored[id], e)
	}
	for id := range p.starts {
		if _, ok := p.stored[id]; cloneMoved || !ok {
			p.derive = append(p.derive, id)
		}
	}
	for _, e := range head.TableFiles(schemas.RTXReconcile.FullName()) {
		id, err := partitionEvent(e)
		if err != nil {
			return nil, err
		}
		if _, ok := p.stored[id]; !ok && p.starts[id].IsZero() && !containsEvent(p.fromRec, id) {
			p.fromRec = append(p.fromRec, id)
			p.derive = append(p.derive, id)
		}
	}
	sort.Slice(p.derive, func(i, j int) bool { return p.derive[i] < p.derive[j] })
	return p, nil
}

func containsEvent(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// partitionEvent is the event_id partition value of a file entry.
func partitionEvent(e txlog.FileEntry) (int32, error) {
	n, err := strconv.ParseInt(e.Partition["event_id"], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("file %s: partition event_id %q: %w", e.Key, e.Partition["event_id"], err)
	}
	return int32(n), nil
}

// seatColumns are archtics_rtx.event_seats' columns compared to decide
// whether an event's seats changed (clone_seq and team aside).
const seatColumns = `event_id, event_name, event_start, event_time, section_name, row_name, seat_num, acct_id, name_first, name_last, email_addr`

// deriveSeats derives, in conn (views over the clone and the realtime
// tables), the sold seats of p's events into the temp table new_seats
// and returns the events whose rows differ from the stored ones (an
// event with no sold seats and none stored is unchanged).
func deriveSeats(ctx context.Context, conn *sql.Conn, team string, p *seatPlan) ([]int32, int64, error) {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE seat_events (team VARCHAR, event_id INTEGER, event_start TIMESTAMPTZ)`); err != nil {
		return nil, 0, err
	}
	err := appendRows(conn, "seat_events", func(app *duckdb.Appender) error {
		for _, id := range p.derive {
			if start, ok := p.starts[id]; ok {
				if err := app.AppendRow(team, id, start.UTC()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("the events: %w", err)
	}
	if len(p.fromRec) > 0 {
		ids := make([]string, len(p.fromRec))
		for i, id := range p.fromRec {
			ids[i] = strconv.Itoa(int(id))
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO seat_events SELECT team, event_id, event_start FROM archtics_rtx.reconcile
WHERE team = $1 AND event_id IN (`+strings.Join(ids, ", ")+`)`, team); err != nil {
			return nil, 0, fmt.Errorf("the reconciled events' starts: %w", err)
		}
	}
	q := `CREATE OR REPLACE TEMP TABLE new_seats AS
WITH ` + schemas.HeldAtStartSQL("seat_events") + `,
names AS (
  ` + schemas.PrimaryNamesSQL("c.team = $1 AND c.acct_id IN (SELECT acct_id FROM held)") + `
)
SELECT h.event_id, st.event_name, se.event_start, st.start_wall AS event_time, h.section_name, h.row_name, h.seat_num,
  h.acct_id, n.name_first, n.name_last, n.email_addr
FROM held AS h
JOIN starts AS st ON st.team = h.team AND st.event_id = h.event_id
JOIN seat_events AS se ON se.team = h.team AND se.event_id = h.event_id
LEFT JOIN names AS n ON n.team = h.team AND n.acct_id = h.acct_id`
	if _, err := conn.ExecContext(ctx, q, team); err != nil {
		return nil, 0, fmt.Errorf("the seats held at the starts: %w", err)
	}
	var rows int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM new_seats`).Scan(&rows); err != nil {
		return nil, 0, err
	}
	stored := `(SELECT ` + seatColumns + ` FROM archtics_rtx.event_seats WHERE team = $1 AND event_id IN (SELECT event_id FROM seat_events))`
	var changed []int32
	err = scanRows(ctx, conn, `SELECT DISTINCT event_id FROM (
  (SELECT `+seatColumns+` FROM new_seats EXCEPT SELECT * FROM `+stored+`)
  UNION ALL
  (SELECT * FROM `+stored+` EXCEPT SELECT `+seatColumns+` FROM new_seats)
) ORDER BY event_id`, []any{team}, func(r *sql.Rows) error {
		var id int32
		if err := r.Scan(&id); err != nil {
			return err
		}
		changed = append(changed, id)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("the seats that changed: %w", err)
	}
	return changed, rows, nil
}

// seatsRecord is event id's rows of new_seats as archtics_rtx.event_seats
// rows, derived from clone commit cloneSeq; nil when it has none (its
// seats were all returned: the event's file is retired, none added).
func seatsRecord(ctx context.Context, conn *sql.Conn, team string, id int32, cloneSeq int64) (arrow.RecordBatch, error) {
	t := schemas.RTXEventSeats
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.ArrowSchema())
	defer b.Release()
	n := 0
	err := scanRows(ctx, conn, `SELECT `+seatColumns+` FROM new_seats WHERE event_id = $1
ORDER BY section_name, row_name, seat_num`, []any{id}, func(r *sql.Rows) error {
		var event, seat int32
		var name, sec, row, first, last, email sql.NullString
		var start, wall sql.NullTime
		var acct sql.NullInt32
		if err := r.Scan(&event, &name, &start, &wall, &sec, &row, &seat, &acct, &first, &last, &email); err != nil {
			return err
		}
		vals := map[string]any{"event_id": event, "event_name": nullStr(name), "event_start": nullTime(start), "event_time": nullTime(wall),
			"section_name": nullStr(sec), "row_name": nullStr(row), "seat_num": seat, "acct_id": nullInt32(acct),
			"name_first": nullStr(first), "name_last": nullStr(last), "email_addr": nullStr(email), "clone_seq": cloneSeq, "team": team}
		for i, c := range t.Columns {
			v, ok := vals[c.Name]
			if !ok {
				return fmt.Errorf("%s: no value for column %s", t.FullName(), c.Name)
			}
			if err := appendValue(b.Field(i), v); err != nil {
				return fmt.Errorf("%s.%s: %w", t.FullName(), c.Name, err)
			}
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

func nullTime(t sql.NullTime) any {
	if !t.Valid {
		return nil
	}
	return t.Time
}

func nullInt32(v sql.NullInt32) any {
	if !v.Valid {
		return nil
	}
	return v.Int32
}
