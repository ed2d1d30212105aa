package simulator

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
)

// keyOf joins a row's key columns as Keys does.
func keyOf(t *schemas.Table, r Row) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		parts[i] = r[t.ColumnIndex(k)]
	}
	return strings.Join(parts, "|")
}

// TestDeletionsOnEveryTable: every table has keys that vanish without a
// change record, some before the cutoff and some after, but a table the
// source never deletes from (schemas.Table.NoDeletes); each is in
// StateAt and Keys until its instant and absent from then on, and none of
// its versions is served by Changes once it is gone.
func TestDeletionsOnEveryTable(t *testing.T) {
	w := small(t)
	dels := w.Deletions()
	type tally struct{ before, after int }
	count := map[string]*tally{}
	for _, tab := range schemas.SourceTables {
		count[tab.Name] = &tally{}
	}
	reasons := map[string]int{}
	for _, d := range dels {
		if d.At.Before(w.Cutoff()) {
			count[d.Table].before++
		} else {
			count[d.Table].after++
		}
		reasons[d.Reason]++
	}
	for name, c := range count {
		if tableNamed(name).NoDeletes {
			if c.before+c.after != 0 {
				t.Errorf("%s: %d keys deleted before the cutoff, %d after: the source never deletes its rows", name, c.before, c.after)
			}
			continue
		}
		if c.before == 0 || c.after == 0 {
			t.Errorf("%s: %d keys deleted before the cutoff, %d after: want both", name, c.before, c.after)
		}
	}
	for _, r := range []string{"event_removed", "merged", "name_removed", "voided", "returned_purged", "posting_cancelled"} {
		if reasons[r] == 0 {
			t.Errorf("no deletion of reason %s (%v)", r, reasons)
		}
	}
	// Check a sample of each table and reason against the state.
	seen := map[string]int{}
	for _, d := range dels {
		if seen[d.Table+d.Reason] >= 5 {
			continue
		}
		seen[d.Table+d.Reason]++
		tab := tableNamed(d.Table)
		keysAt := func(at time.Time) []string { return w.Keys(d.Team, tab, at) }
		before, after := d.At.Add(-time.Second), d.At
		if _, found := slices.BinarySearch(keysAt(before), d.Key); !found {
			t.Errorf("%s %s %s: not present a second before its deletion at %v", d.Team, d.Table, d.Key, d.At)
		}
		for _, at := range []time.Time{after, w.End()} {
			if _, found := slices.BinarySearch(keysAt(at), d.Key); found {
				t.Errorf("%s %s %s: still in Keys at %v, deleted at %v", d.Team, d.Table, d.Key, at, d.At)
			}
			if rows := w.Lookup(d.Team, tab, []string{d.Key}, at); len(rows) != 0 {
				t.Errorf("%s %s %s: Lookup finds it at %v", d.Team, d.Table, d.Key, at)
			}
			for _, r := range w.StateAt(d.Team, tab, at) {
				if keyOf(tab, r) == d.Key {
					t.Errorf("%s %s %s: in StateAt at %v", d.Team, d.Table, d.Key, at)
				}
			}
		}
		inState := false
		for _, r := range w.StateAt(d.Team, tab, before) {
			inState = inState || keyOf(tab, r) == d.Key
		}
		if !inState {
			t.Errorf("%s %s %s: not in StateAt a second before its deletion", d.Team, d.Table, d.Key)
		}
		for _, c := range w.Changes(d.Team, tab, time.Time{}, w.End()) {
			if c.Key == d.Key {
				t.Errorf("%s %s %s: Changes still serves a version of it after its deletion", d.Team, d.Table, d.Key)
				break
			}
		}
	}
}

// TestDeletionsInDump: a key deleted before the cutoff is absent from the
// dump, one deleted after it is present, and groundtruth/deletions.csv is
// World.Deletions.
func TestDeletionsInDump(t *testing.T) {
	cfg := SmallConfig()
	dir, m := writeDump(t, cfg)
	w := small(t)
	inDump := map[string]bool{} // team|table|key
	for _, f := range m.Files {
		tab := tableNamed(f.Table)
		_, rows := readPart(t, filepath.Join(dir, filepath.FromSlash(f.Path)))
		for _, r := range rows {
			inDump[f.Team+"|"+f.Table+"|"+keyOf(tab, r)] = true
		}
	}
	dels := w.Deletions()
	var before, after int
	for _, d := range dels {
		k := d.Team + "|" + d.Table + "|" + d.Key
		switch {
		case d.At.Before(w.Cutoff()):
			before++
			if inDump[k] {
				t.Errorf("%s %s %s deleted at %v, before the cutoff, is in the dump", d.Team, d.Table, d.Key, d.At)
			}
		case inCutoffState(w, d):
			after++
			if !inDump[k] {
				t.Errorf("%s %s %s deleted at %v, after the cutoff, is not in the dump", d.Team, d.Table, d.Key, d.At)
			}
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d deletions before the cutoff, %d after of keys in the dump: want both", before, after)
	}
	f, err := os.Open(filepath.Join(dir, "groundtruth", "deletions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for _, d := range dels {
		want = append(want, []string{d.Team, d.Table, d.Key, d.At.In(w.Location()).Format(TimeLayout), d.At.Format(time.RFC3339), d.Reason,
			map[bool]string{true: "true", false: "false"}[d.At.Before(w.Cutoff())]})
	}
	if !reflect.DeepEqual(recs[1:], want) {
		t.Errorf("deletions.csv has %d rows, World.Deletions %d, or they differ", len(recs)-1, len(want))
	}
}

// inCutoffState reports whether the deleted key is in the dump's state
// (a row can also be inserted after the cutoff and deleted later).
func inCutoffState(w *World, d Deletion) bool {
	_, found := slices.BinarySearch(w.Keys(d.Team, tableNamed(d.Table), w.Cutoff().Add(-time.Nanosecond)), d.Key)
	return found
}

func tableNamed(name string) *schemas.Table {
	for _, t := range schemas.SourceTables {
		if t.Name == name {
			return t
		}
	}
	panic("no source table " + name)
}
