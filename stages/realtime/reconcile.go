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

// Lateness is the distribution of delivered_at - scan_at over the
// delivered scans that have a delivery record.
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
		idText, ok := strings.CutPrefix(k, reconcileCursorPrefix)
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(idText, 10, 32)
		start, err2 := time.Parse(time.RFC3339, v)
		if err != nil || err2 != nil {
			return nil, fmt.Errorf("reconcile %s: cursor %s=%q: want an event id and its start (RFC 3339)", team, k, v)
		}
		out = append(out, Pending{EventID: int32(id), Start: start, Arrived: !final.Before(start.Add(WindowAfter).Add(delay))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EventID < out[j].EventID })
	return out, nil
}

// cloneWatermark is how far team's clone has pulled the source: the
// watermark of {team}/clone.
func cloneWatermark(ctx context.Context, w *pipeline.Warehouse, team string) (time.Time, error) {
	head, err := w.Stream(ctx, clone.CloneStream(team))
	if err != nil {
		return time.Time{}, fmt.Errorf("reconcile %s: %w", team, err)
	}
	if head.Watermark == "" {
		return time.Time{}, fmt.Errorf("reconcile %s: %s has no watermark: load the team's dump first (archtics load-dump)", team, clone.CloneStream(team))
	}
	wm, err := time.Parse(time.RFC3339Nano, head.Watermark)
	if err != nil {
		return time.Time{}, fmt.Errorf("reconcile %s: watermark %q of %s: %w", team, head.Watermark, clone.CloneStream(team), err)
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
		schemas.RTXAttendanceRaw, schemas.RTXDelivery, schemas.RTXReconcile)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: %w", team, err)
	}
	defer db.Close()
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		e, err := reconcileEvent(ctx, w, db, team, id, final, loc, opts)
		if err != nil {
			return rep, fmt.Errorf("reconcile %s event %d: %w", team, id, err)
		}
		logger.Info("realtime: reconcile", "team", team, "event_id", id, "outcome", e.Outcome, "final", e.Final,
			"delivered", e.Delivered, "missed", len(e.Missed), "extra", len(e.Extra))
		rep.Events = append(rep.Events, *e)
	}
	return rep, nil
}

// reconcileEvent reconciles one event and commits it when its figures
// are new.
func reconcileEvent(ctx context.Context, w *pipeline.Warehouse, db *sql.DB, team string, id int32, final time.Time, loc *time.Location, opts ReconcileOptions) (*EventReconcile, error) {
	e := &EventReconcile{EventID: id}
	var date time.Time
	var eventTime sql.NullString
	err := db.QueryRowContext(ctx, `SELECT coalesce(event_name, ''), event_date, event_time FROM archtics.event WHERE team = ? AND event_id = ?`,
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
	e.ArrivesAt = e.Start.Add(WindowAfter).Add(opts.PostingDelay)
	if final.Before(e.ArrivesAt) {
		e.Outcome = ReconcileWaiting
		return e, nil
	}
	if err := e.compare(ctx, db, team, loc); err != nil {
		return nil, err
	}
	head, err := w.Stream(ctx, Stream(team))
	if err != nil {
		return nil, err
	}
	pending := reconcileCursorPrefix + strconv.Itoa(int(id))
	_, waiting := head.Cursors[pending]
	var stored sql.NullString
	err = db.QueryRowContext(ctx, `SELECT digest FROM archtics_rtx.reconcile WHERE team = ? AND event_id = ?`, team, id).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("archtics_rtx.reconcile: %w", err)
	}
	if stored.String == e.Digest && !waiting {
		e.Outcome = ReconcileUnchanged
		return e, nil
	}
	idText := strconv.Itoa(int(id))
	var retires []txlog.FileRef
	if stored.String != e.Digest {
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
		if stored.String == e.Digest {
			req.BatchID += "-done" // the row's own batch is committed already
		}
	}
	c, err := w.WriteAndCommit(ctx, req, func(add func(*schemas.Table) *pipeline.TableWriter) error {
		if stored.String == e.Digest {
			return nil // only the cursor: the stored row says the same
		}
		rec, err := e.record(team, final, realtimeAsOf)
		if err != nil {
			return err
		}
		err = add(schemas.RTXReconcile).Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
		if len(e.Missed)+len(e.Extra) == 0 {
			return nil
		}
		rec, err = e.scansRecord(ctx, db, team)
		if err != nil {
			return err
		}
		err = add(schemas.RTXReconcileScans).Write(rec)
		rec.Release()
		return err
	}, opts.Writer...)
	if err != nil {
		return nil, err
	}
	e.Commit = c
	e.Outcome = ReconcileCommitted
	if stored.String == e.Digest {
		e.Outcome = ReconcileUnchanged
	}
	return e, nil
}

