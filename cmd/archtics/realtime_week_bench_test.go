package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"archtics/internal/benchproc"
	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
)

// The week BenchmarkSeedQueries7Days builds: one hockey team of the league
// preset whose league night (weekNight games at 19:00, 14,000 seat blocks
// each, the crowd rushing in) repeats on seven consecutive days, the
// cutoff chosen so the week holds 2022-01-01, the date the seed's second
// and fifth example queries name.
const (
	weekTeam   = "club01"
	weekNight  = 21 // games a night: 7 x 21 x about 36,000 kept scans > 5,000,000
	weekCutoff = "2021-12-28 12:00:01"
	weekToken  = "bench"
)

// weekFlags are the simulator's flags (simulate dump and simulate serve)
// of the week.
func weekFlags() []string {
	return []string{"--scale", "league", "--teams", weekTeam + ":hockey", "--league-night", strconv.Itoa(weekNight),
		"--league-days", "7", "--cutoff", weekCutoff, "--days-after-cutoff", "9"}
}

// BenchmarkSeedQueries7Days times the seed's six example queries
// (seedQueries, verbatim) over seven days of one team's realtime data,
// warm, three ways: (a) in-process, on the product's DuckDB views over
// the verified cache (views.OpenDuckDB, opened once); (b) `archtics
// query` as a whole process; (c) DuckDB alone (cmd/duckdb-sql) running
// the same view SQL over read_parquet of the same committed files, as a
// whole process. It reports each query's p50 and the ratio (b)/(c).
// Targets: (a) <= 100 ms, (b)/(c) <= 1.5.
//
// The week is built once, untimed, through the product: the simulator
// (`archtics simulate dump` and `simulate serve`, each its own process, so
// its memory is not the product's), `archtics load-dump`, the seed's
// first example criteria, one `archtics realtime tick` a night at 23:59
// (it pulls the whole night's feed, and the previous night's late rows)
// and one at 02:30 after the last night, then `archtics realtime rollup
// --min-files 2`, so each day is one file per table as in production. It
// fails unless at least 5,000,000 scans are stored. Then the clone syncs
// past the week's standard attendance and realtime.Reconcile reconciles
// every event, timed (reconcileWeek): the queries run over that clone. Peak RSS of the
// benchmark process and of the simulator's are reported.
//
// The seed's third and sixth queries name CURRENT_DATE (the machine's
// date) and a placeholder email: no simulated date can be both today and
// in the week that holds 2022-01-01, so they return no rows, after reading
// the week's email column.
//
// The sub-benchmark bench-clone runs the same queries over
// ARCHTICS_BENCH_WAREHOUSE (make bench-data), skipped when it is unset.
// ARCHTICS_BENCH_RUNS sets the timed runs per query and way (default 15);
// ARCHTICS_BENCH_WEEK_DIR keeps the week in that folder and reuses it when
// a previous run finished building it there (rm -rf it after a change to
// the tick or the tables).
func BenchmarkSeedQueries7Days(b *testing.B) {
	runs := benchRuns(b)
	bin := buildBenchBinaries(b)
	b.Run("week", func(b *testing.B) {
		dir := os.Getenv("ARCHTICS_BENCH_WEEK_DIR")
		var wh, cache string
		if dir != "" {
			if _, err := os.Stat(filepath.Join(dir, ".built")); err == nil {
				wh, cache = filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
				b.Logf("reusing the week built in %s", dir)
			} else if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		} else {
			dir = b.TempDir()
		}
		if wh == "" {
			wh, cache = buildRealtimeWeek(b, bin, dir)
			if err := os.WriteFile(filepath.Join(dir, ".built"), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		for range b.N {
			timeSeedQueries(b, bin, wh, cache, runs)
		}
	})
	b.Run("bench-clone", func(b *testing.B) {
		wh := os.Getenv("ARCHTICS_BENCH_WAREHOUSE")
		if wh == "" {
			b.Skip("set ARCHTICS_BENCH_WAREHOUSE to a bench-scale warehouse (make bench-data builds ./bench-data/warehouse; make bench sets it)")
		}
		cache := b.TempDir()
		for range b.N {
			timeSeedQueries(b, bin, wh, cache, runs)
		}
	})
}

func benchRuns(b *testing.B) int {
	runs := 15
	if s := os.Getenv("ARCHTICS_BENCH_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("ARCHTICS_BENCH_RUNS=%q: want a positive count", s)
		}
		runs = n
	}
	return runs
}

// benchBinaries are freshly built archtics and duckdb-sql.
type benchBinaries struct{ archtics, duckdb string }

func buildBenchBinaries(b *testing.B) benchBinaries {
	dir := b.TempDir()
	bins := benchBinaries{archtics: filepath.Join(dir, "archtics"), duckdb: filepath.Join(dir, "duckdb-sql")}
	for pkg, out := range map[string]string{".": bins.archtics, "../duckdb-sql": bins.duckdb} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return bins
}

// buildRealtimeWeek builds the week (see BenchmarkSeedQueries7Days) in
// dir and returns the warehouse and its cache.
func buildRealtimeWeek(b *testing.B, bin benchBinaries, dir string) (wh, cache string) {
	ctx := context.Background()
	wh, cache = filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
	built := time.Now()

	dump := filepath.Join(dir, "dump")
	start := time.Now()
	cmd := exec.Command(bin.archtics, append([]string{"--log-level", "error", "simulate", "dump", "--out", dump}, weekFlags()...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("simulate dump: %v\n%s", err, out)
	}
	dumpRSS := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	var steps []string // logged as one line: a benchmark keeps only its first ten
	steps = append(steps, fmt.Sprintf("simulate dump %v", time.Since(start).Round(time.Second)))

	start = time.Now()
	mustRun(b, "-w", wh, "--log-level", "error", "load-dump", "--dump", dump)
	steps = append(steps, fmt.Sprintf("load-dump %v", time.Since(start).Round(time.Second)))
	if err := os.RemoveAll(dump); err != nil {
		b.Fatal(err)
	}

	sim := startSimulator(b, bin.archtics, append(weekFlags(), "--clock-speed", "0")...)
	loc, err := time.LoadLocation(simulator.DefaultTimeZone)
	if err != nil {
		b.Fatal(err)
	}
	cut, err := simulator.ParseLocalTime(weekCutoff, loc)
	if err != nil {
		b.Fatal(err)
	}
	mustRun(b, "-w", wh, "--log-level", "error", "realtime", "criteria", "set", "--team", weekTeam,
		"--effective", cut.In(loc).Format(time.DateTime), "total_events = 1 AND major_category IN ('SPORTS','CONCERTS')")
	var ticks []time.Time
	for d := 1; d <= 7; d++ {
		ticks = append(ticks, time.Date(cut.Year(), cut.Month(), cut.Day()+d, 23, 59, 0, 0, loc))
	}
	ticks = append(ticks, time.Date(cut.Year(), cut.Month(), cut.Day()+8, 2, 30, 0, 0, loc))
	for _, at := range ticks {
		sim.setClock(b, at)
		start, cpu0 := time.Now(), benchproc.SelfCPU()
		mustRun(b, "-w", wh, "--log-level", "error", "realtime", "tick", "--team", weekTeam, "--source", sim.URL,
			"--token", weekToken, "--cache", cache, "--at", at.Format(time.DateTime))
		steps = append(steps, fmt.Sprintf("tick %s %v (%.1f CPU-s)", at.Format("01-02 15:04"), time.Since(start).Round(100*time.Millisecond), (benchproc.SelfCPU()-cpu0).Seconds()))
	}
	simRSS := sim.PeakRSS()
	start = time.Now()
	mustRun(b, "-w", wh, "--log-level", "error", "realtime", "rollup", "--team", weekTeam, "--min-files", "2", "--cache", cache)
	steps = append(steps, fmt.Sprintf("rollup %v", time.Since(start).Round(100*time.Millisecond)))
	b.Logf("the week's steps: %s", strings.Join(steps, ", "))

	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := w.State(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var stored int64
	var files, days int
	for _, t := range []*schemas.Table{schemas.RTXAttendanceRaw, schemas.RTXEnriched} {
		perDay := map[string]int{}
		for _, e := range st.Files(t.FullName()) {
			perDay[e.Partition["event_date"]]++
			files++
			if t == schemas.RTXEnriched {
				stored += e.Rows
			}
		}
		for day, n := range perDay {
			if n != 1 {
				b.Errorf("%s event_date=%s holds %d files after the roll-up, want 1", t.FullName(), day, n)
			}
		}
		days = len(perDay)
	}
	if stored < 5_000_000 {
		b.Fatalf("the week stores %d scans, the benchmark needs at least 5,000,000: raise weekNight", stored)
	}
	reconcileWeek(b, wh, cache, sim, time.Date(cut.Year(), cut.Month(), cut.Day()+8, 20, 0, 0, 0, loc))
	selfRSS := benchproc.PeakRSS("self")
	b.ReportMetric(float64(stored), "stored-scans")
	b.ReportMetric(float64(selfRSS>>20), "peak-rss-MiB")
	b.ReportMetric(float64(simRSS>>20), "sim-peak-rss-MiB")
	b.Logf("the week: %d scans stored in %d files over %d event dates, built in %v; peak RSS: this process %d MiB, simulate serve %d MiB, simulate dump %d MiB",
		stored, files, days, time.Since(built).Round(time.Second), selfRSS>>20, simRSS>>20, dumpRSS>>20)
	return wh, cache
}

// reconcileWeek is the issue's figure "reconcile's time over a week of a
// league preset": the clone syncs (archtics incremental, untimed) to
// synced, past the last night's standard attendance; one realtime.Refresh
// brings the stored holders up to it and derives every event's sold
// seats (timed: refresh-s), then one realtime.Reconcile reconciles every
// event the week's ticks finished, timed with its CPU. Each of the week's events must be reconciled, with
// final scans the feed delivered.
func reconcileWeek(b *testing.B, wh, cache string, sim *benchSimulator, synced time.Time) {
	ctx := context.Background()
	sim.setClock(b, synced)
	b.Setenv(sourceTokenEnv, weekToken)
	start := time.Now()
	mustRun(b, "-w", wh, "--log-level", "error", "incremental", "--team", weekTeam, "--source", sim.URL, "--until", synced.UTC().Format(time.RFC3339))
	pulled := time.Since(start)
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		b.Fatal(err)
	}
	start, cpu0 := time.Now(), benchproc.SelfCPU()
	ref, err := realtime.Refresh(ctx, w, weekTeam, cache)
	if err != nil {
		b.Fatal(err)
	}
	took, cpu := time.Since(start), benchproc.SelfCPU()-cpu0
	if ref.Seats == 0 || ref.SeatEvents < 7*weekNight {
		b.Fatalf("the week's refresh derived %d seats for %d events, want the week's %d events", ref.Seats, ref.SeatEvents, 7*weekNight)
	}
	b.ReportMetric(took.Seconds(), "refresh-s")
	b.ReportMetric(cpu.Seconds(), "refresh-cpu-s")
	b.Logf("refresh: %d scans compared, %d changed, %d partitions rewritten; %d sold seats of %d events, in %v (%.1f CPU-s)",
		ref.Rows, ref.Changed, ref.Partitions, ref.Seats, ref.SeatEvents, took.Round(100*time.Millisecond), cpu.Seconds())
	start, cpu0 = time.Now(), benchproc.SelfCPU()
	rep, err := realtime.Reconcile(ctx, w, weekTeam, realtime.ReconcileOptions{CacheDir: cache, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	took, cpu = time.Since(start), benchproc.SelfCPU()-cpu0
	var final, delivered, missed int64
	for _, e := range rep.Events {
		if e.Outcome != realtime.ReconcileCommitted || e.Final == 0 || e.Delivered == 0 {
			b.Fatalf("the week's reconcile: %s", e.Summary())
		}
		final += e.Final
		delivered += e.Delivered
		missed += int64(len(e.Missed))
	}
	if len(rep.Events) < 7*weekNight { // and the night before the week's, whose late rows the first tick pulls
		b.Fatalf("the week's reconcile reconciled %d events, want the week's %d at least", len(rep.Events), 7*weekNight)
	}
	b.ReportMetric(took.Seconds(), "reconcile-s")
	b.ReportMetric(cpu.Seconds(), "reconcile-cpu-s")
	b.ReportMetric(float64(len(rep.Events)), "reconciled-events")
	b.Logf("reconcile: %d events, %d final scans, %d delivered, %d missed, in %v (%.1f CPU-s); the sync before it %v",
		len(rep.Events), final, delivered, missed, took.Round(100*time.Millisecond), cpu.Seconds(), pulled.Round(time.Second))
}

// timeSeedQueries times the six seed queries the three ways and reports
// each one's p50s and ratio.
func timeSeedQueries(b *testing.B, bin benchBinaries, wh, cache string, runs int) {
	ctx := context.Background()
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		b.Fatal(err)
	}
	readViews := []*schemas.Table{schemas.AttendanceRealtimeV, schemas.DWARealtimeAttendanceView, schemas.DWARealtimeAttendanceRTX,
		schemas.Arrivals, schemas.NoShows}
	db, err := views.OpenDuckDB(ctx, "", w.Log, cache, readViews...)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	viewSQL := duckdbAloneViews(b, w)

	for i, q := range seedQueries {
		name := fmt.Sprintf("q%d", i+1)
		inProcess := func() (time.Duration, string) { return timeInProcess(b, db, q) }
		archtics := func() (time.Duration, string) {
			d, out := runProcessOutput(b, "", bin.archtics, "--warehouse", wh, "--log-level", "warn", "query", "--cache", cache, "--format", "csv", q)
			return d, answerOf(out, ",")
		}
		duckdb := func() (time.Duration, string) {
			d, out := runProcessOutput(b, viewSQL+q, bin.duckdb)
			return d, answerOf(out, "\t")
		}
		// One untimed warm-up each; all three must agree.
		_, want := inProcess()
		if _, got := archtics(); got != want {
			b.Fatalf("%s: archtics query answers %s, in-process %s", name, got, want)
		}
		if _, got := duckdb(); got != want {
			b.Fatalf("%s: DuckDB alone answers %s, archtics %s", name, got, want)
		}
		var ta, tb, tc []time.Duration
		for range runs {
			for _, way := range []struct {
				f  func() (time.Duration, string)
				to *[]time.Duration
			}{{inProcess, &ta}, {archtics, &tb}, {duckdb, &tc}} {
				d, got := way.f()
				if got != want {
					b.Fatalf("%s answered %s, then %s", name, want, got)
				}
				*way.to = append(*way.to, d)
			}
		}
		pa, pb, pc := p50(ta), p50(tb), p50(tc)
		b.ReportMetric(ms(pa), name+"-inproc-p50-ms")
		b.ReportMetric(ms(pb), name+"-archtics-p50-ms")
		b.ReportMetric(ms(pc), name+"-duckdb-p50-ms")
		b.ReportMetric(pb.Seconds()/pc.Seconds(), name+"-x-duckdb")
		b.Logf("%s (%s): in-process p50 %v, archtics query p50 %v, DuckDB alone p50 %v, ratio %.2f; answer %s; %d runs each",
			name, strings.Join(strings.Fields(q), " "), pa.Round(time.Millisecond), pb.Round(time.Millisecond), pc.Round(time.Millisecond),
			pb.Seconds()/pc.Seconds(), want, runs)
	}
	// The arrivals page's views, in process: no DuckDB-alone twin, they
	// join the clone's ticket holders. The whole week, and one event (the
	// one with the most scans), as a page showing an event asks.
	var event int32
	err = db.QueryRowContext(ctx, `SELECT event_id FROM archtics_rtx.attendance_enriched GROUP BY event_id ORDER BY count(*) DESC, event_id LIMIT 1`).Scan(&event)
	if err == sql.ErrNoRows {
		// make bench-data's warehouse is a clone with no realtime scans:
		// the page's views would time nothing.
		b.Log("no realtime scans in this warehouse: the arrivals page's views are not timed")
		return
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct{ name, q string }{
		{"arrivals", "SELECT count(*), sum(scans), max(seats_scanned), max(sold_seats) FROM archtics.arrivals"},
		{"no-shows", "SELECT count(*), count(DISTINCT acct_id) FROM archtics.no_shows"},
		{"arrivals-event", fmt.Sprintf("SELECT count(*), sum(scans), max(seats_scanned), max(sold_seats) FROM archtics.arrivals WHERE event_id = %d", event)},
		{"no-shows-event", fmt.Sprintf("SELECT count(*), count(DISTINCT acct_id) FROM archtics.no_shows WHERE event_id = %d", event)},
	} {
		_, want := timeInProcess(b, db, v.q)
		var ts []time.Duration
		for range min(runs, 3) { // seconds each: three runs say enough
			d, got := timeInProcess(b, db, v.q)
			if got != want {
				b.Fatalf("%s answered %s, then %s", v.name, want, got)
			}
			ts = append(ts, d)
		}
		b.ReportMetric(ms(p50(ts)), v.name+"-inproc-p50-ms")
		b.Logf("%s (%s): in-process p50 %v; answer %s; %d runs", v.name, v.q, p50(ts).Round(time.Millisecond), want, len(ts))
	}
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// duckdbAloneViews is the realtime views' SQL over read_parquet of the
// committed files of archtics_rtx.attendance_enriched, in the warehouse
// itself (not the cache): what DuckDB alone runs before each query.
func duckdbAloneViews(b *testing.B, w *pipeline.Warehouse) string {
	st, err := w.State(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var files []string
	for _, e := range st.Files(schemas.RTXEnriched.FullName()) {
		files = append(files, filepath.Join(w.Store.URL(), filepath.FromSlash(e.Key)))
	}
	var s strings.Builder
	schemasMade := map[string]bool{}
	for _, t := range []*schemas.Table{schemas.RTXEnriched, schemas.AttendanceRealtimeV, schemas.DWARealtimeAttendanceView, schemas.DWARealtimeAttendanceRTX} {
		if !schemasMade[t.SQLSchema()] {
			fmt.Fprintf(&s, "CREATE SCHEMA IF NOT EXISTS %s;\n", schemas.QuoteIdent(t.SQLSchema()))
			schemasMade[t.SQLSchema()] = true
		}
		var ddl string
		if t == schemas.RTXEnriched {
			ddl = t.ViewDDL(files)
		} else {
			ddl = t.ViewDDL(nil)
		}
		s.WriteString(strings.TrimRight(ddl, "; \n") + ";\n")
	}
	return s.String()
}

// timeInProcess runs q on db and returns its time and answer.
func timeInProcess(b *testing.B, db *sql.DB, q string) (time.Duration, string) {
	start := time.Now()
	rows, err := db.Query(q)
	if err != nil {
		b.Fatalf("%s: %v", q, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		b.Fatal(err)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var lines []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	rows.Close()
	d := time.Since(start)
	if len(cols) == 1 && len(lines) == 1 {
		return d, "1 row: " + lines[0]
	}
	return d, fmt.Sprintf("%d rows", len(lines))
}

// answerOf summarises a process's output (a header, then rows split by
// sep) as timeInProcess does: one value, or the number of rows.
func answerOf(out, sep string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	data := lines[1:]
	if len(data) == 1 && !strings.Contains(lines[0], sep) {
		return "1 row: " + data[0]
	}
	return fmt.Sprintf("%d rows", len(data))
}

// runProcessOutput runs a command, stdin given, to its end and returns its
// wall time and output.
func runProcessOutput(b *testing.B, stdin, name string, args ...string) (time.Duration, string) {
	b.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%s", filepath.Base(name), err, errOut.String())
	}
	return d, out.String()
}

// mustRun runs the archtics command line in this process.
func mustRun(b *testing.B, args ...string) {
	b.Helper()
	if code := run(context.Background(), append([]string{"archtics"}, args...)); code != exitOK {
		b.Fatalf("archtics %s: exit %d", strings.Join(args, " "), code)
	}
}

// benchSimulator is `archtics simulate serve` in its own process.
type benchSimulator struct{ *benchproc.Simulator }

// startSimulator starts `archtics simulate serve` with args on a free
// loopback port (token weekToken); it is stopped when the benchmark ends.
func startSimulator(b *testing.B, archtics string, args ...string) *benchSimulator {
	b.Helper()
	return &benchSimulator{benchproc.StartSimulator(b, archtics, weekToken, args...)}
}

// setClock sets the simulator's clock (POST /admin/clock).
func (s *benchSimulator) setClock(b *testing.B, at time.Time) {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/admin/clock", strings.NewReader(fmt.Sprintf(`{"set": %q}`, at.Format(time.RFC3339))))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+weekToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("set the simulator's clock to %s: %s: %s", at.Format(time.RFC3339), resp.Status, body)
	}
}
