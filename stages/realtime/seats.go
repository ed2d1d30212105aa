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
// rows changed. Once an event is reconciled, the next refresh derives its
// seats once more with each seat's standard_entry (the standard
// attendance's verdict) and records the reconciliation it read in the
// cursor seatsStandardCursorPrefix + event id (its file's SHA-256): the
// seats then stay as they are until a new reconciliation of the event
// replaces that file.
const seatsStandardCursorPrefix = "realtime.seats_standard."

// seatPlan is what Refresh derives seats for.
type seatPlan struct {
	starts   map[int32]time.Time         // event → start instant, from the cursors
	stored   map[int32][]txlog.FileEntry // event → its live files of archtics_rtx.event_seats
	derive   []int32                     // events to derive, sorted
	fromRec  []int32                     // those of derive whose start comes from archtics_rtx.reconcile
	standard map[int32]string            // those of derive reconciled: event → its reconciliation's file hash
}

// planSeats chooses the events whose seats Refresh derives from head (the
// realtime stream's): with cloneMoved, every event a cursor names
// (followed, or waiting for its reconciliation); else only those of them
// without seats yet. A reconciled event is derived, with the standard
// attendance's verdict, when its reconciliation is not the one its seats
// last read (seatsStandardCursorPrefix), and then not again; its start is
// read from its archtics_rtx.reconcile row when no cursor has it.
func planSeats(head *txlog.StreamState, cloneMoved bool) (*seatPlan, error) {
	p := &seatPlan{starts: map[int32]time.Time{}, stored: map[int32][]txlog.FileEntry{}, standard: map[int32]string{}}
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
			var err error
			if id, start, _, err = parseReconcileCursor(k, v); err != nil {
				return nil, err
			}
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
	reconciled := map[int32]string{}
	for _, e := range head.TableFiles(schemas.RTXReconcile.FullName()) {
		id, err := partitionEvent(e)
		if err != nil {
			return nil, err
		}
		reconciled[id] = e.SHA256
	}
	for id := range p.starts {
		if _, ok := reconciled[id]; ok {
			continue // below
		}
		if _, ok := p.stored[id]; cloneMoved || !ok {
			p.derive = append(p.derive, id)
		}
	}
	for id, sum := range reconciled {
		if head.Cursors[seatsStandardCursorPrefix+strconv.Itoa(int(id))] == sum {
			continue // its seats read this reconciliation: final
		}
		p.standard[id] = sum
		p.derive = append(p.derive, id)
		if _, ok := p.starts[id]; !ok {
			p.fromRec = append(p.fromRec, id)
		}
	}
	sort.Slice(p.derive, func(i, j int) bool { return p.derive[i] < p.derive[j] })
	sort.Slice(p.fromRec, func(i, j int) bool { return p.fromRec[i] < p.fromRec[j] })
	return p, nil
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
// whether an event's seats changed (the times and commit they were read
// at, and team, aside).
const seatColumns = `event_id, event_name, event_start, event_time, section_name, row_name, seat_num, acct_id, name_first, name_last, email_addr, standard_entry`

// deriveSeats derives, in conn (views over the clone and the realtime
// tables), the sold seats of p's events into the temp table new_seats
// and returns the events whose rows differ from the stored ones (an
// event with no sold seats and none stored is unchanged).
func deriveSeats(ctx context.Context, conn *sql.Conn, team string, p *seatPlan, cloneWatermark time.Time) ([]int32, int64, error) {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE seat_events (team VARCHAR, event_id INTEGER, event_start TIMESTAMPTZ, standard BOOLEAN)`); err != nil {
		return nil, 0, err
	}
	err := appendRows(conn, "seat_events", func(app *duckdb.Appender) error {
		for _, id := range p.derive {
			if start, ok := p.starts[id]; ok {
				_, std := p.standard[id]
				if err := app.AppendRow(team, id, start.UTC(), std); err != nil {
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
		if _, err := conn.ExecContext(ctx, `INSERT INTO seat_events SELECT team, event_id, event_start, true FROM archtics_rtx.reconcile
WHERE team = $1 AND event_id IN (`+strings.Join(ids, ", ")+`)`, team); err != nil {
			return nil, 0, fmt.Errorf("the reconciled events' starts: %w", err)
		}
	}
	ids := make([]string, len(p.derive))
	var stdIDs []string
	for i, id := range p.derive {
		ids[i] = strconv.Itoa(int(id))
		if _, ok := p.standard[id]; ok {
			stdIDs = append(stdIDs, ids[i])
		}
	}
	list := strings.Join(ids, ", ")
	// The standard attendance's entries, read only when an event needs
	// them: archtics.attendance's current state costs a pass over every
	// version of its events' scans.
	std := struct {
		sql  string
		args []any
	}{sql: `CREATE OR REPLACE TEMP TABLE seat_std (team VARCHAR, event_id INTEGER, section_name VARCHAR, row_name VARCHAR, seat_num INTEGER)`}
	if len(stdIDs) > 0 {
		std.sql, std.args = `CREATE OR REPLACE TEMP TABLE seat_std AS
SELECT DISTINCT a.team, a.event_id, a.section_name, a.row_name, a.seat_num
FROM archtics.attendance AS a
WHERE a.team = $1 AND a.event_id IN (`+strings.Join(stdIDs, ", ")+`)
  AND a.result_code = '0' AND a.scan_type IN ('S', 'M') AND a.seat_num IS NOT NULL`, []any{team}
	}
	// One step at a time, each into a temporary table: a single query
	// holds every join's hash table at once. The events are constants,
	// which DuckDB pushes into the views' scans.
	steps := []struct {
		what, sql string
		args      []any
	}{
		{"the seats held at the starts", `CREATE OR REPLACE TEMP TABLE seat_held AS
WITH ` + schemas.HeldAtStartSQL("team = $1 AND event_id IN ("+list+")") + `
SELECT h.*, st.event_name, st.start_wall FROM held AS h JOIN starts AS st ON st.team = h.team AND st.event_id = h.event_id`, []any{team}},
		{"the holders' names", `CREATE OR REPLACE TEMP TABLE seat_names AS
` + schemas.PrimaryNamesSQL("c.team = $1 AND c.acct_id IN (SELECT acct_id FROM seat_held)"), []any{team}},
		{"the standard attendance's entries", std.sql, std.args},
		{"the seats", `CREATE OR REPLACE TEMP TABLE new_seats AS
SELECT h.event_id, h.event_name, se.event_start, h.start_wall AS event_time, h.section_name, h.row_name, h.seat_num,
  h.acct_id, n.name_first, n.name_last, n.email_addr,
  CASE WHEN se.standard THEN std.event_id IS NOT NULL END AS standard_entry,
  CASE WHEN se.standard THEN TIMESTAMPTZ '` + cloneWatermark.UTC().Format("2006-01-02 15:04:05.999999Z07:00") + `' END AS standard_as_of
FROM seat_held AS h
JOIN seat_events AS se ON se.team = h.team AND se.event_id = h.event_id
LEFT JOIN seat_names AS n ON n.team = h.team AND n.acct_id = h.acct_id
LEFT JOIN seat_std AS std ON std.team = h.team AND std.event_id = h.event_id AND std.section_name IS NOT DISTINCT FROM h.section_name
  AND std.row_name IS NOT DISTINCT FROM h.row_name AND std.seat_num = h.seat_num`, nil},
	}
	for _, st := range steps {
		if _, err := conn.ExecContext(ctx, st.sql, st.args...); err != nil {
			return nil, 0, fmt.Errorf("%s of %d events: %w", st.what, len(ids), err)
		}
	}
	if _, err := conn.ExecContext(ctx, `DROP TABLE seat_held; DROP TABLE seat_names; DROP TABLE seat_std`); err != nil {
		return nil, 0, err
	}
	var rows int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM new_seats`).Scan(&rows); err != nil {
		return nil, 0, err
	}
	stored := `(SELECT ` + seatColumns + ` FROM archtics_rtx.event_seats WHERE team = $1 AND event_id IN (` + list + `))`
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
// new_seats holds every column of the table but the two set here.
func seatsRecord(ctx context.Context, conn *sql.Conn, team string, id int32, cloneSeq int64) (arrow.RecordBatch, error) {
	t := schemas.RTXEventSeats
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.ArrowSchema())
	defer b.Release()
	set := map[string]any{"clone_seq": cloneSeq, "team": team}
	var read []string
	for _, c := range t.Columns {
		if _, ok := set[c.Name]; !ok {
			read = append(read, c.Name)
		}
	}
	vals := make([]any, len(read))
	dest := make([]any, len(read))
	for i := range vals {
		dest[i] = &vals[i]
	}
	n := 0
	err := scanRows(ctx, conn, `SELECT `+strings.Join(read, ", ")+` FROM new_seats WHERE event_id = $1
ORDER BY section_name, row_name, seat_num`, []any{id}, func(r *sql.Rows) error {
		if err := r.Scan(dest...); err != nil {
			return err
		}
		j := 0
		for i, c := range t.Columns {
			v, ok := set[c.Name]
			if !ok {
				v, j = vals[j], j+1
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
