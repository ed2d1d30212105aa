package changes

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"archtics/ats"
	"archtics/schemas"
	"archtics/simulator"
)

var long = flag.Bool("long", false, "run many more random change streams in the property test (make fuzz-clone)")

const testToken = "test-token"

// fixture is a world served over loopback by the real simulator server.
type fixture struct {
	world *simulator.World
	clock *simulator.SimClock
	cli   *ats.Client
	loc   *time.Location
}

func newFixture(t testing.TB, cfg simulator.Config) *fixture {
	t.Helper()
	w, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := simulator.NewSimClock(cfg.Cutoff)
	srv, err := simulator.NewServer(w, simulator.ServerConfig{Token: testToken, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &fixture{world: w, clock: clock, loc: w.Location(),
		cli: ats.New(hs.URL, testToken, ats.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))}
}

var errCrash = errors.New("injected crash between pages")

// crashing is the real client that fails one call of a pull after
// `after` successful ones: the process died between two pages.
type crashing struct {
	Source
	after int
	calls int
}

func (c *crashing) Changes(ctx context.Context, dsn, table string, since time.Time, cursor string, pageSize int) (*ats.Page, error) {
	c.calls++
	if c.after >= 0 && c.calls > c.after {
		c.after = -1
		return nil, errCrash
	}
	return c.Source.Changes(ctx, dsn, table, since, cursor, pageSize)
}

// pageSize draws 1..10,000, log-uniform, so small pages (many boundaries
// inside one timestamp) are as likely as large ones.
func pageSize(r *rand.Rand) int {
	return min(MaxPageSize, int(pow10(r.Float64()*4)))
}

func pow10(x float64) float64 {
	v := 1.0
	for ; x >= 1; x-- {
		v *= 10
	}
	// 10^x for x in [0,1) by its series is overkill: a linear blend is
	// enough for drawing sizes.
	return v * (1 + 9*x)
}

// streamCase is one random change stream: a world, a team, a schedule of
// pulls as the clock advances, with page sizes and crashes drawn per pull.
type streamCase struct {
	seed   uint64
	cutoff time.Time // sometimes a week before a fall-back, so its repeated hour is pulled
	days   int
}

func caseConfig(c streamCase) simulator.Config {
	cfg := simulator.SmallConfig()
	cfg.Seed = c.seed
	cfg.Accounts = 400
	cfg.EventsPerSeason = 6
	cfg.TicketsPerEvent = 60
	cfg.MergeRate = 0.6
	cfg.DuplicateRate = 0.2
	cfg.Cutoff = c.cutoff
	cfg.DaysAfterCutoff = c.days
	return cfg
}

// runStream pulls one team's four tables again and again as the clock
// advances, crashing some pulls between pages and rerunning them from the
// last committed watermark, sweeping keys and finding merges after every
// round, and compares the clone with the truth at the watermark after
// every round. It returns the first difference ("" when none).
func runStream(t *testing.T, f *fixture, team string, r *rand.Rand, overlap time.Duration, check func(round int, wm time.Time, c *refClone) string) (string, *refClone) {
	t.Helper()
	ctx := context.Background()
	clone := newRefClone()
	cutoff := f.world.Cutoff()
	clone.seed(f.world, team, cutoff)
	wm := map[string]time.Time{}
	for _, tab := range schemas.SourceTables {
		wm[tab.Name] = cutoff
	}
	f.clock.Set(cutoff)
	end := f.world.End().Add(time.Hour)
	for round := 0; f.clock.Now().Before(end); round++ {
		// Steps from seconds (pulls inside a tie or a late commit's
		// delay) to days (the first large incremental).
		step := time.Duration(pow10(r.Float64()*5.2)) * time.Second
		f.clock.Set(f.clock.Now().Add(step))
		// Pull every table until all watermarks reach the clock: a crash
		// lets time pass, so the tables pulled before it go again.
		for pass := 0; ; pass++ {
			behind := false
			for _, tab := range schemas.SourceTables {
				if !wm[tab.Name].Before(f.clock.Now().Truncate(time.Second)) {
					continue
				}
				behind = true
				pullTable(t, f, team, tab, r, overlap, clone, wm, round, pass == 0)
			}
			if !behind {
				break
			}
		}
		// The sweeps and lookups see the clock as it is now, the same
		// instant as every watermark (the clock is frozen).
		var gone []string
		for _, tab := range schemas.SourceTables {
			sr, err := Sweep(ctx, f.cli, team, tab, clone.keys(tab), 1+r.IntN(5000), func(ds []Deletion) error {
				clone.delete(tab, ds)
				return nil
			})
			if err != nil {
				t.Fatalf("round %d sweep %s: %v", round, tab.Name, err)
			}
			if tab == schemas.Cust {
				gone = sr.GoneAccounts
			}
		}
		mr, err := Merges(ctx, f.cli, team, gone, clone)
		if err != nil {
			t.Fatalf("round %d merges: %v", round, err)
		}
		clone.merge(mr.Merges)
		now := f.clock.Now().Truncate(time.Second)
		for _, tab := range schemas.SourceTables {
			if !wm[tab.Name].Equal(now) {
				t.Fatalf("round %d %s: watermark %s, clock %s: the pull's as_of must be the clock's", round, tab.Name, wm[tab.Name], now)
			}
		}
		clone.stats.rounds++
		if d := check(round, now, clone); d != "" {
			return d, clone
		}
	}
	return "", clone
}

// pullTable pulls one table to the clock, crashing between pages on some
// attempts (when crashes) and rerunning from the committed watermark.
func pullTable(t *testing.T, f *fixture, team string, tab *schemas.Table, r *rand.Rand, overlap time.Duration, clone *refClone, wm map[string]time.Time, round int, crashes bool) {
	t.Helper()
	ctx := context.Background()
	opts := Options{PageSize: pageSize(r), Overlap: overlap, Location: f.loc}
	for attempt := 0; ; attempt++ {
		src := &crashing{Source: f.cli, after: -1}
		if crashes && attempt < 3 && r.IntN(3) == 0 {
			src.after = 1 + r.IntN(2) // crash after 1 or 2 pages
		}
		var last time.Time
		res, err := Pull(ctx, src, team, tab, wm[tab.Name], opts, func(b []Version) error {
			if b[0].Updated.Equal(last) {
				clone.stats.boundaryTies++
			}
			last = b[len(b)-1].Updated
			clone.apply(tab, b)
			return nil
		})
		clone.stats.probes += res.Probes
		if errors.Is(err, errCrash) {
			clone.stats.crashes++
			// The clone keeps what it stored; the watermark stays.
			// Some time passes before the rerun.
			f.clock.Set(f.clock.Now().Add(time.Duration(r.IntN(120)) * time.Second))
			continue
		}
		if err != nil {
			t.Fatalf("round %d pull %s: %v", round, tab.Name, err)
		}
		clone.stats.pulls++
		wm[tab.Name] = res.AsOf
		break
	}
}

func truthCheck(f *fixture, team string) func(int, time.Time, *refClone) string {
	return func(round int, wm time.Time, c *refClone) string {
		for _, tab := range schemas.SourceTables {
			if d := c.diff(tab, f.world.StateAt(team, tab, wm)); d != "" {
				return fmt.Sprintf("round %d, watermark %s, table %s: %s", round, wm.Format(time.RFC3339), tab.Name, d)
			}
			// Update instants too, fall-back hour included: the newest
			// version per key by instant is what the clone keeps.
			newest := map[string]time.Time{}
			for _, ch := range f.world.Changes(team, tab, time.Unix(0, 0), wm) {
				newest[ch.Key] = ch.Updated
			}
			for k, h := range c.tables[tab.Name] {
				if !h.upd.Equal(newest[k]) {
					return fmt.Sprintf("round %d, table %s key %s: update instant %s, truth %s", round, tab.Name, k, h.upd, newest[k])
				}
			}
		}
		return ""
	}
}

func randomCase(r *rand.Rand) streamCase {
	ny, _ := time.LoadLocation("America/New_York")
	c := streamCase{seed: r.Uint64(), days: 3 + r.IntN(10)}
	switch r.IntN(3) {
	case 0: // the fall-back of 2026-11-01 lies inside the pulls
		c.cutoff = time.Date(2026, 10, 28+r.IntN(3), 12, 0, 1, 0, ny).UTC()
	default:
		c.cutoff = time.Date(2026, 11, 10+r.IntN(15), 12, 0, 1, 0, ny).UTC()
	}
	return c
}

// TestPullConvergesToTruth is the property: over random change streams,
// page sizes and crashes between pages, the clone equals
// World.StateAt(team, table, watermark) after every round, on every table,
// deletions and merges included.
func TestPullConvergesToTruth(t *testing.T) {
	cases := 10
	if *long {
		cases = 60
	}
	r := rand.New(rand.NewPCG(20261120, 8))
	var total streamStats
	for i := 0; i < cases; i++ {
		c := randomCase(r)
		if i == 0 {
			// The first case always pulls through the fall-back's
			// repeated hour.
			c.cutoff = time.Date(2026, 10, 29, 16, 0, 1, 0, time.UTC)
		}
		seed := r.Uint64()
		t.Run(fmt.Sprintf("seed%d", c.seed%100000), func(t *testing.T) {
			f := newFixture(t, caseConfig(c))
			team := f.world.Teams()[i%2] // nhl (hockey) has the fall-back versions
			d, clone := runStream(t, f, team, rand.New(rand.NewPCG(seed, 1)), 0, truthCheck(f, team))
			if d != "" {
				t.Fatalf("cutoff %s, %d days, team %s: %s", c.cutoff.Format(time.RFC3339), c.days, team, d)
			}
			checkMerges(t, f.world, team, clone.stats.merges)
			s := clone.stats
			t.Logf("team %s: %d rounds, %d pulls, %d crashes, %d versions, %d page boundaries inside one second, %d deleted, %d merges, %d fall-back probes",
				team, s.rounds, s.pulls, s.crashes, s.versions, s.boundaryTies, s.deleted, len(s.merges), s.probes)
			total.crashes += s.crashes
			total.boundaryTies += s.boundaryTies
			total.deleted += s.deleted
			total.merges = append(total.merges, s.merges...)
			total.probes += s.probes
		})
	}
	// The property means something only if the streams exercised the
	// hard parts.
	if total.crashes == 0 || total.boundaryTies == 0 || total.deleted == 0 || len(total.merges) == 0 || total.probes == 0 {
		t.Errorf("the streams did not exercise everything: %d crashes, %d tied page boundaries, %d deletions, %d merges, %d fall-back probes; every count must be > 0",
			total.crashes, total.boundaryTies, total.deleted, len(total.merges), total.probes)
	}
}

// checkMerges requires every merge found to be a true one (World.Merges,
// followed through later merges of the winner).
func checkMerges(t *testing.T, w *simulator.World, team string, found []Merge) {
	t.Helper()
	winner := map[string]string{}
	for _, m := range w.Merges() {
		if m.Team == team {
			winner[fmt.Sprint(m.Loser)] = fmt.Sprint(m.Winner)
		}
	}
	for _, m := range found {
		ok := false
		for a, i := m.Loser, 0; i < 100; i++ {
			w, merged := winner[a]
			if !merged {
				break
			}
			if w == m.Winner {
				ok = true
				break
			}
			a = w
		}
		if !ok {
			t.Errorf("merge %s -> %s found at %s is not in the truth (World.Merges)", m.Loser, m.Winner, m.DetectedAt.Format(time.RFC3339))
		}
	}
}

// TestNoOverlapLosesRows shows the property test has teeth: pulling from
// the watermark itself (no overlap) misses the versions that commit late
// across it, and the clone differs from the truth.
func TestNoOverlapLosesRows(t *testing.T) {
	c := streamCase{seed: 7, cutoff: time.Date(2026, 11, 20, 17, 0, 1, 0, time.UTC), days: 2}
	f := newFixture(t, caseConfig(c))
	team := f.world.Teams()[0]
	d, _ := runStream(t, f, team, rand.New(rand.NewPCG(7, 1)), -1, truthCheck(f, team))
	if d == "" {
		t.Fatal("a stream pulled without overlap equals the truth: the late commits straddling the cutoff should have been lost")
	}
	t.Logf("without overlap, as expected: %s", d)
}
