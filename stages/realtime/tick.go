package realtime

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"archtics/ats"
	"archtics/internal/textenc"
	"archtics/internal/wallclock"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/stages/clone"
)

// Source is the realtime scan feed: one event's rows with seq_num >
// afterSeq, a page at a time. *ats.Client is one.
type Source interface {
	Attendance(ctx context.Context, dsn string, eventID int32, afterSeq int64, pageSize int) (*ats.ScanPage, error)
}

// Stream is the commit stream of team's realtime data.
func Stream(team string) string { return team + "/realtime" }

// Cursors of the realtime stream.
const (
	// eventCursorPrefix + event id holds a followed event:
	// "<start RFC 3339>|<last stored seq_num>|<event_name>|<event_date>".
	// It appears when the event's window opens on a tick that selects it
	// and goes when its late deliveries are over.
	eventCursorPrefix = "realtime.event."
	// PreferredTimeZoneCursor holds the preferred time zone (IANA) the
	// views show times in, a setting of the team (TickOptions.PreferredTimeZone).
	PreferredTimeZoneCursor = "realtime.preferred_timezone"
)

// DefaultLateDeliveries is how long after an event's window closes its
// feed is still pulled for scans made inside the window and delivered
// late. The feed delivers within minutes (the simulator's latest: six
// minutes after the close); an hour is the margin. A scan delivered later
// than that is not stored.
const DefaultLateDeliveries = time.Hour

// TickOptions tune a tick. The zero value works for a local warehouse.
type TickOptions struct {
	// Location is the client's zone; nil reads the clone's
	// (clone.CloneLocation, with TimeZone as its override).
	Location *time.Location
	TimeZone string
	// PreferredTimeZone, when set, becomes the team's preferred time zone
	// (kept as a cursor); otherwise the one set before, or the client's.
	PreferredTimeZone string
	// PageSize of the feed's pages (default 10,000, the feed's maximum).
	PageSize int
	// Concurrency is how many events are pulled at once (default 8).
	Concurrency int
	// LateDeliveries: see DefaultLateDeliveries.
	LateDeliveries time.Duration
	// CacheDir is the verified local cache the clone is read through
	// (needed for an S3 warehouse).
	CacheDir string
	Logger   *slog.Logger
	Writer   []pipeline.WriterOption
}

// Drop reasons, the keys of TickReport.Dropped and of the commit's summary
// (as "dropped_<reason>").
const (
	DropResultCode   = "result_code"   // result_code is not '0'
	DropScanType     = "scan_type"     // scan_type is not 'S'
	DropBeforeWindow = "before_window" // scanned before start - 5 h
	DropAfterWindow  = "after_window"  // scanned after start + 6 h
	DropDuplicate    = "duplicate"     // a seq_num delivered again
)

// EventTick is what a tick did for one followed event.
type EventTick struct {
	EventID  int32
	Name     string
	Start    time.Time
	AfterSeq int64 // the cursor the pull started from
	LastSeq  int64 // the cursor it ends at
	Pulled   int64 // feed rows read, delivered by the tick's time
	Kept     int64
	Done     bool // late deliveries are over: no longer followed
}

// TickReport says what a tick did.
type TickReport struct {
	Team   string
	At     time.Time
	Events []EventTick
	Pulled int64
	Kept   int64
	// Deferred counts rows the feed served that were delivered after the
	// tick's logical time: left for the next tick (a tick run late, in a
	// catch-up, stores what the feed held at its time, no more).
	Deferred int64
	Dropped  map[string]int64
	// Holders counts where each kept scan's account came from (the
	// Holder outcomes; the commit's summary has them as "holder_<outcome>").
	Holders map[string]int64
	// Repaired counts the kept scans' fields that were not UTF-8 and are
	// stored read as Windows-1252 (appendStr); the summary's "repaired".
	Repaired int64
	// Took is how long each phase took: "pull" (the feed), "clone" (the
	// holder join and the names), "write+commit" (building, writing and
	// committing the files, the clone's part running alongside), and
	// "write", the part of it spent in the table writers, closing them
	// and committing.
	Took   map[string]time.Duration
	Commit *txlog.Commit // Existing set when the tick was committed before
}

// BatchID is the batch of team's tick at logical time at: a retried tick
// is recognised by it and adds nothing.
func BatchID(at time.Time) string { return "tick-" + at.UTC().Format(time.RFC3339) }

