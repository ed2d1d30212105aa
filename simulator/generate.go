package simulator

import (
	"math/bits"
	"math/rand/v2"
	"strconv"
	"time"
)

// SIMULATOR CHOICES
//
// What the public documents do not fix, the simulator decides; the API
// server, the stages and the tests rely on these:
//
// Time. Every row timestamp is the client's local wall clock (Config.TimeZone,
// America/New_York by default) at second resolution; Change.Updated,
// Committed, Cutoff and EventStart are the same instants as UTC time.Time.
// Generated activity happens between 07:00 and 23:00 local, except on
// purpose (hard_days.go): event versions in the hour a DST fall-back
// repeats and around a spring-forward, and scans after midnight.
//
// Versions and the cutoff. Every row has versions (Updated = its upd
// column, Committed = when it became visible). Usually Committed = Updated;
// about 0.3% commit 2-240 s late (long transactions), and per team three
// accounts are inserted and six updated 1-11 s before the cutoff with a
// commit 3-30 s after it, plus up to six tickets the same way. The dump holds per
// key the newest version with Committed < Cutoff; Changes(since, asOf)
// returns versions with Updated >= since and Committed <= asOf. A client
// that pulls from exactly the cutoff therefore misses the straddling
// versions: it must re-pull with an overlap window and keep the newest
// version per key. Per key, Updated strictly increases and Committed never
// decreases (a version cannot commit before the one it replaces).
//
// Ties. A phone clean-up job gives >= 600 customer rows one upd_date 40 days
// before the cutoff, and another segment the morning after it (with at
// least 1,000 accounts); an event's tickets are all re-issued in one second
// the day after the cutoff. Paging by upd_date alone cannot split them.
//
// Merges. A share (MergeRate) of same-team duplicate accounts is merged into
// the person's original account, some after the cutoff. From the merge
// instant the loser's cust rows are absent (Keys, StateAt, Lookup, and
// Changes leave out their old versions); ticket.acct_id, tex.owner_acct_id
// and tex.acct_id that named the loser name the winner, with no change of
// upd_datetime; the winner's primary cust row gets a new version at the
// merge instant (content unchanged but upd_date). Merges are in the truth
// (World.Merges, groundtruth/merges.csv), never in the change API. Other
// deletes (a test event, a removed name, a voided or purged ticket, a
// cancelled exchange posting) vanish the same way: see deletes.go.
//
// Ids. Every team's database numbers accounts from 100001, so an acct_id
// exists in several teams and means different customers. cust_name_id =
// 1,000,000 + 4*account index + slot (0 Primary, 1 Secondary, 2-3 Other),
// except a household member's copy of the head's primary name, which has
// the head's cust_name_id (one name, several accounts; people.go).
// Accounts are created in acct_id order.
//
// Scans. Only enabled single events (total_events = 1) of category SPORTS
// or CONCERTS have scans; FAMILY, PARKING, plans and test events do not.
// Codes (simulator choices): scan_type S standard gate, X exit, R re-entry,
// M manual; result_code 0 accepted, 14 ticket already used, 21 ticket for
// another event (seat given, no account), 3 invalid barcode (no seat, no
// account). Only S + 0 counts, and only inside the window [start-5h,
// start+6h]: every realtime event also has accepted scans outside it
// (staff credentials without seat or account, access_type STAFF; early
// access; late entries), see generate_scan.go and hard_days.go. seq_num
// is event_id*1,000,000 + the rank of the row in delivery order; a scan
// is delivered 3-75 s after action_time (3% 2-10 min late; some of the
// window's last minutes 3-6 min after it closed) and Scans(asOf) serves
// only rows delivered by asOf.
// About 1% of rows are delivered twice, back to back, with the same
// seq_num and content (a retrying feed). acct_id is the holder at scan
// time: the buyer, or the last resale/forward committed by then covering
// the seat, moved to the winner of any merge done by then. action_time is
// "HH:MM:SS" local without a date: scans pass midnight (a late show, the
// nights clocks change) and a misdated event has scans the next morning,
// so the date is not the event's but the delivery's (ScanInstant).
// channel_ind M mobile (mobile Y), P print, C card; access_type SEASON,
// SINGLE, GROUP, COMP, RESALE, FORWARD, STAFF.
//
// Duplicates. About DuplicateRate of the accounts belong to a person who
// already has an account (in the same team, or for later teams 40% in the
// first team), presented with one variant: exact, typo, nickname,
// swapped_names, format (email case, phone format, street spelling, zip+4),
// missing_fields, employer_change (old employer, old work phone, old
// office) or stale_address. Households share an address and sometimes an
// email across different people (not duplicates); emails are otherwise
// unique per person (people.go). Gabriel Tremblay (first team) has an old
// TryNowDo Ltd account and a newer Sporting Service Solutions Inc one, the
// current work phone on the newer; Sophie Gagnon the same the other way
// round (the current account is the older). Both accounts of each carry
// the personal email their CRM contact (the first two contacts, at
// Sporting Service Solutions Inc) holds, so both match it whichever is
// found first (crm_truth.go says what the load must then do).

