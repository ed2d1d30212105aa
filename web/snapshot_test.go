package web

import "testing"

// TestPageKey checks when an event page carries over to the next commit:
// only while the clone's and the reconciliation's files, its own
// partition's scans and its state are the same.
func TestPageKey(t *testing.T) {
	const root = "/c/"
	clone := []string{root + "archtics/ticket/team=nhl/part-1.parquet", root + "archtics_rtx/reconcile/team=nhl/event_id=7/part-1.parquet"}
	day1 := root + "archtics_rtx/attendance_enriched/team=nhl/event_date=2026-11-23/part-a.parquet"
	day2 := root + "archtics_rtx/attendance_enriched/team=nhl/event_date=2026-11-24/part-b.parquet"
	ev := Event{ID: 7, Date: "2026-11-23", State: StateClosed}
	team := &Team{Name: "nhl"}
	key := func(files []string, e Event) string {
		s := &snapshot{files: indexFiles(files)}
		return s.pageKey(team, e)
	}
	base := key(append(append([]string(nil), clone...), day1, day2), ev)
	for _, tc := range []struct {
		name  string
		files []string
		e     Event
		same  bool
	}{
		{"another day's tick", append(append([]string(nil), clone...), day1, day2, day2+".2"), ev, true},
		{"a tick of its day", append(append([]string(nil), clone...), day1, day1+".2", day2), ev, false},
		{"a roll-up of its day", append(append([]string(nil), clone...), day1+".rolled", day2), ev, false},
		{"an incremental of the clone", append([]string{root + "archtics/ticket/team=nhl/part-2.parquet"}, append(clone, day1, day2)...), ev, false},
		{"another team's tick", append(append([]string(nil), clone...), day1, day2, root+"archtics_rtx/attendance_enriched/team=arena/event_date=2026-11-23/p.parquet"), ev, true},
		{"reconciled since", append(append([]string(nil), clone...), day1, day2), Event{ID: 7, Date: ev.Date, State: StateReconciled}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := key(tc.files, tc.e) == base; got != tc.same {
				t.Errorf("the page's key stays the same: %v, want %v", got, tc.same)
			}
		})
	}
}