// followed is an event the stream follows, with its cursor.
type followed struct {
	id      int32
	name    string
	date    time.Time // civil date (midnight UTC)
	start   time.Time
	lastSeq int64
}

func (f followed) cursor() string {
	return fmt.Sprintf("%s|%d|%s|%s", f.start.UTC().Format(time.RFC3339), f.lastSeq, f.name, f.date.Format(time.DateOnly))
}

func parseFollowed(key, v string) (followed, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(key, eventCursorPrefix), 10, 32)
	parts := strings.Split(v, "|")
	if err != nil || len(parts) != 4 {
		return followed{}, fmt.Errorf("cursor %s=%q: want <start>|<seq>|<event_name>|<event_date>", key, v)
	}
	f := followed{id: int32(id), name: parts[2]}
	if f.start, err = time.Parse(time.RFC3339, parts[0]); err != nil {
		return f, fmt.Errorf("cursor %s: start: %w", key, err)
	}
	if f.lastSeq, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return f, fmt.Errorf("cursor %s: seq: %w", key, err)
	}
	if f.date, err = time.Parse(time.DateOnly, parts[3]); err != nil {
		return f, fmt.Errorf("cursor %s: event_date: %w", key, err)
	}
	return f, nil
}

// Tick runs team's realtime tick at logical time at: it follows the
// events whose window has opened among those selected (events, the
// selection at at) and those it followed already; pulls each one's scans
// after its cursor, every page, delivered by at, several events at once;
// keeps initial entries (result_code '0', scan_type 'S') scanned inside
// the event's window, each seq_num once; enriches them from the clone
// (the event's name and start, the ticket holder at scan time and its
// primary name: see the Holder outcomes for which account wins when the
// clone and the feed disagree); and commits archtics_rtx.attendance_raw,
// archtics_rtx.attendance_delivery (when the feed delivered each scan),
// archtics_rtx.attendance_enriched and the new cursors in one commit on
// {team}/realtime whose watermark is at. A tick at a logical time already
// committed returns that commit and pulls nothing; one earlier than the
// stream's watermark is refused.
func Tick(ctx context.Context, w *pipeline.Warehouse, src Source, team string, at time.Time, events []SelectedEvent, opts TickOptions) (*TickReport, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 10_000
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.LateDeliveries <= 0 {
		opts.LateDeliveries = DefaultLateDeliveries
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	at = at.Truncate(time.Second)
	rep := &TickReport{Team: team, At: at, Dropped: map[string]int64{}, Took: map[string]time.Duration{}}
	stream := Stream(team)
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("tick %s at %s: %w", team, at.Format(time.RFC3339), err)
	}
	batch := BatchID(at)
	if b, ok := head.Batches[batch]; ok {
		c, err := w.Commit(ctx, txlog.CommitRequest{Stream: stream, BatchID: batch})
		if err != nil {
			return nil, fmt.Errorf("tick %s at %s: committed as seq %d: %w", team, at.Format(time.RFC3339), b.Seq, err)
		}
		rep.Commit = c
		return rep, nil
	}
	if head.Watermark != "" {
		wm, err := time.Parse(time.RFC3339Nano, head.Watermark)
		if err == nil && wm.After(at) {
			return nil, fmt.Errorf("tick %s at %s: %s already holds ticks up to %s, and ticks go forward: run the tick for a later time: %w",
				team, at.Format(time.RFC3339), stream, head.Watermark, txlog.ErrWatermarkBackwards)
		}
	}
	loc := opts.Location
	if loc == nil {
		if loc, err = clone.CloneLocation(ctx, w, team, opts.TimeZone); err != nil {
			return nil, fmt.Errorf("tick %s: %w", team, err)
		}
	}
	zone := opts.PreferredTimeZone
	if zone == "" {
		zone = head.Cursors[PreferredTimeZoneCursor]
	}
	if zone == "" {
		zone = loc.String()
	}
	displayLoc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("tick %s: preferred time zone %q: %w (want an IANA zone such as America/Chicago)", team, zone, err)
	}

	follow, err := followSet(head, team, at, events, opts.LateDeliveries)
	if err != nil {
		return nil, fmt.Errorf("tick %s at %s: %w", team, at.Format(time.RFC3339), err)
	}
	pulls := make([]*eventPull, len(follow))
	for i, f := range follow {
		pulls[i] = &eventPull{f: f, at: at, loc: loc, team: team, pageSize: opts.PageSize}
	}
	phase := time.Now()
	// The clone is read only for the holders of kept scans: most ticks of
	// a game day keep none (before the gates open, after the last entry),
	// and opening it costs more than such a tick's whole pull. It is
	// opened, and the kept scans' seats loaded into it, while the other
	// events are still being pulled.
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	seats := startSeatLoader(lctx, w, team, opts.CacheDir, pulls)
	err = pullAll(ctx, src, pulls, opts.Concurrency, func(i int) {
		if len(pulls[i].kept) > 0 {
			seats.add(i)
		}
	})
	if err != nil {
		lcancel()
		if cl, _ := seats.finish(); cl != nil {
			cl.Close()
		}
		return nil, fmt.Errorf("tick %s at %s: %w", team, at.Format(time.RFC3339), err)
	}
	cl, err := seats.finish()
	if err != nil {
		return nil, fmt.Errorf("tick %s at %s: read the clone: %w", team, at.Format(time.RFC3339), err)
	}
	if cl != nil {
		defer cl.Close()
	}
	rep.Took["pull"] = time.Since(phase)
	phase = time.Now()

	cursors := map[string]string{PreferredTimeZoneCursor: zone}
	summary := map[string]int64{}
	var kept int64
	for _, p := range pulls {
		done := !at.Before(p.f.start.Add(WindowAfter).Add(opts.LateDeliveries))
		et := EventTick{EventID: p.f.id, Name: p.f.name, Start: p.f.start, AfterSeq: p.f.lastSeq, LastSeq: p.lastSeq,
			Pulled: p.pulled, Kept: int64(len(p.kept)), Done: done}
		rep.Events = append(rep.Events, et)
		rep.Pulled += p.pulled
		rep.Deferred += p.deferred
		rep.Repaired += p.repaired
		kept += int64(len(p.kept))
		for k, v := range p.dropped {
			rep.Dropped[k] += v
		}
		key := eventCursorPrefix + strconv.Itoa(int(p.f.id))
		if done {
			cursors[key] = "" // removes it
			// The event waits for its standard attendance: realtime run
			// reconciles it once that has arrived (Reconcile).
			cursors[reconcileCursorPrefix+strconv.Itoa(int(p.f.id))] = p.f.start.UTC().Format(time.RFC3339)
		} else {
			nf := p.f
			nf.lastSeq = p.lastSeq
			cursors[key] = nf.cursor()
		}
	}
	rep.Kept = kept
	summary["pulled"], summary["kept"], summary["deferred"] = rep.Pulled, kept, rep.Deferred
	summary["events"] = int64(len(pulls))
	if rep.Repaired > 0 {
		summary["repaired"] = rep.Repaired
	}
	for k, v := range rep.Dropped {
		summary["dropped_"+k] = v
	}

	// The holders are resolved in the clone while the raw rows are
	// written (they need only the Ticketmaster names, read already); the
	// enriched rows wait for them.
	var look *lookups
	holdersDone := make(chan error, 1)
	hctx, hcancel := context.WithCancel(ctx)
	if kept > 0 {
		look = cl.look
		go func() {
			holders, err := seats.holders(hctx)
			if err == nil {
				rep.Holders = holders
				rep.Took["clone"] = time.Since(phase)
			}
			holdersDone <- err
		}()
	} else {
		holdersDone <- nil
	}
	// Whatever happens below, the holders' goroutine is done with the
	// clone before it is closed.
	waitHolders := sync.OnceValue(func() error { return <-holdersDone })
	defer waitHolders()
	defer hcancel() // runs first: a failed write stops the holders' work
	req := txlog.CommitRequest{
		Stream: stream, Stage: "realtime-tick", BatchID: batch, ExpectSeq: head.Seq + 1,
		Watermark: txlog.Watermark{To: at.UTC().Format(time.RFC3339)},
		Cursors:   cursors, Summary: summary,
	}
	// writing is the time spent in the table writers, then closing them
	// and committing (after the function passed to WriteAndCommit).
	var writing time.Duration
	var fnDone time.Time
	write := func(tw *pipeline.TableWriter, rec arrow.RecordBatch) error {
		t0 := time.Now()
		err := tw.Write(rec)
		rec.Release()
		writing += time.Since(t0)
		return err
	}
	c, err := w.WriteAndCommit(ctx, req, func(add func(*schemas.Table) *pipeline.TableWriter) error {
		for _, p := range pulls {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(p.kept) == 0 {
				continue
			}
			raw, err := p.rawRecord(look)
			if err != nil {
				return err
			}
			if err := write(add(schemas.RTXAttendanceRaw), raw); err != nil {
				return err
			}
			del, err := p.deliveryRecord()
			if err != nil {
				return err
			}
			if err := write(add(schemas.RTXDelivery), del); err != nil {
				return err
			}
		}
		if err := waitHolders(); err != nil {
			return fmt.Errorf("read the clone: %w", err)
		}
		for k, v := range rep.Holders {
			summary["holder_"+k] = v // the commit reads the summary after this function
		}
		for _, p := range pulls {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(p.kept) == 0 {
				continue
			}
			enriched, err := p.enrichedRecord(look, zone, displayLoc)
			if err != nil {
				return err
			}
			if err := write(add(schemas.RTXEnriched), enriched); err != nil {
				return err
			}
		}
		fnDone = time.Now()
		return nil
	}, opts.Writer...)
	if err != nil {
		return nil, fmt.Errorf("tick %s at %s: %w", team, at.Format(time.RFC3339), err)
	}
	rep.Commit = c
	rep.Took["write+commit"] = time.Since(phase) // the clone's holders run inside it
	rep.Took["write"] = writing + time.Since(fnDone)
	logger.Info("realtime tick", "team", team, "at", at.Format(time.RFC3339), "events", len(pulls),
		"pulled", rep.Pulled, "kept", kept, "deferred", rep.Deferred, "seq", c.Seq)
	return rep, nil
}

