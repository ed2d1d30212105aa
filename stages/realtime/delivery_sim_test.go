package realtime

import (
	"context"
	"sort"
	"testing"
	"time"

	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// wallSQL renders TIMESTAMPTZ column c as the wall clock of zone ? in the
// feed's upd_datetime layout.
func wallSQL(c string) string {
	return "strftime(timezone(?, " + c + "), '%Y-%m-%d %H:%M:%S')"
}

// TestDeliveryRecordIsTruth ticks the doubleheader's day every 30 minutes
// (its window's last minutes are delivered late, after the close) and
// compares archtics_rtx.attendance_delivery, row for row, with the truth:
// for every scan the store must hold, the feed's upd_datetime as the
// client's wall clock, and the first tick at or after that delivery as
// the tick that stored it.
func TestDeliveryRecordIsTruth(t *testing.T) {
	g, day, end := tickedGameDay(t)
	loc := g.world.Location()
	var ticks []string // the ticks' wall clocks, in order
	for at := day; !at.After(end); at = at.Add(30 * time.Minute) {
		ticks = append(ticks, at.In(loc).Format(simulator.TimeLayout))
	}
	db, err := views.OpenDuckDB(context.Background(), "", g.w.Log, g.cache, schemas.RTXDelivery, schemas.RTXAttendanceRaw)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	col := func(name string) int { return schemas.Scan.ColumnIndex(name) }
	afterClose := 0
	for _, team := range g.world.Teams() {
		t.Run(team, func(t *testing.T) {
			var want []string
			for _, e := range g.world.FollowedEvents(team, end, nil) {
				if e.Start.Add(-WindowBefore).Before(day) {
					continue // followed before the replay's first tick
				}
				for _, r := range g.world.DeliveredScans(team, e.EventID, end) {
					scanned, err := g.world.ScanInstant(r)
					if err != nil {
						t.Fatal(err)
					}
					upd := r[col("upd_datetime")]
					i := sort.SearchStrings(ticks, upd) // the first tick at or after the delivery
					if i == len(ticks) {
						t.Fatalf("scan %s delivered at %s, after the last tick", r[col("seq_num")], upd)
					}
					if scanned.Before(e.Start.Add(WindowAfter)) && upd > e.Start.Add(WindowAfter).In(loc).Format(simulator.TimeLayout) {
						afterClose++
					}
					want = append(want, r[col("event_id")]+"|"+r[col("seq_num")]+"|"+upd+"|"+ticks[i])
				}
			}
			z := loc.String()
			// Each stored scan with its run (the event's greatest first_seq
			// at or below its seq_num, reaching it).
			got := queryStrings(t, db, `SELECT concat_ws('|', r.event_id, r.attendance_seq_id, `+wallSQL("d.delivered_at")+`, `+
				wallSQL("d.stored_at")+`) FROM archtics_rtx.attendance_raw r ASOF LEFT JOIN
  (SELECT * FROM archtics_rtx.attendance_delivery WHERE team = ?) d
  ON d.event_id = r.event_id AND CAST(r.attendance_seq_id AS BIGINT) >= d.first_seq
WHERE r.team = ? AND CAST(r.attendance_seq_id AS BIGINT) <= d.last_seq`, z, z, team, team)
			var runScans, runs int64
			if err := db.QueryRow(`SELECT coalesce(sum(scans), 0), count(*) FROM archtics_rtx.attendance_delivery WHERE team = ?`, team).Scan(&runScans, &runs); err != nil {
				t.Fatal(err)
			}
			if runScans != int64(len(want)) {
				t.Errorf("the runs hold %d scans, the truth %d", runScans, len(want))
			}
			t.Logf("%d scans in %d delivery runs", runScans, runs)
			if len(want) == 0 {
				t.Fatal("the truth holds no scan: the day exercises nothing")
			}
			sort.Strings(want)
			if diff := diffSets(want, got); diff != "" {
				t.Errorf("archtics_rtx.attendance_delivery differs from the truth (%d rows, want %d):\n%s", len(got), len(want), diff)
			}
		})
	}
	if afterClose == 0 {
		t.Error("no scan of the day was delivered after its window closed: the day does not exercise late deliveries")
	}
}
