package simulator

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"archtics/schemas"
)

// World is a generated client held in memory: every version of every row
// of every team, indexed for the change API and for the truth. It is meant
// for small and medium scales (tests, the demo, the API server); the dump
// at benchmark scale streams from the same generators instead. A World is
// safe for concurrent use.
type World struct {
	cfg   Config
	g     *generator
	teams []string
	wt    map[string]*worldTeam
}

var _ Source = (*World)(nil)

type worldTeam struct {
	tg     *teamGen
	tables map[string]*worldTable

	mu    sync.Mutex
	scans map[int]*eventScans
}

// wver is one version of one row.
type wver struct {
	upd, com int64
	gone     int64 // the key vanishes then (a merge or a delete, deletes.go); 0 never
	row      Row
	acctCol  [2]int8  // columns holding account references, -1 none
	acct     [2]int32 // their account indexes as stored
}

type wgroup struct {
	key        string
	start, end int32 // versions vers[start:end], oldest first
}

type worldTable struct {
	once    sync.Once // build runs on first use (NewWorldLazy) or in NewWorld
	t       *schemas.Table
	team    *teamGen
	vers    []wver
	groups  []wgroup // sorted by key
	byKey   map[string]int32
	changes []int32 // version indexes sorted by (upd, key)
	keyOf   []int32 // version index -> group index
}

// NewWorld generates every team's tables in memory.
func NewWorld(cfg Config) (*World, error) {
	w, err := NewWorldLazy(cfg)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for _, team := range w.teams {
		for _, wt := range w.wt[team].tables {
			wg.Add(1)
			go func() {
				defer wg.Done()
				wt.once.Do(wt.build)
			}()
		}
	}
	wg.Wait()
	return w, nil
}

// NewWorldLazy is NewWorld building each team's table on its first use
// instead of up front: for a world too large to hold whole (the league
// preset's ticket table), used through the scan feed and a few tables.
// Answers are the same as NewWorld's.
func NewWorldLazy(cfg Config) (*World, error) {
	g, err := newGenerator(cfg)
	if err != nil {
		return nil, err
	}
	w := &World{cfg: cfg, g: g, wt: map[string]*worldTeam{}}
	for _, tg := range g.teams {
		w.teams = append(w.teams, tg.name)
		t := &worldTeam{tg: tg, tables: map[string]*worldTable{}, scans: map[int]*eventScans{}}
		w.wt[tg.name] = t
		for _, tab := range schemas.SourceTables {
			t.tables[tab.Name] = &worldTable{t: tab, team: tg}
		}
	}
	return w, nil
}

// Config returns the configuration the world was generated from.
func (w *World) Config() Config { return w.cfg }

// End is the last instant of simulated activity.
func (w *World) End() time.Time { return w.cfg.End() }

// Location is the client's time zone: row timestamps are its wall clock.
func (w *World) Location() *time.Location { return w.g.loc }

func (wt *worldTable) add(key string, vs []wver) {
	wt.groups = append(wt.groups, wgroup{key: key, start: int32(len(wt.vers)), end: int32(len(wt.vers) + len(vs))})
	wt.vers = append(wt.vers, vs...)
}

