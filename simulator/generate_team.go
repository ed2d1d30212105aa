package simulator

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"
)

// generator holds what every entity generator shares: the config, the
// clock and each team's precomputed indexes (schedule, account add times,
// duplicate targets, merges). Building it is O(accounts + events) and cheap
// (about 50 ns per account); the rows themselves are generated on demand.
type generator struct {
	cfg      Config
	loc      *time.Location
	clock    *clock
	origin   int64 // HistoryStart
	cutoff   int64 // Cutoff, rounded up to a whole second
	end      int64 // Cutoff + DaysAfterCutoff
	dumpAsOf int64 // newest second the dump holds: versions committed <= dumpAsOf
	teams    []*teamGen
	byName   map[string]*teamGen
	emailFix [][]uint8 // per team (and the CRM's outsiders last), per person: kinds of email in the collision-proof form (people.go)
}

// Account and name ids. Every team's database numbers its accounts from
// the same base, so acct_id 100123 exists in both teams and means two
// different customers: anything keyed by acct_id alone is wrong.
const (
	acctBase     = 100001
	nameBase     = 1_000_000
	householdID0 = 500000
	eventBase    = 1001
	ticketBase   = 100_000_000
	orderBase    = 7_000_000
)

func acctID(idx int32) int32 { return acctBase + idx }

// Accounts whose values always carry a separator or a line break, so
// every dump exercises the escaping.
const (
	dirtSeparator = 11
	dirtNewline   = 12
)

// Account types. The last three are the kind a client configures not to
// sync to the CRM.
var acctTypes = []string{
	"Single Game Buyer", "Season Ticket Holder", "Partial Plan", "Group Leader", "Prospect",
	"Corporate", "Suite Holder", "Broker", "Internal Comp", "Test",
}

const (
	atSingle = iota
	atSTH
	atPartial
	atGroup
	atProspect
	atCorporate
	atSuite
	atBroker
	atComp
	atTest
)

var acctTypeWeights = []float64{40, 10, 7, 4, 20, 9, 1.5, 2, 1, 0.5}

func isCompany(t uint8) bool { return t == atCorporate || t == atSuite }
func isHeavy(t uint8) bool {
	return t == atSTH || t == atPartial || t == atBroker || t == atCorporate || t == atSuite
}

// Duplicate variants: how a duplicate account differs from its person.
const (
	vOriginal uint8 = iota
	vExact
	vTypo
	vNickname
	vSwapped
	vFormat
	vMissing
	vEmployer
	vStaleAddress
)

var variantNames = []string{"original", "exact", "typo", "nickname", "swapped_names", "format", "missing_fields", "employer_change", "stale_address"}
var variantWeights = []float64{0, 10, 20, 12, 5, 20, 10, 13, 10}

// Merge is one Archtics account merge: every reference to Loser moves to
// Winner at At, the loser's customer rows disappear, and the winner's
// primary name gets a new upd_date. Nothing in the change API says so.
type Merge struct {
	Team   string
	Loser  int32 // acct_id
	Winner int32 // acct_id
	At     time.Time
	Person string // the person both accounts belong to
}

type merge struct {
	loser, winner int32 // account indexes
	at            int64
}

type lateSpec struct{ upd, com int64 }

type teamGen struct {
	g    *generator
	ti   int
	name string
	kind TeamKind

	events       []eventSpec
	ticketEvents []int   // indexes of events that sell tickets
	ticketStart  []int64 // ticket row index of each ticket event's first block; len+1
	layouts      [3]*layout

	n        int
	acctAdd  []int64 // add instant per account, non-decreasing
	acctType []uint8
	dupTeam  []int8  // -1: the account is its person's original
	dupIdx   []int32 // the original account (in dupTeam) of a duplicate
	variant  []uint8
	heavy    []int32 // heavy buyers' indexes, ascending
	lateCust map[int32]lateSpec

	merges      []merge
	loserMerge  map[int32]int
	winnerMerge map[int32][]int

	bulkBefore, bulkAfter bulkSpec // cust rows sharing one upd_date

	ticketBulkEvent int // event whose tickets are all touched at one instant, -1 none
	ticketBulkAt    int64
	straddleEvent   int // event some of whose tickets get a late commit across the cutoff
	straddleBlocks  []int

	tremblayOld, tremblayNew int32
	// The same story the other way round: Sophie Gagnon's current
	// account is older than her outdated one (people.go, crm.go).
	gagnonCur, gagnonOld int32

	hhHead    []int32 // household head of each account (itself if none), people.go
	eventGone []int64 // per event: the instant its row is deleted, 0 never (deletes.go)
	// outageEvent is the event whose realtime feed surely has an outage
	// (generate_attendance.go), -1 none.
	outageEvent int
}

type bulkSpec struct {
	from, to int32 // account index range
	at       int64
}

