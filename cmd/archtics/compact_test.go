package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompactCommand: compact folds a freshly loaded clone in one commit,
// the current state and the history answer as before (and as of the
// commit before it), a rerun says there is nothing to do, and verify
// finds nothing wrong.
func TestCompactCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dump, wh, cache := filepath.Join(dir, "dump"), filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
	runOK := runner(t, ctx, wh)
	query := func(asOf string) string {
		t.Helper()
		args := []string{"query", "--cache", cache}
		if asOf != "" {
			args = append(args, "--as-of", asOf)
		}
		return runOK(append(args, `SELECT (SELECT count(*) FROM archtics.ticket WHERE team = 'nhl') AS tickets,
			(SELECT sum(hash(acct_id, name_last, email_addr, upd_date)) FROM archtics.cust WHERE team = 'nhl') AS cust_digest,
			(SELECT count(*) FROM archtics_history.cust WHERE team = 'nhl' AND _source = 'dump') AS cust_versions`)...)
	}
	runOK("simulate", "dump", "--scale", "small", "--out", dump)
	runOK("load-dump", "--dump", dump, "--team", "nhl")
	before := query("")

	out := runOK("compact", "--team", "nhl", "--cache", cache)
	if !strings.Contains(out, "nhl: commit 2 of nhl/clone") || !strings.Contains(out, "ticket 1 files") {
		t.Fatalf("compact said:\n%s", out)
	}
	if after := query(""); after != before {
		t.Fatalf("after the compaction the queries answer\n%s\nbefore they answered\n%s", after, before)
	}
	if then := query("nhl/clone@1"); then != before {
		t.Fatalf("as of the load the queries answer\n%s\nwant\n%s", then, before)
	}
	if out := runOK("compact", "--team", "nhl", "--cache", cache); !strings.Contains(out, "nhl: nothing committed since the last compaction") {
		t.Fatalf("a second compact said:\n%s", out)
	}
	runOK("verify")
	if code := run(ctx, []string{"archtics", "--log-level", "error", "--warehouse", wh, "compact", "--team", "arena"}); code != exitFailure {
		t.Errorf("compact of a team without a clone: exit %d, want %d", code, exitFailure)
	}
}