// Determinism: every entity (an account, an event's seat blocks, an event's
// scans...) draws from its own PCG stream seeded by a hash of (seed, team,
// kind, index). No entity depends on the order other entities were
// generated in, so the dump is generated in parallel, in any order, and a
// part can be produced without producing the ones before it.

// Stream kinds: one per kind of entity, so streams never overlap.
const (
	kAccount uint64 = iota + 1
	kPerson
	kDup
	kAcctType
	kMerge
	kSchedule
	kEvent
	kTickets
	kTex
	kScans
	kCRM
	kLate
	kDirty
)

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash4 mixes a stream's coordinates into 64 bits.
func hash4(seed, team, kind, idx uint64) uint64 {
	h := splitmix(seed ^ 0x5bd1e995)
	h = splitmix(h ^ team)
	h = splitmix(h ^ kind<<32)
	return splitmix(h ^ idx)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// rng is a PCG stream with the helpers the generator needs. The zero value
// is not usable; seed it first. Reseeding does not allocate.
type rng struct{ p rand.PCG }

func (r *rng) seed(seed, team, kind, idx uint64) {
	h := hash4(seed, team, kind, idx)
	r.p.Seed(h, splitmix(h^0x1234567))
}

func newRNG(seed, team, kind, idx uint64) *rng {
	r := &rng{}
	r.seed(seed, team, kind, idx)
	return r
}

// intn returns a uniform int in [0, n); n must be > 0.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.p.Uint64(), uint64(n))
	return int(hi)
}

func (r *rng) int63n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	hi, _ := bits.Mul64(r.p.Uint64(), uint64(n))
	return int64(hi)
}

// between returns a uniform int in [lo, hi].
func (r *rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.intn(hi-lo+1)
}

func (r *rng) float() float64 { return unit(r.p.Uint64()) }

func (r *rng) chance(p float64) bool { return r.float() < p }

func pick[T any](r *rng, s []T) T { return s[r.intn(len(s))] }

// weighted picks an index with the given weights (need not sum to 1).
func (r *rng) weighted(w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	x := r.float() * sum
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}

// --- Time -----------------------------------------------------------------

// Internally every instant is Unix seconds: Archtics timestamps have second
// resolution, which is what makes many rows share one upd_date.

const (
	daySec = 86400
	// Activity happens in "business hours" 07:00-23:00 local: people buy,
	// resell and edit accounts then. It keeps every generated timestamp out
	// of the 01:00-02:00 hour a fall-back DST change repeats, so a local
	// timestamp string always names one instant.
	bizOpen = 7 * 3600
	bizLen  = 16 * 3600
)

// clock converts between instants and the client's local wall clock.
type clock struct {
	loc  *time.Location
	mid  []int64 // Unix time of local midnight of day i
	day0 time.Time
}

func newClock(loc *time.Location, from, to time.Time) *clock {
	from, to = from.In(loc), to.In(loc)
	c := &clock{loc: loc}
	d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	c.day0 = d
	for i := 0; ; i++ {
		m := time.Date(d.Year(), d.Month(), d.Day()+i, 0, 0, 0, 0, loc)
		c.mid = append(c.mid, m.Unix())
		if m.After(to) {
			break
		}
	}
	return c
}

// dayIndex returns the local day holding u, clamped to the table.
func (c *clock) dayIndex(u int64) int {
	i := int((u - c.mid[0]) / daySec)
	if i < 0 {
		return 0
	}
	if i >= len(c.mid) {
		i = len(c.mid) - 1
	}
	for i > 0 && c.mid[i] > u {
		i--
	}
	for i+1 < len(c.mid) && c.mid[i+1] <= u {
		i++
	}
	return i
}

// biz maps an instant to business seconds (16 h a day), clamping times
// outside business hours to the nearest edge.
func (c *clock) biz(u int64) int64 {
	i := c.dayIndex(u)
	tod := u - c.mid[i] - bizOpen
	if tod < 0 {
		tod = 0
	}
	if tod >= bizLen {
		tod = bizLen - 1
	}
	return int64(i)*bizLen + tod
}

func (c *clock) fromBiz(b int64) int64 {
	i := b / bizLen
	if i >= int64(len(c.mid)) {
		i = int64(len(c.mid)) - 1
	}
	return c.mid[i] + bizOpen + b%bizLen
}

// rand returns a random business-hours instant in [a, b] (a if b <= a).
func (c *clock) rand(r *rng, a, b int64) int64 {
	if b <= a {
		return a
	}
	ba, bb := c.biz(a), c.biz(b)
	u := c.fromBiz(ba + r.int63n(bb-ba+1))
	if u < a {
		u = a
	}
	if u > b {
		u = b
	}
	return u
}

// at returns the instant of a local wall-clock time.
func (c *clock) at(y int, m time.Month, d, h, mi, s int) int64 {
	return time.Date(y, m, d, h, mi, s, 0, c.loc).Unix()
}

// date returns the local date of u as days since 1970-01-01.
func (c *clock) date(u int64) int32 {
	t := time.Unix(u, 0).In(c.loc)
	return int32(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / daySec)
}

