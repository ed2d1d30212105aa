package simulator

import (
	"strconv"
	"testing"

	"archtics/schemas"
)

// TestFeedRevalidation: the scans FeedExtra names are, in the feed,
// accepted initial entries (result_code '0', scan_type 'S', served once
// delivered) and, in archtics.attendance, standard-gate scans recorded as
// already used ('14'), all at one gate; no event of the days around the
// cutoff has any; some event of the world does.
func TestFeedRevalidation(t *testing.T) {
	w, err := NewWorld(SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	cutDate := w.Cutoff().In(w.Location())
	ac := func(name string) int { return schemas.Attendance.ColumnIndex(name) }
	sc := func(name string) int { return schemas.Scan.ColumnIndex(name) }
	var events int
	for _, team := range w.Teams() {
		final := map[string]Row{} // event_id|seq -> the final row
		for _, r := range w.StateAt(team, schemas.Attendance, w.End()) {
			final[r[ac("event_id")]+"|"+r[ac("attendance_seq_id")]] = r
		}
		for _, e := range w.ScanEvents(team) {
			extra := w.FeedExtra(team, e.EventID)
			if len(extra) == 0 {
				continue
			}
			t.Run(team+"/"+e.Name, func(t *testing.T) {
				days := e.Start.In(w.Location()).Sub(cutDate).Hours() / 24
				if days > -4 && days < 7 {
					t.Errorf("event %d starts %.1f days from the cutoff and has re-validations: the hard days must keep their scans", e.EventID, days)
				}
				id := strconv.Itoa(int(e.EventID))
				served := map[string]Row{}
				for _, r := range w.DeliveredScans(team, e.EventID, w.End()) {
					served[r[sc("seq_num")]] = r
				}
				gates := map[string]bool{}
				kept := 0
				for _, s := range extra {
					seq := strconv.FormatInt(s, 10)
					f, ok := final[id+"|"+seq]
					if !ok {
						continue // a season archtics.attendance no longer keeps
					}
					if f[ac("result_code")] != ResultDuplicate || f[ac("scan_type")] != ScanStandard {
						t.Errorf("scan %s: archtics.attendance records %s/%s, want %s/%s", seq, f[ac("result_code")], f[ac("scan_type")], ResultDuplicate, ScanStandard)
					}
					gates[f[ac("gate")]] = true
					if r, ok := served[seq]; ok {
						kept++
						if r[sc("result_code")] != ResultOK || r[sc("scan_type")] != ScanStandard {
							t.Errorf("scan %s: the feed serves %s/%s, want an accepted entry", seq, r[sc("result_code")], r[sc("scan_type")])
						}
					}
				}
				if len(gates) > 1 {
					t.Errorf("re-validations at gates %v, want one offline scanner", gates)
				}
				if kept == 0 {
					t.Errorf("none of the %d re-validated scans is an accepted scan of the window the feed serves", len(extra))
				}
				events++
			})
		}
	}
	if events == 0 {
		t.Fatal("no event of the world has re-validations")
	}
}
