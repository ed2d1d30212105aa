package icebergcat

import (
	"context"
	"testing"
	"time"

	"archtics/icebergcat/layout"
	"archtics/pipeline/check"
	"archtics/schemas"
)

// TestIcebergExpireSnapshots: a publish keeping snapshots for a moment
// leaves only each table's newest, which still plans exactly our head's
// files; the store keeps every file; later publishes go on from it, and a
// rebuild that keeps everything brings the whole history back.
func TestIcebergExpireSnapshots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSimWarehouse(t, smallWorld(), "")
	publish(t, s.w, Options{})
	s.incremental(t, s.teams[0], 3*time.Hour)
	publish(t, s.w, Options{})
	s.incremental(t, s.teams[0], 30*time.Hour)
	publish(t, s.w, Options{KeepSnapshots: time.Nanosecond})
	streams, err := s.w.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tables := layout.StoredTables(s.w.Tables, streams)
	for _, tbl := range tables {
		it, _, err := Table(ctx, s.w.Store, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(it.Metadata().Snapshots()); n > 1 {
			t.Errorf("%s: %d snapshots after expiring all but the newest", tbl.FullName(), n)
		}
	}
	checkEverySnapshot(t, s.w, tables, true, false) // the newest: our head's files and rows
	if rep, err := check.Verify(ctx, s.w.Log, nil); err != nil || !rep.OK() {
		t.Fatalf("verify after the expiry: %+v, %v", rep, err)
	}

	s.incremental(t, s.teams[0], 3*time.Hour)
	publish(t, s.w, Options{})
	checkEverySnapshot(t, s.w, tables, false, false)
	publish(t, s.w, Options{Rebuild: true, KeepSnapshots: -1})
	counts := checkEverySnapshot(t, s.w, tables, false, true)
	if counts[schemas.Ticket.FullName()] < 2 {
		t.Errorf("after the rebuild archtics.ticket has %d snapshots, want its whole history", counts[schemas.Ticket.FullName()])
	}
}
