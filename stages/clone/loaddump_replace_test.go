package clone

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/simulator"
)

// TestSecondDump: a dump loaded into a team that already has a clone is
// refused (both would be live, every row doubled); with Replace the old
// clone's files are retired in the same commit that adds the new ones; a
// dump cut before the clone's watermark is refused even with Replace.
func TestSecondDump(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := simulator.Scale("small")
	if err != nil {
		t.Fatal(err)
	}
	first := simulatedDump(t, cfg, filepath.Join(dir, "dump1"))
	later := cfg
	later.Cutoff = cfg.Cutoff.Add(24 * time.Hour)
	second := simulatedDump(t, later, filepath.Join(dir, "dump2"))
	earlier := cfg
	earlier.Cutoff = cfg.Cutoff.Add(-24 * time.Hour)
	old := simulatedDump(t, earlier, filepath.Join(dir, "dump0"))

	w, err := pipelinetest.Open(ctx, filepath.Join(dir, "warehouse"), quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	const team = "nhl"
	rep1, err := LoadDump(ctx, w, first, team, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDump(ctx, w, second, team, nil); !errors.Is(err, ErrCloneExists) {
		t.Fatalf("a second dump without --replace: %v, want ErrCloneExists", err)
	}
	rep2, err := LoadDumpWith(ctx, w, second, team, LoadOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Replaced != len(rep1.Commit.Adds) {
		t.Errorf("replace retired %d files, the first clone had %d", rep2.Replaced, len(rep1.Commit.Adds))
	}
	head, err := w.Stream(ctx, CloneStream(team))
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 2 || head.Watermark != later.Cutoff.UTC().Format(time.RFC3339) {
		t.Fatalf("head seq %d watermark %s", head.Seq, head.Watermark)
	}
	// Only the second dump's rows are live: count them against its report.
	var want, got int64
	for _, f := range rep2.Files {
		if f.Table == schemas.Cust.FullName() {
			want += f.Loaded
		}
	}
	for _, e := range head.TableFiles(schemas.Cust.FullName()) {
		got += e.Rows
	}
	if got != want || want == 0 {
		t.Fatalf("live cust rows %d, the second dump loaded %d", got, want)
	}
	for _, e := range rep1.Commit.Adds {
		if _, live := head.Files[e.Table][e.Key]; live {
			t.Errorf("first clone's %s still live", e.Key)
		}
	}
	// The first dump again: a clone exists from another dump.
	if _, err := LoadDump(ctx, w, first, team, nil); !errors.Is(err, ErrCloneExists) {
		t.Fatalf("reloading the first dump: %v", err)
	}
	// An older dump, even with Replace: the watermark never goes back.
	if _, err := LoadDumpWith(ctx, w, old, team, LoadOptions{Replace: true}); !errors.Is(err, txlog.ErrWatermarkBackwards) {
		t.Fatalf("an older dump with --replace: %v, want ErrWatermarkBackwards", err)
	}
	// The second dump again: a no-op.
	again, err := LoadDumpWith(ctx, w, second, team, LoadOptions{Replace: true})
	if err != nil || !again.Commit.Existing || again.Replaced != 0 {
		t.Fatalf("rerun of the loaded dump: %+v, %v", again, err)
	}
}
