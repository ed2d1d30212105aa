package clone

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"archtics/internal/benchproc"
	"archtics/internal/dbtest"
	"archtics/pipeline"
	"archtics/pipeline/check"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/storage"
	"archtics/storage/backend"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

// simulatedDump writes the simulator's dump of cfg to dir and opens it.
func simulatedDump(tb testing.TB, cfg simulator.Config, dir string) Dump {
	tb.Helper()
	ctx := context.Background()
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(dir), nil); err != nil {
		tb.Fatal(err)
	}
	src, err := file.New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	dump, err := OpenDump(ctx, src)
	if err != nil {
		tb.Fatal(err)
	}
	return dump
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// loadSimulatedDump writes the simulator's dump of cfg under dir and loads
// every team into a local warehouse.
func loadSimulatedDump(tb testing.TB, cfg simulator.Config, dir string) (*pipeline.Warehouse, []*LoadReport) {
	tb.Helper()
	ctx := context.Background()
	dump := simulatedDump(tb, cfg, filepath.Join(dir, "dump"))
	w, err := pipelinetest.Open(ctx, filepath.Join(dir, "warehouse"), quietLogger)
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
	db, err := views.OpenDuckDB(context.Background(), "", w.Log, filepath.Join(dir, "cache"))
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
	return queryStrings(t, db, q, team)
}

// queryStrings runs q, whose rows are one string each, and returns them
// sorted.
func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	return dbtest.Strings(t, db, q, args...)
}

// diffSets lists up to ten entries of each side missing from the other.
func diffSets(want, got []string) string {
	return dbtest.DiffSets(want, got)
}

// BenchmarkLoadDump loads a simulated dump of two teams (100,000
// accounts each, about 2,000,000 rows in all) from gzip text into the
// clone tables of a local warehouse: parse, convert, Parquet, commit.
// Beside it, untimed in ns/op, DuckDB alone converts the very same gzip
// parts to Parquet, one COPY per team and table as the load writes them,
// every field read as text: the baseline the load must stay ahead of.
//
//   - rows/s, cpu-s/op: the load's rows in per second, and its CPU (user
//     and system, every thread)
//   - duckdb-rows/s, duckdb-cpu-s/op: the same for DuckDB alone
//   - x-duckdb: the load's time over DuckDB's (below 1: the load is faster)
func BenchmarkLoadDump(b *testing.B) {
	cfg := simulator.DefaultConfig()
	cfg.Accounts = 100_000
	cfg.TicketsPerEvent = 6000
	var rows int64
	var cpu, duckTime, duckCPU time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		ctx := context.Background()
		dumpDir := filepath.Join(dir, "dump")
		dump := simulatedDump(b, cfg, dumpDir)
		w, err := pipelinetest.Open(ctx, filepath.Join(dir, "warehouse"), quietLogger)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		c0 := benchproc.SelfCPU()
		b.StartTimer()
		var reps []*LoadReport
		for _, team := range dump.Teams() {
			rep, err := LoadDump(ctx, w, dump, team, nil)
			if err != nil {
				b.Fatal(err)
			}
			in, _, _ := rep.Totals()
			rows += in
			reps = append(reps, rep)
		}
		b.StopTimer()
		cpu += benchproc.SelfCPU() - c0
		runtime.GC()
		start, c0 := time.Now(), benchproc.SelfCPU()
		duckRows := duckDBConvert(b, dump, dumpDir, filepath.Join(dir, "duckdb"))
		duckTime += time.Since(start)
		duckCPU += benchproc.SelfCPU() - c0
		for _, rep := range reps {
			for _, fl := range rep.Files {
				k := rep.Team + "/" + fl.Table
				duckRows[k] -= fl.In
			}
		}
		for k, n := range duckRows {
			if n != 0 {
				b.Fatalf("%s: DuckDB read %+d rows more than the load: the baseline does not read the same input", k, n)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)/float64(b.N), "rows")
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(rows)/duckTime.Seconds(), "duckdb-rows/s")
	b.ReportMetric(duckCPU.Seconds()/float64(b.N), "duckdb-cpu-s/op")
	b.ReportMetric(b.Elapsed().Seconds()/duckTime.Seconds(), "x-duckdb")
}

// duckDBConvert has a fresh in-process DuckDB convert each team's table of
// dump (stored under dumpDir) to one Parquet file under outDir, reading the
// gzip parts as the loader does: '|' between fields, no quoting, a header
// line, every field text. read_csv has no escape outside quotes, so a
// value holding an escaped '|' (a few hundred lines of the dump) splits
// there; strict_mode = false keeps such a line as one row, its fields
// after the '|' shifted and the last dropped, so DuckDB still reads every
// line and byte. It returns the rows DuckDB wrote per "team/schema.table",
// which the caller checks against the load's rows in.
func duckDBConvert(tb testing.TB, dump Dump, dumpDir, outDir string) map[string]int64 {
	tb.Helper()
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	out := map[string]int64{}
	for _, team := range dump.Teams() {
		var teamFiles []DumpFile
		for _, f := range dump.Files {
			if f.Team == team {
				teamFiles = append(teamFiles, f)
			}
		}
		for _, group := range byTable(teamFiles) {
			t := group[0].Table
			var paths, cols []string
			for _, f := range group {
				paths = append(paths, sqlString(filepath.Join(dumpDir, filepath.FromSlash(f.Name))))
			}
			for _, c := range t.Columns {
				cols = append(cols, sqlString(c.Name)+": 'VARCHAR'")
			}
			target := filepath.Join(outDir, team+"_"+t.Name+".parquet")
			q := fmt.Sprintf("COPY (FROM read_csv([%s], delim = '|', quote = '', escape = '', header = true, auto_detect = false, strict_mode = false, columns = {%s})) TO %s (FORMAT parquet)",
				strings.Join(paths, ", "), strings.Join(cols, ", "), sqlString(target))
			var n int64
			if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
				tb.Fatalf("DuckDB converting %s of %s: %v", t.FullName(), team, err)
			}
			out[team+"/"+t.FullName()] += n
		}
	}
	return out
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// commitFailingStore fails the first commit object put, as a crash between
// writing the data files and committing them would leave things.
type commitFailingStore struct {
	storage.Store
	failed bool
}

