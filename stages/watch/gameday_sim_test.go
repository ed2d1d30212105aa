package watch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"archtics/internal/dbtest"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/changes"
	"archtics/stages/watch"
	"archtics/storage/storagetest"
)

// testSecretEnv names the variable the tests' webhooks sign with.
const testSecretEnv = "ARCHTICS_WATCH_TEST_SECRET"

// deliverOptions are the tests' delivery options: no waits between
// attempts, a client timeout long enough that only the receiver's
// deliberate hang times out, the secret from a map.
func deliverOptions(g *gameDay, secret string) watch.DeliverOptions {
	return watch.DeliverOptions{
		Client: &http.Client{Timeout: 2 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Attempts: 8,
		Sleep:    func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Getenv: func(name string) string {
			if name == testSecretEnv {
				return secret
			}
			return ""
		},
		CacheDir: g.cache,
		Logger:   quietLogger,
	}
}

// chooseList picks the watch list: in account order, holders of scans
// until their arrivals reach want, skipping the accounts in skip; each
// with a label, one of which is SQL.
func chooseList(scans []truthScan, want int, skip map[int32]bool) []watch.Entry {
	seats := map[int32]map[string]bool{}
	for _, s := range scans {
		if seats[s.holder] == nil {
			seats[s.holder] = map[string]bool{}
		}
		seats[s.holder][fmt.Sprintf("%d|%s|%s|%s", s.event, s.section, s.row, s.seat)] = true
	}
	var holders []int32
	for h := range seats {
		holders = append(holders, h)
	}
	slices.Sort(holders)
	var out []watch.Entry
	n := 0
	for _, h := range holders {
		if n >= want {
			break
		}
		if skip[h] {
			continue
		}
		label := []string{"VIP", "Season", "Sponsor X guests", "'); DROP TABLE korebi.watch_list; --"}[len(out)%4]
		out = append(out, watch.Entry{AcctID: h, Label: label, Note: "note of " + strconv.Itoa(int(h))})
		n += len(seats[h])
	}
	return out
}

// listedHolders maps each holder the list watches to the account the
// list names for it: the entry's account followed through the merges;
// of two entries merged into one account, the one the scans name, else
// the lowest.
func listedHolders(entries []watch.Entry, winner func(int32) int32) map[int32]int32 {
	out := map[int32]int32{}
	for _, e := range entries {
		h := winner(e.AcctID)
		cur, ok := out[h]
		switch {
		case !ok, e.AcctID == h, cur != h && e.AcctID < cur:
			out[h] = e.AcctID
		}
	}
	return out
}

// TestWatchOnGameDay runs the watch list over the doubleheader's day,
// both teams ticked every 30 minutes through the simulator's feed, and
// compares with the truth:
//   - arena: its list and webhook set before the day, a delivery after
//     each of its ticks (the receiver failing one call in seven): every
//     arrival delivered once, in the pass after the tick that stored it,
//     each pass in scan order;
//   - nhl, after the day and a pull of the clone (account merges known):
//     archtics.watch_arrivals equals the truth, merged-away accounts on
//     the list included; a single pass of at least 1,000 arrivals with
//     the receiver failing one call in ten delivers each exactly once, in
//     order; stopped mid-delivery and rerun, nothing is lost and only the
//     request in flight is repeated; two passes at once, the second wins
//     and the first fails with a commit conflict.
func TestWatchOnGameDay(t *testing.T) {
	ctx := context.Background()
	// More tickets per game than the small world's, for one team's day
	// to hold over 1,000 arrivals.
	cfg := simulator.SmallConfig()
	cfg.TicketsPerEvent = 250
	g := newGameDay(t, cfg, "")
	day, end := gameDayBounds(g)
	cutoff := g.world.Cutoff()

	// arena: the list is set before the day.
	arenaScans := truthScans(t, g, "arena", day, end, cutoff)
	arenaList := chooseList(arenaScans, 300, nil)
	arenaWant := truthArrivals(arenaScans, listedHolders(arenaList, finalWinners(g.world, "arena", cutoff)))
	recvA := newReceiver("", 7)
	srvA := httptest.NewServer(recvA)
	t.Cleanup(srvA.Close)
	if _, _, err := watch.Apply(ctx, g.w, "arena", watch.Change{Replace: true, Entries: arenaList, Webhook: &watch.Webhook{URL: srvA.URL + "/arrivals"}},
		watch.SetOptions{By: "test"}, g.cache); err != nil {
		t.Fatal(err)
	}
	passes := 0
	tickDay(t, g, day, end, func(team string, at time.Time, i int) {
		if team != "arena" {
			return
		}
		recvA.mu.Lock()
		recvA.pass = i
		recvA.mu.Unlock()
		if _, err := watch.Deliver(ctx, g.w, "arena", deliverOptions(g, "")); err != nil {
			t.Fatalf("arena delivery after the tick at %s: %v", at, err)
		}
		passes++
	})
	t.Run("arena: a pass after each tick", func(t *testing.T) {
		checkPasses(t, recvA, arenaWant, day, "arena")
		t.Logf("arena: %d arrivals over %d passes, %d calls (failures %v)", len(arenaWant), passes, recvA.calls, recvA.failures)
	})

	pulled := end.Add(time.Hour)
	pullClone(t, g, pulled)
	winner := finalWinners(g.world, "nhl", pulled)
	nhlScans := truthScans(t, g, "nhl", day, end, pulled)
	// The accounts merged away since the cutoff go on the list by their
	// old id, their winners not: those whose rows in the dump show the
	// winner once moved (a loser the clone holds no reference of cannot
	// be told from a deleted account, by the clone or anyone).
	skip := map[int32]bool{}
	var entries []watch.Entry
	referenced := referencedAccounts(g, "nhl")
	for _, m := range g.world.Merges() {
		if m.Team == "nhl" && m.At.After(cutoff) && !m.At.After(pulled) && referenced[m.Loser] {
			entries = append(entries, watch.Entry{AcctID: m.Loser, Label: "Merged"})
			skip[winner(m.Loser)], skip[m.Loser] = true, true
		}
	}
	if len(entries) == 0 {
		t.Fatal("no account of nhl merged between the cutoff and the pull: the test cannot exercise a merge")
	}
	entries = append(entries, chooseList(nhlScans, 1000, skip)...)
	// And accounts holding seats of the day's games that did not come.
	scanned := map[int32]bool{}
	for _, s := range nhlScans {
		scanned[s.holder] = true
	}
	events := map[int32]bool{}
	for _, s := range nhlScans {
		events[s.event] = true
	}
	listedIDs := map[int32]bool{}
	for _, e := range entries {
		listedIDs[e.AcctID] = true
	}
	absent := 0
	for _, h := range g.world.SeatHolders("nhl", end) {
		if absent < 10 && events[h.EventID] && !scanned[winner(h.Acct)] && !skip[h.Acct] && !listedIDs[h.Acct] {
			entries = append(entries, watch.Entry{AcctID: h.Acct, Label: "Season"})
			listedIDs[h.Acct] = true
			absent++
		}
	}
	listed := listedHolders(entries, winner)
	nhlWant := truthArrivals(nhlScans, listed)
	if len(nhlWant) < 1000 {
		t.Fatalf("the list watches %d arrivals, the test wants 1,000 or more", len(nhlWant))
	}

	recv := newReceiver("s3cr3t", 10)
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	hook := &watch.Webhook{URL: srv.URL + "/hooks/T0123/B0456/tokenXYZ?sig=abc", SecretEnv: testSecretEnv}
	if _, _, err := watch.Apply(ctx, g.w, "nhl", watch.Change{Replace: true, Entries: entries, Webhook: hook}, watch.SetOptions{By: "test"}, g.cache); err != nil {
		t.Fatal(err)
	}

	t.Run("watch_arrivals equals the truth", func(t *testing.T) {
		checkWatchArrivals(t, g, "nhl", entries, nhlScans, winner)
	})

	t.Run("1000 arrivals, one call in ten failing", func(t *testing.T) {
		rep, err := watch.Deliver(ctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
		if err != nil {
			t.Fatal(err)
		}
		keys, repeats, calls := recv.snapshot()
		checkDelivered(t, recv, nhlWant, keys, "nhl")
		if len(repeats) != 0 {
			t.Errorf("the receiver saw %d keys twice: %v", len(repeats), repeats[:min(5, len(repeats))])
		}
		// net/http resends a request with an Idempotency-Key by itself when
		// a reused connection drops before any answer: calls >= attempts.
		if rep.Delivered != len(nhlWant) || calls < rep.Attempts || rep.Attempts <= len(nhlWant) {
			t.Errorf("report: %d delivered in %d attempts, the receiver had %d calls; the truth has %d arrivals", rep.Delivered, rep.Attempts, calls, len(nhlWant))
		}
		if recv.failures["timeout"] == 0 || recv.failures["drop"] == 0 || recv.failures["500"] == 0 {
			t.Errorf("the receiver's failures %v miss a kind", recv.failures)
		}
		// A second pass has nothing to send and commits nothing.
		head, _ := g.w.Stream(ctx, watch.DeliveryStream("nhl"))
		again, err := watch.Deliver(ctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
		if err != nil {
			t.Fatal(err)
		}
		head2, _ := g.w.Stream(ctx, watch.DeliveryStream("nhl"))
		if again.Delivered != 0 || head2.Seq != head.Seq {
			t.Errorf("a second pass delivered %d and moved the stream from %d to %d", again.Delivered, head.Seq, head2.Seq)
		}
		t.Logf("nhl: %d arrivals of %d listed accounts, %d calls (failures %v)", len(nhlWant), len(entries), calls, recv.failures)
	})

	// The cursor back to nothing (what `archtics restore --stream
	// nhl/watch --to 0` does), for the runs below to send everything again.
	redeliver := func(t *testing.T) *receiver {
		t.Helper()
		if _, err := g.w.Restore(ctx, watch.DeliveryStream("nhl"), 0, txlog.RestoreOptions{By: "test", Reason: "send again"}); err != nil {
			t.Fatal(err)
		}
		r := newReceiver("s3cr3t", 10)
		s := httptest.NewServer(r)
		t.Cleanup(s.Close)
		h := &watch.Webhook{URL: s.URL + "/hook", SecretEnv: testSecretEnv}
		if _, _, err := watch.Apply(ctx, g.w, "nhl", watch.Change{Webhook: h}, watch.SetOptions{By: "test"}, g.cache); err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("stopped mid-delivery and rerun", func(t *testing.T) {
		r := redeliver(t)
		stopAt := len(nhlWant) / 3
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		// The stop comes while the stopAt-th request is in flight: the
		// receiver accepted it, the sender may not see the answer.
		r.mu.Lock()
		r.onAccept = func(n int) {
			if n == stopAt {
				stop()
			}
		}
		r.mu.Unlock()
		rep1, err := watch.Deliver(sctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the stopped pass returned %v, want context.Canceled", err)
		}
		r.mu.Lock()
		r.onAccept = nil
		r.mu.Unlock()
		rep2, err := watch.Deliver(ctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
		if err != nil {
			t.Fatal(err)
		}
		keys, repeats, _ := r.snapshot()
		checkDelivered(t, r, nhlWant, keys, "nhl")
		inFlight := nhlWant[stopAt-1].key("nhl")
		if len(repeats) > 1 || len(repeats) == 1 && repeats[0] != inFlight {
			t.Errorf("repeated %v; only the request in flight at the stop (%s) may be", repeats, inFlight)
		}
		if rep1.Delivered+rep2.Delivered != len(nhlWant) {
			t.Errorf("the passes recorded %d + %d deliveries, the truth has %d arrivals", rep1.Delivered, rep2.Delivered, len(nhlWant))
		}
		t.Logf("stopped after %d recorded (the %d-th accepted), the rerun delivered %d; repeated %v", rep1.Delivered, stopAt, rep2.Delivered, repeats)
	})

	t.Run("a pass without failures, measured", func(t *testing.T) {
		r := redeliver(t)
		r.failEvery = 0
		cpu0, wall0 := cpuTime(t), time.Now()
		rep, err := watch.Deliver(ctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
		cpu, wall := cpuTime(t)-cpu0, time.Since(wall0)
		if err != nil {
			t.Fatal(err)
		}
		keys, repeats, _ := r.snapshot()
		checkDelivered(t, r, nhlWant, keys, "nhl")
		if len(repeats) != 0 {
			t.Errorf("repeated %v", repeats)
		}
		// What one arrival costs here (receiver in the same process, a
		// local warehouse): a request and a commit.
		t.Logf("%d arrivals in %s wall, %s CPU (this process, the receiver's included)", rep.Delivered, wall.Round(time.Millisecond), cpu.Round(time.Millisecond))
	})

	t.Run("two passes at once", func(t *testing.T) {
		r := redeliver(t)
		r.failEvery = 0
		hit, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			first := false
			once.Do(func() { first = true })
			if first {
				close(hit)
				<-release // the first pass's first request waits until the second pass is done
			}
			r.ServeHTTP(w, req)
		}))
		t.Cleanup(s.Close)
		h := &watch.Webhook{URL: s.URL + "/hook", SecretEnv: testSecretEnv}
		if _, _, err := watch.Apply(ctx, g.w, "nhl", watch.Change{Webhook: h}, watch.SetOptions{By: "test"}, g.cache); err != nil {
			t.Fatal(err)
		}
		errA := make(chan error, 1)
		go func() {
			_, err := watch.Deliver(ctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
			errA <- err
		}()
		<-hit
		repB, errB := watch.Deliver(ctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
		close(release)
		if err := <-errA; !errors.Is(err, txlog.ErrCommitConflict) {
			t.Errorf("the first pass returned %v, want a commit conflict", err)
		}
		if errB != nil {
			t.Fatal(errB)
		}
		keys, repeats, _ := r.snapshot()
		checkDelivered(t, r, nhlWant, keys, "nhl")
		if first := nhlWant[0].key("nhl"); len(repeats) != 1 || repeats[0] != first {
			t.Errorf("repeated %v, want only the first pass's request in flight, %s", repeats, first)
		}
		t.Logf("the second pass delivered %d", repB.Delivered)
	})

	t.Run("the signing secret is stored nowhere", func(t *testing.T) {
		err := filepath.WalkDir(g.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil && bytes.Contains(b, []byte("s3cr3t")) {
				t.Errorf("%s holds the webhook's secret", p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

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

// TestDeliverOnS3 is a delivery over a warehouse on S3 (skipped without
// AWS_ENDPOINT_URL): nhl's day ticked every three hours, a list of about
// 150 arrivals, the receiver failing one call in ten; a pass stopped a
// third of the way and its rerun deliver every arrival of the truth in
// order, only the request in flight twice.
func TestDeliverOnS3(t *testing.T) {
	if !storagetest.HaveS3() {
		t.Skip(storagetest.S3Skip)
	}
	ctx := context.Background()
	g := newGameDay(t, simulator.SmallConfig(), storagetest.S3Location(t, "watch-deliver"))
	day, end := gameDayBounds(g)
	for at := day; !at.After(end); at = at.Add(3 * time.Hour) {
		g.tick(t, "nhl", at)
	}
	scans := truthScans(t, g, "nhl", day, end, g.world.Cutoff())
	entries := chooseList(scans, 150, nil)
	want := truthArrivals(scans, listedHolders(entries, finalWinners(g.world, "nhl", g.world.Cutoff())))
	recv := newReceiver("s3cr3t", 10)
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	hook := &watch.Webhook{URL: srv.URL + "/arrivals", SecretEnv: testSecretEnv}
	if _, _, err := watch.Apply(ctx, g.w, "nhl", watch.Change{Replace: true, Entries: entries, Webhook: hook}, watch.SetOptions{By: "test"}, g.cache); err != nil {
		t.Fatal(err)
	}
	stopAt := len(want) / 3
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	recv.mu.Lock()
	recv.onAccept = func(n int) {
		if n == stopAt {
			stop()
		}
	}
	recv.mu.Unlock()
	if _, err := watch.Deliver(sctx, g.w, "nhl", deliverOptions(g, "s3cr3t")); !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped pass returned %v, want context.Canceled", err)
	}
	recv.mu.Lock()
	recv.onAccept = nil
	recv.mu.Unlock()
	cpu0, wall0 := cpuTime(t), time.Now()
	rep, err := watch.Deliver(ctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
	if err != nil {
		t.Fatal(err)
	}
	cpu, wall := cpuTime(t)-cpu0, time.Since(wall0)
	keys, repeats, _ := recv.snapshot()
	checkDelivered(t, recv, want, keys, "nhl")
	if len(repeats) > 1 || len(repeats) == 1 && repeats[0] != want[stopAt-1].key("nhl") {
		t.Errorf("repeated %v; only the request in flight at the stop may be", repeats)
	}
	t.Logf("%d arrivals; the rerun delivered %d in %s wall, %s CPU", len(want), rep.Delivered, wall.Round(time.Millisecond), cpu.Round(time.Millisecond))
}
