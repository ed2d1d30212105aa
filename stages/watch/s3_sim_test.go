package watch_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"archtics/simulator"
	"archtics/stages/watch"
	"archtics/storage/storagetest"
)

// TestDeliverOnS3 is a delivery over a warehouse on S3 (skipped without
// AWS_ENDPOINT_URL): nhl's day ticked every three hours, a list of about
// 150 arrivals, the receiver failing one call in ten; a pass stopped a
// third of the way and its rerun deliver every arrival of the truth in
// order, only the request in flight twice.
func TestDeliverOnS3(t *testing.T) {
	if !storagetest.HaveS3() {
		t.Skip(storagetest.S3Skip)
	}
	ctx := context.Background()
	g := newGameDay(t, simulator.SmallConfig(), storagetest.S3Location(t, "watch-deliver"))
	day, end := gameDayBounds(g)
	for at := day; !at.After(end); at = at.Add(3 * time.Hour) {
		g.tick(t, "nhl", at)
	}
	scans := truthScans(t, g, "nhl", day, end, g.world.Cutoff())
	entries := chooseList(scans, 150, nil)
	want := truthArrivals(scans, listedHolders(entries, finalWinners(g.world, "nhl", g.world.Cutoff())))
	recv := newReceiver("s3cr3t", 10)
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	hook := &watch.Webhook{URL: srv.URL + "/arrivals", SecretEnv: testSecretEnv}
	if _, _, err := watch.Apply(ctx, g.w, "nhl", watch.Change{Replace: true, Entries: entries, Webhook: hook}, watch.SetOptions{By: "test"}, g.cache); err != nil {
		t.Fatal(err)
	}
	stopAt := len(want) / 3
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	recv.mu.Lock()
	recv.onAccept = func(n int) {
		if n == stopAt {
			stop()
		}
	}
	recv.mu.Unlock()
	if _, err := watch.Deliver(sctx, g.w, "nhl", deliverOptions(g, "s3cr3t")); !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped pass returned %v, want context.Canceled", err)
	}
	recv.mu.Lock()
	recv.onAccept = nil
	recv.mu.Unlock()
	cpu0, wall0 := cpuTime(t), time.Now()
	rep, err := watch.Deliver(ctx, g.w, "nhl", deliverOptions(g, "s3cr3t"))
	if err != nil {
		t.Fatal(err)
	}
	cpu, wall := cpuTime(t)-cpu0, time.Since(wall0)
	keys, repeats, _ := recv.snapshot()
	checkDelivered(t, recv, want, keys, "nhl")
	if len(repeats) > 1 || len(repeats) == 1 && repeats[0] != want[stopAt-1].key("nhl") {
		t.Errorf("repeated %v; only the request in flight at the stop may be", repeats)
	}
	t.Logf("%d arrivals; the rerun delivered %d in %s wall, %s CPU", len(want), rep.Delivered, wall.Round(time.Millisecond), cpu.Round(time.Millisecond))
}
