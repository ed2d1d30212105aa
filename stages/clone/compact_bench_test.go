package clone

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// currentStateQueries are what the benchmark times: a count and a
// group-by over the current state of the two largest tables, as an
// analyst's query runs them (views over the committed files, a fresh
// DuckDB per query, files verified once and then trusted by stamp).
var currentStateQueries = []string{
	"SELECT count(*), count(DISTINCT acct_id) FROM archtics.ticket",
	"SELECT section_name, count(*), sum(num_seats) FROM archtics.ticket GROUP BY section_name ORDER BY 2 DESC LIMIT 10",
	"SELECT count(*) FROM archtics.cust",
	"SELECT acct_type_desc, count(*) FROM archtics.cust GROUP BY acct_type_desc ORDER BY 2 DESC",
}

// BenchmarkCurrentStateAfter30Days builds, once, the clone of the demo
// client's hockey team (its default-size dump) after 30 simulated days of
// hourly incrementals (720 runs, a sweep every 24), then times the
// current-state queries before the compaction, the compaction itself, and
// the queries after it, and reports the files those queries read. Run it
// with -benchtime 1x (make bench does): the warehouse is built per call.
// ARCHTICS_BENCH_HOURS sets another number of hourly runs for a quick look.
func BenchmarkCurrentStateAfter30Days(b *testing.B) {
	hours := 30 * 24
	if s := os.Getenv("ARCHTICS_BENCH_HOURS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("ARCHTICS_BENCH_HOURS=%q: want a positive number of hourly runs", s)
		}
		hours = n
	}
	ctx := context.Background()
	cfg := simulator.DefaultConfig()
	cfg.DaysAfterCutoff = hours/24 + 1
	const team = "nhl"
	dir := b.TempDir()
	cache := filepath.Join(dir, "cache")

	build := time.Now()
	dump := simulatedDump(b, cfg, filepath.Join(dir, "dump"))
	w, err := pipelinetest.Open(ctx, filepath.Join(dir, "warehouse"), quietLogger)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := LoadDump(ctx, w, dump, team, nil); err != nil {
		b.Fatal(err)
	}
	src := newSimSource(b, cfg)
	src.opts.Pull.PageSize = 0 // the pull's default page
	src.opts.SweepEvery = 24
	src.opts.CacheDir = cache
	var upserts, deletions, merges int64
	for h := 0; h < hours; h++ {
		rep := src.advance(b, w, team, time.Hour)
		upserts += rep.Upserts
		deletions += rep.Deletions
		merges += int64(len(rep.Merges))
	}
	took := time.Since(build)
	b.Logf("built the clone of %s in %s: dump load, then %d hourly incrementals (%.0f ms each on average): %d change rows, %d deletions, %d merges",
		team, took.Round(time.Second), hours, float64(took.Milliseconds())/float64(hours), upserts, deletions, merges)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before, filesBefore := timeQueries(b, w, cache)
		start := time.Now()
		rep, err := Compact(ctx, w, team, CompactOptions{CacheDir: cache, Logger: quietLogger})
		if err != nil {
			b.Fatal(err)
		}
		compactTook := time.Since(start)
		if rep.Unchanged {
			b.Fatal("the compaction found nothing to fold") // a second b.N round: use -benchtime 1x
		}
		after, filesAfter := timeQueries(b, w, cache)
		b.ReportMetric(float64(filesBefore), "files-before")
		b.ReportMetric(float64(filesAfter), "files-after")
		b.ReportMetric(ms(before), "query-ms-before")
		b.ReportMetric(ms(after), "query-ms-after")
		b.ReportMetric(ms(compactTook), "compact-ms")
		var in, base int64
		for _, ct := range rep.Tables {
			in += ct.RowsIn
			base += ct.BaseRows
		}
		b.Logf("before: %d files, %s per query set; compaction: %s (%d rows in, %d base rows, %d files retired); after: %d files, %s",
			filesBefore, before.Round(time.Millisecond), compactTook.Round(time.Millisecond), in, base, len(rep.Commit.Retires), filesAfter, after.Round(time.Millisecond))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// timeQueries runs the current-state queries once to warm the cache (the
// first read verifies every file), then five times, and returns the
// median time of one round of the queries and the files they read.
func timeQueries(b *testing.B, w *pipeline.Warehouse, cache string) (time.Duration, int) {
	b.Helper()
	ctx := context.Background()
	readViews := []*schemas.Table{schemas.Current(schemas.Ticket), schemas.Current(schemas.Cust)}
	files, err := views.Materialize(ctx, w.Log, cache, readViews...)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, paths := range files {
		n += len(paths)
	}
	var rounds []time.Duration
	for r := 0; r < 6; r++ {
		start := time.Now()
		for _, q := range currentStateQueries {
			if _, err := views.Query(ctx, w.Log, cache, q, func(rows *sql.Rows) error {
				for rows.Next() {
				}
				return rows.Err()
			}); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
		if r > 0 {
			rounds = append(rounds, time.Since(start))
		}
	}
	slices.Sort(rounds)
	return rounds[len(rounds)/2], n
}
