package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline"
	"archtics/simulator"
	"archtics/stages/realtime"
)

// The seed's verification query, verbatim, and its two example criteria.
const (
	seedVerificationQuery = `SELECT event_name, event_date, event_time, event_day, team,
major_category, minor_category, season_name
FROM archtics.event
WHERE enabled = 'Y' AND event_date >= current_date
AND event_date <= current_date + 8
AND /* INSERT CRITERIA HERE */ ;`
	seedSportsConcerts = "total_events = 1 AND major_category IN ('SPORTS','CONCERTS')"
	seedHockey         = "major_category = 'SPORTS' AND minor_category = 'NHL PRO HOCKEY'"
)

func demoWarehouse(t *testing.T) (string, *pipeline.Warehouse, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	cfg.DirtyLines = false
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	if err := runDemo(ctx, logger, cfg, dir, 0, "", io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	p := newDemoPaths(dir)
	w, err := openWarehouseAt(ctx, p.warehouse, logger)
	if err != nil {
		t.Fatal(err)
	}
	return p.warehouse, w, filepath.Join(dir, "cache")
}

// TestRealtimeCriteriaExitCodes runs the commands as a user does: a good
// fragment is set (exit 0), a refused one exits 2 and writes nothing, a
// missing team or fragment is a usage error, an unknown team a failure.
func TestRealtimeCriteriaExitCodes(t *testing.T) {
	wh, w, cache := demoWarehouse(t)
	ctx := context.Background()
	base := []string{"archtics", "--warehouse", wh, "--log-level", "error", "realtime", "criteria"}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"set the seed's first example", []string{"set", "--team", "nhl", "--by", "alice", seedSportsConcerts}, exitOK},
		{"set the seed's second example", []string{"set", "--team", "arena", "--by", "bob", seedHockey}, exitOK},
		{"a subquery escaping its parentheses", []string{"set", "--team", "nhl", "1=1) OR (SELECT count(*) FROM archtics.cust) > 0 OR (1=1"}, exitUsage},
		{"a statement separator", []string{"set", "--team", "nhl", "1=1; DROP TABLE archtics.event"}, exitUsage},
		{"COPY", []string{"set", "--team", "nhl", "COPY archtics.cust TO '/tmp/cust.csv'"}, exitUsage},
		{"a file function", []string{"check", "--team", "nhl", "read_csv('/etc/passwd') IS NOT NULL"}, exitUsage},
		{"no fragment", []string{"set", "--team", "nhl"}, exitUsage},
		{"no team", []string{"check", seedHockey}, exitUsage},
		{"a local time the zone skips", []string{"check", "--team", "nhl", "--at", "2026-03-08 02:30:00"}, exitUsage},
		{"an unknown team", []string{"set", "--team", "nhk", seedHockey}, exitFailure},
		{"show", []string{"show", "--team", "nhl", "--history"}, exitOK},
		{"check a fragment", []string{"check", "--team", "arena", "--at", "2026-11-23 08:00:00", seedSportsConcerts}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(ctx, append(append([]string(nil), base...), tc.args...)); got != tc.want {
				t.Fatalf("exit %d, want %d", got, tc.want)
			}
		})
	}
	hist, err := realtime.CriteriaHistory(ctx, w, "nhl", cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Criteria != seedSportsConcerts || hist[0].SetBy != "alice" {
		t.Fatalf("nhl's history after one good and three refused sets: %+v", hist)
	}
}

