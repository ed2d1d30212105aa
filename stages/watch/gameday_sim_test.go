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
	"testing"
	"time"

	"archtics/pipeline/txlog"
	"archtics/simulator"
	"archtics/stages/watch"
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
			// Held until the second pass is done, however long that
			// takes: a timeout would make the first pass retry.
			opts := deliverOptions(g, "s3cr3t")
			opts.Client = &http.Client{}
			_, err := watch.Deliver(ctx, g.w, "nhl", opts)
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
