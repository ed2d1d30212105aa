package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/storage/storagetest"
)

// TestDemoEndToEnd runs the demo at the small scale twice into one folder:
// the first run loads every dump row (loaded + rejected = in), the second
// changes nothing in the warehouse, byte for byte.
func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	cfg.DirtyLines = true
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out strings.Builder
	if err := runDemo(context.Background(), logger, cfg, dir, 30, "", &out); err != nil {
		t.Fatalf("first run: %v", err)
	}
	p := newDemoPaths(dir)
	checkDemoOutput(t, out.String(), readManifest(t, p.dump))
	for _, want := range []string{"3. CRM dedup of the initial load", "4. large incremental", "the clone equals the truth after each", "scans kept", "equal to the truth as of delivery after every hour"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo output has no %q:\n%s", want, out.String())
		}
	}
	checkDemoReport(t, filepath.Join(dir, "report.html"))
	before := treeHashes(t, p.warehouse)
	if len(before) == 0 {
		t.Fatal("the demo wrote no warehouse files")
	}

	db, err := sql.Open("duckdb", p.duckdb)
	if err != nil {
		t.Fatal(err)
	}
	var dumpRows, tableRows, rejected int64
	m := readManifest(t, p.dump)
	for _, f := range m.Files {
		dumpRows += f.Rows
	}
	// The dump's rows as loaded: archtics.<t> is the current state,
	// which the demo's incrementals have moved on since, and its daily
	// compaction folded archtics_dump.<t> into the base, so they are the
	// history's versions from the dump.
	var fromDump []string
	for _, tbl := range schemas.SourceTables {
		fromDump = append(fromDump, fmt.Sprintf("(SELECT count(*) FROM %s WHERE _source = 'dump')", schemas.History(tbl).SQLName()))
	}
	for _, q := range []struct {
		sql string
		dst *int64
	}{
		{"SELECT " + strings.Join(fromDump, " + "), &tableRows},
		{`SELECT count(*) FROM archtics_meta.rejects WHERE source NOT LIKE 'change API %'`, &rejected},
	} {
		if err := db.QueryRow(q.sql).Scan(q.dst); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	db.Close()
	if rejected == 0 {
		t.Error("the dirty dump produced no rejects")
	}
	if tableRows+rejected != dumpRows {
		t.Errorf("rows in %d != loaded %d + rejected %d", dumpRows, tableRows, rejected)
	}

	if err := runDemo(context.Background(), logger, cfg, dir, 2, "", io.Discard); err != nil {
		t.Fatalf("second run: %v", err)
	}
	after := treeHashes(t, p.warehouse)

	// Another seed is another dump cut at the same instant: refused, with
	// the warehouse unchanged, rather than taken for a rerun.
	other := cfg
	other.Seed++
	if err := runDemo(context.Background(), logger, other, dir, 2, "", io.Discard); !errors.Is(err, txlog.ErrBatchSourceChanged) {
		t.Errorf("demo with another seed over the same warehouse: %v, want ErrBatchSourceChanged", err)
	}
	if again := treeHashes(t, p.warehouse); len(again) != len(after) {
		t.Errorf("the refused load changed the warehouse: %d objects, then %d", len(after), len(again))
	}
	if len(after) != len(before) {
		t.Errorf("rerun changed the warehouse: %d objects before, %d after", len(before), len(after))
	}
	for k, h := range before {
		if after[k] != h {
			t.Errorf("rerun changed %s", k)
		}
	}
}

// checkDemoOutput checks what the demo tells a newcomer: the rejects
// heading counts every injected bad line and, the demo having fewer
// groups than it lists, every one is shown; the hints name the binary the
// README names.
func checkDemoOutput(t *testing.T, out string, m simulator.Manifest) {
	t.Helper()
	if len(m.InjectedFaults) == 0 || len(m.InjectedFaults) > demoRejectGroups {
		t.Fatalf("%d injected faults: the check wants between 1 and %d", len(m.InjectedFaults), demoRejectGroups)
	}
	heading := fmt.Sprintf("rejected rows by file and reason: %d rows in ", len(m.InjectedFaults))
	if !strings.Contains(out, heading) {
		t.Errorf("the demo output has no heading %q:\n%s", heading, out)
	}
	for _, f := range m.InjectedFaults {
		// Each bad line of the simulated dump has its own reason, so its
		// own group: "<source>  <first_line>".
		row := regexp.MustCompile(regexp.QuoteMeta(f.Path) + `\s+` + strconv.FormatInt(f.Line, 10) + `\s`)
		if !row.MatchString(out) {
			t.Errorf("reject %s line %d (%s) is not listed:\n%s", f.Path, f.Line, f.Reason, out)
		}
	}
	if !strings.Contains(out, "Next") || !strings.Contains(out, demoBinary+" --warehouse ") {
		t.Errorf("the Next hint does not name %s:\n%s", demoBinary, out)
	}
}

