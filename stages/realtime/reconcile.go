package realtime

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/clone"
)

// reconcileCursorPrefix + event id marks an event whose late deliveries
// are over and that waits for its reconciliation: "<start RFC 3339>". The
// tick that stops following the event sets it; the reconciliation's
// commit removes it.
const reconcileCursorPrefix = "realtime.reconcile."

// DefaultPostingDelay is how long after an event's window closes its
// standard attendance (archtics.attendance) is taken to be complete in
// the clone: Archtics closes each gate's scanners out from half an hour
// to ten hours after the event's last scan; twelve hours is the margin.
const DefaultPostingDelay = 12 * time.Hour

// ErrNoSuchEvent: the team's clone has no such event (archtics.event).
var ErrNoSuchEvent = errors.New("no such event")

// Reconcile outcomes (EventReconcile.Outcome).
const (
	ReconcileCommitted = "reconciled" // the event's row was committed (first time, or replacing an older one)
	ReconcileUnchanged = "unchanged"  // the stored row already says the same: nothing committed
	ReconcileWaiting   = "waiting"    // the standard attendance has not arrived: not reconciled
	// ReconcileNoScans: the store holds no scan of an event it did not
	// mark as ended (never followed, or its scans expired after seven
	// days): there is nothing to compare, and no row is committed.
	ReconcileNoScans = "no realtime scans"
)

// ReconcileOptions tune a reconciliation. The zero value reconciles
// every event waiting for it whose standard attendance has arrived.
type ReconcileOptions struct {
	// EventID, when set, reconciles that event alone, again if it was
	// already (a rerun with the same inputs commits nothing).
	EventID int32
	// PostingDelay: see DefaultPostingDelay.
	PostingDelay time.Duration
	// TimeZone overrides the clone's zone (clone.CloneLocation).
	TimeZone string
	// CacheDir is the verified local cache (needed for an S3 warehouse).
	CacheDir string
	Logger   *slog.Logger
	Writer   []pipeline.WriterOption
}

// Lateness is the distribution of delivered_at (attendance_delivery) -
// scan_at (attendance_enriched) over the delivered scans that have a
// delivery record.
type Lateness struct {
	Timed                    int64
	P50, P90, Max            time.Duration
	Over3m, Over15m, Over60m int64
}

// EventReconcile is one event's reconciliation.
type EventReconcile struct {
	EventID       int32
	Name          string
	Date          time.Time // civil date (midnight UTC)
	Start         time.Time
	Outcome       string
	Final         int64 // the final initial entries
	Realtime      int64 // the realtime store's scans of the event
	Delivered     int64
	Missed, Extra []int64 // attendance_seq_id, ascending
	Late          Lateness
	// ArrivesAt is when the standard attendance counts as arrived:
	// the window's close plus the posting delay (the clone's watermark
	// must reach it).
	ArrivesAt time.Time
	Digest    string
	Commit    *txlog.Commit
	odd       []oddScan // the missed, then the extra scans
}

// Share is Delivered / Final, NaN when there is no final scan.
func (e *EventReconcile) Share() float64 {
	if e.Final == 0 {
		return math.NaN()
	}
	return float64(e.Delivered) / float64(e.Final)
}

// Summary is the event's one-line summary, as the command prints it.
func (e *EventReconcile) Summary() string {
	head := fmt.Sprintf("event %d %s (%s)", e.EventID, e.Name, e.Date.Format(time.DateOnly))
	if e.Outcome == ReconcileWaiting {
		return fmt.Sprintf("%s: not reconciled: its standard attendance has not arrived (the clone must reach %s)",
			head, e.ArrivesAt.UTC().Format(time.RFC3339))
	}
	if e.Outcome == ReconcileNoScans {
		return fmt.Sprintf("%s: not reconciled: the realtime store holds no scan of it (not followed, or expired after seven days)", head)
	}
	share := "-"
	if e.Final > 0 {
		share = fmt.Sprintf("%.2f%%", 100*e.Share())
	}
	late := "no delivery record"
	if e.Late.Timed > 0 {
		late = fmt.Sprintf("late p50 %s p90 %s max %s, over 3m %d, 15m %d, 60m %d", e.Late.P50, e.Late.P90, e.Late.Max,
			e.Late.Over3m, e.Late.Over15m, e.Late.Over60m)
	}
	return fmt.Sprintf("%s: %s: delivered %d of %d final (%s), missed %d, extra %d; %s",
		head, e.Outcome, e.Delivered, e.Final, share, len(e.Missed), len(e.Extra), late)
}