// compare reads both sides of the event and fills the figures and digest.
func (e *EventReconcile) compare(ctx context.Context, db *sql.DB, team string, loc *time.Location) error {
	// The window as the client's wall clocks: action_datetime is one.
	from := naiveWall(e.Start.Add(-WindowBefore), loc)
	to := naiveWall(e.Start.Add(WindowAfter), loc)
	finalSeqs := map[int64]bool{}
	rows, err := db.QueryContext(ctx, `SELECT attendance_seq_id FROM archtics.attendance
WHERE team = ? AND event_id = ? AND result_code = '0' AND scan_type = 'S' AND action_datetime BETWEEN ? AND ?`, team, e.EventID, from, to)
	if err != nil {
		return fmt.Errorf("archtics.attendance: %w", err)
	}
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("archtics.attendance: %w", err)
		}
		finalSeqs[s] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("archtics.attendance: %w", err)
	}
	e.Final = int64(len(finalSeqs))
	rows, err = db.QueryContext(ctx, `SELECT r.attendance_seq_id, epoch_us(d.delivered_at) - epoch_us(d.scan_at)
FROM archtics_rtx.attendance_raw r LEFT JOIN archtics_rtx.attendance_delivery d
  ON d.team = r.team AND d.event_id = r.event_id AND d.attendance_seq_id = r.attendance_seq_id
WHERE r.team = ? AND r.event_id = ?`, team, e.EventID)
	if err != nil {
		return fmt.Errorf("archtics_rtx.attendance_raw: %w", err)
	}
	seen := map[int64]bool{}
	var late []int64 // microseconds
	for rows.Next() {
		var seqText string
		var lateUS sql.NullInt64
		if err := rows.Scan(&seqText, &lateUS); err != nil {
			rows.Close()
			return fmt.Errorf("archtics_rtx.attendance_raw: %w", err)
		}
		s, err := strconv.ParseInt(seqText, 10, 64)
		if err != nil {
			rows.Close()
			return fmt.Errorf("archtics_rtx.attendance_raw: attendance_seq_id %q is not an integer", seqText)
		}
		if seen[s] {
			continue // one row per scan; a second would be the store's fault, counted once
		}
		seen[s] = true
		if !finalSeqs[s] {
			e.Extra = append(e.Extra, s)
			continue
		}
		e.Delivered++
		if lateUS.Valid {
			late = append(late, lateUS.Int64)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("archtics_rtx.attendance_raw: %w", err)
	}
	e.Realtime = int64(len(seen))
	for s := range finalSeqs {
		if !seen[s] {
			e.Missed = append(e.Missed, s)
		}
	}
	slices64(e.Missed)
	slices64(e.Extra)
	e.Late = lateness(late)
	e.Digest = e.digest()
	return nil
}

func slices64(s []int64) { sort.Slice(s, func(i, j int) bool { return s[i] < s[j] }) }

// lateness summarises delays (microseconds); percentiles are nearest-rank.
func lateness(us []int64) Lateness {
	l := Lateness{Timed: int64(len(us))}
	if len(us) == 0 {
		return l
	}
	slices64(us)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(us)))) - 1
		return time.Duration(us[max(i, 0)]) * time.Microsecond
	}
	l.P50, l.P90, l.Max = rank(0.5), rank(0.9), time.Duration(us[len(us)-1])*time.Microsecond
	for _, v := range us {
		d := time.Duration(v) * time.Microsecond
		if d > 3*time.Minute {
			l.Over3m++
		}
		if d > 15*time.Minute {
			l.Over15m++
		}
		if d > 60*time.Minute {
			l.Over60m++
		}
	}
	return l
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
func (e *EventReconcile) scansRecord(ctx context.Context, db *sql.DB, team string) (arrow.RecordBatch, error) {
	type detail struct {
		result, scanType sql.NullString
		at               sql.NullTime
	}
	finalRow := map[int64]detail{}
	rows, err := db.QueryContext(ctx, `SELECT attendance_seq_id, result_code, scan_type, action_datetime FROM archtics.attendance
WHERE team = ? AND event_id = ?`, team, e.EventID)
	if err != nil {
		return nil, fmt.Errorf("archtics.attendance: %w", err)
	}
	for rows.Next() {
		var s int64
		var d detail
		if err := rows.Scan(&s, &d.result, &d.scanType, &d.at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("archtics.attendance: %w", err)
		}
		finalRow[s] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rtAt := map[int64]time.Time{}
	if len(e.Extra) > 0 {
		rows, err := db.QueryContext(ctx, `SELECT attendance_seq_id, ticket_scan_time FROM archtics_rtx.attendance_raw WHERE team = ? AND event_id = ?`,
			team, e.EventID)
		if err != nil {
			return nil, fmt.Errorf("archtics_rtx.attendance_raw: %w", err)
		}
		for rows.Next() {
			var s string
			var at sql.NullTime
			if err := rows.Scan(&s, &at); err != nil {
				rows.Close()
				return nil, err
			}
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && at.Valid {
				rtAt[n] = at.Time
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.RTXReconcileScans.ArrowSchema())
	defer b.Release()
	t := schemas.RTXReconcileScans
	add := func(s int64, kind string) error {
		d, inFinal := finalRow[s]
		var at any
		switch {
		case inFinal && d.at.Valid:
			at = d.at.Time
		case !inFinal:
			if v, ok := rtAt[s]; ok {
				at = v
			}
		}
		var result, scanType any
		if inFinal {
			result, scanType = nullStr(d.result), nullStr(d.scanType)
		}
		vals := map[string]any{"event_id": e.EventID, "attendance_seq_id": s, "kind": kind, "result_code": result,
			"scan_type": scanType, "action_datetime": at, "team": team}
		for i, c := range t.Columns {
			if err := appendValue(b.Field(i), vals[c.Name]); err != nil {
				return fmt.Errorf("archtics_rtx.reconcile_scans.%s: %w", c.Name, err)
			}
		}
		return nil
	}
	for _, s := range e.Missed {
		if err := add(s, "missed"); err != nil {
			return nil, err
		}
	}
	for _, s := range e.Extra {
		if err := add(s, "extra"); err != nil {
			return nil, err
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
