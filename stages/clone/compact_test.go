package clone

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/ats"
	"archtics/internal/rowbuild"
	"archtics/pipeline"
	"archtics/pipeline/check"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/simulator/simtest"
	"archtics/stages/changes"
	"archtics/storage"
	"archtics/storage/backend"
)

// compactWorld is a small simulated client with merges and deletions, and
// four days of changes after its cutoff.
func compactWorld() simulator.Config {
	cfg := simulator.SmallConfig()
	cfg.Accounts = 300
	cfg.EventsPerSeason = 4
	cfg.TicketsPerEvent = 40
	cfg.MergeRate = 0.6
	cfg.DuplicateRate = 0.2
	cfg.DaysAfterCutoff = 4
	return cfg
}

// simSource serves world's change API on a drivable clock.
type simSource struct {
	world *simulator.World
	clock *simulator.SimClock
	cli   *ats.Client
	opts  IncrementalOptions
}

func newSimSource(tb testing.TB, cfg simulator.Config) *simSource {
	tb.Helper()
	s := simtest.Serve(tb, cfg)
	return &simSource{world: s.World, clock: s.Clock, cli: s.Client,
		opts: IncrementalOptions{Pull: changes.Options{Location: s.World.Location(), PageSize: 97}, Logger: quietLogger}}
}

// advance moves the clock by step and runs an incremental of team.
func (s *simSource) advance(tb testing.TB, w *pipeline.Warehouse, team string, step time.Duration) *IncrementalReport {
	tb.Helper()
	s.clock.Set(s.clock.Now().Add(step))
	rep, err := Incremental(context.Background(), w, s.cli, team, s.opts)
	if err != nil {
		tb.Fatalf("incremental %s: %v", team, err)
	}
	return rep
}

// cloneRows renders every row of team in the view of name (every column,
// as text) for an exact comparison, sorted.
func cloneRows(t *testing.T, db *sql.DB, view *schemas.Table, team string) []string {
	t.Helper()
	cols := make([]string, len(view.Columns))
	for i, c := range view.Columns {
		cols[i] = fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '∅')", schemas.QuoteIdent(c.Name))
	}
	return queryStrings(t, db, fmt.Sprintf("SELECT concat_ws('|', %s) FROM %s WHERE team = ?", strings.Join(cols, ", "), view.SQLName()), team)
}

// cloneSnapshot is what the current-state and history views answer for a
// team, per source table.
type cloneSnapshot map[string][]string