// TestRealtimeCriteriaShowAndCheck: show lists the versions; check prints
// the seed query's columns for the doubleheader's day; and the seed's
// verification query, run as written through archtics query with each
// example criteria, lists exactly the rows check lists for both teams at
// the same instant in DuckDB's own zone.
func TestRealtimeCriteriaShowAndCheck(t *testing.T) {
	_, w, cache := demoWarehouse(t)
	ctx := context.Background()
	cutoff := simulator.SmallConfig().Cutoff
	for _, f := range []string{seedSportsConcerts, seedHockey} {
		if err := runCriteriaSet(ctx, io.Discard, w, "nhl", f, realtime.SetOptions{By: "carol", Note: "test", Effective: cutoff}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := runCriteriaShow(ctx, &out, w, "nhl", cache, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "1 ") || !strings.HasSuffix(lines[1], seedSportsConcerts) || !strings.HasSuffix(lines[2], seedHockey) {
		t.Fatalf("show --history:\n%s", out.String())
	}
	out.Reset()
	if err := runCriteriaShow(ctx, &out, w, "nhl", cache, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "2 ") {
		t.Fatalf("show:\n%s", out.String())
	}

	// check on the doubleheader's day with the record in force: both games.
	out.Reset()
	at := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC) // 08:00 in New York
	if err := runCriteriaCheck(ctx, &out, io.Discard, w, "nhl", at, realtime.SelectOptions{CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(strings.SplitN(out.String(), "\n", 2)[0])
	if want := append([]string{"event_id"}, realtime.SeedColumns...); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("check's header %q, want %q", got, want)
	}
	if !strings.Contains(out.String(), "27NHL1123 ") || !strings.Contains(out.String(), "27NHL1123B") {
		t.Fatalf("check on the doubleheader's day lacks a game:\n%s", out.String())
	}

	// The seed's query as written, through archtics query, against check.
	zone := strings.TrimSpace(queryCSV(t, w, cache, "SELECT current_setting('TimeZone')")[1])
	for _, f := range []string{seedSportsConcerts, seedHockey} {
		seed := strings.Replace(seedVerificationQuery, "/* INSERT CRITERIA HERE */", f, 1)
		for attempt := 0; ; attempt++ {
			now := time.Now()
			want := queryCSV(t, w, cache, seed)[1:]
			var got []string
			for _, team := range []string{"nhl", "arena"} {
				var buf bytes.Buffer
				if err := runCriteriaCheck(ctx, &buf, io.Discard, w, team, now, realtime.SelectOptions{CacheDir: cache, TimeZone: zone, Criteria: f}); err != nil {
					t.Fatal(err)
				}
				for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n")[1:] {
					got = append(got, strings.Join(strings.Fields(l)[1:], ","))
				}
			}
			for i := range want {
				want[i] = strings.Join(strings.Fields(strings.ReplaceAll(want[i], ",", " ")), ",")
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, "\n") == strings.Join(want, "\n") {
				t.Logf("criteria %q at %s (%s): %d events in both", f, now.Format(time.RFC3339), zone, len(got))
				break
			}
			// The two ran on either side of a midnight: run both again.
			if attempt == 0 && time.Now().In(time.UTC).YearDay() != now.In(time.UTC).YearDay() {
				continue
			}
			t.Fatalf("criteria %q: check lists\n%s\nthe seed's query lists\n%s", f, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// queryCSV runs sql through the query command and returns its CSV lines.
func queryCSV(t *testing.T, w *pipeline.Warehouse, cache, sql string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := runQuery(context.Background(), &out, &errOut, w, cache, "", sql, "csv"); err != nil {
		t.Fatalf("query %q: %v\n%s", sql, err, errOut.String())
	}
	return strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
}

// TestRefusedIsUsageExit: a refused fragment maps to exit 2, anything
// else passes through.
func TestRefusedIsUsageExit(t *testing.T) {
	var ec cli.ExitCoder
	err := refused(&realtime.CriteriaError{Fragment: "x", Reason: "a subquery"})
	if !errors.As(err, &ec) || ec.ExitCode() != exitUsage {
		t.Fatalf("refused(CriteriaError) = %v, want exit %d", err, exitUsage)
	}
	plain := errors.New("disk full")
	if refused(plain) != plain {
		t.Fatal("refused changed an error that is not a refusal")
	}
}

// TestSampleTablesOnAFreshWarehouse: the realtime sample tables answer
// through archtics query on a warehouse with nothing committed, and are
// in the DuckDB file --db writes for DBeaver, rows included.
func TestSampleTablesOnAFreshWarehouse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := openWarehouseAt(ctx, filepath.Join(dir, "fresh"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	for _, tbl := range []string{"korebi.realtime_attendance_sample", "korebi.realtime_attendance_report_sample"} {
		if got := queryCSV(t, w, cache, "SELECT count(*) FROM "+tbl); len(got) != 2 || got[1] == "0" {
			t.Fatalf("%s on a fresh warehouse: %q, want a count of its sample rows", tbl, got)
		}
	}
	dbFile := filepath.Join(dir, "warehouse.duckdb")
	var out, errOut bytes.Buffer
	if err := runQuery(ctx, &out, &errOut, w, cache, dbFile, "", "csv"); err != nil {
		t.Fatalf("query --db: %v\n%s", err, errOut.String())
	}
	db, err := sql.Open("duckdb", dbFile)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM korebi.realtime_attendance_report_sample WHERE ticket_scan_time > event_time").Scan(&n); err != nil || n == 0 {
		t.Fatalf("the --db file's report sample: %d late arrivals, %v", n, err)
	}
}