func (s *commitFailingStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	if !s.failed && strings.HasPrefix(key, "_log/") && strings.HasSuffix(key, ".json") && !strings.HasPrefix(key, "_log/_") {
		s.failed = true
		return storage.ObjectInfo{}, errors.New("simulated crash before the commit")
	}
	return s.Store.PutIfAbsent(ctx, key, r, size)
}

// TestLoadDumpRerunAfterCrash: a load that dies before its commit leaves
// nothing visible; the rerun commits once, and the committed files are
// byte for byte those of a load that never crashed, on both backends.
func TestLoadDumpRerunAfterCrash(t *testing.T) {
	ctx := context.Background()
	cfg := simulator.SmallConfig()
	cfg.DirtyLines = true
	dump := simulatedDump(t, cfg, filepath.Join(t.TempDir(), "dump"))
	quiet := quietLogger

	// The reference: a load that never crashed.
	clean, err := pipelinetest.Open(ctx, t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	want := committedFiles(t, clean, dump)

	for _, loc := range testLocations(t) {
		t.Run(loc.name, func(t *testing.T) {
			st, err := backend.Open(ctx, loc.url)
			if err != nil {
				t.Fatal(err)
			}
			crashing := pipeline.New(&commitFailingStore{Store: st}, quiet)
			if _, err := LoadDump(ctx, crashing, dump, "nhl", nil); err == nil {
				t.Fatal("the load survived its simulated crash")
			}
			w := pipeline.New(st, quiet)
			if s, err := w.Stream(ctx, CloneStream("nhl")); err != nil || s.Seq != 0 {
				t.Fatalf("after the crash: stream %+v, %v; want no commit", s, err)
			}
			got := committedFiles(t, w, dump)
			if len(got) != len(want) {
				t.Fatalf("%d files committed after the rerun, want %d", len(got), len(want))
			}
			for k, sum := range want {
				if got[k] != sum {
					t.Errorf("%s: SHA-256 %s after crash and rerun, %s without a crash", k, got[k], sum)
				}
			}
			rep, err := LoadDump(ctx, w, dump, "nhl", nil)
			if err != nil || !rep.Commit.Existing || rep.Commit.Seq != 1 {
				t.Fatalf("third load: %+v, %v; want the existing commit 1", rep, err)
			}
			vr, err := check.Verify(ctx, w.Log, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !vr.OK() {
				// The crashed run's files are the rerun's, same keys and
				// bytes: nothing is left uncommitted.
				t.Errorf("verify after crash and rerun: %+v", vr.Problems)
			}
		})
	}
}

// committedFiles loads every team of dump into w and returns the committed
// data files: key to SHA-256.
func committedFiles(t *testing.T, w *pipeline.Warehouse, dump Dump) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, team := range []string{"nhl"} {
		rep, err := LoadDump(context.Background(), w, dump, team, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Commit.Adds {
			out[f.Key] = f.SHA256
		}
	}
	return out
}

type testLocation struct{ name, url string }

// testLocations is a fresh local folder, and a fresh S3 prefix when an
// endpoint is configured (make test always configures one).
func testLocations(t *testing.T) []testLocation {
	locs := []testLocation{{"file", t.TempDir()}}
	if !storagetest.HaveS3() {
		t.Log("S3 case skipped: " + storagetest.S3Skip)
		return locs
	}
	return append(locs, testLocation{"s3", storagetest.S3Location(t, "stages")})
}

// TestLoadGoldenDump loads the dump checked into testdata/dump-tiny and
// checks that exactly the lines its manifest says were broken on purpose
// are rejected, each with its file and line, and everything else loads.
func TestLoadGoldenDump(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A copy: the file store keeps its own folders inside the root, and
	// testdata stays read-only.
	if err := os.CopyFS(dir, os.DirFS("../../testdata/dump-tiny")); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m simulator.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.InjectedFaults) == 0 {
		t.Fatal("the golden dump has no injected faults")
	}
	want := map[string]bool{}
	for _, f := range m.InjectedFaults {
		want[fmt.Sprintf("%s:%d", f.Path, f.Line)] = true
	}
	var total int64
	for _, f := range m.Files {
		total += f.Rows
	}

	src, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := OpenDump(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pipelinetest.Open(ctx, t.TempDir(), quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	var in, loaded, rejected int64
	for _, team := range dump.Teams() {
		rep, err := LoadDump(ctx, w, dump, team, nil)
		if err != nil {
			t.Fatal(err)
		}
		i, l, r := rep.Totals()
		in, loaded, rejected = in+i, loaded+l, rejected+r
	}
	if in != total || in != loaded+rejected || rejected != int64(len(want)) {
		t.Fatalf("manifest %d rows, %d injected faults; loaded: in %d = %d loaded + %d rejected", total, len(want), in, loaded, rejected)
	}

	db, err := views.OpenDuckDB(ctx, "", w.Log, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT source, line, reason FROM archtics_meta.rejects ORDER BY source, line`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var source, reason string
		var line int64
		if err := rows.Scan(&source, &line, &reason); err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%s:%d", source, line)
		if !want[k] {
			t.Errorf("rejected %s (%s), which the manifest does not list as broken", k, reason)
		}
		delete(want, k)
	}
	for k := range want {
		t.Errorf("injected fault %s was not rejected", k)
	}
}
