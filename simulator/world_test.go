package simulator

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"archtics/internal/wallclock"
	"archtics/schemas"
)

var (
	smallOnce  sync.Once
	smallWorld *World
	smallErr   error
)

// small returns the SmallConfig world, built once for all tests.
func small(t *testing.T) *World {
	t.Helper()
	smallOnce.Do(func() { smallWorld, smallErr = NewWorld(SmallConfig()) })
	if smallErr != nil {
		t.Fatal(smallErr)
	}
	return smallWorld
}

func col(t *schemas.Table, name string) int {
	i := t.ColumnIndex(name)
	if i < 0 {
		panic("no column " + name)
	}
	return i
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"ok", func(*Config) {}, ""},
		{"no teams", func(c *Config) { c.Teams = nil }, "no teams"},
		{"bad team name", func(c *Config) { c.Teams = []TeamSpec{{Name: "NHL Team", Kind: KindHockey}} }, "team name"},
		{"twice", func(c *Config) { c.Teams = []TeamSpec{{"a", KindHockey}, {"a", KindArena}} }, "listed twice"},
		{"kind", func(c *Config) { c.Teams = []TeamSpec{{"a", "soccer"}} }, "kind"},
		{"accounts", func(c *Config) { c.Accounts = 10 }, "accounts"},
		{"attendance", func(c *Config) { c.AttendanceRate = 1.5 }, "attendance"},
		{"zone", func(c *Config) { c.TimeZone = "Mars/Olympus" }, "time zone"},
		{"cutoff", func(c *Config) { c.Cutoff = time.Time{} }, "cutoff"},
		{"history", func(c *Config) { c.HistoryStart = c.Cutoff }, "history start"},
		{"part rows", func(c *Config) { c.PartRows = 5 }, "part rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := SmallConfig()
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
	for _, s := range []string{"small", "default", "bench", "league"} {
		c, err := Scale(s)
		if err != nil || c.Validate() != nil {
			t.Errorf("scale %s: %v %v", s, err, c.Validate())
		}
	}
	teams, err := ParseTeams("nhl,arena,ahl:hockey")
	want := []TeamSpec{{"nhl", KindHockey}, {"arena", KindArena}, {"ahl", KindHockey}}
	if err != nil || !reflect.DeepEqual(teams, want) {
		t.Errorf("ParseTeams: %v %v", teams, err)
	}
}

