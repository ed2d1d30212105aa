package icebergcat

import (
	"context"
	"testing"
	"time"

	"archtics/icebergcat/layout"
	"archtics/schemas"
)

// TestIcebergAutoPublishTicks: with the setting on, every realtime tick
// publishes by itself (the after-commit hook); 40 ticks later every
// snapshot matches our state and every tick that touched a table is one of
// its snapshots (checkEverySnapshot), and merged manifests keep the newest snapshot's manifest list far
// shorter than the snapshot count.
func TestIcebergAutoPublishTicks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSimWarehouse(t, smallWorld(), "")
	team := s.teams[0]
	publish(t, s.w, Options{})
	if err := layout.WriteSettings(ctx, s.w.Store, layout.Settings{Enabled: true, Catalog: layout.CatalogFile}, ""); err != nil {
		t.Fatal(err)
	}
	AutoPublish(s.w.Log, HookOptions{Getenv: func(string) string { return "" }, Publish: withViews(Options{})})

	loc := s.world.Location()
	cut := s.world.Cutoff().In(loc)
	sel := s.world.SelectedEvents(team, time.Date(cut.Year(), cut.Month(), cut.Day()+3, 12, 0, 0, 0, loc), nil)
	if len(sel) == 0 {
		t.Fatal("no game selected three days after the cutoff")
	}
	const ticks = 40
	for i := 0; i < ticks; i++ {
		s.tick(t, team, sel[0].Start.Add(time.Duration(i-20)*3*time.Minute))
	}
	streams, err := s.w.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEverySnapshot(t, s.w, layout.StoredTables(s.w.Tables, streams), false, true)

	head, err := s.w.Stream(ctx, team+"/realtime")
	if err != nil {
		t.Fatal(err)
	}
	it, _, err := Table(ctx, s.w.Store, schemas.RTXAttendanceRaw)
	if err != nil {
		t.Fatal(err)
	}
	snap := it.CurrentSnapshot()
	if snap == nil || snap.Summary.Properties[SummaryStream] != head.Stream || head.Seq < ticks {
		t.Fatalf("newest snapshot %+v, head %d: want the ticks' commits", snap, head.Seq)
	}
	fsys, err := it.FS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	manifests, err := snap.Manifests(fsys)
	if err != nil {
		t.Fatal(err)
	}
	n := len(it.Metadata().Snapshots())
	if n < ticks/2 || len(manifests) > n/2 {
		t.Errorf("%d snapshots, the newest lists %d manifests: want every tick published and manifests merged", n, len(manifests))
	}
	t.Logf("%d snapshots of %s, the newest lists %d manifests", n, schemas.RTXAttendanceRaw.FullName(), len(manifests))
}
