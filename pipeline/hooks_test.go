package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"archtics/pipeline/check"
	"archtics/pipeline/internal/scangen"
	"archtics/pipeline/txlog"
	"archtics/pipeline/vacuum"
)

// TestCommitHook: a hook sees each commit that landed, once, with its
// files; a batch found already committed runs no hook; a failing hook does
// not fail the commit, which has landed.
func TestCommitHook(t *testing.T) {
	w := fileWarehouse(t, t.TempDir())
	var seen []*txlog.Commit
	w.OnCommit(func(_ context.Context, c *txlog.Commit) error {
		seen = append(seen, c)
		return errors.New("the derived catalog is unreachable")
	})
	recs := scangen.Default().Batches(200, 100, 0)
	defer scangen.ReleaseAll(recs)
	c := writeBatch(t, w, "nhl/clone", "b1", txlog.Watermark{}, recs)
	if len(seen) != 1 || seen[0].CommitID != c.CommitID || len(seen[0].Adds) != len(c.Adds) || len(c.Adds) == 0 {
		t.Fatalf("after one commit the hook saw %d commits (%+v), want commit %s", len(seen), seen, c.CommitID)
	}
	again := writeBatch(t, w, "nhl/clone", "b1", txlog.Watermark{}, recs)
	if !again.Existing || len(seen) != 1 {
		t.Fatalf("a rerun of a committed batch: existing %v, hook calls %d; want a no-op without a hook", again.Existing, len(seen))
	}
	head, err := w.Stream(context.Background(), "nhl/clone")
	if err != nil || head.Seq != 1 {
		t.Fatalf("head %+v, %v: the commit must stand despite the hook's error", head, err)
	}
}

// TestVerifyVacuumLeaveIceberg: the Iceberg metadata under iceberg/ is
// neither a table file nor an orphan: verify does not report it, vacuum
// does not delete it, however old.
func TestVerifyVacuumLeaveIceberg(t *testing.T) {
	dir := t.TempDir()
	w := fileWarehouse(t, dir)
	ctx := context.Background()
	recs := scangen.Default().Batches(200, 100, 0)
	defer scangen.ReleaseAll(recs)
	writeBatch(t, w, "nhl/clone", "b1", txlog.Watermark{}, recs)
	var paths []string
	for _, key := range []string{
		txlog.IcebergPrefix + "archtics/ticket/metadata/v1.metadata.json",
		txlog.IcebergPrefix + "archtics/ticket/metadata/snap-1-0-abc.avro",
		txlog.IcebergPrefix + "archtics/ticket/metadata/version-hint.text",
	} {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-30 * 24 * time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	rep, err := check.Verify(ctx, w.Log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.InFlight) != 0 {
		t.Fatalf("verify with Iceberg metadata: %+v; want no problem and nothing in flight", rep)
	}
	vac, err := vacuum.Run(ctx, w.Log, vacuum.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for stream, files := range vac.Deleted {
		for _, f := range files {
			t.Errorf("vacuum deleted %s of %s (%s)", f.Key, stream, f.Reason)
		}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after vacuum: %v", err)
		}
	}
}