// ReconcileReport says what a reconciliation did, an event a line.
type ReconcileReport struct {
	Team   string
	Events []EventReconcile
}

// Pending is an event waiting for its reconciliation.
type Pending struct {
	EventID int32
	Start   time.Time
	// Arrived: the clone's watermark has reached the window's close plus
	// the posting delay, so the event's standard attendance is complete.
	Arrived bool
}

// PendingReconciles lists the events of team's realtime stream whose
// late deliveries are over and that wait for their reconciliation, in
// event id order, saying whose standard attendance has arrived by the
// clone's watermark (window close + delay, 0: DefaultPostingDelay): what
// Reconcile without an event reconciles. It reads only the two streams'
// heads, so realtime run can ask after every tick.
func PendingReconciles(ctx context.Context, w *pipeline.Warehouse, team string, delay time.Duration) ([]Pending, error) {
	if delay <= 0 {
		delay = DefaultPostingDelay
	}
	head, err := w.Stream(ctx, Stream(team))
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", team, err)
	}
	final, err := cloneWatermark(ctx, w, team)
	if err != nil {
		return nil, err
	}
	var out []Pending
	for k, v := range head.Cursors {
		id, start, ok, err := parseReconcileCursor(k, v)
		if err != nil {
			return nil, fmt.Errorf("reconcile %s: %w", team, err)
		}
		if ok {
			out = append(out, Pending{EventID: id, Start: start, Arrived: !final.Before(start.Add(WindowAfter).Add(delay))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EventID < out[j].EventID })
	return out, nil
}

// parseReconcileCursor reads cursor k=v: ok when k is a reconcile
// cursor (reconcileCursorPrefix + event id), then the event and its start.
func parseReconcileCursor(k, v string) (id int32, start time.Time, ok bool, err error) {
	idText, ok := strings.CutPrefix(k, reconcileCursorPrefix)
	if !ok {
		return 0, time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(idText, 10, 32)
	start, err2 := time.Parse(time.RFC3339, v)
	if err != nil || err2 != nil {
		return 0, time.Time{}, false, fmt.Errorf("cursor %s=%q: want an event id and its start (RFC 3339)", k, v)
	}
	return int32(n), start, true, nil
}

// cloneWatermark is how far team's clone has pulled the source: the
// watermark of {team}/clone.
func cloneWatermark(ctx context.Context, w *pipeline.Warehouse, team string) (time.Time, error) {
	head, err := w.Stream(ctx, clone.CloneStream(team))
	if err != nil {
		return time.Time{}, fmt.Errorf("reconcile %s: %w", team, err)
	}
	wm, err := headWatermark(team, head)
	if err != nil {
		return time.Time{}, fmt.Errorf("reconcile %s: %w", team, err)
	}
	return wm, nil
}

// headWatermark is the watermark of head, team's clone stream.
func headWatermark(team string, head *txlog.StreamState) (time.Time, error) {
	if head.Watermark == "" {
		return time.Time{}, fmt.Errorf("%s has no watermark: load the team's dump first (archtics load-dump)", clone.CloneStream(team))
	}
	wm, err := time.Parse(time.RFC3339Nano, head.Watermark)
	if err != nil {
		return time.Time{}, fmt.Errorf("watermark %q of %s: %w", head.Watermark, clone.CloneStream(team), err)
	}
	return wm, nil
}

// Reconcile compares, per event, the final initial entries of Archtics'
// standard attendance in the clone (archtics.attendance rows with
// result_code '0' and scan_type 'S' whose action_datetime lies in the
// event's realtime window, the tick's rule) with the realtime store's
// scans of the event (archtics_rtx.attendance_raw), matched by
// (team, event_id, attendance_seq_id), and commits the figures
// (archtics_rtx.reconcile), the missed and extra scans
// (archtics_rtx.reconcile_scans) and lateness from
// archtics_rtx.attendance_delivery, one commit per event on
// {team}/realtime (stage "realtime-reconcile") that retires the event's
// earlier row in the same commit. An event is reconciled once its
// standard attendance has arrived: the clone's watermark at or past the
// window's close plus the posting delay; before that it is reported
// waiting. The events are opts.EventID alone, or those waiting for their
// reconciliation (PendingReconciles), those whose attendance has not
// arrived reported waiting. A rerun that finds the same figures commits
// nothing.
func Reconcile(ctx context.Context, w *pipeline.Warehouse, team string, opts ReconcileOptions) (*ReconcileReport, error) {
	if opts.PostingDelay <= 0 {
		opts.PostingDelay = DefaultPostingDelay
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	rep := &ReconcileReport{Team: team}
	ids := []int32{opts.EventID}
	if opts.EventID == 0 {
		pend, err := PendingReconciles(ctx, w, team, opts.PostingDelay)
		if err != nil {
			return nil, err
		}
		ids = ids[:0]
		for _, p := range pend {
			ids = append(ids, p.EventID)
		}
		if len(ids) == 0 {
			return rep, nil
		}
	}
	final, err := cloneWatermark(ctx, w, team)
	if err != nil {
		return nil, err
	}
	loc, err := clone.CloneLocation(ctx, w, team, opts.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", team, err)
	}
	db, err := views.OpenDuckDB(ctx, "", w.Log, opts.CacheDir, schemas.Current(schemas.Attendance), schemas.Current(schemas.Event),
		schemas.RTXAttendanceRaw, schemas.RTXEnriched, schemas.RTXDelivery, schemas.RTXReconcile)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", team, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // the temporary tables live in one connection
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: duckdb connection: %w", team, err)
	}
	defer conn.Close()
	events := make([]*EventReconcile, 0, len(ids))
	var arrived []*EventReconcile
	for _, id := range ids {
		e, err := eventInfo(ctx, conn, team, id, loc)
		if err != nil {
			return nil, fmt.Errorf("reconcile %s event %d: %w", team, id, err)
		}
		e.ArrivesAt = e.Start.Add(WindowAfter).Add(opts.PostingDelay)
		if final.Before(e.ArrivesAt) {
			e.Outcome = ReconcileWaiting
		} else {
			arrived = append(arrived, e)
		}
		events = append(events, e)
	}
	if len(arrived) > 0 {
		if err := compareEvents(ctx, conn, team, arrived, loc); err != nil {
			return nil, fmt.Errorf("reconcile %s: %w", team, err)
		}
	}
	for _, e := range events {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if e.Outcome != ReconcileWaiting {
			if err := commitEvent(ctx, w, conn, team, e, final, opts); err != nil {
				return rep, fmt.Errorf("reconcile %s event %d: %w", team, e.EventID, err)
			}
		}
		logger.Info("realtime: reconcile", "team", team, "event_id", e.EventID, "outcome", e.Outcome, "final", e.Final,
			"delivered", e.Delivered, "missed", len(e.Missed), "extra", len(e.Extra))
		rep.Events = append(rep.Events, *e)
	}
	return rep, nil
}

// eventInfo reads event id's name, date and start from the clone's
// archtics.event.
func eventInfo(ctx context.Context, conn *sql.Conn, team string, id int32, loc *time.Location) (*EventReconcile, error) {
	e := &EventReconcile{EventID: id}
	var date time.Time
	var eventTime sql.NullString
	err := conn.QueryRowContext(ctx, `SELECT coalesce(event_name, ''), event_date, event_time FROM archtics.event WHERE team = ? AND event_id = ?`,
		team, id).Scan(&e.Name, &date, &eventTime)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("team %s's clone has no event %d in archtics.event (is it another team's?): %w", team, id, ErrNoSuchEvent)
	}
	if err != nil {
		return nil, fmt.Errorf("archtics.event: %w", err)
	}
	e.Date = time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, time.UTC)
	if e.Start, err = EventStart(e.Date, eventTime.String, loc); err != nil {
		return nil, fmt.Errorf("archtics.event: %w", err)
	}
	return e, nil
}