// followSet is the events the tick pulls: those the stream follows, and
// the selected ones whose window has opened, by start then id.
func followSet(head *txlog.StreamState, team string, at time.Time, events []SelectedEvent, late time.Duration) ([]followed, error) {
	byID := map[int32]followed{}
	for k, v := range head.Cursors {
		if !strings.HasPrefix(k, eventCursorPrefix) || v == "" {
			continue
		}
		f, err := parseFollowed(k, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", head.Stream, err)
		}
		byID[f.id] = f
	}
	for _, e := range events {
		if e.Team != "" && e.Team != team {
			continue
		}
		if _, ok := byID[e.EventID]; ok || e.WindowOpen().After(at) || !at.Before(e.WindowClose().Add(late)) {
			// Followed already, not open yet, or over: an event the
			// seed's query still lists after its late deliveries (the
			// rest of its day) is not followed again.
			continue
		}
		// An event whose window opened long ago and that was never
		// followed (the first tick of a stream, mid-game) is followed
		// from the feed's first row.
		byID[e.EventID] = followed{id: e.EventID, name: e.Name, date: e.Date, start: e.Start}
	}
	out := make([]followed, 0, len(byID))
	for _, f := range byID {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].start.Equal(out[j].start) {
			return out[i].start.Before(out[j].start)
		}
		return out[i].id < out[j].id
	})
	return out, nil
}

