package realtime

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/simulator"
)

// TestRefreshFollowsTheClone ticks, against a clone that is still the
// dump, the days from the doubleheader (pending postings, late forwards)
// to the game at which an account scans before Archtics merges it into
// another, then pulls the clone past the merge (incremental and sweep:
// the merge, the names and emails changed since the cutoff) and checks
// that the view names the truth's holder and that account's primary name
// as the clone now knows it only once Refresh ran: frozen at tick time,
// the view differs. A second Refresh with the clone where it was commits
// nothing; after the clone moves again it commits the cursor alone, or
// rewrites what changed. The raw table is never touched.
func TestRefreshFollowsTheClone(t *testing.T) {
	ctx := context.Background()
	g := newGameDay(t, simulator.SmallConfig(), "")
	loc := g.world.Location()
	cut := g.world.Cutoff().In(loc)
	day := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)
	merged, scanned := mergedScanner(t, g.world)
	t.Logf("%s's account %d scans at %s and is merged into %d at %s", merged.Team, merged.Loser, scanned.In(loc), merged.Winner, merged.At.In(loc))
	last := time.Date(scanned.In(loc).Year(), scanned.In(loc).Month(), scanned.In(loc).Day(), 7, 0, 0, 0, loc)
	if scanned.In(loc).Hour() < 7 { // a scan after midnight belongs to the evening before
		last = last.AddDate(0, 0, -1)
	}
	if last.Before(day) {
		day, last = last, day
	}
	end := last.Add(21 * time.Hour)
	// A tick every two hours: each pulls what the feed delivered since the
	// last, and an event's window (eleven hours) holds several.
	for at := day; !at.After(end); at = at.Add(2 * time.Hour) {
		for _, team := range g.world.Teams() {
			g.tick(t, team, at, TickOptions{})
		}
	}
	rawBefore := map[string][]string{}
	for _, team := range g.world.Teams() {
		rawBefore[team] = storedScans(t, g, team)
		// Refresh on the dump's clone: the ticks derived every scan from
		// it, so no scan changes; the commit adds each followed event's
		// sold seats, nothing else.
		rep, err := Refresh(ctx, g.w, team, g.cache)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Changed != 0 || rep.Partitions != 0 || rep.Commit == nil || rep.SeatEvents == 0 || len(rep.Commit.Adds) != rep.SeatEvents ||
			slices.ContainsFunc(rep.Commit.Adds, func(a txlog.FileEntry) bool { return a.Table != schemas.RTXEventSeats.FullName() }) {
			t.Fatalf("%s: refresh against the clone the ticks read changed %d scans in %d partitions, seats of %d events (commit %+v), "+
				"want only the events' seats", team, rep.Changed, rep.Partitions, rep.SeatEvents, rep.Commit)
		}
	}

	// The clone pulls past the days and the merge, with a sweep.
	pulled := end.Add(time.Hour)
	if merged.At.After(end) {
		pulled = merged.At.Add(time.Hour)
	}
	pullClone(t, g, pulled)
	frozen := enrichedDiff(t, g, end, day, nil, pulled, pulled)
	if frozen == "" {
		t.Fatal("the stored holders already equal the pulled clone's: the day does not exercise Refresh")
	}
	t.Logf("frozen at tick time, the view differs from the clone it could know:\n%s", frozen)
	if !strings.Contains(frozen, "|"+strconv.Itoa(int(merged.Loser))+"|") {
		t.Errorf("frozen at tick time, the view should still name the merged account %d:\n%s", merged.Loser, frozen)
	}

	var changed int64
	for _, team := range g.world.Teams() {
		rawFiles := fileKeys(t, g, team, schemas.RTXAttendanceRaw)
		rep, err := Refresh(ctx, g.w, team, g.cache)
		if err != nil {
			t.Fatal(err)
		}
		changed += rep.Changed
		t.Logf("%s: refresh compared %d scans, changed %d, rewrote %d partitions (%d files into %d)", team, rep.Rows, rep.Changed, rep.Partitions, rep.FilesIn, rep.FilesOut)
		if rep.Changed > 0 && (rep.Partitions == 0 || rep.FilesOut == 0) {
			t.Errorf("%s: %d scans changed but no partition was rewritten", team, rep.Changed)
		}
		if got := fileKeys(t, g, team, schemas.RTXAttendanceRaw); !slices.Equal(got, rawFiles) {
			t.Errorf("%s: the raw table's files changed: %v, were %v", team, got, rawFiles)
		}
		if diff := diffSets(rawBefore[team], storedScans(t, g, team)); diff != "" {
			t.Errorf("%s: the raw scans changed:\n%s", team, diff)
		}
		// Again, the clone where it was: nothing read, nothing committed.
		again, err := Refresh(ctx, g.w, team, g.cache)
		if err != nil {
			t.Fatal(err)
		}
		if again.Commit != nil {
			t.Errorf("%s: a refresh with the clone unmoved committed %d", team, again.Commit.Seq)
		}
	}
	if changed == 0 {
		t.Fatal("the refreshes changed no scan")
	}
	checkEnrichedIsTruth(t, g, end, day, nil, pulled, pulled)

	// The clone moves on: each refresh commits, the cursor at the least.
	later := pulled.Add(6 * time.Hour)
	pullClone(t, g, later)
	for _, team := range g.world.Teams() {
		rep, err := Refresh(ctx, g.w, team, g.cache)
		if err != nil {
			t.Fatal(err)
		}
		head, err := g.w.Stream(ctx, Stream(team))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Commit == nil || head.Cursors[HoldersCursor] != strconv.FormatInt(rep.CloneSeq, 10) {
			t.Errorf("%s: after the clone moved to commit %d the refresh committed %v, cursor %q", team, rep.CloneSeq, rep.Commit, head.Cursors[HoldersCursor])
		}
	}
	checkEnrichedIsTruth(t, g, end, day, nil, later, later)
}

