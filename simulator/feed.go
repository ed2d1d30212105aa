package simulator

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"archtics/internal/wallclock"
	"archtics/schemas"
)

// eventScans is one event's feed, generated on first use and kept in the
// compact form; rows are formatted only for the range a call asks for.
type eventScans struct {
	once sync.Once
	tg   *teamGen
	ev   *eventSpec
	ents []scanEnt // what the feed delivers, in delivery order
	lost []int64   // seq_num of the scans a feed outage lost, ascending
	// extra are the seq_num of the scans the feed accepted and the final
	// record rejects (revalidation), ascending.
	extra []int64

	idStr, dateStr string // the event's constant fields, formatted once
}

func (w *World) eventScans(team string, eventID int32) *eventScans {
	t := w.wt[team]
	if t == nil {
		return nil
	}
	ei := int(eventID - eventBase)
	if ei < 0 || ei >= len(t.tg.events) {
		return nil
	}
	t.mu.Lock()
	es, ok := t.scans[ei]
	if !ok {
		ev := &t.tg.events[ei]
		es = &eventScans{tg: t.tg, ev: ev, idStr: strconv.Itoa(int(ev.id)), dateStr: string(appendDate(nil, int64(ev.date)))}
		t.scans[ei] = es
	}
	t.mu.Unlock()
	// Generating a big event takes a while: other events of the team
	// are served meanwhile.
	es.once.Do(func() {
		if es.ev.realtime {
			all, _ := es.tg.genScans(ei)
			gate, revalidated := es.tg.revalidation(es.ev)
			ents := all[:0] // filtered in place: a league night is millions
			for _, x := range all {
				if revalidated && x.gate == gate && x.result == rcDuplicate && x.scanType == stStandard && !x.lost {
					x.result = rcOK // the feed's; archtics.attendance keeps the gate's final record
					if !x.redelivery {
						es.extra = append(es.extra, x.seq)
					}
				}
				if x.lost {
					if !x.redelivery {
						es.lost = append(es.lost, x.seq)
					}
					continue
				}
				ents = append(ents, x)
			}
			es.ents = ents
		}
	})
	return es
}

// scanCols is the width of a feed row.
var scanCols = len(schemas.Scan.Columns)

// rows formats ents[i:j] as feed rows (schemas.Scan order). The rows share
// one backing array, and each row's variable fields one string.
func (es *eventScans) rows(i, j int) []Row {
	if j <= i {
		return nil
	}
	tg, ev := es.tg, es.ev
	f := newTSFmt(tg.g.loc)
	lay := tg.layouts[ev.layout]
	gates := tg.gates()
	cells := make([]string, 0, (j-i)*scanCols)
	out := make([]Row, 0, j-i)
	var buf []byte
	var ends [6]int
	for k := i; k < j; k++ {
		x := &es.ents[k]
		// Variable fields into one buffer, then one string cut in pieces.
		buf = buf[:0]
		if x.seat > 0 {
			buf = strconv.AppendInt(buf, int64(x.seat), 10)
		}
		ends[0] = len(buf)
		if x.acct >= 0 {
			buf = strconv.AppendInt(buf, int64(acctID(x.acct)), 10)
		}
		ends[1] = len(buf)
		buf = appendClock(buf, f.localTOD(x.action))
		ends[2] = len(buf)
		buf = strconv.AppendInt(buf, x.seq, 10)
		ends[3] = len(buf)
		buf = f.appendTS(buf, x.deliv)
		ends[4] = len(buf)
		v := string(buf)
		section, rowName := "", ""
		if x.row >= 0 {
			ri := lay.row(int(x.row))
			section, rowName = ri.section, ri.rowName
		}
		mobile := "N"
		if x.channel == 'M' {
			mobile = "Y"
		}
		start := len(cells)
		cells = append(cells, tg.name, es.idStr, ev.name, es.dateStr, section, rowName,
			v[:ends[0]], v[ends[0]:ends[1]], scanTypeCodes[x.scanType], resultCodes[x.result], v[ends[1]:ends[2]],
			gates[x.gate], channelCode(x.channel), accessCodes[x.access], mobile, v[ends[2]:ends[3]], v[ends[3]:ends[4]])
		out = append(out, Row(cells[start:len(cells):len(cells)]))
	}
	return out
}

func channelCode(c byte) string {
	switch c {
	case 'M':
		return "M"
	case 'P':
		return "P"
	case 'C':
		return "C"
	}
	return string(c)
}