func TestSameSeedSameWorld(t *testing.T) {
	a := small(t)
	b, err := NewWorld(SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	end := a.End()
	for _, tab := range schemas.SourceTables {
		if !reflect.DeepEqual(a.Changes("arena", tab, time.Time{}, end), b.Changes("arena", tab, time.Time{}, end)) {
			t.Errorf("%s: same seed, different changes", tab.Name)
		}
	}
}

func TestChangesOrderedAndCommitted(t *testing.T) {
	w := small(t)
	asOf := w.Cutoff().Add(3 * 24 * time.Hour)
	for _, team := range w.Teams() {
		for _, tab := range schemas.SourceTables {
			ch := w.Changes(team, tab, w.Cutoff().Add(-30*24*time.Hour), asOf)
			if len(ch) == 0 {
				t.Errorf("%s/%s: no changes in the month around the cutoff", team, tab.Name)
			}
			updCol := col(tab, tab.UpdatedAt)
			for i, c := range ch {
				if c.Committed.After(asOf) {
					t.Fatalf("%s/%s: change committed %v after asOf %v", team, tab.Name, c.Committed, asOf)
				}
				if c.Committed.Before(c.Updated) {
					t.Fatalf("%s/%s: committed before updated: %+v", team, tab.Name, c)
				}
				if got := c.Row[updCol]; got != c.Updated.In(w.Location()).Format(TimeLayout) {
					t.Fatalf("%s/%s: row %s = %q, Updated %v", team, tab.Name, tab.UpdatedAt, got, c.Updated)
				}
				if i > 0 {
					p := ch[i-1]
					if c.Updated.Before(p.Updated) || c.Updated.Equal(p.Updated) && c.Key < p.Key {
						t.Fatalf("%s/%s: not ordered by (Updated, Key) at %d", team, tab.Name, i)
					}
				}
			}
		}
	}
}

// TestLateCommitsAcrossCutoff: versions updated before the cutoff and
// committed after it exist, are not in the dump, and a pull that starts
// exactly at the cutoff does not see them.
func TestLateCommitsAcrossCutoff(t *testing.T) {
	w := small(t)
	cut := w.Cutoff()
	for _, team := range w.Teams() {
		for _, tab := range []*schemas.Table{schemas.Cust, schemas.Ticket} {
			all := w.Changes(team, tab, cut.Add(-time.Hour), w.End())
			var late []Change
			for _, c := range all {
				if c.Updated.Before(cut) && !c.Committed.Before(cut) {
					late = append(late, c)
				}
			}
			if len(late) < 3 {
				t.Errorf("%s/%s: %d versions straddle the cutoff, want several", team, tab.Name, len(late))
				continue
			}
			dump := map[string]Row{}
			keyCols := keyColumns(tab)
			for _, r := range w.StateAt(team, tab, cut.Add(-time.Nanosecond)) {
				dump[rowKey(r, keyCols)] = r
			}
			naive := map[string]bool{}
			for _, c := range w.Changes(team, tab, cut, w.End()) {
				naive[c.Key+"@"+c.Updated.String()] = true
			}
			inserts := 0
			for _, c := range late {
				if r, ok := dump[c.Key]; ok && reflect.DeepEqual(r, c.Row) {
					t.Errorf("%s/%s: late-committed version of %s is in the dump", team, tab.Name, c.Key)
				}
				if _, ok := dump[c.Key]; !ok {
					inserts++
				}
				if naive[c.Key+"@"+c.Updated.String()] {
					t.Errorf("%s/%s: Changes(since=cutoff) returned a version updated before the cutoff", team, tab.Name)
				}
			}
			if tab == schemas.Cust && inserts == 0 {
				t.Errorf("%s/cust: no late-committed insert (a key absent from the dump)", team)
			}
		}
	}
}

func keyColumns(t *schemas.Table) []int {
	var out []int
	for _, k := range t.Key {
		out = append(out, t.ColumnIndex(k))
	}
	return out
}

func rowKey(r Row, cols []int) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = r[c]
	}
	return strings.Join(parts, "|")
}

func TestKeysMatchRows(t *testing.T) {
	w := small(t)
	at := w.Cutoff().Add(48 * time.Hour)
	for _, tab := range schemas.SourceTables {
		keys := w.Keys("nhl", tab, at)
		rows := w.StateAt("nhl", tab, at)
		if len(keys) != len(rows) {
			t.Fatalf("%s: %d keys, %d rows", tab.Name, len(keys), len(rows))
		}
		if !sort.StringsAreSorted(keys) {
			t.Errorf("%s: keys not sorted", tab.Name)
		}
		cols := keyColumns(tab)
		for i := range keys {
			if rowKey(rows[i], cols) != keys[i] {
				t.Fatalf("%s: key %q, row %q", tab.Name, keys[i], rowKey(rows[i], cols))
			}
		}
		got := w.Lookup("nhl", tab, append([]string{"nhl|0|0", "nope"}, keys[:3]...), at)
		if !reflect.DeepEqual(got, rows[:3]) {
			t.Errorf("%s: Lookup does not return the StateAt rows", tab.Name)
		}
	}
}