// commitEvent commits event e's row and scans, retiring its earlier
// ones, unless the stored row's digest is e's (then only a waiting
// cursor is removed, if there is one).
func commitEvent(ctx context.Context, w *pipeline.Warehouse, conn *sql.Conn, team string, e *EventReconcile, final time.Time, opts ReconcileOptions) error {
	head, err := w.Stream(ctx, Stream(team))
	if err != nil {
		return err
	}
	id := e.EventID
	idText := strconv.Itoa(int(id))
	pending := reconcileCursorPrefix + idText
	_, waiting := head.Cursors[pending]
	var stored sql.NullString
	err = conn.QueryRowContext(ctx, `SELECT digest FROM archtics_rtx.reconcile WHERE team = ? AND event_id = ?`, team, id).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("archtics_rtx.reconcile: %w", err)
	}
	if e.Realtime == 0 && !waiting {
		e.Outcome = ReconcileNoScans
		return nil
	}
	same := stored.String == e.Digest
	if same && !waiting {
		e.Outcome = ReconcileUnchanged
		return nil
	}
	var retires []txlog.FileRef
	if !same {
		for _, t := range []*schemas.Table{schemas.RTXReconcile, schemas.RTXReconcileScans} {
			for _, f := range head.TableFiles(t.FullName()) {
				if f.Partition["event_id"] == idText {
					retires = append(retires, f.Ref())
				}
			}
		}
	}
	realtimeAsOf, _ := time.Parse(time.RFC3339Nano, head.Watermark)
	req := txlog.CommitRequest{
		Stream: Stream(team), Stage: "realtime-reconcile", BatchID: "reconcile-" + idText + "-" + e.Digest[:16], ExpectSeq: head.Seq + 1,
		Retires: retires,
		Summary: map[string]int64{"event_id": int64(id), "final": e.Final, "realtime": e.Realtime, "delivered": e.Delivered,
			"missed": int64(len(e.Missed)), "extra": int64(len(e.Extra))},
	}
	if waiting {
		req.Cursors = map[string]string{pending: ""}
		if same {
			req.BatchID += "-done" // the row's own batch is committed already
		}
	}
	c, err := w.WriteAndCommit(ctx, req, func(add func(*schemas.Table) *pipeline.TableWriter) error {
		if same {
			return nil // only the cursor: the stored row says the same
		}
		rec, err := e.record(team, final, realtimeAsOf)
		if err != nil {
			return err
		}
		err = add(schemas.RTXReconcile).Write(rec)
		rec.Release()
		if err != nil || len(e.Missed)+len(e.Extra) == 0 {
			return err
		}
		rec, err = e.scansRecord(team)
		if err != nil {
			return err
		}
		err = add(schemas.RTXReconcileScans).Write(rec)
		rec.Release()
		return err
	}, opts.Writer...)
	if err != nil {
		return err
	}
	e.Commit = c
	e.Outcome = ReconcileCommitted
	if same {
		e.Outcome = ReconcileUnchanged
	}
	return nil
}

