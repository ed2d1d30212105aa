package clone

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"archtics/ats"
	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/changes"
)

// TestIncrementalMatchesTruth loads a small world's dump, lets the
// simulated clock run for days of changes with merges and deletions, and
// after each incremental compares archtics.<t> (the current-state views)
// with the simulator's StateAt at the committed watermark, on all four
// tables: every key at its update time, and for ticket and tex the
// account references (which merges move). A rerun with the clock
// unmoved adds no commit.
func TestIncrementalMatchesTruth(t *testing.T) {
	ctx := context.Background()
	cfg := mergeHeavyConfig(4)
	dir := t.TempDir()
	w, _ := loadSimulatedDump(t, cfg, dir)
	s := newSimSource(t, cfg)
	world, clock, cli, opts := s.world, s.clock, s.cli, s.opts

	var merges, deletions int
	var reserved int64
	for i, step := range []time.Duration{26 * time.Hour, 3 * time.Minute, 50 * time.Hour} {
		clock.Set(clock.Now().Add(step))
		for _, team := range world.Teams() {
			rep, err := Incremental(ctx, w, cli, team, opts)
			if err != nil {
				t.Fatalf("run %d %s: %v", i+1, team, err)
			}
			if rep.Commit == nil || rep.Commit.Existing || !rep.Swept || rep.SweepCommit == nil {
				t.Fatalf("run %d %s: want a pull commit and a sweep commit (%+v)", i+1, team, rep)
			}
			reserved += rep.Reserved
			checkNoDoubles(t, w, team, filepath.Join(dir, "cache"))
			merges += len(rep.Merges)
			deletions += int(rep.Deletions)
			checkCloneIsTruth(t, w, world, team, rep.To, filepath.Join(dir, "cache"))
			// The sweep pages the keys the clone held, the truth's and
			// the ones it found deleted, of every table but those the
			// source never deletes from (attendance).
			var held int64
			for _, tbl := range schemas.SourceTables {
				if !tbl.NoDeletes {
					held += int64(len(world.StateAt(team, tbl, rep.To)))
				}
			}
			if got := rep.SweepCommit.Summary["keys"]; got != held+rep.Deletions {
				t.Fatalf("run %d %s: the sweep paged %d keys, want %d present and %d deleted", i+1, team, got, held, rep.Deletions)
			}

			again, err := Incremental(ctx, w, cli, team, opts)
			if err != nil {
				t.Fatalf("rerun %d %s: %v", i+1, team, err)
			}
			head, err := w.Stream(ctx, CloneStream(team))
			if err != nil {
				t.Fatal(err)
			}
			if !again.Unchanged || again.Swept || head.Seq != rep.SweepCommit.Seq {
				t.Fatalf("rerun %d %s with the clock unmoved: unchanged %v, swept %v, head %d, want commit %d last", i+1, team, again.Unchanged, again.Swept, head.Seq, rep.SweepCommit.Seq)
			}
		}
	}
	if reserved == 0 {
		t.Fatal("no run was served a version the clone held: the overlap's deduplication went untested")
	}
	if merges == 0 || deletions == 0 {
		t.Fatalf("the runs found %d merges and %d deletions: the world must exercise both", merges, deletions)
	}
}

// mergeHeavyConfig is a small world with many merges and duplicates and
// days of changes after the cutoff, for the incremental's tests.
func mergeHeavyConfig(daysAfterCutoff int) simulator.Config {
	cfg := simulator.SmallConfig()
	cfg.Accounts = 300
	cfg.EventsPerSeason = 4
	cfg.TicketsPerEvent = 40
	cfg.MergeRate = 0.6
	cfg.DuplicateRate = 0.2
	cfg.DaysAfterCutoff = daysAfterCutoff
	return cfg
}