func (wt *worldTable) build() {
	tg := wt.team
	g := tg.g
	rs := &rowSink{clock: newTSFmt(g.loc), buf: make([]byte, 0, 32)}
	none := [2]int8{-1, -1}
	switch wt.t {
	case schemas.Event:
		for i := range tg.events {
			e := &tg.events[i]
			vs := make([]wver, 0, 1+len(e.upds))
			for v := 0; v <= len(e.upds); v++ {
				tg.emitEvent(rs, e, v)
				u := e.add
				if v > 0 {
					u = e.upds[v-1]
				}
				vs = append(vs, wver{upd: u, com: u, gone: tg.eventGone[i], row: rs.take(), acctCol: none})
			}
			wt.add(tg.name+"|"+strconv.Itoa(int(e.id)), vs)
		}
	case schemas.Cust:
		var buf []custVersion
		for i := int32(0); i < int32(tg.n); i++ {
			buf = tg.genAccount(i, buf)
			for s := 0; s < len(buf); {
				e := s
				for e < len(buf) && buf[e].row.k == buf[s].row.k {
					e++
				}
				vs := make([]wver, 0, e-s)
				for _, cv := range buf[s:e] {
					tg.emitCust(rs, &cv.row)
					vs = append(vs, wver{upd: cv.row.upd, com: cv.com, gone: cv.gone, row: rs.take(), acctCol: none})
				}
				wt.add(custKey(tg.name, i, buf[s].row.custNameID()), vs)
				s = e
			}
		}
	case schemas.Ticket:
		acctCol := int8(schemas.Ticket.ColumnIndex("acct_id"))
		et := &eventTickets{}
		for te := range tg.ticketEvents {
			tg.genTickets(te, et)
			for b := range et.blocks {
				t := &et.blocks[b]
				vs := make([]wver, 0, t.nv)
				for v := 0; v < t.nv; v++ {
					tg.emitTicket(rs, et, t, v, t.buyer)
					vs = append(vs, wver{upd: t.vers[v].upd, com: t.vers[v].com, gone: t.gone, row: rs.take(),
						acctCol: [2]int8{acctCol, -1}, acct: [2]int32{t.buyer, -1}})
				}
				wt.add(ticketKey(tg.name, t.seq), vs)
			}
		}
	case schemas.Tex:
		cols := [2]int8{int8(schemas.Tex.ColumnIndex("owner_acct_id")), int8(schemas.Tex.ColumnIndex("acct_id"))}
		et := &eventTickets{}
		for te := range tg.ticketEvents {
			tg.genTickets(te, et)
			for _, list := range [][]texEnt{et.tex, et.texCancelled} {
				for k := range list {
					x := &list[k]
					tg.emitTex(rs, et, x, x.owner, x.acct)
					wt.add(texKey(tg.name, x.id), []wver{{upd: x.upd, com: x.com, gone: x.gone, row: rs.take(), acctCol: cols, acct: [2]int32{x.owner, x.acct}}})
				}
			}
		}
	case schemas.Attendance:
		et := &eventTickets{}
		for te, ei := range tg.ticketEvents {
			if !tg.postsBy(&tg.events[ei], g.end) {
				continue
			}
			tg.genTickets(te, et)
			ents, posts := tg.attendance(et, g.end)
			for k := range ents {
				x := &ents[k]
				post := posts[x.gate]
				if post > g.end {
					continue // not posted yet when the simulation ends
				}
				tg.emitAttendance(rs, et.ev, x, post, x.acct)
				wt.add(attendanceKey(tg.name, et.ev, x.seq), []wver{{upd: post, com: post, row: rs.take(),
					acctCol: [2]int8{attendanceAcctCol, -1}, acct: [2]int32{x.acct, -1}}})
			}
		}
	}
	sort.Slice(wt.groups, func(a, b int) bool { return wt.groups[a].key < wt.groups[b].key })
	wt.byKey = make(map[string]int32, len(wt.groups))
	wt.keyOf = make([]int32, len(wt.vers))
	for gi, gr := range wt.groups {
		wt.byKey[gr.key] = int32(gi)
		for v := gr.start; v < gr.end; v++ {
			wt.keyOf[v] = int32(gi)
		}
	}
	wt.changes = make([]int32, len(wt.vers))
	for i := range wt.changes {
		wt.changes[i] = int32(i)
	}
	sort.Slice(wt.changes, func(a, b int) bool {
		va, vb := &wt.vers[wt.changes[a]], &wt.vers[wt.changes[b]]
		if va.upd != vb.upd {
			return va.upd < vb.upd
		}
		ka, kb := wt.keyOf[wt.changes[a]], wt.keyOf[wt.changes[b]]
		if ka != kb {
			return wt.groups[ka].key < wt.groups[kb].key
		}
		return wt.changes[a] < wt.changes[b]
	})
}

// secFloor is the newest whole second at or before t; secCeil the oldest at or after.
func secFloor(t time.Time) int64 { return floorDiv(t.UnixNano(), 1e9) }
func secCeil(t time.Time) int64  { return -floorDiv(-t.UnixNano(), 1e9) }

func (w *World) table(team string, t *schemas.Table) *worldTable {
	wt := w.wt[team]
	if wt == nil || t == nil {
		return nil
	}
	tab := wt.tables[t.Name]
	if tab != nil {
		tab.once.Do(tab.build)
	}
	return tab
}