func newGenerator(cfg Config) (*generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	loc := cfg.location()
	g := &generator{cfg: cfg, loc: loc, byName: map[string]*teamGen{}}
	g.cutoff = floorDiv(cfg.Cutoff.UnixNano()-1, 1e9) + 1
	g.dumpAsOf = g.cutoff - 1
	g.end = cfg.End().Unix()
	g.origin = cfg.historyStart().Unix()
	if g.origin >= g.cutoff {
		return nil, fmt.Errorf("simulator config: history start %s is not before the cutoff", cfg.historyStart())
	}
	// The calendar reaches past the last season so future events and
	// their on-sale dates have days to land on.
	g.clock = newClock(loc, time.Unix(g.origin, 0).Add(-48*time.Hour), time.Unix(g.end, 0).AddDate(1, 6, 0))
	for ti, spec := range cfg.Teams {
		tg := &teamGen{g: g, ti: ti, name: spec.Name, kind: spec.Kind, n: cfg.Accounts}
		g.teams = append(g.teams, tg)
		g.byName[spec.Name] = tg
	}
	// Accounts first in every team: duplicates may point across teams.
	for _, tg := range g.teams {
		tg.initAccounts()
	}
	for _, tg := range g.teams {
		tg.initDuplicates()
		tg.initMerges()
		tg.initSchedule()
		tg.outageEvent = tg.firstFeedEventAfter(g.cutoff)
		tg.initSpecialCases()
		tg.initHouseholds()
		tg.initEventDeletes()
	}
	g.initEmails()
	return g, nil
}

// --- Accounts -------------------------------------------------------------

func (tg *teamGen) initAccounts() {
	g, n := tg.g, tg.n
	tg.acctAdd = make([]int64, n)
	tg.acctType = make([]uint8, n)
	c := g.clock
	// A small share of the accounts is created after the cutoff: the first
	// incremental pull must bring them in.
	nAfter := 0
	if g.end > g.cutoff+3600 {
		nAfter = n * 3 / 100
	}
	nBefore := n - nAfter
	b0, b1 := c.biz(g.origin), c.biz(g.cutoff)-120
	a0, a1 := c.biz(g.cutoff)+120, c.biz(g.end)
	var r rng
	for i := 0; i < n; i++ {
		h := hash4(g.cfg.Seed, uint64(tg.ti), kAccount, uint64(i))
		u := unit(h)
		var b int64
		if i < nBefore {
			b = b0 + int64((float64(i)+u)/float64(nBefore)*float64(b1-b0))
		} else {
			b = a0 + int64((float64(i-nBefore)+u)/float64(nAfter)*float64(a1-a0))
		}
		tg.acctAdd[i] = c.fromBiz(b)
		if i > 0 && tg.acctAdd[i] < tg.acctAdd[i-1] {
			tg.acctAdd[i] = tg.acctAdd[i-1]
		}
		r.seed(g.cfg.Seed, uint64(tg.ti), kAcctType, uint64(i))
		tg.acctType[i] = uint8(r.weighted(acctTypeWeights))
	}
	// Every dump carries a '|' and a line break inside values.
	tg.acctType[dirtSeparator] = atCorporate
	// The Gabriel Tremblay case (see the initial-load seed): an old
	// account from when he bought for TryNowDo Ltd, and a newer one at
	// Sporting Service Solutions Inc. Only the first team holds it.
	tg.tremblayOld, tg.tremblayNew = -1, -1
	tg.gagnonCur, tg.gagnonOld = -1, -1
	if tg.ti == 0 {
		tg.tremblayOld, tg.tremblayNew = 5, int32(nBefore*2/3)
		tg.gagnonCur, tg.gagnonOld = 7, int32(nBefore/2)
		for _, i := range []int32{tg.tremblayOld, tg.tremblayNew, tg.gagnonCur, tg.gagnonOld} {
			tg.acctType[i] = atCorporate
		}
	}
	for i := 0; i < n; i++ {
		if isHeavy(tg.acctType[i]) {
			tg.heavy = append(tg.heavy, int32(i))
		}
	}
}

func (tg *teamGen) isDupCandidate(i int) bool {
	g := tg.g
	if int32(i) == tg.tremblayNew || int32(i) == tg.gagnonCur || i == dirtSeparator {
		return false
	}
	if int32(i) == tg.tremblayOld || int32(i) == tg.gagnonOld {
		return true
	}
	if tg.acctType[i] == atTest {
		return false
	}
	return unit(hash4(g.cfg.Seed, uint64(tg.ti), kDup, uint64(i))) < g.cfg.DuplicateRate
}