// tsFmt formats instants as local TimeLayout strings without time.Format:
// the dump writes tens of millions of them. It caches the zone offset of
// the last zone period it saw, so it is not safe for concurrent use.
type tsFmt struct {
	loc    *time.Location
	lo, hi int64
	off    int64
	valid  bool
}

func newTSFmt(loc *time.Location) *tsFmt { return &tsFmt{loc: loc} }

func (f *tsFmt) offset(u int64) int64 {
	if f.valid && u >= f.lo && u < f.hi {
		return f.off
	}
	t := time.Unix(u, 0).In(f.loc)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	f.lo, f.hi = -1<<62, 1<<62
	if !start.IsZero() {
		f.lo = start.Unix()
	}
	if !end.IsZero() {
		f.hi = end.Unix()
	}
	f.off, f.valid = int64(off), true
	return f.off
}

// civil converts days since the epoch to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse).
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func appendDate(b []byte, days int64) []byte {
	y, m, d := civil(days)
	b = append2(b, y/100)
	b = append2(b, y%100)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	return append2(b, d)
}

// appendTS appends u as a local "2006-01-02 15:04:05".
func (f *tsFmt) appendTS(b []byte, u int64) []byte {
	x := u + f.offset(u)
	days := floorDiv(x, daySec)
	sec := int(x - days*daySec)
	b = appendDate(b, days)
	b = append(b, ' ')
	return appendClock(b, sec)
}

// appendClock appends seconds of the day as "15:04:05".
func appendClock(b []byte, sec int) []byte {
	b = append2(b, sec/3600)
	b = append(b, ':')
	b = append2(b, sec/60%60)
	b = append(b, ':')
	return append2(b, sec%60)
}

// localTOD returns u's local seconds of the day.
func (f *tsFmt) localTOD(u int64) int {
	x := u + f.offset(u)
	return int(x - floorDiv(x, daySec)*daySec)
}

// --- Row encoding -----------------------------------------------------------

// sink receives a row's fields in schema column order. One emit function
// per table feeds either the dump's text encoder or the World's Row
// builder, so the dump and the API can never disagree on a value.
type sink interface {
	str(s string)
	i64(v int64)
	null()
	date(days int32) // days since epoch; < 0 is NULL
	ts(u int64)      // instant, written as local time; 0 is NULL
	money(cents int64)
}

// textSink encodes a DUMP_FORMAT line (see dump.go).
type textSink struct {
	b     []byte
	n     int // fields written in this line
	clock *tsFmt
}

func (s *textSink) sep() {
	if s.n > 0 {
		s.b = append(s.b, '|')
	}
	s.n++
}

func (s *textSink) str(v string) {
	s.sep()
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '|', '\\':
			s.b = append(s.b, '\\', c)
		case '\n':
			s.b = append(s.b, '\\', 'n')
		case '\r':
			s.b = append(s.b, '\\', 'r')
		default:
			s.b = append(s.b, c)
		}
	}
}

func (s *textSink) i64(v int64) { s.sep(); s.b = strconv.AppendInt(s.b, v, 10) }
func (s *textSink) null()       { s.sep() }
func (s *textSink) date(d int32) {
	s.sep()
	if d >= 0 {
		s.b = appendDate(s.b, int64(d))
	}
}
func (s *textSink) ts(u int64) {
	s.sep()
	if u != 0 {
		s.b = s.clock.appendTS(s.b, u)
	}
}
func (s *textSink) money(c int64) { s.sep(); s.b = appendMoney(s.b, c) }

func (s *textSink) endLine() {
	s.b = append(s.b, '\n')
	s.n = 0
}

func appendMoney(b []byte, cents int64) []byte {
	if cents < 0 {
		b = append(b, '-')
		cents = -cents
	}
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.')
	return append2(b, int(cents%100))
}

// rowSink builds a Row (the API's representation).
type rowSink struct {
	row   Row
	clock *tsFmt
	buf   []byte
}

func (s *rowSink) str(v string) { s.row = append(s.row, v) }
func (s *rowSink) i64(v int64)  { s.row = append(s.row, strconv.FormatInt(v, 10)) }
func (s *rowSink) null()        { s.row = append(s.row, "") }
func (s *rowSink) date(d int32) {
	if d < 0 {
		s.null()
		return
	}
	s.row = append(s.row, string(appendDate(s.buf[:0], int64(d))))
}
func (s *rowSink) ts(u int64) {
	if u == 0 {
		s.null()
		return
	}
	s.row = append(s.row, string(s.clock.appendTS(s.buf[:0], u)))
}
func (s *rowSink) money(c int64) { s.row = append(s.row, string(appendMoney(s.buf[:0], c))) }

func (s *rowSink) take() Row {
	r := s.row
	s.row = nil
	return r
}

// i32OrNull writes v, or NULL when v is 0 (ids are never 0).
func i32OrNull(s sink, v int32) {
	if v == 0 {
		s.null()
		return
	}
	s.i64(int64(v))
}
