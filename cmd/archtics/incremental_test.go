package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"archtics/pipeline/check"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// simulatedSource writes cfg's dump under dir and serves cfg's world with
// a clock frozen at the cutoff plus after; it returns the dump folder and
// the change API's URL. The token is set in ARCHTICS_SOURCE_TOKEN.
func simulatedSource(t *testing.T, cfg simulator.Config, dir string, after time.Duration) (dump, url string, clock *simulator.SimClock) {
	t.Helper()
	dump = filepath.Join(dir, "dump")
	if _, err := simulator.WriteDump(context.Background(), cfg, simulator.DirDest(dump), nil); err != nil {
		t.Fatal(err)
	}
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock = simulator.NewSimClock(world.Cutoff().Add(after))
	const token = "s3cret-source-token"
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: token, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Setenv(sourceTokenEnv, token)
	return dump, hs.URL, clock
}

// TestIncrementalCommand runs `archtics incremental` through the command
// line: usage errors, a wrong token (refused, never printed), a run bounded
// by --until, its rerun (nothing added), and the next interval.
func TestIncrementalCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	dump, url, _ := simulatedSource(t, cfg, dir, 30*time.Hour)
	wh := filepath.Join(dir, "warehouse")
	base := []string{"archtics", "--log-level", "error", "--warehouse", wh}
	runCode := func(args ...string) (int, string) {
		var code int
		out := captureStdout(t, func() { code = run(ctx, append(append([]string{}, base...), args...)) })
		return code, out
	}
	if code, out := runCode("load-dump", "--dump", dump, "--team", "nhl"); code != exitOK {
		t.Fatalf("load-dump: exit %d\n%s", code, out)
	}
	cutoff, err := time.Parse(time.RFC3339, mustStream(t, wh, "nhl/clone").Watermark)
	if err != nil {
		t.Fatal(err)
	}
	first := cutoff.Add(12 * time.Hour)

	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no team", []string{"incremental", "--source", url}, exitUsage},
		{"bad until", []string{"incremental", "--team", "nhl", "--source", url, "--until", "yesterday"}, exitUsage},
		{"page size", []string{"incremental", "--team", "nhl", "--source", url, "--page-size", "20000"}, exitUsage},
		{"no clone", []string{"incremental", "--team", "arena", "--source", url}, exitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := runCode(tc.args...); code != tc.code {
				t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.code, out)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		t.Setenv(sourceTokenEnv, "")
		if code, out := runCode("incremental", "--team", "nhl", "--source", url); code != exitUsage {
			t.Errorf("exit %d, want %d\n%s", code, exitUsage, out)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		t.Setenv(sourceTokenEnv, "not-the-token-42")
		stderr := captureStderr(t, func() {
			if code, out := runCode("incremental", "--team", "nhl", "--source", url); code != exitFailure {
				t.Errorf("exit %d, want %d\n%s", code, exitFailure, out)
			}
		})
		if strings.Contains(stderr, "not-the-token-42") || !strings.Contains(stderr, sourceTokenEnv) {
			t.Errorf("the error must name %s and never print the token:\n%s", sourceTokenEnv, stderr)
		}
	})

	code, out := runCode("incremental", "--team", "nhl", "--source", url, "--until", first.Format(time.RFC3339))
	if code != exitOK || !strings.Contains(out, "-> "+first.UTC().Format(time.RFC3339)) || !strings.Contains(out, "swept") {
		t.Fatalf("first interval: exit %d, want a pull to %s and a sweep\n%s", code, first.UTC().Format(time.RFC3339), out)
	}
	seq := mustStream(t, wh, "nhl/clone").Seq
	code, out = runCode("incremental", "--team", "nhl", "--source", url, "--until", first.Format(time.RFC3339))
	if code != exitOK || !strings.Contains(out, "nothing after") || mustStream(t, wh, "nhl/clone").Seq != seq {
		t.Fatalf("rerun of the same interval: exit %d, head %d (was %d)\n%s", code, mustStream(t, wh, "nhl/clone").Seq, seq, out)
	}
	code, out = runCode("incremental", "--team", "nhl", "--source", url, "--sweep-every", "1h")
	if head := mustStream(t, wh, "nhl/clone"); code != exitOK || head.Watermark == first.UTC().Format(time.RFC3339) {
		t.Fatalf("the next run: exit %d, watermark %s\n%s", code, head.Watermark, out)
	}
}

