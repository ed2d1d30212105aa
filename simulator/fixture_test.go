package simulator_test

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"archtics/schemas"
	"archtics/simulator"
)

// fixture is a small hand-written Source with the awkward cases built in,
// so the server can be tested without the generator: a tie of many rows on
// one timestamp, a late commit, rows committed after the test's clock, a
// deleted key, values that need JSON escaping, and a scan feed with
// redelivered rows.
type fixture struct {
	cutoff  time.Time
	loc     *time.Location
	changes map[string][]simulator.Change // team/table -> sorted by (Updated, Key)
	gone    map[string]time.Time          // team/table/key -> instant the row vanished (a merge)
	scans   map[string][]fixScan          // team/event -> sorted by seq
	events  map[string][]simulator.EventStart
}

type fixScan struct {
	seq   int64
	deliv time.Time
	row   simulator.Row
}

var _ simulator.Source = (*fixture)(nil)

// Fixture instants (UTC). The tie is tieCount rows updated at tieAt.
var (
	fixCutoff  = time.Date(2026, 11, 20, 17, 0, 1, 0, time.UTC) // 12:00:01 New York
	tieAt      = fixCutoff.Add(2 * time.Hour)
	lateUpd    = fixCutoff.Add(90 * time.Minute)  // updated before the tie...
	lateCommit = fixCutoff.Add(150 * time.Minute) // ...committed after it
	futureAt   = fixCutoff.Add(10 * time.Hour)    // committed after the clock of most tests
	goneKey    = "nhl|7|1"
	goneAt     = fixCutoff.Add(3 * time.Hour)
	eventStart = fixCutoff.Add(30 * time.Hour)
	fixEnd     = fixCutoff.Add(48 * time.Hour)
)

const (
	tieCount   = 2500
	fixEventID = 1001
	fixScans   = 3000
)

func newFixture() *fixture {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	f := &fixture{cutoff: fixCutoff, loc: loc, changes: map[string][]simulator.Change{}, gone: map[string]time.Time{},
		scans: map[string][]fixScan{}, events: map[string][]simulator.EventStart{}}
	for _, team := range []string{"nhl", "arena"} {
		var cs []simulator.Change
		add := func(acct, name int, upd, com time.Time, first string) {
			cs = append(cs, f.custChange(team, acct, name, upd, com, first))
		}
		// Steady activity before and after the cutoff, a few per hour.
		for i := 0; i < 200; i++ {
			upd := fixCutoff.Add(time.Duration(i-100) * 7 * time.Minute)
			add(10+i%50, 1+i/50, upd, upd, "Steady")
		}
		// The tie: a batch job touched many accounts within one second.
		for i := 0; i < tieCount; i++ {
			add(1000+i, 1, tieAt, tieAt, "Tie")
		}
		add(7, 1, fixCutoff.Add(time.Hour), fixCutoff.Add(time.Hour), "Merged")
		add(500, 1, lateUpd, lateCommit, "Late")
		add(501, 1, futureAt, futureAt, "Future")
		add(502, 1, fixCutoff.Add(5*time.Hour), fixCutoff.Add(5*time.Hour), `Quote " back \ slash`)
		add(503, 1, fixCutoff.Add(5*time.Hour), fixCutoff.Add(5*time.Hour), "Zoë\tTab\nNewline \x01 ctl \u2028")
		sort.SliceStable(cs, func(a, b int) bool {
			if !cs[a].Updated.Equal(cs[b].Updated) {
				return cs[a].Updated.Before(cs[b].Updated)
			}
			return cs[a].Key < cs[b].Key
		})
		f.changes[team+"/cust"] = cs
		f.changes[team+"/event"] = nil
		f.changes[team+"/ticket"] = nil
		f.changes[team+"/tex"] = nil
		f.gone[team+"/cust/"+team+"|7|1"] = goneAt

		f.events[team] = []simulator.EventStart{
			{EventID: fixEventID, Name: "26NHL1121", Start: eventStart},
			{EventID: fixEventID + 1, Name: "26NHL1125", Start: eventStart.Add(96 * time.Hour)},
		}
		f.scans[team+"/"+strconv.Itoa(fixEventID)] = genScans(team, fixEventID, eventStart, fixScans, loc)
	}
	return f
}

func (f *fixture) custChange(team string, acct, name int, upd, com time.Time, first string) simulator.Change {
	row := make(simulator.Row, len(schemas.Cust.Columns))
	set := func(col, v string) { row[schemas.Cust.ColumnIndex(col)] = v }
	set("team", team)
	set("acct_id", strconv.Itoa(acct))
	set("cust_name_id", strconv.Itoa(name))
	set("primary_code", "Primary")
	set("rec_status", "A")
	set("name_first", first)
	set("name_last", "Acct"+strconv.Itoa(acct))
	set("add_date", fixCutoff.Add(-365*24*time.Hour).In(f.loc).Format(simulator.TimeLayout))
	set("upd_date", upd.In(f.loc).Format(simulator.TimeLayout))
	key := team + "|" + strconv.Itoa(acct) + "|" + strconv.Itoa(name)
	return simulator.Change{Key: key, Updated: upd, Committed: com, Row: row}
}

