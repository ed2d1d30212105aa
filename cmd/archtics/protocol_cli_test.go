package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"archtics/pipeline/check"
	"archtics/pipeline/txlog"
)

// captureStdout runs f with os.Stdout sent to a file and returns what it
// printed.
func captureStdout(t *testing.T, f func()) string { return captureFile(t, &os.Stdout, f) }

// runner returns a function that runs archtics over warehouse wh (errors
// only logged), fails the test unless it exits 0, and returns its stdout.
func runner(t *testing.T, ctx context.Context, wh string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		var code int
		out := captureStdout(t, func() {
			code = run(ctx, append([]string{"archtics", "--log-level", "error", "--warehouse", wh}, args...))
		})
		if code != exitOK {
			t.Fatalf("archtics %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
}

// captureStderr is captureStdout for os.Stderr (where errors and hints go).
func captureStderr(t *testing.T, f func()) string { return captureFile(t, &os.Stderr, f) }

func captureFile(t *testing.T, std **os.File, f func()) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "captured")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	saved := *std
	*std = out
	defer func() { *std = saved }()
	f()
	out.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestProtocolCommands: log and verify as of a past point, vacuum's dry
// run and its usage errors, through the command line.
func TestProtocolCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dump, wh := filepath.Join(dir, "dump"), filepath.Join(dir, "warehouse")
	base := []string{"archtics", "--log-level", "error"}
	runOK := func(args ...string) string {
		t.Helper()
		var code int
		out := captureStdout(t, func() { code = run(ctx, append(append([]string{}, base...), args...)) })
		if code != exitOK {
			t.Fatalf("archtics %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
	runOK("simulate", "dump", "--scale", "small", "--out", dump)
	runOK("--warehouse", wh, "load-dump", "--dump", dump, "--team", "nhl")
	between := time.Now().UTC()
	time.Sleep(10 * time.Millisecond) // commit times are wall clock here
	runOK("--warehouse", wh, "load-dump", "--dump", dump, "--team", "arena")

	// The log as of a time between the two loads shows only the first.
	out := runOK("--warehouse", wh, "log", "--json", "--as-of", between.Format(time.RFC3339Nano))
	var streams []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var c txlog.Commit
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("log --json line %q: %v", line, err)
		}
		streams = append(streams, c.Stream)
	}
	if strings.Join(streams, ",") != "nhl/clone" {
		t.Fatalf("log as of between the loads: %v", streams)
	}
	// A query as of then answers as before arena's load.
	count := func(asOf ...string) string {
		args := append([]string{"--warehouse", wh, "query", "--cache", filepath.Join(dir, "cache"), "--format", "csv"}, asOf...)
		out := runOK(append(args, "SELECT count(*) FROM archtics.cust WHERE team = 'arena'")...)
		return strings.TrimSpace(strings.TrimPrefix(out, "count_star()\n"))
	}
	if then, now := count("--as-of", between.Format(time.RFC3339Nano)), count(); then != "0" || now == "0" {
		t.Fatalf("arena's accounts as of before its load: %s, now: %s", then, now)
	}
	if atCommit := count("--as-of", "arena/clone@1"); atCommit != count() {
		t.Fatalf("as of arena/clone@1: %s, want the head's %s", atCommit, count())
	}
	// Verify as of then checks only nhl's files; at the head, both teams'.
	var then, now check.Report
	json.Unmarshal([]byte(runOK("--warehouse", wh, "verify", "--json", "--as-of", between.Format(time.RFC3339Nano))), &then)
	json.Unmarshal([]byte(runOK("--warehouse", wh, "verify", "--json")), &now)
	if then.Files == 0 || then.Files >= now.Files || now.Checkpoints != 0 || !now.OK() {
		t.Fatalf("verify then %d files, now %d files (%d checkpoints, problems %v)", then.Files, now.Files, now.Checkpoints, now.Problems)
	}
	// A second dump into a team with a clone: refused, then --replace.
	later := filepath.Join(dir, "later")
	runOK("simulate", "dump", "--scale", "small", "--cutoff", "2026-11-21T17:00:01Z", "--out", later)
	if code := run(ctx, append(append([]string{}, base...), "--warehouse", wh, "load-dump", "--dump", later, "--team", "nhl")); code != exitFailure {
		t.Fatalf("a second dump without --replace: exit %d, want %d", code, exitFailure)
	}
	out = runOK("--warehouse", wh, "load-dump", "--dump", later, "--team", "nhl", "--replace")
	if !strings.Contains(out, "replaced the earlier clone") {
		t.Fatalf("load-dump --replace said: %s", out)
	}
	// A dry run deletes nothing, and there is nothing to delete.
	out = runOK("--warehouse", wh, "vacuum", "--dry-run")
	if !strings.Contains(out, "would delete 0 files") {
		t.Fatalf("vacuum --dry-run: %s", out)
	}
	for _, args := range [][]string{
		{"--warehouse", wh, "log", "--as-of", "yesterday"},
		{"--warehouse", wh, "verify", "--as-of", "nhl/clone@x"},
		{"--warehouse", wh, "vacuum", "--retain", "seven days"},
		{"--warehouse", wh, "vacuum", "--grace", "0s"},
	} {
		if code := run(ctx, append(append([]string{}, base...), args...)); code != exitUsage {
			t.Errorf("archtics %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
}