func snapshot(t *testing.T, w *pipeline.Warehouse, team, cache string) cloneSnapshot {
	t.Helper()
	var readViews []*schemas.Table
	for _, tbl := range schemas.SourceTables {
		readViews = append(readViews, schemas.Current(tbl), schemas.History(tbl))
	}
	db, err := views.OpenDuckDB(context.Background(), "", w.Log, cache, readViews...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := cloneSnapshot{}
	for _, v := range readViews {
		out[v.SQLName()] = cloneRows(t, db, v, team)
	}
	return out
}

func (s cloneSnapshot) mustEqual(t *testing.T, what string, other cloneSnapshot) {
	t.Helper()
	for name, want := range s {
		if len(want) == 0 {
			t.Fatalf("%s: %s is empty: nothing compared", what, name)
		}
		if diff := diffSets(want, other[name]); diff != "" {
			t.Fatalf("%s: %s differs (%d rows want, %d got):\n%s", what, name, len(want), len(other[name]), diff)
		}
	}
}

// liveFiles counts the team's live files of table in the clone stream.
func liveFiles(t *testing.T, w *pipeline.Warehouse, team string, table *schemas.Table) int {
	t.Helper()
	head, err := w.Stream(context.Background(), CloneStream(team))
	if err != nil {
		t.Fatal(err)
	}
	return len(head.TableFiles(table.FullName()))
}

// TestCompactKeepsEveryAnswer runs incrementals with merges and deletions,
// compacts, runs more and compacts again, and checks at each step that
// archtics.<t> equals the simulator's truth and answers, like
// archtics_history.<t>, exactly the rows it answered before the
// compaction; that the compacted clone's current state reads one base file
// per table and no dump or change file; that a rerun with nothing new
// commits nothing; that a reader as of the commit before a compaction still
// reads the retired files; and that incrementals go on after it.
func TestCompactKeepsEveryAnswer(t *testing.T) {
	ctx := context.Background()
	cfg := compactWorld()
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	w, _ := loadSimulatedDump(t, cfg, dir)
	src := newSimSource(t, cfg)
	copts := CompactOptions{CacheDir: cache, Logger: quietLogger, RowGroupRows: 100}

	var merges, deletions int
	archives := map[string]int{} // team+table: compactions that folded it
	for round, steps := range [][]time.Duration{{26 * time.Hour, 3 * time.Minute}, {50 * time.Hour}} {
		for _, team := range src.world.Teams() {
			var last *IncrementalReport
			for _, step := range steps {
				last = src.advance(t, w, team, step)
				merges += len(last.Merges)
				deletions += int(last.Deletions)
				checkCloneIsTruth(t, w, src.world, team, last.To, cache)
			}
			before := snapshot(t, w, team, cache)
			head, err := w.Stream(ctx, CloneStream(team))
			if err != nil {
				t.Fatal(err)
			}
			var folds []string // the tables with a dump or change file live
			for _, tbl := range schemas.SourceTables {
				if len(head.TableFiles(tbl.FullName()))+len(head.TableFiles(schemas.Changes(tbl).FullName())) > 0 {
					folds = append(folds, tbl.FullName())
					archives[team+tbl.Name]++
				}
			}

			rep, err := Compact(ctx, w, team, copts)
			if err != nil {
				t.Fatalf("round %d: compact %s: %v", round+1, team, err)
			}
			var folded []string
			for _, ct := range rep.Tables {
				folded = append(folded, ct.Table)
			}
			if rep.Unchanged || rep.Commit == nil || rep.Commit.Seq != head.Seq+1 || fmt.Sprint(folded) != fmt.Sprint(folds) {
				t.Fatalf("round %d: compact %s: %+v, want one commit folding %v", round+1, team, rep, folds)
			}
			if rep.Commit.Watermark.To != head.Watermark {
				t.Errorf("compact %s moved the watermark from %s to %s", team, head.Watermark, rep.Commit.Watermark.To)
			}
			before.mustEqual(t, fmt.Sprintf("round %d %s after the compaction", round+1, team), snapshot(t, w, team, cache))
			checkCloneIsTruth(t, w, src.world, team, last.To, cache)
			for _, tbl := range schemas.SourceTables {
				if n := liveFiles(t, w, team, tbl) + liveFiles(t, w, team, schemas.Changes(tbl)); n != 0 {
					t.Errorf("%s %s: %d dump and change files still live after the compaction", team, tbl.Name, n)
				}
				if n := liveFiles(t, w, team, schemas.Base(tbl)); n != 1 {
					t.Errorf("%s %s: %d base files, want one", team, tbl.Name, n)
				}
				if n := liveFiles(t, w, team, schemas.Archive(tbl)); n != archives[team+tbl.Name] {
					t.Errorf("%s %s: %d archive files after %d compactions that folded it, want one each", team, tbl.Name, n, archives[team+tbl.Name])
				}
			}
			if n := liveFiles(t, w, team, schemas.AcctMerge); n > 1 {
				t.Errorf("%s: %d acct_merge files after the compaction, want at most one", team, n)
			}

			// Nothing new: nothing committed.
			again, err := Compact(ctx, w, team, copts)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := w.Stream(ctx, CloneStream(team)); !again.Unchanged || after.Seq != rep.Commit.Seq {
				t.Fatalf("a rerun with nothing new: %+v, head %d, want no commit after %d", again, after.Seq, rep.Commit.Seq)
			}

			// As of the commit before: the retired files, the same answers.
			past := w.At(txlog.AsOf{Stream: CloneStream(team), Seq: head.Seq})
			before.mustEqual(t, fmt.Sprintf("round %d %s as of %d", round+1, team, head.Seq), snapshot(t, past, team, cache))
			st, err := past.Stream(ctx, CloneStream(team))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(st.TableFiles(schemas.Changes(schemas.Cust).FullName())); n == 0 {
				t.Errorf("%s as of %d: no change file of cust, want the ones the compaction retired", team, head.Seq)
			}
		}
	}
	if merges == 0 || deletions == 0 {
		t.Fatalf("the runs found %d merges and %d deletions: the world must exercise both", merges, deletions)
	}

	// An incremental after the last compaction still matches the truth
	// (the clock is past the world's changes by now: the pulls find none,
	// the sweeps none, but the run commits its watermark on the base).
	for _, team := range src.world.Teams() {
		rep := src.advance(t, w, team, time.Hour)
		checkCloneIsTruth(t, w, src.world, team, rep.To, cache)
	}
	vr, err := check.Verify(ctx, w.Log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !vr.OK() {
		t.Fatalf("verify after the compactions: %+v", vr.Problems)
	}
}

// TestCompactRerunAfterCrash: a compaction that dies before its commit
// leaves nothing visible (the views answer as before, the head is where it
// was), and its rerun commits files with the very names and bytes the
// crashed attempt uploaded, so nothing is left uncommitted, on both
// backends.
func TestCompactRerunAfterCrash(t *testing.T) {
	ctx := context.Background()
	cfg := compactWorld()
	dump := simulatedDump(t, cfg, filepath.Join(t.TempDir(), "dump"))
	const team = "nhl"
	for _, loc := range testLocations(t) {
		t.Run(loc.name, func(t *testing.T) {
			st, err := backend.Open(ctx, loc.url)
			if err != nil {
				t.Fatal(err)
			}
			w := pipeline.New(st, quietLogger)
			if _, err := LoadDump(ctx, w, dump, team, nil); err != nil {
				t.Fatal(err)
			}
			src := newSimSource(t, cfg)
			src.advance(t, w, team, 30*time.Hour)
			cache := filepath.Join(t.TempDir(), "cache")
			before := snapshot(t, w, team, cache)
			head, err := w.Stream(ctx, CloneStream(team))
			if err != nil {
				t.Fatal(err)
			}

			crashing := pipeline.New(&commitFailingStore{Store: st}, quietLogger)
			if _, err := Compact(ctx, crashing, team, CompactOptions{CacheDir: cache, Logger: quietLogger}); err == nil {
				t.Fatal("the compaction survived its simulated crash")
			}
			if after, err := w.Stream(ctx, CloneStream(team)); err != nil || after.Seq != head.Seq {
				t.Fatalf("after the crash: head %d, %v; want %d", after.Seq, err, head.Seq)
			}
			before.mustEqual(t, "after the crash", snapshot(t, w, team, cache))
			var orphans []string
			for _, tbl := range schemas.SourceTables {
				if err := st.List(ctx, schemas.Base(tbl).Prefix(), "", func(o storage.ObjectInfo) error {
					orphans = append(orphans, o.Key)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			if len(orphans) == 0 {
				t.Fatal("the crashed compaction uploaded no base file: the crash came too early to test anything")
			}

			rep, err := Compact(ctx, w, team, CompactOptions{CacheDir: cache, Logger: quietLogger})
			if err != nil || rep.Commit == nil || rep.Commit.Seq != head.Seq+1 {
				t.Fatalf("the rerun: %+v, %v", rep, err)
			}
			committed := map[string]bool{}
			for _, a := range rep.Commit.Adds {
				committed[a.Key] = true
			}
			for _, k := range orphans {
				if !committed[k] {
					t.Errorf("the crashed attempt's %s is not among the rerun's files", k)
				}
			}
			before.mustEqual(t, "after the rerun", snapshot(t, w, team, cache))
			vr, err := check.Verify(ctx, w.Log, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !vr.OK() || len(vr.InFlight) != 0 {
				t.Fatalf("verify after crash and rerun: problems %+v, uncommitted %+v", vr.Problems, vr.InFlight)
			}
		})
	}
}

// TestReplaceDumpAfterCompaction: load-dump --replace after a compaction
// retires every file of the old clone, the base, archive and acct_merge
// files included, so the current state and the history are the new
// dump's alone.
func TestReplaceDumpAfterCompaction(t *testing.T) {
	ctx := context.Background()
	cfg := compactWorld()
	dir := t.TempDir()
	const team = "nhl"
	w, err := pipelinetest.Open(ctx, filepath.Join(dir, "warehouse"), quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDump(ctx, w, simulatedDump(t, cfg, filepath.Join(dir, "dump1")), team, nil); err != nil {
		t.Fatal(err)
	}
	src := newSimSource(t, cfg)
	src.advance(t, w, team, 30*time.Hour)
	src.advance(t, w, team, 20*time.Hour)
	if _, err := Compact(ctx, w, team, CompactOptions{Logger: quietLogger}); err != nil {
		t.Fatal(err)
	}
	old, err := w.Stream(ctx, CloneStream(team))
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []*schemas.Table{schemas.Base(schemas.Cust), schemas.Archive(schemas.Cust), schemas.AcctMerge} {
		if len(old.TableFiles(tbl.FullName())) == 0 {
			t.Fatalf("no %s file before the replace: nothing to check", tbl.FullName())
		}
	}

	later := cfg
	later.Cutoff = cfg.Cutoff.Add(72 * time.Hour)
	rep, err := LoadDumpWith(ctx, w, simulatedDump(t, later, filepath.Join(dir, "dump2")), team, LoadOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	head, err := w.Stream(ctx, CloneStream(team))
	if err != nil {
		t.Fatal(err)
	}
	for table, files := range old.Files {
		for key := range files {
			if _, live := head.Files[table][key]; live {
				t.Errorf("%s file %s of the old clone is still live after the replace", table, key)
			}
		}
	}
	if rep.Replaced != old.LiveFiles() {
		t.Errorf("the replace retired %d files, the old clone had %d", rep.Replaced, old.LiveFiles())
	}
	// The current state is the new dump's, that is the truth just before
	// its cutoff.
	world, err := simulator.NewWorld(later)
	if err != nil {
		t.Fatal(err)
	}
	db, err := views.OpenDuckDB(ctx, "", w.Log, filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tbl := range schemas.SourceTables {
		want := truthVersions(world.StateAt(team, tbl, later.Cutoff.Add(-time.Second)), tbl)
		if diff := diffSets(want, cloneVersions(t, db, tbl, team)); diff != "" {
			t.Errorf("%s after the replace: not the new dump's state:\n%s", tbl.FullName(), diff)
		}
		var history, dumpRows int
		if err := db.QueryRow(fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE _source = 'dump') FROM %s WHERE team = ?", schemas.History(tbl).SQLName()), team).Scan(&history, &dumpRows); err != nil {
			t.Fatal(err)
		}
		if history != len(want) || dumpRows != history {
			t.Errorf("%s after the replace: %d versions (%d from the dump), want the new dump's %d", schemas.History(tbl).SQLName(), history, dumpRows, len(want))
		}
	}
}

// commitCloneRows commits rows (text, in tbl's column order) of tbl on
// nhl/clone as batch, advancing the watermark to watermark.
func commitCloneRows(t *testing.T, w *pipeline.Warehouse, batch, watermark string, tbl *schemas.Table, rows [][]string) {
	t.Helper()
	_, err := w.WriteAndCommit(context.Background(), txlog.CommitRequest{
		Stream: CloneStream("nhl"), Stage: "test", BatchID: batch, Watermark: txlog.Watermark{To: watermark},
	}, func(add func(*schemas.Table) *pipeline.TableWriter) error {
		rb := rowbuild.New(memory.DefaultAllocator, tbl)
		defer rb.Release()
		for _, r := range rows {
			if err := rb.Append(r); err != nil {
				return err
			}
		}
		rec := rb.NewRecord()
		defer rec.Release()
		return add(tbl).Write(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCompactedStateRanksLaterChanges: after a compaction, a change
// pulled later meets the base as it would have met the versions the base
// folded: one with an older update instant than a deletion stays deleted
// (the base keeps the tombstone), one older than the base's version loses
// to it, one newer wins, and a key deleted then written again comes back.
func TestCompactedStateRanksLaterChanges(t *testing.T) {
	event := func(id, name, upd string) []string {
		return eventRow(func(r []string) { r[1], r[2], r[20] = id, name, upd })
	}
	change := func(row []string, op, updated, seen, batch string) []string {
		return append(append([]string(nil), row...), op, updated, seen, batch)
	}
	const (
		cutoff  = "2026-11-20T17:00:01Z"
		deleted = "2026-11-21T12:00:00Z" // event 1's tombstone, and the pull that saw event 3's v2
	)
	tests := []struct {
		name  string
		later []string // a change pulled after the compaction
		want  []string // event_id|event_name of archtics.event
	}{
		{"an older version of a deleted key stays deleted",
			change(event("1", "late", "2026-11-21 04:00:00"), schemas.OpUpsert, "2026-11-21T09:00:00Z", "2026-11-22T12:00:00Z", "incr-c"),
			[]string{"2|two", "3|v2"}},
		{"an older version loses to the base's",
			change(event("3", "stale", "2026-11-21 03:00:00"), schemas.OpUpsert, "2026-11-21T08:00:00Z", "2026-11-22T12:00:00Z", "incr-c"),
			[]string{"2|two", "3|v2"}},
		{"a newer version beats a dump row in the base",
			change(event("2", "new", "2026-11-22 06:00:00"), schemas.OpUpsert, "2026-11-22T11:00:00Z", "2026-11-22T12:00:00Z", "incr-c"),
			[]string{"2|new", "3|v2"}},
		{"a deleted key written again comes back",
			change(event("1", "again", "2026-11-22 06:00:00"), schemas.OpUpsert, "2026-11-22T11:00:00Z", "2026-11-22T12:00:00Z", "incr-c"),
			[]string{"1|again", "2|two", "3|v2"}},
		{"a deletion of a base row drops it",
			change(event("3", "", ""), schemas.OpDelete, "2026-11-22T12:00:00Z", "2026-11-22T12:00:00Z", "incr-c"),
			[]string{"2|two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			w, err := pipelinetest.Open(ctx, filepath.Join(dir, "warehouse"), quietLogger)
			if err != nil {
				t.Fatal(err)
			}
			commitCloneRows(t, w, "dump", cutoff, schemas.Event, [][]string{
				event("1", "one", "2026-11-20 11:00:00"), event("2", "two", "2026-11-20 11:00:00"), event("3", "three", "2026-11-20 11:00:00")})
			commitCloneRows(t, w, "incr-b", deleted, schemas.Changes(schemas.Event), [][]string{
				change(event("1", "", ""), schemas.OpDelete, deleted, deleted, "incr-b"),
				change(event("3", "v2", "2026-11-21 05:00:00"), schemas.OpUpsert, "2026-11-21T10:00:00Z", deleted, "incr-b")})
			if _, err := Compact(ctx, w, "nhl", CompactOptions{Logger: quietLogger}); err != nil {
				t.Fatal(err)
			}
			commitCloneRows(t, w, "incr-c", "2026-11-22T12:00:00Z", schemas.Changes(schemas.Event), [][]string{tt.later})

			db, err := views.OpenDuckDB(ctx, "", w.Log, filepath.Join(dir, "cache"), schemas.Current(schemas.Event))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			got := queryStrings(t, db, "SELECT concat_ws('|', event_id, event_name) FROM archtics.event")
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("archtics.event = %v, want %v", got, tt.want)
			}
		})
	}
}