// keptScan is one stored scan: its resolved times, and where its feed
// fields are in its pull's keptText (eventPull.field). It holds no
// pointer, so a million kept scans are nothing for the garbage collector
// to follow.
type keptScan struct {
	scanned   int64 // the scan's instant, Unix microseconds
	delivered int64 // the feed's upd_datetime as an instant, Unix microseconds
	wall      int64 // scanned's wall clock in the client's zone (wallMicros): ticket_scan_time
	page, row int32 // in keptText.pages
}

// keptText holds the kept scans' feed fields, copied out of the feed's
// pages (which are then garbage): per page, their bytes one after the
// other, and where each field ends, width fields a row.
type keptText struct {
	width int
	pages []keptPage
}

type keptPage struct {
	text []byte
	ends []uint32
}

// addPage copies the fields of rows[i] for each i in kept, in that order,
// as one page, each buffer allocated once at its size.
func (t *keptText) addPage(rows [][]string, kept []int) {
	if len(kept) == 0 {
		return
	}
	size := 0
	for _, i := range kept {
		for _, v := range rows[i] {
			size += len(v)
		}
	}
	pg := keptPage{text: make([]byte, 0, size), ends: make([]uint32, 0, len(kept)*t.width)}
	for _, i := range kept {
		for _, v := range rows[i] {
			pg.text = append(pg.text, v...)
			pg.ends = append(pg.ends, uint32(len(pg.text)))
		}
	}
	t.pages = append(t.pages, pg)
}