// TestBulkTies: hundreds of rows share one upd_date, before and after the cutoff.
func TestBulkTies(t *testing.T) {
	w := small(t)
	for _, team := range w.Teams() {
		count := map[time.Time]int{}
		for _, c := range w.Changes(team, schemas.Cust, time.Time{}, w.End()) {
			count[c.Updated]++
		}
		var before, after int
		for ts, n := range count {
			if ts.Before(w.Cutoff()) {
				before = max(before, n)
			} else {
				after = max(after, n)
			}
		}
		if before < 500 || after < 500 {
			t.Errorf("%s/cust: largest tie %d rows before the cutoff, %d after; want >= 500 each", team, before, after)
		}
	}
	// Tickets: the re-issue of an event.
	count := map[time.Time]int{}
	for _, c := range w.Changes("nhl", schemas.Ticket, w.Cutoff(), w.End()) {
		count[c.Updated]++
	}
	big := 0
	for _, n := range count {
		big = max(big, n)
	}
	if big < 100 {
		t.Errorf("nhl/ticket: largest tie after the cutoff %d rows, want a whole event's", big)
	}
}

// TestMerges: merges exist on both sides of the cutoff; after one the
// loser's names vanish, its tickets point at the winner without a new
// upd_datetime, and the winner's primary name gets one.
func TestMerges(t *testing.T) {
	w := small(t)
	merges := w.Merges()
	var before, after []Merge
	for _, m := range merges {
		if m.At.Before(w.Cutoff()) {
			before = append(before, m)
		} else {
			after = append(after, m)
		}
	}
	if len(before) == 0 || len(after) == 0 {
		t.Fatalf("%d merges before the cutoff, %d after: want both", len(before), len(after))
	}
	acctCol := col(schemas.Ticket, "acct_id")
	moved := 0
	for _, m := range after {
		loser, winner := strconv.Itoa(int(m.Loser)), strconv.Itoa(int(m.Winner))
		pre, post := m.At.Add(-time.Second), m.At
		has := func(keys []string, acct string) bool {
			for _, k := range keys {
				if strings.HasPrefix(k, m.Team+"|"+acct+"|") {
					return true
				}
			}
			return false
		}
		if !has(w.Keys(m.Team, schemas.Cust, pre), loser) || has(w.Keys(m.Team, schemas.Cust, post), loser) {
			t.Errorf("merge %+v: loser's names should exist just before and vanish at the merge", m)
		}
		if !has(w.Keys(m.Team, schemas.Cust, post), winner) {
			t.Errorf("merge %+v: winner vanished", m)
		}
		// The winner's bump is the only trace in the change API.
		bump := false
		for _, c := range w.Changes(m.Team, schemas.Cust, m.At, post) {
			if c.Updated.Equal(m.At) && strings.HasPrefix(c.Key, m.Team+"|"+winner+"|") {
				bump = true
			}
		}
		if !bump {
			t.Errorf("merge %+v: no upd bump of the winner's primary name", m)
		}
		// Tickets bought by the loser now show the winner, same upd.
		preRows := w.StateAt(m.Team, schemas.Ticket, pre)
		postRows := w.StateAt(m.Team, schemas.Ticket, post)
		postByKey := map[string]Row{}
		for _, r := range postRows {
			postByKey[r[1]] = r
		}
		for _, r := range preRows {
			if r[acctCol] != loser {
				continue
			}
			p := postByKey[r[1]]
			updCol := col(schemas.Ticket, "upd_datetime")
			if p[acctCol] != winner || p[updCol] != r[updCol] {
				t.Errorf("merge %+v: ticket %s: acct %s -> %s, upd %s -> %s", m, r[1], r[acctCol], p[acctCol], r[updCol], p[updCol])
			}
			moved++
		}
		// No change reports the moved tickets.
		for _, c := range w.Changes(m.Team, schemas.Ticket, m.At, post) {
			if c.Row[acctCol] == winner && c.Updated.Equal(m.At) {
				t.Errorf("merge %+v: a ticket change announces the merge", m)
			}
		}
	}
	if moved == 0 {
		t.Errorf("no ticket was moved by a merge after the cutoff")
	}
	// Merged away before the cutoff: absent from the dump state entirely.
	dumpKeys := w.Keys(before[0].Team, schemas.Cust, w.Cutoff().Add(-time.Nanosecond))
	for _, k := range dumpKeys {
		if strings.HasPrefix(k, before[0].Team+"|"+strconv.Itoa(int(before[0].Loser))+"|") {
			t.Errorf("account %d merged before the cutoff is in the dump", before[0].Loser)
		}
	}
}