// Scans: see Source. Rows come in seq_num order; a redelivered row
// follows its original with the same seq_num.
func (w *World) Scans(team string, eventID int32, afterSeq int64, asOf time.Time, limit int) []Row {
	es := w.eventScans(team, eventID)
	if es == nil {
		return nil
	}
	i, j := es.deliveredRange(afterSeq, secFloor(asOf))
	if limit > 0 && j-i > limit {
		j = i + limit
	}
	return es.rows(i, j)
}

// deliveredRange is the range of ents with seq_num > afterSeq delivered
// by to (ents are in delivery order).
func (es *eventScans) deliveredRange(afterSeq, to int64) (int, int) {
	i := sort.Search(len(es.ents), func(i int) bool { return es.ents[i].seq > afterSeq })
	j := i + sort.Search(len(es.ents)-i, func(k int) bool { return es.ents[i+k].deliv > to })
	return i, j
}

// ScanEvents lists every event the realtime feed ever carries: enabled
// single events of category SPORTS or CONCERTS that sell tickets and start
// by the end of the simulated time, in start order. The server serves an
// event from its announcement until seven days after its start by the
// simulated clock (FeedKeepDays), as Ticketmaster's feed forgets.
func (w *World) ScanEvents(team string) []EventStart {
	t := w.wt[team]
	if t == nil {
		return nil
	}
	var out []EventStart
	for i := range t.tg.events {
		e := &t.tg.events[i]
		if e.realtime && e.blocks > 0 && e.start <= w.g.end {
			out = append(out, EventStart{EventID: e.id, Name: e.name, Start: time.Unix(e.start, 0).UTC()})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Start.Before(out[b].Start) })
	return out
}

// FeedKeeps reports whether the feed still serves an event that starts at
// start when the clock reads now: until seven days after the start.
func FeedKeeps(start, now time.Time) bool {
	return now.Before(start.Add(FeedKeepDays * 24 * time.Hour))
}

// TrueScans returns the scans the integration must keep (result_code 0,
// scan_type S, each delivered row once) of the team's feed events whose
// scan instant is in [from, to), ordered by event start and seq_num. It
// filters by scan time only: for what a realtime tick at T must hold
// (window applied, delivered by T) use TrueScansDelivered.
func (w *World) TrueScans(team string, from, to time.Time) []Row {
	var out []Row
	lo, hi := secCeil(from), secCeil(to)
	for _, ev := range w.ScanEvents(team) {
		es := w.eventScans(team, ev.EventID)
		for k := range es.ents {
			if e := &es.ents[k]; e.accepted() && e.action >= lo && e.action < hi {
				out = append(out, es.rows(k, k+1)[0])
			}
		}
	}
	return out
}

// ScanInstant returns the instant of a feed row, the way a consumer must
// derive it (ticket_scan_time downstream): action_time is a local time of
// day without a date, so the scan is the latest instant at or before the
// row's delivery (upd_datetime) whose local wall clock reads action_time.
// The event's date alone is wrong for scans after midnight (an event that
// crosses midnight) and for a misdated event's next-morning scans. When
// upd_datetime falls in the hour a fall-back repeats, the candidate with
// the shorter delivery delay wins (delays are minutes, never an hour),
// the earlier on a tie: in that one hour a local time of day cannot say
// which of two instants it was, and the simulator places its fall-back
// night's scans so that either lies on the same side of the window.
func (w *World) ScanInstant(row Row) (time.Time, error) {
	at := row[schemas.Scan.ColumnIndex("action_time")]
	up := row[schemas.Scan.ColumnIndex("upd_datetime")]
	tod, err := time.Parse("15:04:05", at)
	if err != nil {
		return time.Time{}, fmt.Errorf("scan row: action_time %q: want HH:MM:SS", at)
	}
	naive, err := time.Parse(TimeLayout, up)
	if err != nil {
		return time.Time{}, fmt.Errorf("scan row: upd_datetime %q: want %s", up, TimeLayout)
	}
	delivs := wallclock.Instants(naive, w.g.loc)
	if len(delivs) == 0 {
		return time.Time{}, fmt.Errorf("scan row: upd_datetime %q does not exist in %s", up, w.g.loc)
	}
	var best time.Time
	bestLag := time.Duration(-1)
	for _, d := range delivs {
		s, ok := latestWallAtOrBefore(d, tod.Hour()*3600+tod.Minute()*60+tod.Second(), w.g.loc)
		if !ok {
			continue
		}
		if lag := d.Sub(s); bestLag < 0 || lag < bestLag {
			best, bestLag = s, lag
		}
	}
	if bestLag < 0 {
		return time.Time{}, fmt.Errorf("scan row: no instant reads action_time %q before upd_datetime %q", at, up)
	}
	return best, nil
}

