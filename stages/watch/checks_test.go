package watch_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"archtics/internal/dbtest"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/changes"
	"archtics/stages/watch"
)

// referencedAccounts is every account a row of team's dump names in a
// column an account merge moves (changes.AccountRefs).
func referencedAccounts(g *gameDay, team string) map[int32]bool {
	out := map[int32]bool{}
	for _, ref := range changes.AccountRefs {
		i := ref.Table.ColumnIndex(ref.Column)
		for _, r := range g.world.StateAt(team, ref.Table, g.world.Cutoff().Add(-time.Nanosecond)) {
			if n, err := strconv.Atoi(r[i]); err == nil {
				out[int32(n)] = true
			}
		}
	}
	return out
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// checkDelivered compares the keys a receiver accepted, in order, and
// their payloads with the truth's arrivals.
func checkDelivered(t *testing.T, r *receiver, want []truthArrival, keys []string, team string) {
	t.Helper()
	wantKeys := make([]string, len(want))
	for i, a := range want {
		wantKeys[i] = a.key(team)
	}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("%s: the receiver accepted %d keys, the truth has %d arrivals; in order and once each: %v\n%s", team, len(keys), len(wantKeys),
			slices.Equal(keys, wantKeys), dbtest.DiffSets(wantKeys, keys))
		for i := range min(len(keys), len(wantKeys)) {
			if keys[i] != wantKeys[i] {
				t.Errorf("first difference at %d: got %s, want %s", i, keys[i], wantKeys[i])
				break
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.badSig != 0 || r.badKey != 0 {
		t.Errorf("%d requests with a wrong signature, %d with a key not the body's", r.badSig, r.badKey)
	}
	bad := 0
	for _, a := range want {
		p, ok := r.payloads[a.key(team)]
		if !ok {
			continue
		}
		got := fmt.Sprintf("%d|%d|%d|%s|%s|%s|%s|%s", p.EventID, p.AcctID, p.HolderAcctID, p.SectionName, p.RowName, seatText(p.SeatNum), p.Gate, p.ScannedAt)
		exp := fmt.Sprintf("%d|%d|%d|%s|%s|%s|%s|%s", a.event, a.listed, a.holder, a.section, a.row, a.seat, a.gate, a.scanned.UTC().Format(time.RFC3339Nano))
		if got != exp && bad < 5 {
			t.Errorf("%s: payload %s, truth %s", a.key(team), got, exp)
			bad++
		}
	}
}

func seatText(p *int32) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(int(*p))
}

// checkPasses checks arrivals delivered pass by pass: every one once, in
// the pass after the first tick at or after its delivery by the feed,
// and each pass in scan order.
func checkPasses(t *testing.T, r *receiver, want []truthArrival, day time.Time, team string) {
	t.Helper()
	passOf := func(a truthArrival) int {
		d := a.delivered.Sub(day)
		if d <= 0 {
			return 0
		}
		i := int(d / tickStep)
		if d%tickStep != 0 {
			i++
		}
		return i
	}
	ordered := slices.Clone(want)
	slices.SortStableFunc(ordered, func(a, b truthArrival) int { return passOf(a) - passOf(b) })
	keys, repeats, _ := r.snapshot()
	checkDelivered(t, r, ordered, keys, team)
	if len(repeats) != 0 {
		t.Errorf("%s: repeated %v", team, repeats)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	wrong := 0
	for _, a := range want {
		if got, ok := r.passOf[a.key(team)]; ok && got != passOf(a) {
			if wrong < 5 {
				t.Errorf("%s: %s delivered after tick %d, the feed delivered it by tick %d", team, a.key(team), got, passOf(a))
			}
			wrong++
		}
	}
	if n := passOf(want[len(want)-1]); n == passOf(want[0]) {
		t.Errorf("%s: every arrival falls in one pass: the test does not exercise several", team)
	}
}

// checkWatchArrivals compares archtics.watch_arrivals with the truth: per
// event with stored scans and listed account, the account's holder
// (merges followed), whether it arrived, its earliest scan (client's
// zone), that scan's gate and its distinct seats.
func checkWatchArrivals(t *testing.T, g *gameDay, team string, entries []watch.Entry, scans []truthScan, winner func(int32) int32) {
	t.Helper()
	loc := g.world.Location()
	type first struct {
		at    time.Time
		seq   int64
		gate  string
		seats map[string]bool
	}
	firsts := map[string]*first{} // event|holder
	events := map[int32]time.Time{}
	for _, s := range scans {
		events[s.event] = s.start
		k := fmt.Sprintf("%d|%d", s.event, s.holder)
		f := firsts[k]
		if f == nil {
			f = &first{at: s.scanned, seq: s.seq, gate: s.gate, seats: map[string]bool{}}
			firsts[k] = f
		} else if s.scanned.Before(f.at) || s.scanned.Equal(f.at) && s.seq < f.seq {
			f.at, f.seq, f.gate = s.scanned, s.seq, s.gate
		}
		if s.seat != "" {
			f.seats[s.section+"|"+s.row+"|"+s.seat] = true
		}
	}
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	var want, wantChicago []string
	arrived, mergedArrived := 0, 0
	for e, start := range events {
		for _, en := range entries {
			h := winner(en.AcctID)
			row := fmt.Sprintf("%d|%s|%d|%s|%d", e, start.In(loc).Format(time.DateTime), en.AcctID, en.Label, h)
			rowChicago := fmt.Sprintf("%d|%s|%d|%s|%d", e, start.In(chicago).Format(time.DateTime), en.AcctID, en.Label, h)
			if f := firsts[fmt.Sprintf("%d|%d", e, h)]; f != nil {
				row += fmt.Sprintf("|true|%s|%s|%d", f.at.In(loc).Format(time.DateTime), f.gate, len(f.seats))
				rowChicago += fmt.Sprintf("|true|%s|%s|%d", f.at.In(chicago).Format(time.DateTime), f.gate, len(f.seats))
				arrived++
				if h != en.AcctID {
					mergedArrived++
				}
			} else {
				row += "|false|||0"
				rowChicago += "|false|||0"
			}
			want, wantChicago = append(want, row), append(wantChicago, rowChicago)
		}
	}
	db, err := views.OpenDuckDB(context.Background(), "", g.w.Log, g.cache, schemas.WatchArrivals)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `SELECT concat_ws('|', event_id, strftime(event_time, '%Y-%m-%d %H:%M:%S'), acct_id, label, holder_acct_id,
  arrived, coalesce(strftime(first_scan_time, '%Y-%m-%d %H:%M:%S'), ''), coalesce(gate, ''), seats_scanned)
FROM archtics.watch_arrivals WHERE team = ?`
	got := dbtest.Strings(t, db, q, team)
	if diff := dbtest.DiffSets(want, got); diff != "" {
		t.Errorf("%s: archtics.watch_arrivals differs from the truth (%d want, %d got):\n%s", team, len(want), len(got), diff)
	}
	// The session's preferred time zone converts the times, as in
	// archtics.attendance_realtime_v.
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "SET VARIABLE "+schemas.PreferredTimeZoneVariable+" = 'America/Chicago'"); err != nil {
		t.Fatal(err)
	}
	if diff := dbtest.DiffSets(wantChicago, dbtest.Strings(t, conn, q, team)); diff != "" {
		t.Errorf("%s: archtics.watch_arrivals in America/Chicago differs from the truth:\n%s", team, diff)
	}
	merged := 0
	for _, en := range entries {
		if winner(en.AcctID) != en.AcctID {
			merged++
		}
	}
	if arrived == 0 || arrived == len(want) || mergedArrived == 0 {
		t.Errorf("%s: of %d rows %d arrived, %d of them by a listed account merged away: the day must have arrivals, absences and a merged arrival",
			team, len(want), arrived, mergedArrived)
	}
	t.Logf("%s: %d rows over %d events, %d arrived, %d of them by one of the %d listed accounts merged away", team, len(want), len(events), arrived, mergedArrived, merged)
}