// field is field col of the kept scan k. The string shares the page's
// bytes, which never change once copied.
func (t *keptText) field(k keptScan, col int) string {
	pg := &t.pages[k.page]
	i := int(k.row)*t.width + col
	start := uint32(0)
	if i > 0 {
		start = pg.ends[i-1]
	}
	end := pg.ends[i]
	if end == start {
		return ""
	}
	return unsafe.String(&pg.text[start], int(end-start))
}

// field is field col of kept scan j.
func (p *eventPull) field(j, col int) string { return p.kt.field(p.kept[j], col) }

// feedTimes resolves the feed's times for one event's pull, faster than
// scanTimes row by row: each upd_datetime (a night's rows share a few
// thousand delivery seconds) is resolved once, and where the client's
// zone kept one offset over the two days before the delivery, which is
// every delivery but those near a clock change, the scan's instant is
// arithmetic on that offset. Anything else goes through scanTimes.
type feedTimes struct {
	loc  *time.Location
	memo map[string]deliveryTimes
}

type resolvedTimes struct {
	delivered, scanned time.Time
	wall               int64 // scanned's wall clock as microseconds (wallMicros)
}

// deliveryTimes is what one upd_datetime resolves to.
type deliveryTimes struct {
	delivered time.Time
	off       int64 // the zone's offset (seconds) at delivered
	fast      bool  // one reading, and the same offset for the 48 hours before it
}

func (ft *feedTimes) resolve(upd, action string) (resolvedTimes, error) {
	dt, ok := ft.memo[upd]
	if !ok {
		if naive, err := time.Parse(wallclock.Layout, upd); err == nil {
			if cands := wallclock.Instants(naive, ft.loc); len(cands) == 1 {
				d := cands[0]
				l := d.In(ft.loc)
				_, off := l.Zone()
				start, _ := l.ZoneBounds()
				dt = deliveryTimes{delivered: d, off: int64(off), fast: start.IsZero() || !start.After(d.Add(-48*time.Hour))}
			}
		}
		if ft.memo == nil || len(ft.memo) >= 1<<16 {
			ft.memo = map[string]deliveryTimes{} // bounded: a new map rather than an ever-growing one
		}
		ft.memo[upd] = dt
	}
	if tod, ok := parseTimeOfDay(action); ok && dt.fast {
		// The latest instant at or before delivery whose local time of
		// day is tod (latestWallAtOrBefore with a constant offset).
		local := dt.delivered.Unix() + dt.off
		cand := local - ((local%86400)+86400)%86400 + int64(tod)
		if cand > local {
			cand -= 86400
		}
		return resolvedTimes{delivered: dt.delivered, scanned: time.Unix(cand-dt.off, 0), wall: cand * 1e6}, nil
	}
	d, sc, err := scanTimes(upd, action, ft.loc)
	if err != nil {
		return resolvedTimes{}, err
	}
	return resolvedTimes{delivered: d, scanned: sc, wall: wallMicros(sc, ft.loc)}, nil
}

// parseTimeOfDay reads "HH:MM:SS" (00:00:00 to 23:59:59) as seconds after
// midnight; anything else is false (scanTimes then says what is wrong).
func parseTimeOfDay(s string) (int, bool) {
	if len(s) != 8 || s[2] != ':' || s[5] != ':' {
		return 0, false
	}
	n := 0
	for _, i := range []int{0, 3, 6} {
		a, b := s[i], s[i+1]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return 0, false
		}
		n = n*60 + int(a-'0')*10 + int(b-'0')
	}
	h, m, sec := n/3600, n/60%60, n%60
	if h > 23 || m > 59 || sec > 59 || int(s[3]-'0') > 5 || int(s[6]-'0') > 5 {
		return 0, false
	}
	return n, true
}

// eventPull pulls one event's feed for a tick.
type eventPull struct {
	f        followed
	at       time.Time
	loc      *time.Location
	team     string
	pageSize int

	col      feedColumns
	kt       keptText
	lastSeq  int64
	pulled   int64
	deferred int64
	dropped  map[string]int64
	kept     []keptScan
	repaired int64 // fields of the kept scans that are not UTF-8
	// acct is each kept scan's holder (loadLookups), valid where hasAcct.
	acct    []int32
	hasAcct []bool
}