// compareEvents reads both sides of the events in a few statements over
// all of them (a league week's events each scanning the clone's
// attendance would read it once per event) and fills each one's
// figures, scans and digest.
func compareEvents(ctx context.Context, conn *sql.Conn, team string, events []*EventReconcile, loc *time.Location) error {
	byID := map[int32]*EventReconcile{}
	var vals []string
	var args []any
	for _, e := range events {
		byID[e.EventID] = e
		// The window as the client's wall clocks: action_datetime is one.
		vals = append(vals, "(?::INTEGER, ?::TIMESTAMP, ?::TIMESTAMP)")
		args = append(args, e.EventID, naiveWall(e.Start.Add(-WindowBefore), loc), naiveWall(e.Start.Add(WindowAfter), loc))
	}
	stmts := []struct {
		sql  string
		args []any
	}{
		{`CREATE OR REPLACE TEMP TABLE rec_window AS SELECT * FROM (VALUES ` + strings.Join(vals, ", ") + `) v(event_id, wfrom, wto)`, args},
		{`CREATE OR REPLACE TEMP TABLE rec_final AS
SELECT a.event_id, a.attendance_seq_id AS seq, any_value(a.action_datetime) AS at
FROM archtics.attendance a JOIN rec_window w ON a.event_id = w.event_id
WHERE a.team = ? AND a.result_code = '0' AND a.scan_type = 'S' AND a.action_datetime BETWEEN w.wfrom AND w.wto
GROUP BY 1, 2`, []any{team}},
		// A scan's delivery run is its event's with the greatest first_seq
		// at or below its seq_num, if that run reaches it.
		{`CREATE OR REPLACE TEMP TABLE rec_rt AS
WITH r AS (
  SELECT r.event_id, CAST(r.attendance_seq_id AS BIGINT) AS seq, x.scan_at
  FROM archtics_rtx.attendance_raw r JOIN rec_window w ON r.event_id = w.event_id
  LEFT JOIN archtics_rtx.attendance_enriched x
    ON x.team = r.team AND x.event_id = r.event_id AND x.attendance_seq_id = r.attendance_seq_id
  WHERE r.team = ?
), d AS (
  SELECT d.event_id, d.first_seq, d.last_seq, d.delivered_at
  FROM archtics_rtx.attendance_delivery d JOIN rec_window w ON d.event_id = w.event_id WHERE d.team = ?
)
SELECT r.event_id, r.seq,
  min(CASE WHEN r.seq <= d.last_seq THEN epoch_us(d.delivered_at) - epoch_us(r.scan_at) END) AS late
FROM r ASOF LEFT JOIN d ON d.event_id = r.event_id AND r.seq >= d.first_seq
GROUP BY 1, 2`, []any{team, team}},
	}
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("read the final and realtime scans: %w", err)
		}
	}
	counts := func(q string, set func(e *EventReconcile, n int64)) error {
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int32
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			if e := byID[id]; e != nil {
				set(e, n)
			}
		}
		return rows.Err()
	}
	if err := counts(`SELECT event_id, count(*) FROM rec_final GROUP BY 1`, func(e *EventReconcile, n int64) { e.Final = n }); err != nil {
		return fmt.Errorf("archtics.attendance: %w", err)
	}
	if err := counts(`SELECT event_id, count(*) FROM rec_rt GROUP BY 1`, func(e *EventReconcile, n int64) { e.Realtime = n }); err != nil {
		return fmt.Errorf("archtics_rtx.attendance_raw: %w", err)
	}
	// The lateness of the delivered scans, percentiles by nearest rank.
	rows, err := conn.QueryContext(ctx, `WITH d AS (
  SELECT rt.event_id, rt.late FROM rec_rt rt WHERE EXISTS (SELECT 1 FROM rec_final f WHERE f.event_id = rt.event_id AND f.seq = rt.seq)
), r AS (
  SELECT event_id, late, row_number() OVER (PARTITION BY event_id ORDER BY late) AS rn,
    count(late) OVER (PARTITION BY event_id) AS n
  FROM d
)
SELECT event_id, count(*), count(late),
  coalesce(max(late) FILTER (WHERE rn = ceil(0.5 * n)), 0), coalesce(max(late) FILTER (WHERE rn = ceil(0.9 * n)), 0), coalesce(max(late), 0),
  count(*) FILTER (WHERE late > 180000000), count(*) FILTER (WHERE late > 900000000), count(*) FILTER (WHERE late > 3600000000)
FROM r GROUP BY 1`)
	if err != nil {
		return fmt.Errorf("the delivered scans: %w", err)
	}
	for rows.Next() {
		var id int32
		var delivered, timed, p50, p90, mx, o3, o15, o60 int64
		if err := rows.Scan(&id, &delivered, &timed, &p50, &p90, &mx, &o3, &o15, &o60); err != nil {
			rows.Close()
			return fmt.Errorf("the delivered scans: %w", err)
		}
		if e := byID[id]; e != nil {
			us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
			e.Delivered = delivered
			e.Late = Lateness{Timed: timed, P50: us(p50), P90: us(p90), Max: us(mx), Over3m: o3, Over15m: o15, Over60m: o60}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("the delivered scans: %w", err)
	}
	// The scans one side lacks, with what the final data says of them
	// (a scan it records with another result or type) and their times.
	rows, err = conn.QueryContext(ctx, `WITH odd AS (
  SELECT event_id, seq, 'missed' AS kind FROM rec_final f WHERE NOT EXISTS (SELECT 1 FROM rec_rt rt WHERE rt.event_id = f.event_id AND rt.seq = f.seq)
  UNION ALL
  SELECT event_id, seq, 'extra' FROM rec_rt rt WHERE NOT EXISTS (SELECT 1 FROM rec_final f WHERE f.event_id = rt.event_id AND f.seq = rt.seq)
), fin AS (
  SELECT a.event_id, a.attendance_seq_id AS seq, any_value(a.result_code) AS result_code, any_value(a.scan_type) AS scan_type,
    any_value(a.action_datetime) AS at
  FROM archtics.attendance a JOIN odd o ON a.event_id = o.event_id AND a.attendance_seq_id = o.seq
  WHERE a.team = ? GROUP BY 1, 2
), raw AS (
  SELECT r.event_id, CAST(r.attendance_seq_id AS BIGINT) AS seq, any_value(r.ticket_scan_time) AS at
  FROM archtics_rtx.attendance_raw r JOIN odd o ON r.event_id = o.event_id AND CAST(r.attendance_seq_id AS BIGINT) = o.seq
  WHERE r.team = ? AND o.kind = 'extra' GROUP BY 1, 2
)
SELECT o.event_id, o.seq, o.kind, fin.result_code, fin.scan_type, coalesce(fin.at, raw.at)
FROM odd o LEFT JOIN fin ON fin.event_id = o.event_id AND fin.seq = o.seq
LEFT JOIN raw ON raw.event_id = o.event_id AND raw.seq = o.seq
ORDER BY o.event_id, o.kind DESC, o.seq`, team, team)
	if err != nil {
		return fmt.Errorf("the missed and extra scans: %w", err)
	}
	for rows.Next() {
		var id int32
		var sc oddScan
		if err := rows.Scan(&id, &sc.seq, &sc.kind, &sc.result, &sc.scanType, &sc.at); err != nil {
			rows.Close()
			return fmt.Errorf("the missed and extra scans: %w", err)
		}
		e := byID[id]
		if e == nil {
			continue
		}
		if sc.kind == "missed" {
			e.Missed = append(e.Missed, sc.seq)
		} else {
			e.Extra = append(e.Extra, sc.seq)
		}
		e.odd = append(e.odd, sc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("the missed and extra scans: %w", err)
	}
	for _, e := range events {
		e.Digest = e.digest()
	}
	return nil
}

// oddScan is a scan one side lacks (archtics_rtx.reconcile_scans).
type oddScan struct {
	seq              int64
	kind             string
	result, scanType sql.NullString
	at               sql.NullTime
}

// digest is a SHA-256 of what the event's row and scans say, the times
// they were read at aside: equal digests, nothing to commit.
func (e *EventReconcile) digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%s|%s|%s|%d|%d|%d|%+v|", e.EventID, e.Name, e.Date.Format(time.DateOnly), e.Start.UTC().Format(time.RFC3339),
		e.Final, e.Realtime, e.Delivered, e.Late)
	for _, s := range e.Missed {
		fmt.Fprintf(h, "m%d,", s)
	}
	for _, s := range e.Extra {
		fmt.Fprintf(h, "x%d,", s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// naiveWall is t's wall clock in loc as a time labelled UTC, the way
// DuckDB's TIMESTAMP values compare.
func naiveWall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// record is the event's archtics_rtx.reconcile row.
func (e *EventReconcile) record(team string, finalAsOf, realtimeAsOf time.Time) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.RTXReconcile.ArrowSchema())
	defer b.Release()
	ts := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	}
	secs := func(d time.Duration) any {
		if e.Late.Timed == 0 {
			return nil
		}
		return d.Seconds()
	}
	var share any
	if e.Final > 0 {
		share = e.Share()
	}
	vals := map[string]any{
		"event_id": e.EventID, "event_name": e.Name, "event_date": e.Date, "event_start": e.Start,
		"final_scans": e.Final, "realtime_scans": e.Realtime, "delivered": e.Delivered, "delivered_share": share,
		"missed": int64(len(e.Missed)), "extra": int64(len(e.Extra)), "timed": e.Late.Timed,
		"late_p50_s": secs(e.Late.P50), "late_p90_s": secs(e.Late.P90), "late_max_s": secs(e.Late.Max),
		"late_over_3m": e.Late.Over3m, "late_over_15m": e.Late.Over15m, "late_over_60m": e.Late.Over60m,
		"final_as_of": ts(finalAsOf), "realtime_as_of": ts(realtimeAsOf), "digest": e.Digest, "team": team,
	}
	for i, c := range schemas.RTXReconcile.Columns {
		v, ok := vals[c.Name]
		if !ok {
			return nil, fmt.Errorf("archtics_rtx.reconcile: no value for column %s", c.Name)
		}
		if err := appendValue(b.Field(i), v); err != nil {
			return nil, fmt.Errorf("archtics_rtx.reconcile.%s: %w", c.Name, err)
		}
	}
	return b.NewRecordBatch(), nil
}

