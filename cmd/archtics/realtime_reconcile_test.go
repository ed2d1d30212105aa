package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/realtime"
)

// TestRealtimeReconcileCommand runs `archtics realtime reconcile` through
// the command line over nhl's doubleheader day, ticked hourly: usage
// errors exit 2 (an event the team does not have among them); before the
// clone holds the day's standard attendance each event is said to wait
// and nothing is committed; after `archtics incremental` pulls it, each
// event's line says the truth's final initial entries and how many of
// them the feed delivered; a rerun says unchanged and commits nothing.
func TestRealtimeReconcileCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := simulator.SmallConfig()
	dump, url, clock := simulatedSource(t, cfg, dir, 0)
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	loc := world.Location()
	wh, cache := filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
	base := []string{"archtics", "--log-level", "error", "--warehouse", wh}
	runCode := func(args ...string) (int, string) {
		var code int
		out := captureStdout(t, func() { code = run(ctx, append(append([]string{}, base...), args...)) })
		return code, out
	}
	must := func(args ...string) string {
		t.Helper()
		code, out := runCode(args...)
		if code != exitOK {
			t.Fatalf("archtics %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
	const team = "nhl"
	must("load-dump", "--dump", dump, "--team", team)
	must("realtime", "criteria", "set", "--team", team, "--effective", world.Cutoff().In(loc).Format(time.DateTime), seedSportsConcerts)
	cut := world.Cutoff().In(loc)
	day := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 7, 0, 0, 0, loc)
	end := day.Add(21 * time.Hour)
	for at := day; !at.After(end); at = at.Add(time.Hour) {
		clock.Set(at)
		must("realtime", "tick", "--team", team, "--source", url, "--cache", cache, "--at", at.In(loc).Format(time.DateTime))
	}
	var events []simulator.EventStart
	for _, e := range world.FollowedEvents(team, end, nil) {
		if !e.Start.Add(-realtime.WindowBefore).Before(day) {
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		t.Fatal("no event ticked on the day")
	}
	first := strconv.Itoa(int(events[0].EventID))

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no team", []string{"realtime", "reconcile"}},
		{"an argument", []string{"realtime", "reconcile", "--team", team, first}},
		{"event not a number", []string{"realtime", "reconcile", "--team", team, "--event", "x"}},
		{"negative event", []string{"realtime", "reconcile", "--team", team, "--event", "-1"}},
		{"no posting delay", []string{"realtime", "reconcile", "--team", team, "--posting-delay", "0s"}},
		{"an event the team does not have", []string{"realtime", "reconcile", "--team", team, "--event", "999999", "--cache", cache}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := runCode(tc.args...); code != exitUsage {
				t.Errorf("exit %d, want %d\n%s", code, exitUsage, out)
			}
		})
	}

	seq := mustStream(t, wh, realtime.Stream(team)).Seq
	out := must("realtime", "reconcile", "--team", team, "--cache", cache)
	for _, e := range events {
		if !strings.Contains(out, fmt.Sprintf("event %d ", e.EventID)) || strings.Count(out, "not reconciled") != len(events) {
			t.Errorf("before the attendance arrived, want event %d said to wait:\n%s", e.EventID, out)
		}
	}
	if got := mustStream(t, wh, realtime.Stream(team)).Seq; got != seq {
		t.Fatalf("reconcile before the attendance arrived committed: seq %d -> %d", seq, got)
	}

	pulled := end.Add(realtime.DefaultPostingDelay + 6*time.Hour)
	clock.Set(pulled)
	must("incremental", "--team", team, "--source", url, "--until", pulled.UTC().Format(time.RFC3339))
	out = must("realtime", "reconcile", "--team", team, "--cache", cache)
	for _, e := range events {
		final, delivered := truthCounts(t, world, team, e, end, pulled)
		want := fmt.Sprintf("event %d %s", e.EventID, "")
		line := lineWith(out, want)
		if !strings.Contains(line, fmt.Sprintf("reconciled: delivered %d of %d final", delivered, final)) {
			t.Errorf("event %d: want delivered %d of %d final (the truth):\n%s", e.EventID, delivered, final, out)
		}
	}
	seq = mustStream(t, wh, realtime.Stream(team)).Seq
	out = must("realtime", "reconcile", "--team", team, "--event", first, "--cache", cache)
	if !strings.Contains(out, ": unchanged:") || mustStream(t, wh, realtime.Stream(team)).Seq != seq {
		t.Errorf("a rerun: want unchanged and no commit (seq %d):\n%s", seq, out)
	}
	out = must("realtime", "reconcile", "--team", team, "--cache", cache)
	if !strings.Contains(out, "no event waits") {
		t.Errorf("with every event reconciled, want nothing waiting:\n%s", out)
	}
}

// lineWith is the first line of out containing s.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// truthCounts is the truth's final initial entries of event e (the
// standard attendance as the world posted it by asOf: result_code '0',
// scan_type 'S', scanned in the window) and how many of them the feed
// had delivered by end.
func truthCounts(t *testing.T, w *simulator.World, team string, e simulator.EventStart, end, asOf time.Time) (final, delivered int) {
	t.Helper()
	loc := w.Location()
	from := e.Start.Add(-realtime.WindowBefore).In(loc).Format(simulator.TimeLayout)
	to := e.Start.Add(realtime.WindowAfter).In(loc).Format(simulator.TimeLayout)
	ac := func(name string) int { return schemas.Attendance.ColumnIndex(name) }
	id := strconv.Itoa(int(e.EventID))
	seqs := map[string]bool{}
	for _, r := range w.StateAt(team, schemas.Attendance, asOf) {
		at := r[ac("action_datetime")]
		if r[ac("event_id")] == id && r[ac("result_code")] == "0" && r[ac("scan_type")] == "S" && at >= from && at <= to {
			seqs[r[ac("attendance_seq_id")]] = true
		}
	}
	for _, r := range w.DeliveredScans(team, e.EventID, end) {
		if seqs[r[schemas.Scan.ColumnIndex("seq_num")]] {
			delivered++
		}
	}
	return len(seqs), delivered
}
