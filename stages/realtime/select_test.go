package realtime

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"archtics/ats"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/changes"
	"archtics/stages/clone"
)

// simClone is a small simulated client loaded into a local warehouse,
// with the simulator serving its change API on a clock the test drives.
type simClone struct {
	w     *pipeline.Warehouse
	world *simulator.World
	clock *simulator.SimClock
	cli   *ats.Client
	cache string
}

func newSimClone(t *testing.T) *simClone {
	t.Helper()
	cfg := simulator.SmallConfig()
	cfg.Accounts = 200
	cfg.TicketsPerEvent = 20
	cfg.DaysAfterCutoff = 6
	g := newGameDay(t, cfg, "")
	return &simClone{w: g.w, world: g.world, clock: g.clock, cli: g.cli, cache: g.cache}
}

// advance moves the simulated clock to at and brings every team's clone
// up to it with the incremental.
func (s *simClone) advance(t *testing.T, at time.Time) {
	t.Helper()
	if !at.After(s.clock.Now()) {
		return
	}
	s.clock.Set(at)
	for _, team := range s.world.Teams() {
		opts := clone.IncrementalOptions{Pull: changes.Options{Location: s.world.Location(), PageSize: 500}, Logger: quietLogger}
		if _, err := clone.Incremental(context.Background(), s.w, s.cli, team, opts); err != nil {
			t.Fatalf("incremental %s to %s: %v", team, at, err)
		}
	}
}

func renderSelected(evs []SelectedEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%d %s %s", e.EventID, e.Name, e.Start.UTC().Format(time.RFC3339))
	}
	sort.Strings(out)
	return out
}

func renderTruth(evs []simulator.EventStart) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%d %s %s", e.EventID, e.Name, e.Start.UTC().Format(time.RFC3339))
	}
	sort.Strings(out)
	return out
}

// TestSelectEventsMatchesTruth: both of the seed's example criteria,
// for both teams, at instants from the cutoff to after the doubleheader
// (and a minute either side of a local midnight, when the UTC date is
// already the next one), select exactly the events the simulator's truth
// selects, with the same start instants, in (start, id) order; once from
// the criteria set in korebi.birulesettings and once given directly.
func TestSelectEventsMatchesTruth(t *testing.T) {
	ctx := context.Background()
	s := newSimClone(t)
	loc := s.world.Location()
	cut := s.world.Cutoff().In(loc)
	day := func(d int, hh, mm int) time.Time {
		return time.Date(cut.Year(), cut.Month(), cut.Day()+d, hh, mm, 0, 0, loc)
	}
	criteria := []struct {
		fragment string
		truth    simulator.Criteria
	}{
		{seedCriteriaSportsConcerts, simulator.DefaultCriteria},
		{seedCriteriaHockey, simulator.HockeyCriteria},
	}
	// In korebi.birulesettings each team gets one of the examples (in
	// force from before the cutoff, so every instant below sees them);
	// both examples are also tried on both teams through
	// SelectOptions.Criteria.
	inForce := map[string]int{}
	for i, team := range s.world.Teams() {
		inForce[team] = i % len(criteria)
		if _, _, err := SetCriteria(ctx, s.w, team, criteria[i%len(criteria)].fragment, SetOptions{By: "test", Effective: s.world.Cutoff().Add(-time.Hour)}); err != nil {
			t.Fatalf("set %s criteria: %v", team, err)
		}
	}
	for _, at := range []time.Time{s.world.Cutoff(), day(1, 12, 0), day(3, 8, 0), day(3, 23, 59), day(4, 0, 1), day(5, 21, 0)} {
		s.advance(t, at)
		for _, team := range s.world.Teams() {
			for ci, c := range criteria {
				opts := SelectOptions{CacheDir: s.cache, Logger: quietLogger, Criteria: c.fragment}
				how := "SelectOptions.Criteria"
				if ci == inForce[team] {
					opts.Criteria, how = "", "korebi.birulesettings"
				}
				want := renderTruth(s.world.SelectedEvents(team, at, c.truth))
				got, err := SelectEvents(ctx, s.w, team, at, opts)
				if err != nil {
					t.Fatalf("%s at %s (%s): %v", team, at, how, err)
				}
				for i := 1; i < len(got); i++ {
					if a, b := got[i-1], got[i]; a.Start.After(b.Start) || a.Start.Equal(b.Start) && a.EventID > b.EventID {
						t.Fatalf("%s at %s: events out of (start, id) order: %+v before %+v", team, at, a, b)
					}
				}
				t.Logf("%s at %s, %s (%s): %d events", team, at.Format(time.RFC3339), c.fragment, how, len(got))
				if g := renderSelected(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
					t.Fatalf("%s at %s, criteria %q (%s):\ngot  %q\nwant %q", team, at.Format(time.RFC3339), c.fragment, how, g, want)
				}
			}
		}
	}
	// The doubleheader's day selects something for both teams: the
	// comparison above was not between empty lists.
	for _, team := range s.world.Teams() {
		if len(s.world.SelectedEvents(team, day(3, 8, 0), simulator.DefaultCriteria)) == 0 {
			t.Fatalf("%s: the truth selects nothing on the doubleheader's day", team)
		}
	}
}

