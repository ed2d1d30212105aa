package realtime

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// HoldersCursor is the realtime stream's cursor naming the clone commit
// the stored holders and names were last derived from ("<seq>" of the
// team's clone stream): Refresh has nothing to do while the clone stays
// there.
const HoldersCursor = "holders.clone_seq"

// RefreshReport says what a refresh did.
type RefreshReport struct {
	Team       string
	CloneSeq   int64 // the clone commit the holders now reflect
	Rows       int64 // stored scans compared
	Changed    int64 // scans whose holder or names changed
	Partitions int   // event-date partitions rewritten
	Seats      int64 // seats derived for archtics_rtx.event_seats
	SeatEvents int   // events whose seats changed (their files rewritten)
	Standard   int   // reconciled events whose seats read the standard attendance
	FilesIn    int
	FilesOut   int
	Commit     *txlog.Commit // nil when the clone had not moved since the last refresh
}

// Refresh brings the holder and names of team's stored scans
// (archtics_rtx.attendance_enriched) up to what the clone knows now: a
// tick derives them from the clone as it stands at the tick, and the
// clone learns more later (a merge its sweep finds, a name or email
// changed, for a scan without the feed's account a hand-over pulled
// late). Each stored scan is derived again by the tick's rule (Holder
// outcomes): the raw row's feed acct_id followed through the clone's
// merges, else the clone's archtics.ticket_holder at its
// ticket_scan_time; then that account's primary name and email in
// archtics.cust.
//
// It also derives archtics_rtx.event_seats (deriveSeats): each event the
// stream follows or waits to reconcile gets its sold seats, with each
// holder's primary name, from the clone as it stands; an event's file is
// rewritten only when its rows changed. Seats are derived for every such
// event when the clone has moved, and otherwise for those that have none
// yet (an event the tick began to follow since the last refresh).
//
// The partitions (event dates) holding a scan that changed are rewritten
// whole, one file each, and their files retired, in one commit on
// {team}/realtime (stage "realtime-holders") that moves neither the
// watermark nor the feed's cursors, only HoldersCursor. The raw table
// is never rewritten: it is the feed as delivered. When the clone has not
// committed since the last refresh and every event has its seats, Refresh
// reads nothing more and returns a report without a commit; when the
// clone has moved but nothing changed, the commit carries the cursor
// alone. The batch id names the realtime head
// and the clone commit it started from, so a rerun after a crash commits
// once, and a tick that committed meanwhile makes it fail with
// txlog.ErrCommitConflict (run it again). cacheDir is the verified local
// cache (needed for S3).
func Refresh(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string, opts ...pipeline.WriterOption) (*RefreshReport, error) {
	rep := &RefreshReport{Team: team}
	stream := Stream(team)
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("refresh %s: %w", team, err)
	}
	cloneStream, err := schemas.Cust.OwnerStream(map[string]string{"team": team})
	if err != nil {
		return nil, fmt.Errorf("refresh %s: %w", team, err)
	}
	cloneHead, err := w.Stream(ctx, cloneStream)
	if err != nil {
		return nil, fmt.Errorf("refresh %s: the clone: %w", team, err)
	}
	rep.CloneSeq = cloneHead.Seq
	cloneSeq := strconv.FormatInt(cloneHead.Seq, 10)
	cloneMoved := head.Cursors[HoldersCursor] != cloneSeq
	seats, err := planSeats(head, cloneMoved)
	if err != nil {
		return nil, fmt.Errorf("refresh %s: %w", team, err)
	}
	if !cloneMoved && len(seats.derive) == 0 {
		return rep, nil
	}
	enriched := schemas.RTXEnriched
	files := head.TableFiles(enriched.FullName())
	changed := map[scanKey]holderRow{}
	dates := map[string]bool{}
	var seatsChanged []int32
	var conn *sql.Conn
	if cloneMoved && len(files) > 0 || len(seats.derive) > 0 {
		tables := []*schemas.Table{schemas.RTXEnriched, schemas.RTXAttendanceRaw,
			schemas.Current(schemas.Cust), schemas.Current(schemas.Event), schemas.AcctMerge, schemas.TicketHolder,
			schemas.RTXEventSeats, schemas.RTXReconcile}
		if len(seats.standard) > 0 {
			tables = append(tables, schemas.Current(schemas.Attendance)) // its files are read (and cached) only then
		}
		db, err := views.OpenViews(ctx, w.Log, "", cacheDir, tables...)
		if err != nil {
			return nil, fmt.Errorf("refresh %s: %w", team, err)
		}
		defer db.Close()
		if conn, err = db.Conn(ctx); err != nil {
			return nil, fmt.Errorf("refresh %s: duckdb connection: %w", team, err)
		}
		defer conn.Close()
	}
	if cloneMoved && len(files) > 0 {
		rep.Rows, err = derive(ctx, conn, team, func(k scanKey, date string, h holderRow) {
			changed[k] = h
			dates[date] = true
		})
		if err != nil {
			return nil, fmt.Errorf("refresh %s: %w", team, err)
		}
		rep.Changed = int64(len(changed))
	}
	if len(seats.derive) > 0 {
		var wm time.Time // standard_as_of: read only for reconciled events, whose clone has one
		if len(seats.standard) > 0 {
			if wm, err = headWatermark(team, cloneHead); err != nil {
				return nil, fmt.Errorf("refresh %s: %w", team, err)
			}
		}
		if seatsChanged, rep.Seats, err = deriveSeats(ctx, conn, team, seats, wm); err != nil {
			return nil, fmt.Errorf("refresh %s: %w", team, err)
		}
		rep.SeatEvents = len(seatsChanged)
		rep.Standard = len(seats.standard)
	}
	if !cloneMoved && len(seatsChanged) == 0 && len(seats.standard) == 0 {
		return rep, nil // seats derived for an event that has none: nothing to commit
	}
	cursors := map[string]string{HoldersCursor: cloneSeq}
	for id, sum := range seats.standard {
		cursors[seatsStandardCursorPrefix+strconv.Itoa(int(id))] = sum
	}
	var parts []string
	for d := range dates {
		parts = append(parts, d)
	}
	sort.Strings(parts)
	byDate := map[string][]txlog.FileEntry{}
	var retires []txlog.FileRef
	for _, e := range files {
		if dates[e.Partition["event_date"]] {
			byDate[e.Partition["event_date"]] = append(byDate[e.Partition["event_date"]], e)
			retires = append(retires, e.Ref())
		}
	}
	var findPath func(key string) (string, error) // called only for parts
	if len(parts) > 0 {
		if findPath, err = materializedPaths(ctx, w, cacheDir, enriched); err != nil {
			return nil, fmt.Errorf("refresh %s: %w", team, err)
		}
	}
	for _, id := range seatsChanged {
		for _, e := range seats.stored[id] {
			retires = append(retires, e.Ref())
		}
	}
	req := txlog.CommitRequest{
		Stream: stream, Stage: "realtime-holders", BatchID: fmt.Sprintf("holders-%d-clone-%d", head.Seq, cloneHead.Seq),
		ExpectSeq: head.Seq + 1, Retires: retires, Cursors: cursors,
		Summary: map[string]int64{"rows": rep.Rows, "changed": rep.Changed, "partitions": int64(len(parts)), "clone_seq": cloneHead.Seq,
			"seats": rep.Seats, "seat_events": int64(len(seatsChanged))},
	}
	c, err := w.WriteAndCommit(ctx, req, func(add func(*schemas.Table) *pipeline.TableWriter) error {
		for _, d := range parts {
			rep.Partitions++
			for _, e := range byDate[d] {
				path, err := findPath(e.Key)
				if err != nil {
					return err
				}
				n, err := copyFile(ctx, add(enriched), enriched, path, e.Partition, func(rec arrow.RecordBatch) (map[string]arrow.Array, error) {
					return replaceHolders(rec, changed)
				})
				if err != nil {
					return fmt.Errorf("read %s: %w", e.Key, err)
				}
				if n != e.Rows {
					return fmt.Errorf("read %s: %d rows, its commit says %d", e.Key, n, e.Rows)
				}
				rep.FilesIn++
			}
		}
		for _, id := range seatsChanged {
			rec, err := seatsRecord(ctx, conn, team, id, cloneHead.Seq)
			if err != nil {
				return fmt.Errorf("the seats of event %d: %w", id, err)
			}
			if rec == nil {
				continue
			}
			err = add(schemas.RTXEventSeats).Write(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}, append([]pipeline.WriterOption{pipeline.WithMaxFileRows(1 << 30)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("refresh %s: %w", team, err)
	}
	rep.Commit = c
	if !c.Existing {
		for _, a := range c.Adds {
			if a.Table == enriched.FullName() {
				rep.FilesOut++
			}
		}
	}
	return rep, nil
}

// scanKey names one stored scan of a team.
type scanKey struct {
	event int32
	seq   string
}

// holderRow is what Refresh derives for a scan: its account and that
// account's primary name (NULL, as the tick stores them, when empty).
type holderRow struct {
	acct               sql.NullInt32
	first, last, email sql.NullString
}

// derive derives every stored scan of team again in conn (views over the
// stored tables and the clone), and calls changed for each whose account
// or names differ from the stored ones; it returns the scans compared.
func derive(ctx context.Context, conn *sql.Conn, team string, changed func(scanKey, string, holderRow)) (int64, error) {
	merges, err := readMerges(ctx, conn, team)
	if err != nil {
		return 0, fmt.Errorf("archtics.acct_merge: %w", err)
	}
	// Every loser with its final winner, for the join.
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE refresh_winner (loser INTEGER, winner INTEGER)`); err != nil {
		return 0, err
	}
	l := &lookups{merges: merges}
	err = appendRows(conn, "refresh_winner", func(app *duckdb.Appender) error {
		for loser := range merges {
			if err := app.AppendRow(loser, l.winner(loser)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("the merges: %w", err)
	}
	// The tick's rule (resolveHolders, loadNames) over every stored scan:
	// the feed's account through the merges, else the clone's holder of
	// the seat at the scan's wall clock; the primary name with the lowest
	// cust_name_id; an empty name is NULL, as the tick stores it.
	q := `WITH s AS (
  SELECT e.event_id, e.attendance_seq_id, CAST(e.event_date AS VARCHAR) AS event_date, e.seat_num, e.section_name, e.row_name,
    e.acct_id AS old_acct, e.name_first AS old_first, e.name_last AS old_last, e.email_addr AS old_email,
    r.acct_id AS feed_acct, r.ticket_scan_time AS wall
  FROM archtics_rtx.attendance_enriched AS e
  LEFT JOIN archtics_rtx.attendance_raw AS r
    ON r.team = e.team AND r.event_id = e.event_id AND r.attendance_seq_id = e.attendance_seq_id AND r.event_date = e.event_date
  WHERE e.team = $1
),
gaps AS (SELECT * FROM s WHERE feed_acct IS NULL AND seat_num IS NOT NULL),
held AS (
  SELECT g.event_id, g.attendance_seq_id, arg_max(h.acct_id, h.held_from) AS holder
  FROM gaps AS g
  JOIN (SELECT * FROM archtics.ticket_holder WHERE team = $1 AND event_id IN (SELECT DISTINCT event_id FROM gaps)) AS h
    ON h.event_id = g.event_id AND h.section_name IS NOT DISTINCT FROM g.section_name
    AND h.row_name IS NOT DISTINCT FROM g.row_name AND h.seat_num = g.seat_num
    AND h.held_from <= g.wall AND (h.held_until IS NULL OR g.wall < h.held_until)
  WHERE h.acct_id IS NOT NULL
  GROUP BY ALL
),
a AS (
  SELECT s.*, CASE WHEN s.feed_acct IS NOT NULL THEN coalesce(mw.winner, s.feed_acct) ELSE held.holder END AS acct
  FROM s
  LEFT JOIN refresh_winner AS mw ON mw.loser = s.feed_acct
  LEFT JOIN held ON held.event_id = s.event_id AND held.attendance_seq_id = s.attendance_seq_id
),
names AS (
  ` + schemas.PrimaryNamesSQL("c.team = $1 AND c.acct_id IN (SELECT DISTINCT acct FROM a WHERE acct IS NOT NULL)") + `
)
SELECT a.event_id, a.attendance_seq_id, a.event_date, a.acct, n.name_first, n.name_last, n.email_addr,
  a.acct IS DISTINCT FROM a.old_acct OR n.name_first IS DISTINCT FROM a.old_first OR n.name_last IS DISTINCT FROM a.old_last
    OR n.email_addr IS DISTINCT FROM a.old_email AS differs
FROM a LEFT JOIN names AS n ON n.acct_id = a.acct`
	var rows int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM archtics_rtx.attendance_enriched WHERE team = ?`, team).Scan(&rows); err != nil {
		return 0, err
	}
	err = scanRows(ctx, conn, `SELECT event_id, attendance_seq_id, event_date, acct, name_first, name_last, email_addr FROM (`+q+`) WHERE differs`,
		[]any{team}, func(r *sql.Rows) error {
			var event int32
			var seq, date string
			var h holderRow
			if err := r.Scan(&event, &seq, &date, &h.acct, &h.first, &h.last, &h.email); err != nil {
				return err
			}
			changed(scanKey{event, seq}, date, h)
			return nil
		})
	return rows, err
}

// readMerges reads team's archtics.acct_merge, loser to winner.
func readMerges(ctx context.Context, conn *sql.Conn, team string) (map[int32]int32, error) {
	merges := map[int32]int32{}
	err := scanRows(ctx, conn, `SELECT loser_acct_id, winner_acct_id FROM archtics.acct_merge WHERE team = ?`, []any{team}, func(r *sql.Rows) error {
		var loser, winner int32
		if err := r.Scan(&loser, &winner); err != nil {
			return err
		}
		merges[loser] = winner
		return nil
	})
	return merges, err
}

// replaceHolders builds the record's account and name columns, each row
// the stored value unless its scan is in changed (copyFile's replace).
func replaceHolders(rec arrow.RecordBatch, changed map[scanKey]holderRow) (map[string]arrow.Array, error) {
	var in [6]arrow.Array
	for i, name := range []string{"event_id", "attendance_seq_id", "acct_id", "name_first", "name_last", "email_addr"} {
		a, err := fileColumn(rec, name)
		if err != nil {
			return nil, err
		}
		in[i] = a
	}
	events, ok1 := in[0].(*array.Int32)
	seqs, ok2 := in[1].(*array.String)
	accts, ok3 := in[2].(*array.Int32)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("event_id, attendance_seq_id, acct_id: unexpected types %s, %s, %s", in[0].DataType(), in[1].DataType(), in[2].DataType())
	}
	var names [3]*array.String
	for i := range names {
		s, ok := in[3+i].(*array.String)
		if !ok {
			return nil, fmt.Errorf("%s: unexpected type %s", []string{"name_first", "name_last", "email_addr"}[i], in[3+i].DataType())
		}
		names[i] = s
	}
	n := int(rec.NumRows())
	mem := memory.DefaultAllocator
	ab := array.NewInt32Builder(mem)
	defer ab.Release()
	ab.Reserve(n)
	var sb [3]*array.StringBuilder
	for i := range sb {
		sb[i] = array.NewStringBuilder(mem)
		defer sb[i].Release()
		sb[i].Reserve(n)
	}
	for j := 0; j < n; j++ {
		var h holderRow
		var isNew bool
		if events.IsValid(j) {
			h, isNew = changed[scanKey{events.Value(j), seqs.Value(j)}]
		}
		if !isNew {
			h.acct = sql.NullInt32{Int32: accts.Value(j), Valid: accts.IsValid(j)}
			h.first = sql.NullString{String: names[0].Value(j), Valid: names[0].IsValid(j)}
			h.last = sql.NullString{String: names[1].Value(j), Valid: names[1].IsValid(j)}
			h.email = sql.NullString{String: names[2].Value(j), Valid: names[2].IsValid(j)}
		}
		if h.acct.Valid {
			ab.Append(h.acct.Int32)
		} else {
			ab.AppendNull()
		}
		for i, v := range []sql.NullString{h.first, h.last, h.email} {
			if v.Valid && v.String != "" {
				sb[i].Append(v.String)
			} else {
				sb[i].AppendNull()
			}
		}
	}
	return map[string]arrow.Array{"acct_id": ab.NewArray(), "name_first": sb[0].NewArray(), "name_last": sb[1].NewArray(),
		"email_addr": sb[2].NewArray()}, nil
}