// checkCloneIsTruth compares the current-state views with StateAt(asOf).
func checkCloneIsTruth(t *testing.T, w *pipeline.Warehouse, world *simulator.World, team string, asOf time.Time, cache string) {
	t.Helper()
	var readViews []*schemas.Table
	for _, tbl := range schemas.SourceTables {
		readViews = append(readViews, schemas.Current(tbl))
	}
	db, err := views.OpenDuckDB(context.Background(), "", w.Log, cache, readViews...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tbl := range schemas.SourceTables {
		truth := world.StateAt(team, tbl, asOf)
		rows := make([][]string, len(truth))
		for i, r := range truth {
			rows[i] = r
		}
		if diff, err := CloneDiff(context.Background(), db, team, tbl, rows, 5); err != nil || diff != "" {
			t.Fatalf("%s at %s, every column: %v\n%s", team, asOf.Format(time.RFC3339), err, diff)
		}
		want := truthVersions(truth, tbl)
		got := cloneVersions(t, db, tbl, team)
		if diff := diffSets(want, got); diff != "" {
			t.Fatalf("%s %s at %s: clone differs from the truth (%d want, %d got):\n%s", team, schemas.Current(tbl).SQLName(), asOf.Format(time.RFC3339), len(want), len(got), diff)
		}
		for _, ref := range changes.AccountRefs {
			if ref.Table != tbl {
				continue
			}
			want := columnVersions(truth, tbl, ref.Column)
			got := cloneColumn(t, db, tbl, team, ref.Column)
			if diff := diffSets(want, got); diff != "" {
				t.Fatalf("%s %s.%s at %s: references differ from the truth:\n%s", team, schemas.Current(tbl).SQLName(), ref.Column, asOf.Format(time.RFC3339), diff)
			}
		}
	}
}

// columnVersions renders the truth's rows as "key|...|column value".
func columnVersions(rows []simulator.Row, tbl *schemas.Table, column string) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		var parts []string
		for _, k := range tbl.Key {
			parts = append(parts, r[tbl.ColumnIndex(k)])
		}
		parts = append(parts, r[tbl.ColumnIndex(column)])
		out = append(out, strings.Join(parts, "|"))
	}
	sort.Strings(out)
	return out
}