func mustStream(t *testing.T, wh, stream string) *txlog.StreamState {
	t.Helper()
	w, err := openWarehouseAt(context.Background(), wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestIncrementalKillResume kills `archtics incremental` with SIGKILL at
// random points (and stops it once with SIGTERM), reruns it until a run
// completes, and checks that the
// clone ends with exactly the rows and the watermark of an uninterrupted
// run over the same source (the simulator's clock is frozen, so both see
// the same snapshot), and that the killed warehouse verifies.
func TestIncrementalKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it repeatedly")
	}
	bin := buildBinary(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	cfg.Accounts = 400
	cfg.TicketsPerEvent = 60
	cfg.MergeRate = 0.5
	cfg.DuplicateRate = 0.2
	cfg.DaysAfterCutoff = 5
	dump, url, _ := simulatedSource(t, cfg, dir, 4*24*time.Hour)
	incr := func(wh string) []string {
		return []string{"--warehouse", wh, "incremental", "--team", "nhl", "--source", url, "--page-size", "40",
			"--sweep-every", "0", "--keys-page-size", "50", "--cache", filepath.Join(wh, "..", filepath.Base(wh)+"-cache")}
	}
	clean, killed := filepath.Join(dir, "clean"), filepath.Join(dir, "killed")
	for _, wh := range []string{clean, killed} {
		if code := run(ctx, []string{"archtics", "--log-level", "error", "--warehouse", wh, "load-dump", "--dump", dump, "--team", "nhl"}); code != exitOK {
			t.Fatalf("load-dump into %s: exit %d", wh, code)
		}
	}
	start := time.Now()
	if code := run(ctx, append([]string{"archtics", "--log-level", "error"}, incr(clean)...)); code != exitOK {
		t.Fatalf("uninterrupted run: exit %d", code)
	}
	took := time.Since(start)

	rng := rand.New(rand.NewPCG(20261124, 8))
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	kills, finished := 0, false
	for attempt := 0; attempt < 12 && !finished; attempt++ {
		p := startCommand(t, bin, tmp, incr(killed)...)
		delay := time.Duration(rng.Int64N(int64(took) + 1))
		if attempt == 0 {
			// At least one kill however fast the binary runs here: the
			// first lands early (start-up, the warehouse's opening).
			delay = took / 10
		}
		select {
		case <-p.done:
			finished = p.cmd.ProcessState.ExitCode() == exitOK
			if !finished {
				t.Fatalf("run %d exited %d:\n%s", attempt+1, p.cmd.ProcessState.ExitCode(), p.output())
			}
		case <-time.After(delay):
			if attempt == 1 {
				// SIGTERM once: a clean stop, within seconds, exit 143,
				// and (checked at the end) nothing partial committed.
				if code := p.stop(t, syscall.SIGTERM); code != exitSIGTERM && code != exitOK {
					t.Fatalf("exit %d after SIGTERM, want %d:\n%s", code, exitSIGTERM, p.output())
				}
				finished = p.cmd.ProcessState.ExitCode() == exitOK
				continue
			}
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			kills++
		}
	}
	if kills == 0 {
		t.Fatal("no run was killed: the test proved nothing")
	}
	if !finished {
		if code := run(ctx, append([]string{"archtics", "--log-level", "error"}, incr(killed)...)); code != exitOK {
			t.Fatalf("the run after %d kills: exit %d", kills, code)
		}
	}
	t.Logf("%d kills; the uninterrupted run took %v", kills, took)

	want, got := mustStream(t, clean, "nhl/clone"), mustStream(t, killed, "nhl/clone")
	if want.Watermark != got.Watermark {
		t.Fatalf("watermark after kills %s, uninterrupted %s", got.Watermark, want.Watermark)
	}
	tables := []*schemas.Table{schemas.AcctMerge, schemas.Rejects}
	for _, tbl := range schemas.SourceTables {
		tables = append(tables, schemas.Changes(tbl))
	}
	wantRows, gotRows := tableRows(t, clean, tables), tableRows(t, killed, tables)
	for _, tbl := range tables {
		w, g := wantRows[tbl.SQLName()], gotRows[tbl.SQLName()]
		if !slices.Equal(w, g) {
			t.Errorf("%s: %d rows after kills, %d uninterrupted", tbl.SQLName(), len(g), len(w))
		}
	}
	w, err := openWarehouseAt(ctx, killed, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := check.Verify(ctx, w.Log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("the killed warehouse does not verify: %+v", rep.Problems)
	}
}

// tableRows reads every row of tables as JSON text, sorted.
func tableRows(t *testing.T, wh string, tables []*schemas.Table) map[string][]string {
	t.Helper()
	ctx := context.Background()
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := views.OpenDuckDB(ctx, "", w.Log, t.TempDir(), tables...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]string{}
	for _, tbl := range tables {
		out[tbl.SQLName()] = queryAll(t, db, fmt.Sprintf("SELECT CAST(to_json(x) AS VARCHAR) FROM %s x ORDER BY 1", tbl.SQLName()))
	}
	return out
}

func queryAll(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
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
	return out
}