// latestWallAtOrBefore returns the latest instant at or before d whose
// local time of day in loc is tod seconds.
func latestWallAtOrBefore(d time.Time, tod int, loc *time.Location) (time.Time, bool) {
	local := d.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	for back := 0; back <= 2; back++ {
		naive := day.AddDate(0, 0, -back).Add(time.Duration(tod) * time.Second)
		cands := wallclock.Instants(naive, loc)
		for k := len(cands) - 1; k >= 0; k-- {
			if !cands[k].After(d) {
				return cands[k], true
			}
		}
	}
	return time.Time{}, false
}

// scanPage is one page of an event's feed, chosen the way the server's
// attendance command pages (never splitting the deliveries of a seq_num):
// ents[i:k] of es.
type scanPage struct {
	es   *eventScans
	i, k int
	more bool
	last int64 // seq_num of the page's last row; after_seq when empty
}

// scanPage picks the page of at most limit rows with seq_num > afterSeq
// delivered by asOf (the server's fast path: see scanPager in server.go).
func (w *World) scanPage(team string, eventID int32, afterSeq int64, asOf time.Time, limit int) scanPage {
	p := scanPage{last: afterSeq}
	es := w.eventScans(team, eventID)
	if es == nil {
		return p
	}
	i, j := es.deliveredRange(afterSeq, secFloor(asOf))
	k := min(j, i+limit)
	if k < j && k > i && es.ents[k].seq == es.ents[k-1].seq {
		for k > i && es.ents[k-1].seq == es.ents[k].seq {
			k--
		}
		if k == i {
			// One seq_num has more deliveries than limit: all of them.
			for k = i + 1; k < j && es.ents[k].seq == es.ents[i].seq; k++ {
			}
		}
	}
	p.es, p.i, p.k, p.more = es, i, k, k < j
	if k > i {
		p.last = es.ents[k-1].seq
	}
	return p
}

// appendJSON appends the page's rows as the JSON array appendRows writes
// for the same rows (every value a string, "" as null), straight from the
// compact scans: the feed's hot path builds no Row.
func (p scanPage) appendJSON(b []byte) []byte {
	b = append(b, '[')
	if p.es == nil || p.k <= p.i {
		return append(b, ']')
	}
	es := p.es
	tg, ev := es.tg, es.ev
	f := newTSFmt(tg.g.loc)
	lay := tg.layouts[ev.layout]
	gates := tg.gates()
	// The event's constant leading fields, encoded once.
	prefix := []byte{'['}
	for _, v := range []string{tg.name, es.idStr, ev.name, es.dateStr} {
		prefix = appendJSONValue(prefix, v)
		prefix = append(prefix, ',')
	}
	for n := p.i; n < p.k; n++ {
		x := &es.ents[n]
		if n > p.i {
			b = append(b, ',')
		}
		b = append(b, prefix...)
		if x.row >= 0 {
			ri := lay.row(int(x.row))
			b = appendJSONValue(b, ri.section)
			b = append(b, ',')
			b = appendJSONValue(b, ri.rowName)
		} else {
			b = append(b, "null,null"...)
		}
		b = append(b, ',')
		b = appendQuotedInt(b, int64(x.seat), x.seat > 0)
		b = append(b, ',')
		b = appendQuotedInt(b, int64(acctID(x.acct)), x.acct >= 0)
		b = append(b, ',')
		b = appendJSONValue(b, scanTypeCodes[x.scanType])
		b = append(b, ',')
		b = appendJSONValue(b, resultCodes[x.result])
		b = append(b, ',', '"')
		b = appendClock(b, f.localTOD(x.action))
		b = append(b, '"', ',')
		b = appendJSONValue(b, gates[x.gate])
		b = append(b, ',')
		b = appendJSONValue(b, channelCode(x.channel))
		b = append(b, ',')
		b = appendJSONValue(b, accessCodes[x.access])
		if x.channel == 'M' {
			b = append(b, `,"Y",`...)
		} else {
			b = append(b, `,"N",`...)
		}
		b = appendQuotedInt(b, x.seq, true)
		b = append(b, ',', '"')
		b = f.appendTS(b, x.deliv)
		b = append(b, '"', ']')
	}
	return append(b, ']')
}

// appendJSONValue writes v as appendRow does: null when empty.
func appendJSONValue(b []byte, v string) []byte {
	if v == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, v)
}

func appendQuotedInt(b []byte, v int64, present bool) []byte {
	if !present {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = strconv.AppendInt(b, v, 10)
	return append(b, '"')
}