// mergedScanner finds an account merged after the cutoff that scanned at
// a game of its team after the cutoff and before its merge: the scan a
// clone that has not swept yet names by the loser. It returns the merge
// and the first such scan's instant.
func mergedScanner(t *testing.T, w *simulator.World) (simulator.Merge, time.Time) {
	t.Helper()
	for _, m := range w.Merges() {
		if m.At.Before(w.Cutoff()) {
			continue
		}
		for _, r := range w.TrueScans(m.Team, w.Cutoff(), m.At) {
			if r[schemas.Scan.ColumnIndex("acct_id")] != strconv.Itoa(int(m.Loser)) {
				continue
			}
			at, err := w.ScanInstant(r)
			if err != nil {
				t.Fatal(err)
			}
			return m, at
		}
	}
	t.Fatal("the world has no account that scans after the cutoff and is merged later: the test cannot exercise a merge")
	return simulator.Merge{}, time.Time{}
}

// tickedGameDay ticks both teams every 30 minutes over the doubleheader's
// day (the third after the cutoff), against a clone that is still the
// dump; it returns the day's first tick and last.
func tickedGameDay(t *testing.T) (g *gameDay, day, end time.Time) {
	t.Helper()
	g = newGameDay(t, simulator.SmallConfig(), "")
	loc := g.world.Location()
	cut := g.world.Cutoff().In(loc)
	day = time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)
	end = day.Add(21 * time.Hour)
	for at := day; !at.After(end); at = at.Add(30 * time.Minute) {
		for _, team := range g.world.Teams() {
			g.tick(t, team, at, TickOptions{})
		}
	}
	return g, day, end
}

// pullClone moves the feed's clock to at and brings every team's clone
// up to it with one incremental, swept (merges, deletions).
func pullClone(t *testing.T, g *gameDay, at time.Time) {
	t.Helper()
	g.day.PullClone(t, at)
}

// fileKeys lists the keys of team's live files of t, sorted.
func fileKeys(tb testing.TB, g *gameDay, team string, t *schemas.Table) []string {
	tb.Helper()
	head, err := g.w.Stream(context.Background(), Stream(team))
	if err != nil {
		tb.Fatal(err)
	}
	var keys []string
	for _, e := range head.TableFiles(t.FullName()) {
		keys = append(keys, e.Key)
	}
	slices.Sort(keys)
	return keys
}
