package stages

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kore-oss/archtics/pipeline"
	"github.com/kore-oss/archtics/schemas"
	"github.com/kore-oss/archtics/simulator"
	"github.com/kore-oss/archtics/storage/file"
)

// loadSimulatedDump writes the simulator's dump of cfg under dir and loads
// every team into a local warehouse.
func loadSimulatedDump(tb testing.TB, cfg simulator.Config, dir string) (*pipeline.Warehouse, []*LoadReport) {
	tb.Helper()
	ctx := context.Background()
	dumpDir := filepath.Join(dir, "dump")
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(dumpDir), nil); err != nil {
		tb.Fatal(err)
	}
	src, err := file.New(dumpDir)
	if err != nil {
		tb.Fatal(err)
	}
	dump, err := OpenDump(ctx, src)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := pipeline.Open(ctx, filepath.Join(dir, "warehouse"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	var reps []*LoadReport
	for _, team := range dump.Teams() {
		rep, err := LoadDump(ctx, w, dump, team, nil)
		if err != nil {
			tb.Fatalf("load %s: %v", team, err)
		}
		reps = append(reps, rep)
	}
	return w, reps
}

// TestLoadSimulatedDumpMatchesTruth loads the simulator's dump and checks
// the clone against the simulator's truth at the cutoff: the same keys,
// each at the same update time, nothing rejected from a clean dump.
func TestLoadSimulatedDumpMatchesTruth(t *testing.T) {
	cfg := simulator.SmallConfig()
	dir := t.TempDir()
	w, reps := loadSimulatedDump(t, cfg, dir)
	for _, rep := range reps {
		in, loaded, rejected := rep.Totals()
		if rejected != 0 || in != loaded {
			t.Errorf("%s: %d in, %d loaded, %d rejected from a clean dump", rep.Team, in, loaded, rejected)
		}
	}

	world, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := pipeline.OpenDuckDB(context.Background(), "", w, filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The dump holds the versions committed strictly before the cutoff;
	// the truth's asOf is inclusive, at one-second resolution.
	asOf := world.Cutoff().Add(-time.Second)
	for _, tbl := range []*schemas.Table{schemas.Event, schemas.Cust, schemas.Ticket, schemas.Tex} {
		for _, team := range world.Teams() {
			want := truthVersions(world.StateAt(team, tbl, asOf), tbl)
			got := cloneVersions(t, db, tbl, team)
			if len(want) == 0 {
				t.Fatalf("%s %s: the truth is empty", team, tbl.FullName())
			}
			if diff := diffSets(want, got); diff != "" {
				t.Errorf("%s %s: clone differs from the truth at the cutoff (%d rows want, %d got):\n%s",
					team, tbl.FullName(), len(want), len(got), diff)
			}
		}
	}
}

// truthVersions renders rows as "key|...|updated-at".
func truthVersions(rows []simulator.Row, tbl *schemas.Table) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		var parts []string
		for _, k := range tbl.Key {
			parts = append(parts, r[tbl.ColumnIndex(k)])
		}
		parts = append(parts, r[tbl.ColumnIndex(tbl.UpdatedAt)])
		out = append(out, strings.Join(parts, "|"))
	}
	sort.Strings(out)
	return out
}

func cloneVersions(t *testing.T, db *sql.DB, tbl *schemas.Table, team string) []string {
	t.Helper()
	var cols []string
	for _, k := range tbl.Key {
		cols = append(cols, fmt.Sprintf("CAST(%s AS VARCHAR)", k))
	}
	cols = append(cols, fmt.Sprintf("strftime(%s, '%%Y-%%m-%%d %%H:%%M:%%S')", tbl.UpdatedAt))
	q := fmt.Sprintf("SELECT concat_ws('|', %s) FROM %s WHERE team = ?", strings.Join(cols, ", "), tbl.FullName())
	rows, err := db.Query(q, team)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// diffSets lists up to ten entries of each side missing from the other.
func diffSets(want, got []string) string {
	in := func(s []string, v string) bool {
		i := sort.SearchStrings(s, v)
		return i < len(s) && s[i] == v
	}
	var b strings.Builder
	n := 0
	for _, v := range want {
		if !in(got, v) && n < 10 {
			fmt.Fprintf(&b, "  missing %s\n", v)
			n++
		}
	}
	n = 0
	for _, v := range got {
		if !in(want, v) && n < 10 {
			fmt.Fprintf(&b, "  extra   %s\n", v)
			n++
		}
	}
	if len(want) != len(got) && b.Len() == 0 {
		fmt.Fprintf(&b, "  %d rows want, %d got (duplicates)\n", len(want), len(got))
	}
	return b.String()
}

// BenchmarkLoadDump loads a simulated dump of two teams (100,000
// accounts each, about 2,000,000 rows in all) from gzip text into the
// clone tables of a local warehouse: parse, convert, Parquet, commit.
func BenchmarkLoadDump(b *testing.B) {
	cfg := simulator.DefaultConfig()
	cfg.Accounts = 100_000
	cfg.TicketsPerEvent = 6000
	var rows int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		dumpDir := filepath.Join(dir, "dump")
		ctx := context.Background()
		if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(dumpDir), nil); err != nil {
			b.Fatal(err)
		}
		src, err := file.New(dumpDir)
		if err != nil {
			b.Fatal(err)
		}
		dump, err := OpenDump(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		w, err := pipeline.Open(ctx, filepath.Join(dir, "warehouse"), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, team := range dump.Teams() {
			rep, err := LoadDump(ctx, w, dump, team, nil)
			if err != nil {
				b.Fatal(err)
			}
			in, _, _ := rep.Totals()
			rows += in
		}
	}
	b.ReportMetric(float64(rows)/float64(b.N), "rows")
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