// pullAll runs the pulls, at most n at once, and calls ended with the
// index of each pull that ends well; the first error cancels the others.
func pullAll(ctx context.Context, src Source, pulls []*eventPull, n int, ended func(int)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(n, 1))
	for i, p := range pulls {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := p.run(gctx, src); err != nil {
				return err
			}
			ended(i)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func (p *eventPull) run(ctx context.Context, src Source) error {
	p.dropped = map[string]int64{}
	p.lastSeq = p.f.lastSeq
	open, end := p.f.start.Add(-WindowBefore), p.f.start.Add(WindowAfter)
	maxSeq := p.f.lastSeq // the highest seq_num seen: a row at or below it is a redelivery
	after := p.f.lastSeq
	ft := &feedTimes{loc: p.loc}
	var keep []int // the page's rows kept, copied into p.kt when the page is done
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := src.Attendance(ctx, p.team, p.f.id, after, p.pageSize)
		if err != nil {
			return fmt.Errorf("event %d (%s) after seq_num %d: %w", p.f.id, p.f.name, after, err)
		}
		if err := p.col.bind(page.Columns); err != nil {
			return fmt.Errorf("event %d (%s): %w", p.f.id, p.f.name, err)
		}
		for i, r := range page.Rows {
			if len(r) != len(page.Columns) {
				return fmt.Errorf("event %d (%s) after seq_num %d, row %d: %d fields, the page declares %d columns",
					p.f.id, p.f.name, after, i+1, len(r), len(page.Columns))
			}
			seq, err := strconv.ParseInt(r[p.col.seq], 10, 64)
			if err != nil {
				return fmt.Errorf("event %d (%s) after seq_num %d, row %d: seq_num %q: not an integer", p.f.id, p.f.name, after, i+1, r[p.col.seq])
			}
			times, err := ft.resolve(r[p.col.upd], r[p.col.action])
			if err != nil {
				return fmt.Errorf("event %d (%s) seq_num %d: %w", p.f.id, p.f.name, seq, err)
			}
			delivered, scanned := times.delivered, times.scanned
			if delivered.After(p.at) {
				// Delivered after the tick's time: the next tick's. The
				// feed serves in delivery order, so the rest is too.
				p.deferred += int64(len(page.Rows) - i)
				p.kt.addPage(page.Rows, keep)
				return nil
			}
			p.pulled++
			p.lastSeq = max(p.lastSeq, seq)
			switch {
			case seq <= maxSeq:
				p.dropped[DropDuplicate]++
				continue
			case r[p.col.result] != "0":
				p.dropped[DropResultCode]++
			case r[p.col.scanType] != "S":
				p.dropped[DropScanType]++
			case scanned.Before(open):
				p.dropped[DropBeforeWindow]++
			case scanned.After(end):
				p.dropped[DropAfterWindow]++
			default:
				if p.kt.width == 0 {
					p.kt.width = len(r)
				} else if len(r) != p.kt.width {
					return fmt.Errorf("event %d (%s) seq_num %d: %d fields, the feed's earlier pages had %d", p.f.id, p.f.name, seq, len(r), p.kt.width)
				}
				p.kept = append(p.kept, keptScan{scanned: scanned.UnixMicro(), delivered: delivered.UnixMicro(), wall: times.wall,
					page: int32(len(p.kt.pages)), row: int32(len(keep))})
				keep = append(keep, i)
				p.repaired += notUTF8(r)
			}
			maxSeq = seq
		}
		p.kt.addPage(page.Rows, keep)
		keep = keep[:0]
		if page.LastSeq > after {
			after = page.LastSeq
		}
		if !page.More || len(page.Rows) == 0 {
			return nil
		}
	}
}

// feedColumns are the positions of the feed's columns in a page.
type feedColumns struct {
	bound                                                                   bool
	team, eventID, eventName, eventDate, section, row, seat, acct, scanType int
	result, action, gate, channel, seq, upd                                 int
}

func (fc *feedColumns) bind(cols []string) error {
	if fc.bound {
		return nil
	}
	pos := map[string]int{}
	for i, c := range cols {
		pos[c] = i
	}
	for _, b := range []struct {
		name string
		to   *int
	}{
		{"team", &fc.team}, {"event_id", &fc.eventID}, {"event_name", &fc.eventName}, {"event_date", &fc.eventDate},
		{"section_name", &fc.section}, {"row_name", &fc.row}, {"seat_num", &fc.seat}, {"acct_id", &fc.acct},
		{"scan_type", &fc.scanType}, {"result_code", &fc.result}, {"action_time", &fc.action}, {"gate", &fc.gate},
		{"channel_ind", &fc.channel}, {"seq_num", &fc.seq}, {"upd_datetime", &fc.upd},
	} {
		i, ok := pos[b.name]
		if !ok {
			return fmt.Errorf("the feed's page has no column %s (columns: %s)", b.name, strings.Join(cols, ", "))
		}
		*b.to = i
	}
	fc.bound = true
	return nil
}