func TestDuplicateClusters(t *testing.T) {
	w := small(t)
	clusters := w.DuplicateClusters()
	if len(clusters) < 50 {
		t.Fatalf("%d duplicate clusters, want many", len(clusters))
	}
	variants := map[string]int{}
	cross := 0
	for _, c := range clusters {
		teams := map[string]bool{}
		for _, m := range c.Members {
			variants[m.Variant]++
			teams[m.Team] = true
		}
		if len(teams) > 1 {
			cross++
		}
		if len(c.Members) < 2 || c.Members[0].Variant != "original" {
			t.Errorf("cluster %s: %+v", c.Person, c.Members)
		}
	}
	if cross == 0 {
		t.Errorf("no person holds accounts in two teams")
	}
	for _, v := range variantNames {
		if variants[v] == 0 {
			t.Errorf("no duplicate of variant %s", v)
		}
	}
	// Gabriel Tremblay: one person, an old TryNowDo Ltd account and a
	// newer Sporting Service Solutions Inc one.
	state := w.StateAt("nhl", schemas.Cust, w.End())
	company := map[string]string{}
	name := map[string]string{}
	for _, r := range state {
		if r[col(schemas.Cust, "primary_code")] == "Primary" {
			company[r[1]] = r[col(schemas.Cust, "company_name")]
			name[r[1]] = r[col(schemas.Cust, "name_first")] + " " + r[col(schemas.Cust, "name_last")]
		}
	}
	found := false
	for _, c := range clusters {
		cos := map[string]bool{}
		for _, m := range c.Members {
			a := strconv.Itoa(int(m.AcctID))
			if m.Team == "nhl" && name[a] == "Gabriel Tremblay" {
				cos[company[a]] = true
			}
		}
		if cos["TryNowDo Ltd"] && cos["Sporting Service Solutions Inc"] {
			found = true
		}
	}
	if !found {
		t.Errorf("no cluster holds Gabriel Tremblay's TryNowDo Ltd and Sporting Service Solutions Inc accounts")
	}
	contacts, accounts := w.CRM()
	if len(contacts) == 0 || len(accounts) == 0 {
		t.Fatal("empty CRM")
	}
	if c := contacts[0]; c.First != "Gabriel" || c.Last != "Tremblay" {
		t.Errorf("first CRM contact %+v, want Gabriel Tremblay", c)
	}
	kinds := map[string]int{}
	for _, c := range contacts {
		kinds[c.Story]++
	}
	for _, k := range crmStoryNames {
		if kinds[k] == 0 {
			t.Errorf("no CRM contact of kind %s", k)
		}
	}
}