// cloneColumn renders the clone's current rows as "key|...|column value".
func cloneColumn(t *testing.T, db *sql.DB, tbl *schemas.Table, team, column string) []string {
	t.Helper()
	var cols []string
	for _, k := range tbl.Key {
		cols = append(cols, fmt.Sprintf("CAST(%s AS VARCHAR)", k))
	}
	cols = append(cols, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", column))
	return queryStrings(t, db, fmt.Sprintf("SELECT concat_ws('|', %s) FROM %s WHERE team = ?", strings.Join(cols, ", "), schemas.Current(tbl).SQLName()), team)
}

// checkNoDoubles checks that no version is stored twice in the change
// tables: the overlap serves versions again and the pull must skip them.
func checkNoDoubles(t *testing.T, w *pipeline.Warehouse, team, cache string) {
	t.Helper()
	var tables []*schemas.Table
	for _, tbl := range schemas.SourceTables {
		tables = append(tables, schemas.Changes(tbl))
	}
	db, err := views.OpenDuckDB(context.Background(), "", w.Log, cache, tables...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, ch := range tables {
		var cols []string
		for _, c := range ch.Columns {
			if c.Name != "_seen_at" && c.Name != "_batch" {
				cols = append(cols, c.Name)
			}
		}
		q := fmt.Sprintf("SELECT count(*), count(DISTINCT (%s)) FROM %s WHERE team = ?", strings.Join(cols, ", "), ch.SQLName())
		var all, distinct int64
		if err := db.QueryRow(q, team).Scan(&all, &distinct); err != nil {
			t.Fatal(err)
		}
		if all != distinct {
			t.Fatalf("%s %s: %d rows, %d distinct versions: the overlap's versions were stored twice", team, ch.SQLName(), all, distinct)
		}
	}
}

// damagingSource serves a real change API but spoils the first two
// ticket versions it serves: the first's required event_id (the row is
// rejected), the second's optional purchase_price and, with a Latin-1
// byte, its row_name (the row is kept, both fields repaired).
type damagingSource struct {
	changes.Source
	done bool
}

func (d *damagingSource) Changes(ctx context.Context, dsn, table string, since time.Time, cursor string, pageSize int) (*ats.Page, error) {
	p, err := d.Source.Changes(ctx, dsn, table, since, cursor, pageSize)
	if err == nil && table == schemas.Ticket.Name && !d.done && len(p.Rows) > 1 {
		d.done = true
		row := append([]string(nil), p.Rows[0]...)
		row[schemas.Ticket.ColumnIndex("event_id")] = "12x"
		p.Rows[0] = row
		row = append([]string(nil), p.Rows[1]...)
		row[schemas.Ticket.ColumnIndex("purchase_price")] = "12,50 USD"
		row[schemas.Ticket.ColumnIndex("row_name")] = "R\xf6w"
		p.Rows[1] = row
	}
	return p, err
}

// TestIncrementalRejectsDamagedVersion: a version whose field does not
// convert is kept in archtics_meta.rejects with where it came from, the
// row number, the field and the reason, in the pull's commit, and the run
// goes on: versions served = written + held already + deferred + rejected.
func TestIncrementalRejectsDamagedVersion(t *testing.T) {
	ctx := context.Background()
	cfg := simulator.SmallConfig()
	cfg.DaysAfterCutoff = 3
	dir := t.TempDir()
	w, _ := loadSimulatedDump(t, cfg, dir)
	s := newSimSource(t, cfg)
	s.clock.Set(s.clock.Now().Add(30 * time.Hour))
	src := &damagingSource{Source: s.cli}
	rep, err := Incremental(ctx, w, src, "nhl", s.opts)
	if err != nil {
		t.Fatal(err)
	}
	if !src.done || rep.Rejected != 1 || rep.Repaired != 2 || rep.Commit.Summary["repaired"] != 2 {
		t.Fatalf("damaged %v, rejected %d, repaired %d: want one version rejected and two fields of another repaired", src.done, rep.Rejected, rep.Repaired)
	}
	if rep.Versions != rep.Upserts+rep.Reserved+rep.Deferred+rep.Rejected {
		t.Fatalf("%d versions served != %d written + %d held + %d deferred + %d rejected", rep.Versions, rep.Upserts, rep.Reserved, rep.Deferred, rep.Rejected)
	}
	db, err := views.OpenDuckDB(ctx, "", w.Log, filepath.Join(dir, "cache"), schemas.Rejects, schemas.Repairs)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var source, field, reason, batch string
	var line int64
	if err := db.QueryRow(`SELECT source, line, field, reason, batch_id FROM archtics_meta.rejects WHERE team = 'nhl' AND origin = 'clone' AND source LIKE 'change API %'`).Scan(&source, &line, &field, &reason, &batch); err != nil {
		t.Fatalf("the reject row: %v", err)
	}
	if !strings.Contains(source, "nhl.ticket") || line < 1 || field != "event_id" || !strings.Contains(reason, "12x") || batch != rep.Commit.BatchID {
		t.Fatalf("reject %q line %d field %q reason %q batch %q: want the ticket pull, a row number, event_id, the value, and batch %s", source, line, field, reason, batch, rep.Commit.BatchID)
	}
	rows, err := db.Query(`SELECT source, line, field, raw, coalesce(repaired, 'NULL'), batch_id FROM archtics_meta.repairs
		WHERE team = 'nhl' AND origin = 'clone' ORDER BY field`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var src, field, raw, repaired, batch string
		var at int64
		if err := rows.Scan(&src, &at, &field, &raw, &repaired, &batch); err != nil {
			t.Fatal(err)
		}
		if src != source || at != line+1 || batch != rep.Commit.BatchID {
			t.Errorf("repair of %s at %q line %d batch %q: want the pull's next row (%q line %d), batch %s", field, src, at, batch, source, line+1, rep.Commit.BatchID)
		}
		got = append(got, field+"="+raw+"->"+repaired)
	}
	if want := `purchase_price=12,50 USD->NULL row_name=R\xF6w->Röw`; strings.Join(got, " ") != want {
		t.Fatalf("repairs %q, want %q", strings.Join(got, " "), want)
	}
}