// notUTF8 counts the fields of a feed row that are not UTF-8.
func notUTF8(row []string) int64 {
	var n int64
	for _, v := range row {
		if !utf8.ValidString(v) {
			n++
		}
	}
	return n
}

// feedText is a text column of t filled from feed column col of the kept
// scans.
func (p *eventPull) feedText(col int) *textColumn {
	size := 0
	for j := range p.kept {
		size += len(p.field(j, col))
	}
	c := newTextColumn(len(p.kept), size)
	if p.repaired == 0 { // every kept field is UTF-8 (run counted those that are not)
		for j := range p.kept {
			c.addUTF8(p.field(j, col))
		}
		return c
	}
	for j := range p.kept {
		c.add(p.field(j, col))
	}
	return c
}

// constText is a text column holding v in each of the n rows.
func constText(n int, v string) *textColumn {
	v = textenc.Valid(v)
	c := newTextColumn(n, n*len(v))
	for range n {
		c.addUTF8(v)
	}
	return c
}

// typeOf is the Arrow type of t's column name.
func typeOf(t *schemas.Table, name string) arrow.DataType {
	return t.ArrowSchema().Field(t.ColumnIndex(name)).Type
}

// rawRecord builds the event's kept scans as archtics_rtx.attendance_raw rows.
func (p *eventPull) rawRecord(look *lookups) (arrow.RecordBatch, error) {
	t, n, c := schemas.RTXAttendanceRaw, len(p.kept), &p.col
	cols := map[string]arrayColumn{
		"result_code": p.feedText(c.result), "gate": p.feedText(c.gate), "scan_type": p.feedText(c.scanType),
		"row_name": p.feedText(c.row), "archtics_event_name": p.feedText(c.eventName), "action_time": p.feedText(c.action),
		"seat_num": p.feedText(c.seat), "section_name": p.feedText(c.section), "channel_ind": p.feedText(c.channel),
		"attendance_seq_id": p.feedText(c.seq),
		"event_name":        constText(n, look.tmEventName(p.f.id)),
		"team":              constText(n, p.team),
	}
	eventID := newFixedColumn[int32](typeOf(t, "event_id"), n)
	acct := newFixedColumn[int32](typeOf(t, "acct_id"), n)
	scanTime := newFixedColumn[int64](typeOf(t, "ticket_scan_time"), n)
	date := newFixedColumn[int32](typeOf(t, "event_date"), n)
	day := int32(p.f.date.Unix() / 86400)
	for j, k := range p.kept {
		eventID.add(p.f.id)
		acct.addOK(parseInt32(p.field(j, c.acct))) // the raw table keeps the feed's account
		scanTime.add(k.wall)
		date.add(day)
	}
	cols["event_id"], cols["acct_id"], cols["ticket_scan_time"], cols["event_date"] = eventID, acct, scanTime, date
	return recordOf(t, n, cols)
}

// deliveryRecord builds the event's kept scans as
// archtics_rtx.attendance_delivery rows: runs of kept scans (in seq_num
// order, the feed's delivery order) the feed delivered in the same
// second, and the tick (its logical time) that stored them.
func (p *eventPull) deliveryRecord() (arrow.RecordBatch, error) {
	t := schemas.RTXDelivery
	type run struct {
		first, last, n, delivered int64
	}
	var runs []run
	for j, k := range p.kept {
		seq, err := strconv.ParseInt(p.field(j, p.col.seq), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("event %d: seq_num %q: not an integer", p.f.id, p.field(j, p.col.seq))
		}
		if l := len(runs) - 1; l >= 0 && runs[l].delivered == k.delivered {
			runs[l].last, runs[l].n = seq, runs[l].n+1
			continue
		}
		runs = append(runs, run{first: seq, last: seq, n: 1, delivered: k.delivered})
	}
	n := len(runs)
	eventID := newFixedColumn[int32](typeOf(t, "event_id"), n)
	first := newFixedColumn[int64](typeOf(t, "first_seq"), n)
	last := newFixedColumn[int64](typeOf(t, "last_seq"), n)
	scans := newFixedColumn[int64](typeOf(t, "scans"), n)
	deliveredAt := newFixedColumn[int64](typeOf(t, "delivered_at"), n)
	storedAt := newFixedColumn[int64](typeOf(t, "stored_at"), n)
	date := newFixedColumn[int32](typeOf(t, "event_date"), n)
	day, at := int32(p.f.date.Unix()/86400), p.at.UnixMicro()
	for _, r := range runs {
		eventID.add(p.f.id)
		first.add(r.first)
		last.add(r.last)
		scans.add(r.n)
		deliveredAt.add(r.delivered)
		storedAt.add(at)
		date.add(day)
	}
	return recordOf(t, n, map[string]arrayColumn{
		"event_id": eventID, "first_seq": first, "last_seq": last, "scans": scans, "delivered_at": deliveredAt,
		"stored_at": storedAt, "team": constText(n, p.team), "event_date": date,
	})
}