func (tg *teamGen) initDuplicates() {
	g := tg.g
	n := tg.n
	tg.dupTeam = make([]int8, n)
	tg.dupIdx = make([]int32, n)
	tg.variant = make([]uint8, n)
	var r rng
	for i := 0; i < n; i++ {
		tg.dupTeam[i] = -1
		if !tg.isDupCandidate(i) {
			continue
		}
		if int32(i) == tg.tremblayOld {
			tg.dupTeam[i], tg.dupIdx[i], tg.variant[i] = 0, tg.tremblayNew, vEmployer
			continue
		}
		if int32(i) == tg.gagnonOld {
			tg.dupTeam[i], tg.dupIdx[i], tg.variant[i] = 0, tg.gagnonCur, vEmployer
			continue
		}
		r.seed(g.cfg.Seed, uint64(tg.ti), kDup, uint64(i))
		target := tg
		if tg.ti > 0 && r.chance(0.4) {
			target = g.teams[0] // the same fan in the team's and the arena's database
		}
		b := r.intn(target.n)
		// Probe to an original (never a duplicate of a duplicate, never a
		// test account, never itself, never the Tremblay pair).
		for target.isDupCandidate(b) || target.acctType[b] == atTest || (target == tg && b == i) ||
			int32(b) == target.tremblayNew || int32(b) == target.gagnonCur {
			b = (b + 1) % target.n
		}
		tg.dupTeam[i] = int8(target.ti)
		tg.dupIdx[i] = int32(b)
		tg.variant[i] = uint8(r.weighted(variantWeights))
	}
}

// personOf returns the (team, index) of the original account of account i:
// the person's identity.
func (tg *teamGen) personOf(i int32) (int, int32) {
	if tg.dupTeam[i] < 0 {
		return tg.ti, i
	}
	return int(tg.dupTeam[i]), tg.dupIdx[i]
}

func (g *generator) personID(ti int, idx int32) string {
	return g.teams[ti].name + "-" + strconv.Itoa(int(idx)+acctBase)
}

func (tg *teamGen) initMerges() {
	g := tg.g
	tg.loserMerge = map[int32]int{}
	tg.winnerMerge = map[int32][]int{}
	var r rng
	afterCutoff := g.end > g.cutoff+2*3600
	for i := 0; i < tg.n; i++ {
		if int(tg.dupTeam[i]) != tg.ti || int32(i) == tg.tremblayOld || int32(i) == tg.gagnonOld {
			continue
		}
		r.seed(g.cfg.Seed, uint64(tg.ti), kMerge, uint64(i))
		if !r.chance(g.cfg.MergeRate) {
			continue
		}
		w := tg.dupIdx[i]
		a := max(tg.acctAdd[i], tg.acctAdd[w]) + daySec
		var m int64
		switch {
		case a >= g.end:
			continue
		case afterCutoff && a < g.cutoff-daySec && r.chance(0.3):
			m = g.clock.rand(&r, g.cutoff+3600, g.end)
		default:
			m = g.clock.rand(&r, a, g.end)
		}
		tg.addMerge(merge{loser: int32(i), winner: w, at: m})
	}
	// Make sure one merge happens after the cutoff, so a clone meets a
	// merge it did not get from the dump.
	if afterCutoff {
		has := slices.ContainsFunc(tg.merges, func(m merge) bool { return m.at >= g.cutoff })
		for i := 0; !has && i < tg.n; i++ {
			if int(tg.dupTeam[i]) != tg.ti || int32(i) == tg.tremblayOld || int32(i) == tg.gagnonOld {
				continue
			}
			if _, ok := tg.loserMerge[int32(i)]; ok {
				continue
			}
			w := tg.dupIdx[i]
			if max(tg.acctAdd[i], tg.acctAdd[w]) >= g.cutoff {
				continue
			}
			r.seed(g.cfg.Seed, uint64(tg.ti), kMerge, uint64(i)+1<<40)
			tg.addMerge(merge{loser: int32(i), winner: w, at: g.clock.rand(&r, g.cutoff+3600, g.end)})
			has = true
		}
	}
	sort.Slice(tg.merges, func(a, b int) bool { return tg.merges[a].loser < tg.merges[b].loser })
	clear(tg.loserMerge)
	clear(tg.winnerMerge)
	for k, m := range tg.merges {
		tg.loserMerge[m.loser] = k
		tg.winnerMerge[m.winner] = append(tg.winnerMerge[m.winner], k)
	}
}

func (tg *teamGen) addMerge(m merge) {
	tg.loserMerge[m.loser] = len(tg.merges)
	tg.merges = append(tg.merges, m)
}

// resolve returns the account holding idx's references at instant t:
// the winner once idx has been merged away.
func (tg *teamGen) resolve(idx int32, t int64) int32 {
	if idx < 0 {
		return idx
	}
	if k, ok := tg.loserMerge[idx]; ok && tg.merges[k].at <= t {
		return tg.merges[k].winner
	}
	return idx
}

