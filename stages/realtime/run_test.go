package realtime

import (
	"context"
	"testing"
	"time"

	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/storage/storagetest"
)

// simRun drives Run on the simulated clock: Now reads it, Sleep advances
// it (and the feed's).
type simRun struct {
	g   *gameDay
	now time.Time
}

func (s *simRun) options(team string, ticks int) RunOptions {
	return RunOptions{
		Every:       15 * time.Minute,
		Select:      func(_ context.Context, at time.Time) ([]SelectedEvent, error) { return s.g.selected(team, at), nil },
		Tick:        TickOptions{Logger: quietLogger, CacheDir: s.g.cache},
		RollupFiles: 4,
		Now:         func() time.Time { return s.now },
		Sleep: func(ctx context.Context, d time.Duration) error {
			s.now = s.now.Add(d)
			s.g.clock.Set(s.now)
			return ctx.Err()
		},
		Ticks:  ticks,
		Logger: quietLogger,
	}
}

// TestRunCatchesUpRollsUpAndExpires: `realtime run` on a game day ticks on
// its grid; after downtime it catches up the missed ticks, each storing
// what the feed held at its time; roll-ups keep every partition under the
// limit without changing a row; a cancelled run stops cleanly; expiry
// retires the day a week later, and the views are empty then.
func TestRunCatchesUpRollsUpAndExpires(t *testing.T) {
	locations := map[string]string{"file": ""}
	if storagetest.HaveS3() {
		locations["s3"] = storagetest.S3Location(t, "realtime")
	} else {
		t.Log("S3 case skipped: " + storagetest.S3Skip)
	}
	for name, location := range locations {
		t.Run(name, func(t *testing.T) { testRunCatchesUpRollsUpAndExpires(t, location) })
	}
}

func testRunCatchesUpRollsUpAndExpires(t *testing.T, location string) {
	ctx := context.Background()
	g := newGameDay(t, simulator.SmallConfig(), location)
	loc := g.world.Location()
	cut := g.world.Cutoff().In(loc)
	day := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)
	s := &simRun{g: g, now: day}
	g.clock.Set(day)

	rep, err := Run(ctx, g.w, g.cli, "nhl", s.options("nhl", 24)) // 07:00 to 12:45
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ticks != 24 || rep.CaughtUp != 0 || rep.Rollups == 0 {
		t.Fatalf("first run: %+v; want 24 ticks on time and some roll-ups", rep)
	}
	last := day.Add(23 * 15 * time.Minute)
	if diff := diffSets(truthScans(g, "nhl", last, day), storedScans(t, g, "nhl")); diff != "" {
		t.Fatalf("after the first run (rolled up): stored scans differ from the truth at %s:\n%s", last, diff)
	}

	// Down for two hours: the next run, at 14:46, catches up the seven
	// ticks from 13:00 to 14:30 first (14:45 is on time).
	s.now = last.Add(2*time.Hour + time.Minute)
	g.clock.Set(s.now)
	rep, err = Run(ctx, g.w, g.cli, "nhl", s.options("nhl", 10))
	if err != nil {
		t.Fatal(err)
	}
	if rep.CaughtUp != 7 || rep.Ticks != 10 {
		t.Fatalf("after downtime: %+v; want 7 ticks caught up of 10", rep)
	}
	last = last.Add(10 * 15 * time.Minute)
	if !rep.Last.At.Equal(last) {
		t.Fatalf("last tick at %s, want %s", rep.Last.At, last)
	}
	if diff := diffSets(truthScans(g, "nhl", last, day), storedScans(t, g, "nhl")); diff != "" {
		t.Fatalf("after the catch-up: stored scans differ from the truth at %s:\n%s", last, diff)
	}
	head, err := g.w.Stream(ctx, Stream("nhl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range stored {
		perDay := map[string]int{}
		for _, e := range head.TableFiles(tbl.FullName()) {
			perDay[e.Partition["event_date"]]++
		}
		for d, n := range perDay {
			if n >= 4 {
				t.Errorf("%s %s: %d files after roll-ups at 4", tbl.FullName(), d, n)
			}
		}
	}

	// A stop (SIGTERM cancels the context) ends the run without error.
	cctx, cancel := context.WithCancel(ctx)
	opts := s.options("nhl", 0)
	opts.Sleep = func(context.Context, time.Duration) error { cancel(); return cctx.Err() }
	if _, err := Run(cctx, g.w, g.cli, "nhl", opts); err != nil {
		t.Fatalf("a cancelled run: %v, want a clean stop", err)
	}

	// Reconciliation: once the clone holds the day's standard attendance,
	// the run reconciles each event that ended, once.
	final := day.Add(31 * time.Hour)
	pullClone(t, g, final)
	var ended int
	for _, ev := range g.world.FollowedEvents("nhl", final, nil) {
		if !ev.Start.Add(-WindowBefore).Before(day) && !ev.Start.Add(WindowAfter+DefaultLateDeliveries).After(final) {
			ended++
		}
	}
	if ended == 0 {
		t.Fatal("no event of the day ended by the reconciliation's time")
	}
	s.now = final
	rctx, rcancel := context.WithCancel(ctx)
	opts = s.options("nhl", 0)
	opts.Reconcile = true
	opts.Sleep = func(context.Context, time.Duration) error { rcancel(); return rctx.Err() }
	rep, err = Run(rctx, g.w, g.cli, "nhl", opts)
	if err != nil || rep.Reconciled != ended {
		t.Fatalf("the run after the attendance arrived: %+v, %v; want %d events reconciled", rep, err, ended)
	}
	opts = s.options("nhl", 1)
	opts.Reconcile = true
	if rep, err = Run(ctx, g.w, g.cli, "nhl", opts); err != nil || rep.Reconciled != 0 {
		t.Fatalf("the next run: %+v, %v; want nothing reconciled again", rep, err)
	}

	// Expiry: nothing a day later, the whole day a week after it.
	if e, err := Expire(ctx, g.w, "nhl", last.Add(24*time.Hour), 0); err != nil || e.Commit != nil {
		t.Fatalf("expire a day later: %+v, %v; want nothing retired", e, err)
	}
	e, err := Expire(ctx, g.w, "nhl", day.Add(9*24*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Commit == nil || len(e.Partitions) == 0 || e.Rows != int64(len(storedScansAt(t, g, "nhl", e.Commit.Seq-1))) {
		t.Fatalf("expire a week later: %+v; want every stored scan retired", e)
	}
	if got := storedScans(t, g, "nhl"); len(got) != 0 {
		t.Fatalf("after expiry: %d scans still visible", len(got))
	}
	if e.Commit.Summary["scans"] != e.Rows || len(e.Commit.Retires) != e.Files {
		t.Fatalf("the expiry's commit does not name what it retired: %+v", e.Commit)
	}
	// The reconciliations stay.
	db, err := views.OpenDuckDB(ctx, "", g.w.Log, g.cache, schemas.ReconcileV)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := queryStrings(t, db, "SELECT CAST(event_id AS VARCHAR) FROM archtics.reconcile_v WHERE team = 'nhl'"); len(got) != ended {
		t.Fatalf("after expiry: reconciled events %v, want the %d reconciled", got, ended)
	}
}

// storedScansAt reads team's archtics_rtx.attendance_raw as of seq of its
// realtime stream.
func storedScansAt(tb testing.TB, g *gameDay, team string, seq int64) []string {
	tb.Helper()
	w := g.w
	g.w = w.At(txlog.AsOf{Stream: Stream(team), Seq: seq})
	defer func() { g.w = w }()
	return storedScans(tb, g, team)
}
