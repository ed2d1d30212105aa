package simulator_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"archtics/simulator"
)

// TestDeletionsThroughKeysAndLookup: through the change API, a key the
// truth says was deleted is listed by keys and found by lookup before its
// instant, and from its instant on keys leaves it out and lookup reports
// it missing, on every table.
func TestDeletionsThroughKeysAndLookup(t *testing.T) {
	w, err := simulator.NewWorld(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, w, w.Cutoff(), simulator.FaultConfig{})
	c := ts.client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keysAt := func(team, table string) []string {
		var keys []string
		for cursor := ""; ; {
			p, err := c.Keys(ctx, team, table, cursor, 5000)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, p.Keys...)
			if cursor = p.NextCursor; cursor == "" {
				return keys
			}
		}
	}
	checked := map[string]bool{}
	for _, d := range w.Deletions() {
		if checked[d.Table] || d.At.Before(w.Cutoff().Add(time.Hour)) {
			continue
		}
		// Just before: present. At the instant: gone, and lookup says so.
		ts.clock.Set(d.At.Add(-time.Second))
		if _, found := slices.BinarySearch(keysAt(d.Team, d.Table), d.Key); !found {
			continue // inserted and deleted after the cutoff within the same second: nothing to see
		}
		if lr, err := c.Lookup(ctx, d.Team, d.Table, []string{d.Key}); err != nil || len(lr.Rows) != 1 {
			t.Fatalf("%s %s %s: lookup before its deletion: %v %v", d.Team, d.Table, d.Key, lr, err)
		}
		ts.clock.Set(d.At)
		if _, found := slices.BinarySearch(keysAt(d.Team, d.Table), d.Key); found {
			t.Errorf("%s %s %s: keys still lists it at its deletion instant %v", d.Team, d.Table, d.Key, d.At)
		}
		lr, err := c.Lookup(ctx, d.Team, d.Table, []string{d.Key})
		if err != nil {
			t.Fatal(err)
		}
		if len(lr.Rows) != 0 || !slices.Contains(lr.Missing, d.Key) {
			t.Errorf("%s %s %s: lookup after its deletion: %d rows, missing %v", d.Team, d.Table, d.Key, len(lr.Rows), lr.Missing)
		}
		checked[d.Table] = true
	}
	for _, table := range []string{"event", "cust", "ticket", "tex"} {
		if !checked[table] {
			t.Errorf("%s: no deletion after the cutoff checked through the API", table)
		}
	}
}