// TestCriteriaVersions: set writes a new version each time on the team's
// settings stream, the live view shows the newest, the history all, and
// the record in force at an instant is the newest effective by then; a
// team with no record in force selects nothing and says so.
func TestCriteriaVersions(t *testing.T) {
	ctx := context.Background()
	s := newSimClone(t)
	team := s.world.Teams()[0]
	t0 := s.world.Cutoff()
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	if _, err := SelectEvents(ctx, s.w, team, t1, SelectOptions{CacheDir: s.cache, Logger: quietLogger}); !errors.Is(err, ErrNoCriteria) {
		t.Fatalf("no criteria set: SelectEvents = %v, want ErrNoCriteria", err)
	}
	r1, c1, err := SetCriteria(ctx, s.w, team, seedCriteriaSportsConcerts, SetOptions{By: "alice", Effective: t1, Note: "first"})
	if err != nil {
		t.Fatal(err)
	}
	r2, c2, err := SetCriteria(ctx, s.w, team, seedCriteriaHockey, SetOptions{By: "bob", Effective: t2})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Version != 1 || r2.Version != 2 || c1.Stream != SettingsStream(team) || c2.Seq != c1.Seq+1 {
		t.Fatalf("versions %d, %d on %s seq %d, %d: want 1, 2 on %s, consecutive", r1.Version, r2.Version, c1.Stream, c1.Seq, c2.Seq, SettingsStream(team))
	}
	if _, _, err := SetCriteria(ctx, s.w, team, "1=1; DROP TABLE archtics.event", SetOptions{By: "mallory"}); !IsCriteriaError(err) {
		t.Fatalf("a hostile fragment: SetCriteria = %v, want a *CriteriaError", err)
	}
	if _, _, err := SetCriteria(ctx, s.w, "no-such-team", seedCriteriaHockey, SetOptions{}); err == nil || !strings.Contains(err.Error(), "no clone") {
		t.Fatalf("an unknown team: SetCriteria = %v, want an error saying it has no clone", err)
	}
	for _, tc := range []struct {
		at      time.Time
		version int64
	}{{t0, 0}, {t1, 1}, {t1.Add(30 * time.Minute), 1}, {t2, 2}, {t2.Add(24 * time.Hour), 2}} {
		t.Run(tc.at.Format(time.RFC3339), func(t *testing.T) {
			rec, err := CriteriaAt(ctx, s.w, team, tc.at, s.cache)
			switch {
			case tc.version == 0 && !errors.Is(err, ErrNoCriteria):
				t.Fatalf("at %s: %v, %v; want ErrNoCriteria", tc.at, rec, err)
			case tc.version != 0 && (err != nil || rec.Version != tc.version):
				t.Fatalf("at %s: %+v, %v; want version %d", tc.at, rec, err, tc.version)
			}
		})
	}
	hist, err := CriteriaHistory(ctx, s.w, team, s.cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Criteria != seedCriteriaSportsConcerts || hist[0].SetBy != "alice" || hist[0].Note != "first" ||
		!hist[0].EffectiveAt.Equal(t1) || hist[1].Criteria != seedCriteriaHockey || hist[1].SetBy != "bob" {
		t.Fatalf("history: %+v", hist)
	}
	// The live view: one record per team and setting, the newest.
	var live []string
	_, err = views.Query(ctx, s.w.Log, s.cache, "SELECT team, setting, version, value FROM korebi.birulesettings ORDER BY team", func(rows *sql.Rows) error {
		for rows.Next() {
			var tm, setting, value string
			var v int64
			if err := rows.Scan(&tm, &setting, &v, &value); err != nil {
				return err
			}
			live = append(live, fmt.Sprintf("%s %s %d %s", tm, setting, v, value))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%s %s 2 %s", team, schemas.SettingRealtimeCriteria, seedCriteriaHockey); len(live) != 1 || live[0] != want {
		t.Fatalf("korebi.birulesettings: %q, want [%q]", live, want)
	}
}

// TestSandboxWalls: the sandbox's second wall holds on its own: with a
// statement the first wall would refuse, it can read no file, change no
// setting and sees no table but its events.
func TestSandboxWalls(t *testing.T) {
	ctx := context.Background()
	s := newSimClone(t)
	db, err := views.OpenDuckDB(ctx, "", s.w.Log, s.cache, schemas.Current(schemas.Event))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	team := s.world.Teams()[0]
	sb, err := openSandbox(ctx, db, team, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	var n int
	if err := sb.QueryRowContext(ctx, "SELECT count(*) FROM archtics.event WHERE team = ? AND current_date = DATE '2026-11-23'", team).Scan(&n); err != nil || n == 0 {
		t.Fatalf("the sandbox's events: %d rows, %v", n, err)
	}
	// The seed's verification query runs there as written (criteria in
	// place of its comment), and lists what Select lists for that day.
	seed := `SELECT event_name, event_date, event_time, event_day, team,
major_category, minor_category, season_name
FROM archtics.event
WHERE enabled = 'Y' AND event_date >= current_date
AND event_date <= current_date + 8
AND /* INSERT CRITERIA HERE */ ;`
	at := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC) // 08:00 in New York
	for _, f := range []string{seedCriteriaSportsConcerts, seedCriteriaHockey} {
		rows, err := sb.QueryContext(ctx, strings.Replace(seed, "/* INSERT CRITERIA HERE */", f, 1))
		if err != nil {
			t.Fatalf("the seed's query with %q: %v", f, err)
		}
		var got []string
		for rows.Next() {
			var name string
			var date time.Time
			var tm, dayName, tmName, major, minor, season sql.NullString
			if err := rows.Scan(&name, &date, &tm, &dayName, &tmName, &major, &minor, &season); err != nil {
				t.Fatal(err)
			}
			got = append(got, name+" "+date.Format(time.DateOnly)+" "+tm.String)
		}
		rows.Close()
		sel, err := Select(ctx, s.w, team, at, SelectOptions{CacheDir: s.cache, Criteria: f})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range sel.Rows {
			want = append(want, r.EventName+" "+r.EventDate.Format(time.DateOnly)+" "+r.EventTime)
		}
		sort.Strings(got)
		sort.Strings(want)
		if len(want) == 0 || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("criteria %q on 2026-11-23: the seed's query lists %q, Select %q", f, got, want)
		}
	}
	for _, stmt := range []string{
		"SELECT count(*) FROM read_csv('/etc/passwd')",
		"SELECT count(*) FROM glob('/*')",
		"SET enable_external_access = true",
		"SET lock_configuration = false",
		"ATTACH '" + filepath.Join(t.TempDir(), "x.duckdb") + "' AS x",
		"COPY archtics.event TO '" + filepath.Join(t.TempDir(), "x.csv") + "'",
		"SELECT count(*) FROM archtics.cust",
	} {
		if _, err := sb.ExecContext(ctx, stmt); err == nil {
			t.Errorf("the sandbox ran %q", stmt)
		}
	}
}

// TestConcurrentSets: admins setting criteria at the same time never
// share a version and never lose a set silently: each set either commits
// its own version or fails with a commit conflict (exit 3: rerun).
func TestConcurrentSets(t *testing.T) {
	ctx := context.Background()
	s := newSimClone(t)
	team := s.world.Teams()[0]
	const admins = 4
	type result struct {
		rec *CriteriaRecord
		err error
	}
	results := make(chan result, admins)
	for i := 0; i < admins; i++ {
		go func(i int) {
			rec, _, err := SetCriteria(ctx, s.w, team, fmt.Sprintf("event_id > %d", i), SetOptions{By: fmt.Sprintf("admin%d", i)})
			results <- result{rec, err}
		}(i)
	}
	won := map[int64]string{}
	for i := 0; i < admins; i++ {
		r := <-results
		switch {
		case r.err == nil:
			if prev, ok := won[r.rec.Version]; ok {
				t.Fatalf("version %d set twice: %q and %q", r.rec.Version, prev, r.rec.Criteria)
			}
			won[r.rec.Version] = r.rec.Criteria
		case !errors.Is(r.err, txlog.ErrCommitConflict):
			t.Fatalf("a concurrent set failed with %v, want success or a commit conflict", r.err)
		}
	}
	hist, err := CriteriaHistory(ctx, s.w, team, s.cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != len(won) || len(won) == 0 {
		t.Fatalf("%d sets succeeded, the history holds %d versions", len(won), len(hist))
	}
	for _, h := range hist {
		if won[h.Version] != h.Criteria {
			t.Fatalf("version %d holds %q, the set that reported it wrote %q", h.Version, h.Criteria, won[h.Version])
		}
	}
}