// scansRecord is the event's archtics_rtx.reconcile_scans rows: its
// missed and extra scans, with the final data's result and scan type
// and the scan's local time (the final data's, else the realtime store's).
func (e *EventReconcile) scansRecord(team string) (arrow.RecordBatch, error) {
	t := schemas.RTXReconcileScans
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.ArrowSchema())
	defer b.Release()
	for _, sc := range e.odd {
		var at any
		if sc.at.Valid {
			at = sc.at.Time
		}
		vals := map[string]any{"event_id": e.EventID, "attendance_seq_id": sc.seq, "kind": sc.kind, "result_code": nullStr(sc.result),
			"scan_type": nullStr(sc.scanType), "action_datetime": at, "team": team}
		for i, c := range t.Columns {
			if err := appendValue(b.Field(i), vals[c.Name]); err != nil {
				return nil, fmt.Errorf("archtics_rtx.reconcile_scans.%s: %w", c.Name, err)
			}
		}
	}
	return b.NewRecordBatch(), nil
}

func nullStr(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return s.String
}

// appendValue appends v (nil: NULL) to an Arrow builder of the types the
// reconcile tables use. A time.Time goes in as Unix microseconds: an
// instant for TIMESTAMPTZ, and for TIMESTAMP the wall clock it carries
// labelled UTC (as DuckDB returns them).
func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v.(time.Time).Unix() / 86400))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
	default:
		return fmt.Errorf("builder %T not supported", b)
	}
	return nil
}
