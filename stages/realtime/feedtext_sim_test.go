package realtime

import (
	"context"
	"strings"
	"testing"
	"time"

	"archtics/ats"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// latin1Gates serves the feed with every gate name spelled in Latin-1
// ("Nord" becomes "Nörd" in one byte), as an old scanner might send it.
type latin1Gates struct{ *ats.Client }

func (s latin1Gates) Attendance(ctx context.Context, dsn string, eventID int32, afterSeq int64, pageSize int) (*ats.ScanPage, error) {
	p, err := s.Client.Attendance(ctx, dsn, eventID, afterSeq, pageSize)
	if err != nil {
		return p, err
	}
	gate := -1
	for i, c := range p.Columns {
		if c == "gate" {
			gate = i
		}
	}
	for _, r := range p.Rows {
		if gate >= 0 && r[gate] != "" {
			r[gate] = "G\xf6" + r[gate]
		}
	}
	return p, nil
}

// TestTickRepairsLatin1Feed: a tick whose feed sends gate names that are
// not UTF-8 commits (the partition writer refuses invalid text), stores
// them read as Windows-1252, and counts the repaired fields in its report
// and its commit's summary.
func TestTickRepairsLatin1Feed(t *testing.T) {
	cfg := simulator.SmallConfig()
	g := newGameDay(t, cfg, "")
	loc := g.world.Location()
	cut := g.world.Cutoff().In(loc)
	at := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 19, 30, 0, 0, loc)
	g.clock.Set(at)
	rep, err := Tick(context.Background(), g.w, latin1Gates{g.cli}, "nhl", at, g.selected("nhl", at), TickOptions{Logger: quietLogger, CacheDir: g.cache})
	if err != nil {
		t.Fatalf("tick over a Latin-1 feed: %v", err)
	}
	if rep.Kept == 0 {
		t.Fatal("the tick kept no scan: pick a time within the game's window")
	}
	if rep.Repaired != rep.Kept {
		t.Errorf("repaired %d fields, want one gate per kept scan (%d)", rep.Repaired, rep.Kept)
	}
	if rep.Commit.Summary["repaired"] != rep.Repaired {
		t.Errorf("the commit's summary says repaired %d, the report %d", rep.Commit.Summary["repaired"], rep.Repaired)
	}
	db, err := views.OpenDuckDB(context.Background(), "", g.w.Log, g.cache, schemas.RTXAttendanceRaw)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	gates := queryStrings(t, db, "SELECT DISTINCT gate FROM archtics_rtx.attendance_raw WHERE team = ?", "nhl")
	if len(gates) == 0 {
		t.Fatal("no gate stored")
	}
	for _, gt := range gates {
		if !strings.HasPrefix(gt, "Gö") {
			t.Errorf("gate %q stored, want it read as Windows-1252 (Gö...)", gt)
		}
	}
}
