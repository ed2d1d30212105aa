package icebergcat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"archtics/icebergcat/layout"
	"archtics/pipeline"
	"archtics/schemas"
)

// TestIcebergConcurrentPublishers: four publishers catching up the same
// tables at once never publish a commit twice or skip one: each metadata
// version is written by one of them (create-if-absent), the others retry
// from its snapshot or give up with ErrConflict, and a last publish leaves
// every table complete.
func TestIcebergConcurrentPublishers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSimWarehouse(t, smallWorld(), "")
	publish(t, s.w, Options{})
	s.incremental(t, s.teams[0], 3*time.Hour)
	s.incremental(t, s.teams[0], 30*time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := pipeline.New(s.w.Store, quietLogger)
			_, errs[i] = Publish(ctx, w.Log, withViews(Options{FlushEvery: 1}))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, ErrConflict) {
			t.Errorf("publisher %d: %v", i, err)
		}
	}
	publish(t, s.w, Options{})
	streams, err := s.w.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkEverySnapshot(t, s.w, layout.StoredTables(s.w.Tables, streams), false, true)
}

// TestIcebergChangedDefinition: a table whose definition gained a column
// since it was published is refused with advice to rebuild, and a rebuild
// publishes the new schema.
func TestIcebergChangedDefinition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSimWarehouse(t, smallWorld(), "")
	publish(t, s.w, Options{Tables: []string{schemas.Event.FullName()}})
	changed := *schemas.Event
	changed.Columns = append(append([]schemas.Column(nil), changed.Columns...), schemas.Column{Name: "added_later", Type: schemas.String, Nullable: true})
	w := pipeline.New(s.w.Store, quietLogger)
	w.Tables = []*schemas.Table{&changed}
	cat := newFileCatalog(ctx, w.Store)
	st, err := cat.load(ctx, &changed)
	if err != nil {
		t.Fatal(err)
	}
	_, err = publishTable(ctx, w.Log, &commitReader{w: w.Log, byStream: map[string]*streamCommits{}}, &changed, []string{s.teams[0] + "/clone"}, Options{FlushEvery: 1})
	if err == nil || !strings.Contains(err.Error(), "--rebuild") {
		t.Fatalf("publishing a changed definition: %v; want a refusal that says to rebuild", err)
	}
	if _, err := publishTable(ctx, w.Log, &commitReader{w: w.Log, byStream: map[string]*streamCommits{}}, &changed, []string{s.teams[0] + "/clone"}, Options{Rebuild: true, FlushEvery: 1}); err != nil {
		t.Fatal(err)
	}
	it, _, err := Table(ctx, w.Store, &changed)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := it.Schema().FindFieldByName("added_later"); !ok || it.Metadata().TableUUID() != st.stored.TableUUID() {
		t.Fatalf("after the rebuild: field %v found %v, uuid %s (was %s)", f, ok, it.Metadata().TableUUID(), st.stored.TableUUID())
	}
}