// enrichedRecord builds the event's kept scans as
// archtics_rtx.attendance_enriched rows, with the holders and names the
// clone gave (clone.holders), and the event's start and the scan's
// instant as wall clocks of the display zone (zone, loaded as displayLoc).
func (p *eventPull) enrichedRecord(look *lookups, zone string, displayLoc *time.Location) (arrow.RecordBatch, error) {
	t, n, c := schemas.RTXEnriched, len(p.kept), &p.col
	cols := map[string]arrayColumn{
		"archtics_event_name": p.feedText(c.eventName), "section_name": p.feedText(c.section), "row_name": p.feedText(c.row),
		"gate": p.feedText(c.gate), "scan_type": p.feedText(c.scanType), "attendance_seq_id": p.feedText(c.seq),
		"display_zone": constText(n, zone), "team": constText(n, p.team),
	}
	// The holder at scan time (clone.holders: the clone's, else the
	// feed's through merges) and its primary name; none when nothing was
	// looked up.
	names := make([]primaryName, n)
	var nameBytes [3]int
	for j := range p.kept {
		if j < len(p.hasAcct) && p.hasAcct[j] {
			nm := look.name(p.acct[j])
			names[j] = nm
			nameBytes[0] += len(nm.first)
			nameBytes[1] += len(nm.last)
			nameBytes[2] += len(nm.email)
		}
	}
	first, last, email := newTextColumn(n, nameBytes[0]), newTextColumn(n, nameBytes[1]), newTextColumn(n, nameBytes[2])
	seat := newFixedColumn[int32](typeOf(t, "seat_num"), n)
	acct := newFixedColumn[int32](typeOf(t, "acct_id"), n)
	eventID := newFixedColumn[int32](typeOf(t, "event_id"), n)
	date := newFixedColumn[int32](typeOf(t, "event_date"), n)
	start := newFixedColumn[int64](typeOf(t, "event_start"), n)
	scanAt := newFixedColumn[int64](typeOf(t, "scan_at"), n)
	startWall := newFixedColumn[int64](typeOf(t, "event_time"), n)
	scanWall := newFixedColumn[int64](typeOf(t, "ticket_scan_time"), n)
	walls := &zoneWalls{loc: displayLoc}
	startMicros, startWallMicros := p.f.start.UnixMicro(), walls.micros(p.f.start)
	day := int32(p.f.date.Unix() / 86400)
	for j, k := range p.kept {
		seat.addOK(parseInt32(p.field(j, c.seat)))
		if j < len(p.hasAcct) && p.hasAcct[j] {
			acct.add(p.acct[j])
		} else {
			acct.addNull()
		}
		first.add(names[j].first)
		last.add(names[j].last)
		email.add(names[j].email)
		eventID.add(p.f.id)
		date.add(day)
		start.add(startMicros)
		scanAt.add(k.scanned)
		startWall.add(startWallMicros)
		scanWall.add(walls.micros(time.UnixMicro(k.scanned)))
	}
	cols["name_first"], cols["name_last"], cols["email_addr"] = first, last, email
	cols["seat_num"], cols["acct_id"], cols["event_id"], cols["event_date"] = seat, acct, eventID, date
	cols["event_start"], cols["scan_at"], cols["event_time"], cols["ticket_scan_time"] = start, scanAt, startWall, scanWall
	return recordOf(t, n, cols)
}

func parseInt32(s string) (int32, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(v), true
}
