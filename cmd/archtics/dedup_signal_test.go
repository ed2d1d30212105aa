package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"archtics/simulator"
	"archtics/stages/clone"
	"archtics/storage/file"
)

// TestDedupStopsOnSIGTERM runs the real binary's dedup over 120,000
// accounts and stops it with SIGTERM once it is reading them: it exits
// with SIGTERM's code within the deadline, the crm stream has no commit
// and nothing is left in its temporary folder.
func TestDedupStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and loads a 120,000-account dump")
	}
	bin := buildBinary(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simulator.DefaultConfig()
	cfg.Accounts = 60_000
	cfg.Seasons = 1
	cfg.EventsPerSeason = 3
	cfg.TicketsPerEvent = 50
	cfg.CRMContacts = 3000
	cfg.PartRows = 500_000
	dumpDir := filepath.Join(dir, "dump")
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(dumpDir), nil); err != nil {
		t.Fatal(err)
	}
	src, err := file.New(dumpDir)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := clone.OpenDump(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	wh, tmp, cache := filepath.Join(dir, "warehouse"), filepath.Join(dir, "tmp"), filepath.Join(dir, "cache")
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range dump.Teams() {
		if _, err := clone.LoadDump(ctx, w, dump, team, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--warehouse", wh, "dedup", "--crm", filepath.Join(dumpDir, "crm"), "--cache", cache}
	p := startCommand(t, bin, tmp, args...)
	p.waitFor(t, "dedup: accounts read")
	if code := p.stop(t, syscall.SIGTERM); code != exitSIGTERM {
		t.Fatalf("exit code %d after SIGTERM, want %d\n%s", code, exitSIGTERM, p.output())
	}
	if commits := filesUnder(t, filepath.Join(wh, "_log", "crm")); len(commits) > 0 {
		t.Fatalf("the stopped dedup left crm commits: %v", commits)
	}
	if left := filesUnder(t, tmp); len(left) > 0 {
		t.Fatalf("the stopped dedup left temporary files: %v", left)
	}
}