// TestScans: the accepted scans are of sold, active seats, by the holder
// after exchange activity; the share of rows to filter out is sane.
func TestScans(t *testing.T) {
	w := small(t)
	final := map[string]string{} // team|loser -> winner, all merges done
	for _, m := range w.Merges() {
		final[m.Team+"|"+strconv.Itoa(int(m.Loser))] = strconv.Itoa(int(m.Winner))
	}
	resolve := func(team, acct string) string {
		if wnr, ok := final[team+"|"+acct]; ok {
			return wnr
		}
		return acct
	}
	type block struct {
		section, row string
		seat, last   int
		acct         string
	}
	type tex struct {
		block
		upd time.Time
	}
	codes := map[string]int{}
	var total, accepted, redelivered int
	for _, team := range w.Teams() {
		events := w.ScanEvents(team)
		if len(events) < 3 {
			t.Fatalf("%s: %d feed events", team, len(events))
		}
		tc := schemas.Ticket
		blocks := map[string][]block{}
		for _, r := range w.StateAt(team, tc, w.End()) {
			if r[col(tc, "ticket_status")] != "A" {
				continue
			}
			s, _ := strconv.Atoi(r[col(tc, "seat_num")])
			l, _ := strconv.Atoi(r[col(tc, "last_seat")])
			ev := r[col(tc, "event_id")]
			blocks[ev] = append(blocks[ev], block{r[col(tc, "section_name")], r[col(tc, "row_name")], s, l, r[col(tc, "acct_id")]})
		}
		tx := schemas.Tex
		texes := map[string][]tex{}
		for _, r := range w.StateAt(team, tx, w.End()) {
			s, _ := strconv.Atoi(r[col(tx, "seat_num")])
			l, _ := strconv.Atoi(r[col(tx, "last_seat")])
			upd, _ := time.ParseInLocation(TimeLayout, r[col(tx, "upd_datetime")], w.Location())
			ev := r[col(tx, "event_id")]
			texes[ev] = append(texes[ev], tex{block{r[col(tx, "section_name")], r[col(tx, "row_name")], s, l, r[col(tx, "acct_id")]}, upd})
		}
		sc := schemas.Scan
		for _, e := range events {
			ev := strconv.Itoa(int(e.EventID))
			rows := w.Scans(team, e.EventID, 0, w.End().Add(24*time.Hour), 0)
			// Before the window opens the feed holds only staff and
			// early-access entries.
			early := w.Scans(team, e.EventID, 0, e.Start.Add(-5*time.Hour), 0)
			if len(early) == 0 {
				t.Errorf("%s: no scan delivered before the window opens", e.Name)
			}
			for _, r := range early {
				if r[col(sc, "scan_type")] != "S" || r[col(sc, "result_code")] != "0" {
					t.Errorf("%s: %v delivered before the window opens is not an accepted entry", e.Name, r)
				}
			}
			// ScanInstant (how downstream derives ticket_scan_time) gives
			// every row's true instant, after midnight and the next
			// morning too; in a repeated hour it may pick the other pass.
			es := w.eventScans(team, e.EventID)
			for k, r := range es.rows(0, len(es.ents)) {
				got, err := w.ScanInstant(r)
				if err != nil {
					t.Fatal(err)
				}
				if want := time.Unix(es.ents[k].action, 0); !got.Equal(want) {
					naive, _ := time.Parse(TimeLayout, r[col(sc, "upd_datetime")])
					if len(wallclock.Instants(naive, w.Location())) < 2 || got.Sub(want).Abs() != time.Hour {
						t.Fatalf("%s: ScanInstant %v, true instant %v (row %v)", e.Name, got, want, r)
					}
				}
			}
			if mid := w.Scans(team, e.EventID, 0, e.Start, 0); len(mid) == 0 || len(mid) >= len(rows) {
				t.Errorf("%s: %d of %d scans delivered by the start: the feed should be filling", e.Name, len(mid), len(rows))
			}
			if page := w.Scans(team, e.EventID, 0, w.End(), 10); len(page) != 10 {
				t.Errorf("%s: limit 10 gave %d rows", e.Name, len(page))
			}
			var prevSeq int64
			var prev Row
			for _, r := range rows {
				total++
				seq, _ := strconv.ParseInt(r[col(sc, "seq_num")], 10, 64)
				if seq < prevSeq {
					t.Fatalf("%s: seq_num going down", e.Name)
				}
				if seq == prevSeq {
					if !reflect.DeepEqual(r, prev) {
						t.Fatalf("%s: seq_num %d repeated with different content", e.Name, seq)
					}
					redelivered++
					continue
				}
				prevSeq, prev = seq, r
				st, rc := r[col(sc, "scan_type")], r[col(sc, "result_code")]
				codes[st+"/"+rc]++
				if st != "S" || rc != "0" {
					continue
				}
				accepted++
				at, err := w.ScanInstant(r)
				if err != nil {
					t.Fatal(err)
				}
				if at.Before(e.Start.Add(-7*time.Hour)) || at.After(e.Start.Add(24*time.Hour)) {
					t.Errorf("%s: entry scan at %v, start %v", e.Name, at, e.Start)
				}
				if r[col(sc, "seat_num")] == "" {
					// A staff credential: no seat, no account.
					if r[col(sc, "access_type")] != "STAFF" || r[col(sc, "acct_id")] != "" {
						t.Errorf("%s: entry without a seat is not a staff credential: %v", e.Name, r)
					}
					continue
				}
				seat, _ := strconv.Atoi(r[col(sc, "seat_num")])
				sec, row := r[col(sc, "section_name")], r[col(sc, "row_name")]
				var holder string
				for _, b := range blocks[ev] {
					if b.section == sec && b.row == row && seat >= b.seat && seat <= b.last {
						holder = b.acct
					}
				}
				if holder == "" {
					t.Fatalf("%s: scan of %s/%s/%d: no sold active block holds that seat", e.Name, sec, row, seat)
				}
				ambiguous := false
				for _, x := range texes[ev] {
					if x.section == sec && x.row == row && seat >= x.seat && seat <= x.last {
						if d := at.Sub(x.upd); d > -5*time.Minute && d < 5*time.Minute {
							ambiguous = true // committed around the scan: either holder is right
						}
						if !x.upd.After(at) {
							holder = x.acct
						}
					}
				}
				if got := r[col(sc, "acct_id")]; !ambiguous && resolve(team, got) != resolve(team, holder) {
					t.Errorf("%s: scan of %s/%s/%d by acct %s, holder is %s", e.Name, sec, row, seat, got, holder)
				}
			}
		}
	}
	rejected := float64(total-accepted) / float64(total)
	t.Logf("%d feed rows, %d accepted, %d redelivered, codes %v", total, accepted, redelivered, codes)
	if rejected < 0.04 || rejected > 0.25 {
		t.Errorf("%.1f%% of feed rows are to be filtered out, want 4%%..25%%", 100*rejected)
	}
	for _, k := range []string{"X/0", "R/0", "M/0", "S/14", "S/21", "S/3"} {
		if codes[k] == 0 {
			t.Errorf("no scan of type/result %s", k)
		}
	}
	if redelivered == 0 {
		t.Errorf("no redelivered scan")
	}
	// TrueScans is the accepted set, once each.
	n := 0
	for _, team := range w.Teams() {
		n += len(w.TrueScans(team, w.Cutoff().AddDate(-10, 0, 0), w.End().Add(24*time.Hour)))
	}
	if n != accepted {
		t.Errorf("TrueScans gave %d rows, the feed has %d accepted", n, accepted)
	}
}

// TestRealtimeEvents: the feed has events around the cutoff, one on the
// cutoff day starting after it, and none of the non-realtime categories.
func TestRealtimeEvents(t *testing.T) {
	w := small(t)
	cut := w.Cutoff()
	for _, team := range w.Teams() {
		onDay := false
		for _, e := range w.ScanEvents(team) {
			if e.Start.After(cut) && e.Start.Sub(cut) < 12*time.Hour {
				onDay = true
			}
		}
		if team == "nhl" && !onDay {
			t.Errorf("%s: no game on the cutoff day after the cutoff", team)
		}
		ev := schemas.Event
		for _, r := range w.StateAt(team, ev, w.End()) {
			id, _ := strconv.Atoi(r[1])
			if r[col(ev, "major_category")] == "PARKING" && len(w.Scans(team, int32(id), 0, w.End(), 0)) > 0 {
				t.Errorf("%s: parking event %s has scans", team, r[2])
			}
		}
	}
}