// current returns the index of the version of group gi visible at asOf,
// or -1 if the row is absent then.
func (wt *worldTable) current(gi int32, asOf int64) int32 {
	gr := wt.groups[gi]
	first := &wt.vers[gr.start]
	if first.com > asOf || (first.gone != 0 && first.gone <= asOf) {
		return -1
	}
	for v := gr.end - 1; v >= gr.start; v-- {
		if wt.vers[v].com <= asOf {
			return v
		}
	}
	return -1
}

// rowAt returns version v's row with account references moved by the
// merges done by asOf (Archtics rewrites them without touching upd).
func (wt *worldTable) rowAt(v int32, asOf int64) Row {
	ver := &wt.vers[v]
	row := ver.row
	copied := false
	for k := 0; k < 2; k++ {
		if ver.acctCol[k] < 0 {
			continue
		}
		if r := wt.team.resolve(ver.acct[k], asOf); r != ver.acct[k] {
			if !copied {
				row = append(Row(nil), row...)
				copied = true
			}
			row[ver.acctCol[k]] = strconv.Itoa(int(acctID(r)))
		}
	}
	return row
}

// Teams lists the client's Archtics databases.
func (w *World) Teams() []string { return append([]string(nil), w.teams...) }

// Cutoff is the dump's cutoff instant.
func (w *World) Cutoff() time.Time { return w.cfg.Cutoff }

// Changes: see Source. A deleted key's rows (a merged-away account's
// names, deletes.go) are left out once it is gone (they no longer exist in
// Archtics), and account references in the rows are as of asOf.
func (w *World) Changes(team string, t *schemas.Table, since, asOf time.Time) []Change {
	wt := w.table(team, t)
	if wt == nil {
		return nil
	}
	from, to := secCeil(since), secFloor(asOf)
	i := sort.Search(len(wt.changes), func(i int) bool { return wt.vers[wt.changes[i]].upd >= from })
	var out []Change
	for ; i < len(wt.changes); i++ {
		v := wt.changes[i]
		ver := &wt.vers[v]
		if ver.com > to || (ver.gone != 0 && ver.gone <= to) {
			continue
		}
		out = append(out, Change{Key: wt.groups[wt.keyOf[v]].key, Updated: time.Unix(ver.upd, 0).UTC(),
			Committed: time.Unix(ver.com, 0).UTC(), Row: wt.rowAt(v, to)})
	}
	return out
}

// Keys: see Source.
func (w *World) Keys(team string, t *schemas.Table, asOf time.Time) []string {
	wt := w.table(team, t)
	if wt == nil {
		return nil
	}
	to := secFloor(asOf)
	var out []string
	for gi := range wt.groups {
		if wt.current(int32(gi), to) >= 0 {
			out = append(out, wt.groups[gi].key)
		}
	}
	return out
}

// Lookup: see Source.
func (w *World) Lookup(team string, t *schemas.Table, keys []string, asOf time.Time) []Row {
	wt := w.table(team, t)
	if wt == nil {
		return nil
	}
	to := secFloor(asOf)
	var out []Row
	for _, k := range keys {
		gi, ok := wt.byKey[k]
		if !ok {
			continue
		}
		if v := wt.current(gi, to); v >= 0 {
			out = append(out, wt.rowAt(v, to))
		}
	}
	return out
}

// StateAt: see Source.
func (w *World) StateAt(team string, t *schemas.Table, asOf time.Time) []Row {
	wt := w.table(team, t)
	if wt == nil {
		return nil
	}
	to := secFloor(asOf)
	var out []Row
	for gi := range wt.groups {
		if v := wt.current(int32(gi), to); v >= 0 {
			out = append(out, wt.rowAt(v, to))
		}
	}
	return out
}

// Merges lists every account merge of every team, by team and loser.
func (w *World) Merges() []Merge {
	var out []Merge
	for _, tg := range w.g.teams {
		out = append(out, w.g.mergesOf(tg)...)
	}
	return out
}

// DuplicateClusters returns the people with more than one account, in
// any team: the answer deduplication should find.
func (w *World) DuplicateClusters() []Cluster { return w.g.duplicateClusters() }
