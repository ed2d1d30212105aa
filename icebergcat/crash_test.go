package icebergcat

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"archtics/icebergcat/layout"
	"archtics/pipeline"
	"archtics/stages/clone"
	"archtics/storage"
)

// interruptingStore cancels the publish's context at its n-th write under
// iceberg/ and fails that write, as a kill at that point would.
type interruptingStore struct {
	storage.Store
	n      int
	cancel context.CancelFunc
}

func (s *interruptingStore) interrupt(key string) error {
	if !strings.HasPrefix(key, layout.Prefix) {
		return nil
	}
	s.n--
	if s.n == 0 {
		s.cancel()
		return context.Canceled
	}
	return nil
}

func (s *interruptingStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (storage.ObjectInfo, error) {
	if err := s.interrupt(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	return s.Store.PutIfAbsent(ctx, key, r, size)
}

func (s *interruptingStore) CompareAndSwap(ctx context.Context, key string, data []byte, etag string) (storage.ObjectInfo, error) {
	if err := s.interrupt(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	return s.Store.CompareAndSwap(ctx, key, data, etag)
}

// TestIcebergPublishInterrupted: publishes cut short at their 1st, 2nd,
// 7th and 30th metadata write (one after the other, each resuming the
// last) each leave every table readable, at a
// version whose snapshots all match our state at the commits they name
// (behind the log, never wrong); the next whole publish catches up, and
// the result has the snapshots of an uninterrupted publish.
func TestIcebergPublishInterrupted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSimWarehouse(t, smallWorld(), "")
	team := s.teams[0]
	publish(t, s.w, Options{})
	s.incremental(t, team, 3*time.Hour)
	s.incremental(t, team, 30*time.Hour)
	if _, err := stagesCompact(ctx, s); err != nil {
		t.Fatal(err)
	}
	streams, err := s.w.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tables := layout.StoredTables(s.w.Tables, streams)
	for _, n := range []int{1, 2, 7, 30} {
		cctx, cancel := context.WithCancel(ctx)
		w := pipeline.New(&interruptingStore{Store: s.w.Store, n: n, cancel: cancel}, quietLogger)
		_, err := Publish(cctx, w.Log, withViews(Options{FlushEvery: 1}))
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("publish interrupted at write %d: %v, want context.Canceled", n, err)
		}
		checkEverySnapshot(t, s.w, tables, false, false)
	}
	publish(t, s.w, Options{})
	got := checkEverySnapshot(t, s.w, tables, false, true)

	// The same history as a publish never interrupted.
	deletePrefix(t, s.w, layout.Prefix)
	publish(t, s.w, Options{})
	if want := checkEverySnapshot(t, s.w, tables, false, true); !equalCounts(got, want) {
		t.Errorf("snapshots per table after interrupted publishes %v, uninterrupted %v", got, want)
	}
}

func stagesCompact(ctx context.Context, s *simWarehouse) (any, error) {
	return clone.Compact(ctx, s.w, s.teams[0], clone.CompactOptions{CacheDir: s.cache})
}