func readManifest(t *testing.T, dir string) simulator.Manifest {
	t.Helper()
	var m simulator.Manifest
	b, err := os.ReadFile(filepath.Join(dir, simulator.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// treeHashes maps every file under root to its SHA-256.
func treeHashes(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(root, path)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHelpIsComplete checks every command and subcommand answers --help
// with a description, and that usage errors exit 2.
func TestHelpIsComplete(t *testing.T) {
	app := newApp()
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			args := append(append([]string{}, prefix...), c.Name)
			if c.Usage == "" {
				t.Errorf("%s: no usage line", strings.Join(args, " "))
			}
			if code := run(context.Background(), append(append([]string{"archtics"}, args...), "--help")); code != exitOK {
				t.Errorf("%s --help: exit %d", strings.Join(args, " "), code)
			}
			walk(args, c.Subcommands)
		}
	}
	walk(nil, app.Commands)

	for _, args := range [][]string{
		{"archtics", "--log-format", "xml", "version"},
		{"archtics", "verify", "extra"},
		{"archtics", "demo", "--scale", "huge"},
		{"archtics", "load-dump", "--no-such-flag"},
		{"archtics", "--warehouse", filepath.Join(t.TempDir(), "typo"), "verify"},
		{"archtics", "--warehouse", filepath.Join(t.TempDir(), "typo"), "query", "SELECT 1"},
		{"archtics", "load-dump", "--dump", filepath.Join(t.TempDir(), "no-dump")},
	} {
		if code := run(context.Background(), args); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestCommandsOnS3 runs the commands a data engineer runs from CI or
// Airflow against S3: simulate a dump to S3, load it from S3 into a
// warehouse on S3, rerun the load (a no-op), verify, log and query.
func TestCommandsOnS3(t *testing.T) {
	root := storagetest.S3Location(t, "cmd")
	dump, wh := root+"/dump", root+"/warehouse"
	ctx := context.Background()
	quiet := []string{"archtics", "--log-level", "error"}
	for _, args := range [][]string{
		{"simulate", "dump", "--scale", "small", "--dirty-lines", "--out", dump},
		{"--warehouse", wh, "load-dump", "--dump", dump},
		{"--warehouse", wh, "load-dump", "--dump", dump},
		{"--warehouse", wh, "verify"},
		{"--warehouse", wh, "log", "--table", "archtics.cust"},
		{"--warehouse", wh, "query", "--cache", t.TempDir(), "--format", "csv", "SELECT team, count(*) FROM archtics.cust GROUP BY team"},
	} {
		if code := run(ctx, append(append([]string{}, quiet...), args...)); code != exitOK {
			t.Fatalf("archtics %s: exit %d", strings.Join(args, " "), code)
		}
	}
	// Writing a dump twice to one place is refused: dumps are immutable too.
	if code := run(ctx, append(append([]string{}, quiet...), "simulate", "dump", "--scale", "small", "--out", dump)); code == exitOK {
		t.Error("a second dump over the first succeeded")
	}

	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range []string{"nhl", "arena"} {
		st, err := w.Stream(ctx, team+"/clone")
		if err != nil {
			t.Fatal(err)
		}
		if st.Seq != 1 {
			t.Errorf("%s/clone has %d commits after two loads, want 1", team, st.Seq)
		}
	}
	db, err := views.OpenDuckDB(ctx, "", w.Log, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rejects int
	if err := db.QueryRow(`SELECT count(*) FROM archtics_meta.rejects WHERE line > 1 AND source <> ''`).Scan(&rejects); err != nil {
		t.Fatal(err)
	}
	if rejects == 0 {
		t.Error("the dirty lines of the dump were not rejected with their file and line")
	}

	// sync, then the same query offline: with the S3 endpoint unreachable,
	// from the copy alone.
	copyDir := t.TempDir()
	q := "SELECT team, count(*) AS n, max(upd_date) AS newest FROM archtics.cust GROUP BY team ORDER BY team"
	online := captureStdout(t, func() {
		if code := run(ctx, append(append([]string{}, quiet...), "--warehouse", wh, "query", "--cache", t.TempDir(), "--format", "csv", q)); code != exitOK {
			t.Fatalf("online query: exit %d", code)
		}
	})
	if code := run(ctx, append(append([]string{}, quiet...), "--warehouse", wh, "sync", "--to", copyDir)); code != exitOK {
		t.Fatalf("archtics sync: exit %d", code)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens there
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	offline := captureStdout(t, func() {
		if code := run(ctx, append(append([]string{}, quiet...), "--warehouse", wh, "query", "--offline", "--cache", copyDir, "--format", "csv", q)); code != exitOK {
			t.Fatalf("offline query: exit %d", code)
		}
	})
	if offline != online || !strings.Contains(online, "nhl") {
		t.Fatalf("offline answer differs from the online one:\n online: %s\n offline: %s", online, offline)
	}
	// Without the copy, --offline says to sync; a commit is never attempted.
	if code := run(ctx, append(append([]string{}, quiet...), "--warehouse", wh, "query", "--offline", "--cache", t.TempDir(), q)); code != exitUsage {
		t.Errorf("--offline without a copy: exit %d, want %d", code, exitUsage)
	}
}

// TestGameDay: the default demo's hours are a game day: the large
// incremental stops no later than the window of the first event the seed's
// criteria select, and the hours run until that window closes.
func TestGameDay(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  simulator.Config
	}{
		{"default", simulator.DefaultConfig()},
		{"small", simulator.SmallConfig()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := simulator.NewWorld(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			from := w.Cutoff().Add(demoCatchUp)
			morning, closes := gameDay(w, from)
			if morning.Before(from) {
				t.Fatalf("the game day starts at %s, before the catch-up %s", morning, from)
			}
			// The game day is a selected event's window, whole, and no
			// selected event's window opens between the catch-up and it.
			found := ""
			for _, team := range w.Teams() {
				for _, e := range w.SelectedEvents(team, from, nil) {
					open, shut := simulator.RealtimeWindow(e.Start)
					if shut.Equal(closes) && !open.Before(morning) {
						found = e.Name
					}
					if open.After(from.Add(time.Hour)) && open.Before(morning) {
						t.Errorf("%s's window opens at %s, between the catch-up %s and the game day's morning %s", e.Name, open, from, morning)
					}
				}
			}
			if found == "" {
				t.Errorf("no selected event's window is the game day %s to %s", morning, closes)
			}
		})
	}
}

// checkDemoReport checks the demo's static game-day page: the event's
// charts drawn, and nothing it would fetch (no script, no external asset).
func checkDemoReport(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the demo's report: %v", err)
	}
	page := string(b)
	if !strings.Contains(page, `<svg class="chart" id="`) || !strings.Contains(page, "<rect ") {
		t.Errorf("%s draws no chart", path)
	}
	for _, bad := range []string{"<script", `src="`, `href="http`, "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("%s holds %q: the static report must need nothing else", path, bad)
		}
	}
}

// TestDemoRuleSets: the demo's CRM deduplication under each rule set is
// checked against the simulator's truth for it: KORE's rules against the
// exact expected load, the evidence rules (a new CRM's default) and the
// probabilistic rule set against who is who; the committed rule set is
// the one asked for.
func TestDemoRuleSets(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		rules, want, says string
	}{
		{"kore", "kore", "every pre-existing contact's primary account equals the CRM truth (KORE's rules)"},
		{"", "evidence", "no pre-existing contact took another person's account as its primary"},
		{"probabilistic", "probabilistic", "no pre-existing contact took another person's account as its primary"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			dir := t.TempDir()
			var out strings.Builder
			if err := runDemo(context.Background(), logger, simulator.SmallConfig(), dir, 0, tc.rules, &out); err != nil {
				t.Fatalf("demo: %v\n%s", err, out.String())
			}
			for _, want := range []string{"(rule set " + tc.want + ")", tc.says, "pairs of CRM contacts are likely one person"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the demo output has no %q:\n%s", want, out.String())
				}
			}
		})
	}
}
