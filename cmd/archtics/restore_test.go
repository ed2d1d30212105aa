package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/icebergcat"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
)

// cliRunner runs archtics in-process over warehouse wh and returns the exit
// code, stdout and stderr.
func cliRunner(t *testing.T, wh string) func(args ...string) (int, string, string) {
	return func(args ...string) (int, string, string) {
		t.Helper()
		var code int
		var out string
		stderr := captureStderr(t, func() {
			out = captureStdout(t, func() {
				code = run(context.Background(), append([]string{"archtics", "--log-level", "error", "--warehouse", wh}, args...))
			})
		})
		return code, out, stderr
	}
}

// mustSucceed wraps a cliRunner: the command must exit 0, and its stdout
// is returned.
func mustSucceed(t *testing.T, archtics func(args ...string) (int, string, string)) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		code, out, stderr := archtics(args...)
		if code != exitOK {
			t.Fatalf("archtics %s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
		}
		return out
	}
}

// TestRestoreRepairsBrickedRealtime: a tick at a far-future logical time is
// a usage error; widened with --max-future it commits and every tick at a
// normal time after it fails (a watermark never goes back); archtics
// restore to the commit before it repairs the stream in place, the next
// tick commits, log and verify show the restore.
func TestRestoreRepairsBrickedRealtime(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	dump, wh, cache := filepath.Join(dir, "dump"), filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(dump), nil); err != nil {
		t.Fatal(err)
	}
	archtics := cliRunner(t, wh)
	mustOK := mustSucceed(t, archtics)
	mustOK("load-dump", "--dump", dump, "--team", "nhl")
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := simulator.NewSimClock(world.Cutoff())
	srv, err := simulator.NewServer(world, simulator.ServerConfig{Token: "t", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	day := world.Cutoff().In(loc).Add(24 * time.Hour).Truncate(time.Hour)
	mustOK("realtime", "criteria", "set", "--team", "nhl", "--effective", world.Cutoff().Format(time.RFC3339), seedSportsConcerts)
	tick := func(at string, extra ...string) (int, string, string) {
		return archtics(append([]string{"realtime", "tick", "--team", "nhl", "--source", hs.URL, "--token", "t", "--cache", cache, "--at", at}, extra...)...)
	}
	first := day.Add(19 * time.Hour)
	clock.Set(first)
	if code, out, stderr := tick(first.Format(time.RFC3339)); code != exitOK {
		t.Fatalf("a tick at %s: exit %d\n%s%s", first, code, out, stderr)
	}
	stream := realtime.Stream("nhl")
	good := mustStream(t, wh, stream)

	// The far-future tick is refused, and with the bound widened it commits.
	const future = "2062-11-23T19:00:00Z"
	code, _, stderr := tick(future)
	if code != exitUsage || !strings.Contains(stderr, "in the future") || !strings.Contains(stderr, "--max-future") {
		t.Fatalf("a tick at %s: exit %d, want %d naming --max-future:\n%s", future, code, exitUsage, stderr)
	}
	if code, _, stderr := archtics("realtime", "expire", "--team", "nhl", "--at", future); code != exitUsage || !strings.Contains(stderr, "--at") {
		t.Fatalf("expire at %s: exit %d\n%s", future, code, stderr)
	}
	if code, _, stderr := archtics("incremental", "--team", "nhl", "--source", hs.URL, "--until", future); code != exitUsage || !strings.Contains(stderr, "--until") {
		t.Fatalf("incremental --until %s: exit %d\n%s", future, code, stderr)
	}
	if h := mustStream(t, wh, stream); h.Seq != good.Seq {
		t.Fatalf("a refused tick committed: seq %d, was %d", h.Seq, good.Seq)
	}
	if code, out, stderr := archtics("--max-future", "876000h", "realtime", "tick", "--team", "nhl", "--source", hs.URL, "--token", "t",
		"--cache", cache, "--at", future); code != exitOK {
		t.Fatalf("the widened far-future tick: exit %d\n%s%s", code, out, stderr)
	}
	bricked := mustStream(t, wh, stream)
	if bricked.Watermark != future {
		t.Fatalf("after the far-future tick the watermark is %s", bricked.Watermark)
	}
	next := first.Add(realtime.DefaultEvery)
	clock.Set(next)
	if code, _, stderr := tick(next.Format(time.RFC3339)); code != exitFailure || !strings.Contains(stderr, "archtics restore") {
		t.Fatalf("a normal tick after the far-future one: exit %d, want %d with a hint to restore:\n%s", code, exitFailure, stderr)
	}

	// The repair: a dry run changes nothing, then the restore.
	to := strconv.FormatInt(good.Seq, 10)
	out := mustOK("restore", "--stream", stream, "--to", to, "--dry-run")
	if !strings.Contains(out, "dry run") || !strings.Contains(out, future+" -> "+good.Watermark) {
		t.Fatalf("restore --dry-run printed:\n%s", out)
	}
	if h := mustStream(t, wh, stream); h.Seq != bricked.Seq {
		t.Fatalf("the dry run committed: seq %d", h.Seq)
	}
	out = mustOK("restore", "--stream", stream, "--to", to, "--by", "ops", "--reason", "tick at 2062 by mistake")
	if !strings.Contains(out, "restored to seq "+to) {
		t.Fatalf("restore printed:\n%s", out)
	}
	restored := mustStream(t, wh, stream)
	if restored.Watermark != good.Watermark || restored.Seq != bricked.Seq+1 || !sameLive(good, restored) {
		t.Fatalf("after the restore: seq %d watermark %s, want watermark %s and seq %d's files", restored.Seq, restored.Watermark, good.Watermark, good.Seq)
	}
	if out := mustOK("restore", "--stream", stream, "--to", to); !strings.Contains(out, "nothing done") {
		t.Fatalf("a rerun of the restore printed:\n%s", out)
	}
	if code, out, stderr := tick(next.Format(time.RFC3339)); code != exitOK {
		t.Fatalf("a normal tick after the restore: exit %d\n%s%s", code, out, stderr)
	}
	if h := mustStream(t, wh, stream); h.Watermark != next.UTC().Format(time.RFC3339) {
		t.Fatalf("after the next tick the watermark is %s, want %s", h.Watermark, next.UTC().Format(time.RFC3339))
	}

	// log and verify show it.
	out = mustOK("log", "--stream", stream, "-n", "2")
	if !strings.Contains(out, "RESTORE to seq "+to+" (from seq "+strconv.FormatInt(bricked.Seq, 10)+") by ops: tick at 2062 by mistake") {
		t.Fatalf("log does not show the restore:\n%s", out)
	}
	out = mustOK("verify")
	if !strings.Contains(out, "restore") || !strings.Contains(out, "0 problems") || !strings.Contains(out, "1 restores") {
		t.Fatalf("verify after the restore:\n%s", out)
	}
	// Refused targets, and a restore while reading as of the past, are
	// usage errors.
	for _, args := range [][]string{{"--to", "999"}, {"--to=-1"}} {
		if code, _, stderr := archtics(append([]string{"restore", "--stream", stream}, args...)...); code != exitUsage {
			t.Errorf("restore %v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
	t.Setenv("ARCHTICS_AS_OF", stream+"@1")
	if code, _, stderr := archtics("restore", "--stream", stream, "--to", "1"); code != exitUsage || !strings.Contains(stderr, "ARCHTICS_AS_OF") {
		t.Errorf("restore with ARCHTICS_AS_OF set: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}

// sameLive reports whether two states hold the same live files.
func sameLive(a, b *txlog.StreamState) bool {
	if a.LiveFiles() != b.LiveFiles() {
		return false
	}
	for t, m := range a.Files {
		for k := range m {
			if _, ok := b.Files[t][k]; !ok {
				return false
			}
		}
	}
	return true
}

// TestRestoreRepairsPoisonedClone: a clone loaded from a bad dump cannot
// be loaded again from a corrected dump with the same cutoff (same batch
// id, other input); restore --to 0 empties the clone and forgets the
// load, the corrected dump then loads, and the clone is that dump. With
// Iceberg publishing on, the restore and the reload publish.
func TestRestoreRepairsPoisonedClone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bad, fixed, wh, cache := filepath.Join(dir, "bad"), filepath.Join(dir, "fixed"), filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
	if _, err := simulator.WriteDump(ctx, simulator.SmallConfig(), simulator.DirDest(bad), nil); err != nil {
		t.Fatal(err)
	}
	acct, name := correctDump(t, bad, fixed)
	archtics := cliRunner(t, wh)
	mustOK := mustSucceed(t, archtics)
	mustOK("load-dump", "--dump", bad, "--team", "nhl")
	mustOK("catalog", "iceberg")
	for _, args := range [][]string{{}, {"--replace"}} {
		code, _, stderr := archtics(append([]string{"load-dump", "--dump", fixed, "--team", "nhl"}, args...)...)
		if code == exitOK || !strings.Contains(stderr, "archtics restore --stream <team>/clone --to 0") {
			t.Fatalf("load-dump %v of the corrected dump over the bad one: exit %d, want refused with a hint to restore:\n%s", args, code, stderr)
		}
	}
	mustOK("restore", "--stream", "nhl/clone", "--to", "0", "--reason", "bad dump")
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := w.Stream(ctx, "nhl/clone")
	if err != nil {
		t.Fatal(err)
	}
	if restored.LiveFiles() != 0 || restored.Watermark != "" || len(restored.Cursors) != 0 {
		t.Fatalf("after restore --to 0: %d files, watermark %q, cursors %v", restored.LiveFiles(), restored.Watermark, restored.Cursors)
	}
	it, _, err := icebergcat.Table(ctx, w.Store, schemas.Cust)
	if err != nil {
		t.Fatal(err)
	}
	if snap := it.CurrentSnapshot(); snap == nil || snap.Summary.Properties[icebergcat.SummaryStage] != "restore" ||
		snap.Summary.Properties[icebergcat.SummarySeq] != strconv.FormatInt(restored.Seq, 10) {
		t.Fatalf("the restore did not publish archtics.cust: newest snapshot %+v", snap)
	}

	mustOK("load-dump", "--dump", fixed, "--team", "nhl")
	query := func(q string) string {
		return strings.TrimSpace(mustOK("query", "--cache", cache, "--format", "csv", q))
	}
	want := "name_last\n" + name
	if got := query("SELECT name_last FROM archtics.cust WHERE team = 'nhl' AND acct_id = " + acct); got != want {
		t.Fatalf("after the reload the account's name is %q, the corrected dump says %q", got, want)
	}
	var m simulator.Manifest
	readJSON(t, filepath.Join(fixed, simulator.ManifestName), &m)
	var rows int64
	for _, f := range m.Files {
		if f.Team == "nhl" && f.Table == "cust" {
			rows += f.Rows
		}
	}
	if got := query("SELECT count(*) FROM archtics.cust WHERE team = 'nhl'"); got != "count_star()\n"+strconv.FormatInt(rows, 10) {
		t.Fatalf("archtics.cust holds %q nhl rows, the corrected dump %d", got, rows)
	}
	if out := mustOK("verify"); !strings.Contains(out, "0 problems") || !strings.Contains(out, "1 restores") {
		t.Fatalf("verify:\n%s", out)
	}
	it, _, err = icebergcat.Table(ctx, w.Store, schemas.Cust)
	if err != nil {
		t.Fatal(err)
	}
	if snap := it.CurrentSnapshot(); snap == nil || snap.Summary.Properties[icebergcat.SummaryStage] != "load-dump" {
		t.Fatalf("the reload did not publish archtics.cust: newest snapshot %+v", snap)
	}
}

// correctDump copies the dump at from to to with one account of nhl's
// first cust part renamed, the manifest's size and checksum updated: the
// same cutoff, other content. It returns the account and its new name.
func correctDump(t *testing.T, from, to string) (acct, name string) {
	t.Helper()
	if err := exec.Command("cp", "-r", from, to).Run(); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	path := filepath.Join(to, simulator.ManifestName)
	readJSON(t, path, &m)
	for _, f := range m["files"].([]any) {
		f := f.(map[string]any)
		if f["team"] != "nhl" || f["table"] != "cust" {
			continue
		}
		part := filepath.Join(to, filepath.FromSlash(f["path"].(string)))
		zr, err := os.Open(part)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(zr)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(gz)
		zr.Close()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(data), "\n", 3)
		header, row := strings.Split(lines[0], "|"), strings.Split(lines[1], "|")
		for i, col := range header {
			switch col {
			case "acct_id":
				acct = row[i]
			case "name_last":
				row[i] += "-Corrected"
				name = row[i]
			}
		}
		lines[1] = strings.Join(row, "|")
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(strings.Join(lines, "\n")))
		zw.Close()
		if err := os.WriteFile(part, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(buf.Bytes())
		f["sha256"], f["bytes"] = hex.EncodeToString(sum[:]), buf.Len()
		break
	}
	if acct == "" || name == "" {
		t.Fatal("no nhl cust part with acct_id and name_last in the manifest")
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return acct, name
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestAsOfBeforeFirstCommit: --as-of before anything was committed is a
// usage error saying so, not an empty answer that looks like lost data.
func TestAsOfBeforeFirstCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dump, wh := filepath.Join(dir, "dump"), filepath.Join(dir, "warehouse")
	if _, err := simulator.WriteDump(ctx, simulator.SmallConfig(), simulator.DirDest(dump), nil); err != nil {
		t.Fatal(err)
	}
	archtics := cliRunner(t, wh)
	if code, _, stderr := archtics("load-dump", "--dump", dump, "--team", "nhl"); code != exitOK {
		t.Fatalf("load-dump: exit %d\n%s", code, stderr)
	}
	before := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"log", "--as-of", before}, "before the warehouse's first commit"},
		{[]string{"verify", "--as-of", before}, "before the warehouse's first commit"},
		{[]string{"query", "--as-of", before, "SELECT 1"}, "before the warehouse's first commit"},
		{[]string{"log", "--as-of", "nhl/clone@0"}, "before the stream's first commit"},
		{[]string{"log", "--as-of", "nhl/clone@7"}, "head is seq 1"},
		{[]string{"log", "--as-of", "arena/clone@1"}, "has no commits"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := archtics(tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("%v: exit %d, want %d saying %q:\n%s", tc.args, code, exitUsage, tc.want, stderr)
			}
		})
	}
	if code, _, stderr := archtics("log", "--as-of", "nhl/clone@1"); code != exitOK {
		t.Errorf("log --as-of nhl/clone@1: exit %d\n%s", code, stderr)
	}
}
