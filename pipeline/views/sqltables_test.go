package views

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

func names(ts []*schemas.Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.SQLName())
	}
	return out
}

// withViewDeps adds, to the SQL names of current-state views
// (archtics.<source table>), the tables they read (DependsOn).
func withViewDeps(want []string) []string {
	out := append([]string(nil), want...)
	for _, w := range want {
		for _, src := range schemas.SourceTables {
			if w == schemas.Current(src).SQLName() {
				out = append(out, schemas.Current(src).DependsOn...)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestTablesReadBy(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want []string // nil: every table
	}{
		{"plain", `SELECT count(*) FROM archtics.ticket WHERE section_name='308'`, []string{"archtics.ticket"}},
		{"join", `SELECT e.event_name, count(*) FROM archtics.event e JOIN archtics.ticket t USING (team, event_id) GROUP BY 1`, []string{"archtics.event", "archtics.ticket"}},
		{"quoted, mixed case", `SELECT * FROM "Archtics"."TICKET"`, []string{"archtics.ticket"}},
		{"quoted with a doubled quote is another name", `SELECT * FROM "archtics"."tick""et"`, nil},
		{"spaces and a comment around the dot", "SELECT * FROM archtics /* the clone */ .\n ticket", []string{"archtics.ticket"}},
		{"catalog qualified", `SELECT * FROM memory.archtics_rtx.attendance_raw`, []string{"archtics_rtx.attendance_raw"}},
		{"column qualified", `SELECT archtics.cust.acct_id FROM archtics.cust`, []string{"archtics.cust"}},
		{"inside a string (query_table)", `SELECT * FROM query_table('archtics.tex')`, []string{"archtics.tex"}},
		{"inside a dollar-quoted string", `SELECT * FROM query($q$SELECT * FROM archtics_meta.rejects$q$)`, []string{"archtics_meta.rejects"}},
		{"a comma is not a dot", `SELECT archtics, ticket FROM archtics.event`, []string{"archtics.event"}},
		{"a string is not an identifier", `SELECT 'archtics' || '.' || 'ticket' FROM archtics.event`, []string{"archtics.event"}},
		{"line comment", "-- archtics.tex is not read\nSELECT * FROM archtics.event", []string{"archtics.event"}},
		{"parameters", `SELECT * FROM archtics.event WHERE team = $1`, []string{"archtics.event"}},
		{"unknown table of a known schema", `SELECT * FROM archtics.nonesuch`, nil},
		{"no table named", `SELECT 1`, nil},
		{"bare names after USE", `USE archtics; SELECT * FROM ticket`, nil},
		{"information schema", `SELECT table_name FROM information_schema.tables WHERE table_schema = 'archtics' UNION SELECT 'x' FROM archtics.event`, nil},
		{"duckdb_ catalog function", `SELECT * FROM duckdb_views() WHERE sql LIKE '%archtics.ticket%'`, nil},
		{"SHOW", `SHOW TABLES`, nil},
		{"unterminated string", `SELECT * FROM archtics.event WHERE x = 'oops`, []string{"archtics.event"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(TablesReadBy(tt.sql))
			slices.Sort(got)
			if want := withViewDeps(tt.want); !slices.Equal(got, want) {
				t.Fatalf("TablesReadBy(%q) = %v, want %v", tt.sql, got, want)
			}
		})
	}
}

func TestReadSetFollowsDependencies(t *testing.T) {
	// Views that read other tables, as later issues add them.
	byEvent := &schemas.Table{Schema: "archtics_rtx", Name: "by_event", DependsOn: []string{"archtics_rtx.attendance_raw", "archtics.event"}}
	top := &schemas.Table{Schema: "archtics_rtx", Name: "top", DependsOn: []string{"archtics_rtx.by_event"}}
	got, err := schemas.ReadSet([]*schemas.Table{top, byEvent}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"archtics_rtx.attendance_raw", "archtics_dump.event", "archtics_base.event", "archtics_changes.event", "archtics.event", "archtics_rtx.by_event", "archtics_rtx.top"}; !slices.Equal(names(got), want) {
		t.Fatalf("readSet = %v, want %v (dependencies first, each once)", names(got), want)
	}

	a := &schemas.Table{Schema: "s", Name: "a", DependsOn: []string{"s.b"}}
	b := &schemas.Table{Schema: "s", Name: "b", DependsOn: []string{"s.a"}}
	if _, err := schemas.ReadSet([]*schemas.Table{a, b}, nil); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a cycle: err = %v", err)
	}
	lost := &schemas.Table{Schema: "s", Name: "lost", DependsOn: []string{"s.nowhere"}}
	if _, err := schemas.ReadSet([]*schemas.Table{lost}, nil); err == nil || !strings.Contains(err.Error(), "s.nowhere") {
		t.Errorf("an unknown dependency: err = %v", err)
	}
	all, err := schemas.ReadSet(nil, nil)
	if err != nil || len(all) != len(distinctKnown()) {
		t.Errorf("schemas.ReadSet(nil) = %v, %v; want every known table", names(all), err)
	}
}

// distinctKnown is the set of known table names.
func distinctKnown() map[string]bool {
	out := map[string]bool{}
	for _, t := range txlog.KnownTables() {
		out[t.FullName()] = true
	}
	return out
}

func scanCount(n *int) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		for rows.Next() {
			if err := rows.Scan(n); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}

// TestQueryMaterializesWhatItReads: a statement gets views (and file
// checks) for the tables it names only; a guess that misses a table is
// rerun over every table rather than answering from a missing view.
func TestQueryMaterializesWhatItReads(t *testing.T) {
	dir := t.TempDir()
	w := fileWarehouse(t, dir)
	ctx := context.Background()
	c := commitNHLScans(t, w, 1200)
	backdate(t, dir, c)
	cache := t.TempDir()

	var n int
	info, err := Query(ctx, w.Log, cache, `SELECT count(*) FROM archtics_rtx.attendance_raw`, scanCount(&n))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1200 || info.Fallback || !slices.Equal(info.Tables, []string{"archtics_rtx.attendance_raw"}) || info.Commits != 1 {
		t.Fatalf("count %d, info %+v; want 1200 over archtics_rtx.attendance_raw alone, 1 commit", n, info)
	}

	// A wrong guess (as a statement reading a table through a name the
	// scan cannot see would make): DuckDB's catalog error, then a rerun
	// over every table, with the right answer.
	n = -1
	info, err = query(ctx, w.Log, cache, `SELECT count(*) FROM archtics_rtx.attendance_raw`, []*schemas.Table{schemas.Event}, scanCount(&n))
	if err != nil {
		t.Fatal(err)
	}
	// Every table: schemas.All, and the per-team views nhl's realtime
	// stream brings (archtics_nhl_rtx.attendance).
	if n != 1200 || !info.Fallback || len(info.Tables) != len(distinctKnown())+len(schemas.StreamTables([]string{"nhl/realtime"})) {
		t.Fatalf("after a wrong guess: count %d, info %+v; want 1200 after a fallback to every table", n, info)
	}

	// A statement that fails for another reason fails once, as it is.
	_, err = Query(ctx, w.Log, cache, `SELEC count(*) FROM archtics_rtx.attendance_raw`, scanCount(&n))
	if err == nil || !strings.Contains(err.Error(), "syntax") {
		t.Fatalf("syntax error: %v", err)
	}
	// A table that really does not exist: still a catalog error, after
	// the fallback.
	_, err = Query(ctx, w.Log, cache, `SELECT count(*) FROM archtics_rtx.attendance_raw, archtics.nonesuch`, scanCount(&n))
	if err == nil || !strings.Contains(err.Error(), "nonesuch") {
		t.Fatalf("missing table: %v", err)
	}

	// Other tables' files are not even looked at: a damaged file of
	// archtics_rtx.attendance_raw does not matter to a statement on
	// archtics.event, and fails one on archtics_rtx.attendance_raw.
	damaged := filepath.Join(dir, filepath.FromSlash(c.Adds[0].Key))
	if err := os.WriteFile(damaged, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	hashes := countHashes(t)
	if _, err := Query(ctx, w.Log, cache, `SELECT count(*) FROM archtics.event`, scanCount(&n)); err != nil {
		t.Fatalf("a query of archtics.event with a damaged attendance file: %v", err)
	}
	if got := hashes.take(); len(got) != 0 {
		t.Fatalf("a query of archtics.event hashed %v", got)
	}
	if _, err := Query(ctx, w.Log, cache, `SELECT count(*) FROM archtics_rtx.attendance_raw`, scanCount(&n)); err == nil || !strings.Contains(err.Error(), c.Adds[0].Key) {
		t.Fatalf("a query of the damaged table: %v, want an error naming %s", err, c.Adds[0].Key)
	}
}

// TestQueryEmptyWarehouse: a warehouse with no commit answers with empty
// views and says it has no commit, so the caller can tell the user.
func TestQueryEmptyWarehouse(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	n := -1
	info, err := Query(context.Background(), w.Log, t.TempDir(), `SELECT count(*) FROM archtics.ticket`, scanCount(&n))
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || info.Commits != 0 {
		t.Fatalf("empty warehouse: count %d, commits %d", n, info.Commits)
	}
}