// goneAt is the instant account idx's customer rows disappear (0: never).
func (tg *teamGen) goneAt(idx int32) int64 {
	if k, ok := tg.loserMerge[idx]; ok {
		return tg.merges[k].at
	}
	return 0
}

// accountsAt is how many accounts exist at t (they are added in index order).
func (tg *teamGen) accountsAt(t int64) int {
	return sort.Search(tg.n, func(i int) bool { return tg.acctAdd[i] > t })
}

// buyerAt picks an account that exists at t, heavy buyers (season ticket
// holders, brokers, corporate) with probability heavy.
func (tg *teamGen) buyerAt(r *rng, t int64, heavy float64) int32 {
	n := tg.accountsAt(t)
	if n == 0 {
		n = 1
	}
	var idx int32
	if r.chance(heavy) {
		h := sort.Search(len(tg.heavy), func(i int) bool { return tg.heavy[i] >= int32(n) })
		if h > 0 {
			idx = tg.heavy[r.intn(h)]
		} else {
			idx = int32(r.intn(n))
		}
	} else {
		idx = int32(r.intn(n))
	}
	return tg.resolve(idx, t)
}

// initSpecialCases places the cases a clone must handle: bulk updates that
// give hundreds of rows one upd_date, and versions committed late across
// the cutoff.
func (tg *teamGen) initSpecialCases() {
	g, c := tg.g, tg.g.clock
	r := newRNG(g.cfg.Seed, uint64(tg.ti), kLate, 0)
	// At least 600 accounts (with 1,000 accounts or more): a page size of
	// 500 must split a tie.
	size := int32(min(max(600, tg.n/100), tg.n*6/10))
	// Before the cutoff: a phone clean-up touching a segment 40 days ago.
	at := g.cutoff - 40*daySec
	at = c.mid[c.dayIndex(at)] + 10*3600 + 30*60
	from := int32(tg.n / 10)
	tg.bulkBefore = bulkSpec{from: from, to: from + size, at: at}
	// After the cutoff (if the world runs on): the same, on another
	// segment, the morning after the cutoff.
	if g.end > g.cutoff+daySec {
		at := c.mid[c.dayIndex(g.cutoff)+1] + 10*3600 + 30*60
		if at < g.end {
			from := int32(tg.n / 4)
			tg.bulkAfter = bulkSpec{from: from, to: from + size, at: at}
		}
	}
	// Late commits across the cutoff: three accounts inserted seconds
	// before it, committed seconds after; six updated the same way.
	tg.lateCust = map[int32]lateSpec{}
	last := tg.accountsAt(g.cutoff - 1)
	for k := 1; k <= 3 && last-k > 0; k++ {
		i := int32(last - k)
		// Later index, later add: acctAdd stays sorted.
		upd := g.cutoff - int64(3*k) - int64(r.intn(3))
		tg.acctAdd[i] = upd
		tg.lateCust[i] = lateSpec{upd: upd, com: g.cutoff + int64(r.between(3, 30))}
	}
	for k := 0; k < 6; k++ {
		i := int32(r.intn(max(1, last-100)))
		if _, ok := tg.lateCust[i]; ok || tg.goneAt(i) != 0 {
			continue
		}
		tg.lateCust[i] = lateSpec{upd: g.cutoff - int64(r.between(1, 9)), com: g.cutoff + int64(r.between(3, 30))}
	}
	// Tickets: the ticket bulk touches every sold block of the first event
	// starting two days or more after the cutoff; the straddling commits
	// hit a few blocks of the first event on sale at the cutoff.
	tg.ticketBulkEvent, tg.straddleEvent = -1, -1
	for _, e := range tg.ticketEvents {
		ev := &tg.events[e]
		if tg.straddleEvent < 0 && ev.start > g.cutoff+daySec && ev.onsale < g.cutoff-2*daySec {
			tg.straddleEvent = e
			for k := 0; k < 6; k++ {
				tg.straddleBlocks = append(tg.straddleBlocks, r.intn(ev.blocks))
			}
		}
		if tg.ticketBulkEvent < 0 && g.end > g.cutoff+daySec && ev.start > g.cutoff+2*daySec && ev.onsale < g.cutoff {
			at := c.mid[c.dayIndex(g.cutoff)+1] + 11*3600 + 15*60
			if at < g.end && at < ev.start {
				tg.ticketBulkEvent, tg.ticketBulkAt = e, at
			}
		}
	}
}

// --- Merges and ground truth helpers -----------------------------------------

func (g *generator) mergesOf(tg *teamGen) []Merge {
	out := make([]Merge, 0, len(tg.merges))
	for _, m := range tg.merges {
		pt, pi := tg.personOf(m.loser)
		out = append(out, Merge{Team: tg.name, Loser: acctID(m.loser), Winner: acctID(m.winner),
			At: time.Unix(m.at, 0).UTC(), Person: g.personID(pt, pi)})
	}
	return out
}