// genScans builds n feed rows, one scan every ~2 s from 90 min before the
// start, each delivered 20 s after it; every 97th row is redelivered
// (same seq_num, same delivery instant), as the real feed sometimes does.
func genScans(team string, eventID int32, start time.Time, n int, loc *time.Location) []fixScan {
	out := make([]fixScan, 0, n+n/97)
	date := start.In(loc).Format(simulator.DateLayout)
	gates := []string{"North", "South", "East", "West"}
	for i := 0; i < n; i++ {
		at := start.Add(-90*time.Minute + time.Duration(i)*2*time.Second)
		if n > 100000 {
			at = start.Add(-5*time.Hour + time.Duration(i)*time.Second/100)
		}
		row := simulator.Row{team, strconv.Itoa(int(eventID)), "26NHL1121", date,
			strconv.Itoa(100 + i%30), string(rune('A' + i%20)), strconv.Itoa(1 + i%24), strconv.Itoa(100000 + i%7919),
			"S", "0", at.In(loc).Format("15:04:05"), gates[i%4], "M", "GA", "Y", strconv.Itoa(i + 1),
			at.In(loc).Format(simulator.TimeLayout)}
		s := fixScan{seq: int64(i + 1), deliv: at.Add(20 * time.Second), row: row}
		out = append(out, s)
		if i%97 == 96 {
			out = append(out, s)
		}
	}
	return out
}

func (f *fixture) Teams() []string            { return []string{"nhl", "arena"} }
func (f *fixture) Cutoff() time.Time          { return f.cutoff }
func (f *fixture) Location() *time.Location   { return f.loc }
func tk(team string, t *schemas.Table) string { return team + "/" + t.Name }

func (f *fixture) goneBy(team string, t *schemas.Table, key string, asOf time.Time) bool {
	g, ok := f.gone[tk(team, t)+"/"+key]
	return ok && !g.After(asOf)
}

func (f *fixture) Changes(team string, t *schemas.Table, since, asOf time.Time) []simulator.Change {
	var out []simulator.Change
	for _, c := range f.changes[tk(team, t)] {
		if !c.Updated.Before(since) && !c.Committed.After(asOf) && !f.goneBy(team, t, c.Key, asOf) {
			out = append(out, c)
		}
	}
	return out
}

// current returns the newest committed version of every present key.
func (f *fixture) current(team string, t *schemas.Table, asOf time.Time) map[string]simulator.Change {
	cur := map[string]simulator.Change{}
	for _, c := range f.changes[tk(team, t)] {
		if c.Committed.After(asOf) || f.goneBy(team, t, c.Key, asOf) {
			continue
		}
		if old, ok := cur[c.Key]; !ok || !c.Updated.Before(old.Updated) {
			cur[c.Key] = c
		}
	}
	return cur
}

func (f *fixture) Keys(team string, t *schemas.Table, asOf time.Time) []string {
	var out []string
	for k := range f.current(team, t, asOf) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (f *fixture) Lookup(team string, t *schemas.Table, keys []string, asOf time.Time) []simulator.Row {
	cur := f.current(team, t, asOf)
	var out []simulator.Row
	for _, k := range keys {
		if c, ok := cur[k]; ok {
			out = append(out, c.Row)
		}
	}
	return out
}

func (f *fixture) StateAt(team string, t *schemas.Table, asOf time.Time) []simulator.Row {
	return f.Lookup(team, t, f.Keys(team, t, asOf), asOf)
}

func (f *fixture) Scans(team string, eventID int32, afterSeq int64, asOf time.Time, limit int) []simulator.Row {
	ss := f.scans[team+"/"+strconv.Itoa(int(eventID))]
	i := sort.Search(len(ss), func(i int) bool { return ss[i].seq > afterSeq })
	var out []simulator.Row
	for ; i < len(ss) && !ss[i].deliv.After(asOf); i++ {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, ss[i].row)
	}
	return out
}

func (f *fixture) ScanEvents(team string) []simulator.EventStart { return f.events[team] }

// rowsEqual compares rows as the API transports them ("" is NULL).
func rowsEqual(a, b [][]string) (int, bool) {
	for i := 0; i < len(a) && i < len(b); i++ {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return i, false
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b)), false
	}
	return -1, true
}

func changeRows(cs []simulator.Change) [][]string {
	out := make([][]string, len(cs))
	for i, c := range cs {
		out[i] = c.Row
	}
	return out
}

func plainRows(rs []simulator.Row) [][]string {
	out := make([][]string, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}
