package clone

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
)

// TestTicketHolderMatchesTruth loads a small world's dump, runs
// incrementals over simulated days with merges, deletions and Ticket
// Exchange activity, and after each compares archtics.ticket_holder with
// the simulator's SeatHolders at the committed watermark, row for row, for
// every seat of every event (the seats that changed hands and all the
// others). Then it asks archtics.holder_at, and the batch join the
// realtime stage uses, at instants inside, on both edges of and outside
// the intervals of the seats that changed hands, and compares with the
// truth's holder at each instant.
func TestTicketHolderMatchesTruth(t *testing.T) {
	ctx := context.Background()
	cfg := simulator.SmallConfig()
	cfg.Accounts = 300
	cfg.EventsPerSeason = 4
	cfg.TicketsPerEvent = 60
	cfg.MergeRate = 0.6
	cfg.DuplicateRate = 0.2
	cfg.DaysAfterCutoff = 4
	dir := t.TempDir()
	w, _ := loadSimulatedDump(t, cfg, dir)
	s := newSimSource(t, cfg)
	world, clock, cli, opts := s.world, s.clock, s.cli, s.opts
	loc := world.Location()

	var merges, changed, pending, probes int
	// The instants the clone read each team's tables: just before the
	// cutoff (the dump), then each incremental's watermark. A return is
	// dated by the versions seen then (see SeatHolders).
	dumpSeen := world.Cutoff().Add(-time.Nanosecond)
	seen := map[string][]time.Time{}
	check := func(step string, team string, asOf time.Time) {
		truth := world.SeatHolders(team, asOf, seen[team]...)
		db, err := views.OpenDuckDB(ctx, "", w.Log, filepath.Join(dir, "cache"), schemas.TicketHolder, schemas.HolderAt)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		want := make([]string, 0, len(truth))
		for _, h := range truth {
			want = append(want, holdingString(h, loc))
			if h.Via != "purchase" || !h.Until.IsZero() {
				changed++
			}
			if h.Pending {
				pending++
			}
		}
		sort.Strings(want)
		got := queryStrings(t, db, `SELECT concat_ws('|', event_id, coalesce(section_name, ''), coalesce(row_name, ''), seat_num, acct_id,
			strftime(held_from, '%Y-%m-%d %H:%M:%S'), coalesce(strftime(held_until, '%Y-%m-%d %H:%M:%S'), ''), via, source_id)
			FROM archtics.ticket_holder WHERE team = ?`, team)
		sort.Strings(got)
		if diff := diffSets(want, got); diff != "" {
			t.Fatalf("%s %s at %s: archtics.ticket_holder differs from the truth (%d want, %d got):\n%s", step, team, asOf.Format(time.RFC3339), len(want), len(got), diff)
		}
		probes += checkHolderAt(t, db, team, truth, loc)
	}

	for _, team := range world.Teams() {
		seen[team] = []time.Time{dumpSeen}
	}
	check("dump", "nhl", dumpSeen)
	for i, step := range []time.Duration{26 * time.Hour, 3 * time.Minute, 50 * time.Hour} {
		clock.Set(clock.Now().Add(step))
		for _, team := range world.Teams() {
			rep, err := Incremental(ctx, w, cli, team, opts)
			if err != nil {
				t.Fatalf("run %d %s: %v", i+1, team, err)
			}
			merges += len(rep.Merges)
			seen[team] = append(seen[team], rep.To)
			check(fmt.Sprintf("run %d", i+1), team, rep.To)
		}
	}
	if merges == 0 || changed == 0 || pending == 0 {
		t.Fatalf("the runs met %d merges, %d intervals of seats that changed hands, %d pending postings: the world must exercise all three", merges, changed, pending)
	}
	t.Logf("%d merges, %d intervals of seats that changed hands, %d of pending postings, %d holder_at probes", merges, changed, pending, probes)
}

func wallClock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(simulator.TimeLayout)
}

func holdingString(h simulator.SeatHolding, loc *time.Location) string {
	return fmt.Sprintf("%d|%s|%s|%d|%d|%s|%s|%s|%d", h.EventID, h.Section, h.Row, h.Seat, h.Acct,
		wallClock(h.From, loc), wallClock(h.Until, loc), h.Via, h.SourceID)
}

// checkHolderAt probes every interval of the seats that changed hands: a
// second before it starts, its first second, its middle, its last second
// and its end (the next holder's first second, or nobody). holder_at
// answers a handful of them one call each (it plans the whole view per
// call); the batch join of the realtime stage answers all of them in one
// statement. It returns the number of probes.
func checkHolderAt(t *testing.T, db *sql.DB, team string, truth []simulator.SeatHolding, loc *time.Location) int {
	t.Helper()
	type probe struct {
		h  simulator.SeatHolding
		at time.Time
	}
	var probes []probe
	for _, h := range truth {
		if h.Via == "purchase" && h.Until.IsZero() {
			continue
		}
		ats := []time.Time{h.From.Add(-time.Second), h.From}
		if !h.Until.IsZero() {
			ats = append(ats, h.From.Add(h.Until.Sub(h.From)/2).Truncate(time.Second), h.Until.Add(-time.Second), h.Until)
		} else {
			ats = append(ats, h.From.Add(24*time.Hour))
		}
		for _, at := range ats {
			probes = append(probes, probe{h, at})
		}
	}
	if len(probes) == 0 {
		return 0
	}
	expect := func(p probe) string {
		h, ok := simulator.HolderAt(truth, p.h.EventID, p.h.Section, p.h.Row, p.h.Seat, p.at)
		if !ok {
			return "nobody"
		}
		return fmt.Sprintf("%d %s %d", h.Acct, h.Via, h.SourceID)
	}
	// The batch: every probe in one join, as the realtime stage names scans.
	var values []string
	for i, p := range probes {
		values = append(values, fmt.Sprintf("(%d, %d, %s, %s, %d, TIMESTAMP '%s')", i, p.h.EventID,
			schemas.QuoteString(p.h.Section), schemas.QuoteString(p.h.Row), p.h.Seat, wallClock(p.at, loc)))
	}
	rows, err := db.Query(`SELECT p.i, coalesce(string_agg(concat_ws(' ', h.acct_id, h.via, h.source_id), ',') FILTER (WHERE h.source_id IS NOT NULL), 'nobody')
		FROM (VALUES `+strings.Join(values, ", ")+`) AS p(i, event_id, section_name, row_name, seat_num, scan_at)
		LEFT JOIN archtics.ticket_holder AS h ON h.team = ? AND h.event_id = p.event_id AND h.section_name = p.section_name
			AND h.row_name = p.row_name AND h.seat_num = p.seat_num
			AND h.held_from <= p.scan_at AND (h.held_until IS NULL OR p.scan_at < h.held_until)
		GROUP BY p.i ORDER BY p.i`, team)
	if err != nil {
		t.Fatalf("batch of %d holder probes: %v", len(probes), err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var i int
		var got string
		if err := rows.Scan(&i, &got); err != nil {
			t.Fatal(err)
		}
		if want := expect(probes[i]); got != want {
			p := probes[i]
			t.Fatalf("%s seat %d %s/%s/%d at %s: the batch join says %s, the truth %s", team, p.h.EventID, p.h.Section, p.h.Row, p.h.Seat, wallClock(p.at, loc), got, want)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(probes) {
		t.Fatalf("the batch answered %d of %d probes", n, len(probes))
	}
	// holder_at itself, on the first interval's probes: before, on both
	// edges, inside and after.
	for _, p := range probes[:min(len(probes), 5)] {
		// Literal arguments, as an analyst types them.
		got := queryStrings(t, db, fmt.Sprintf(`SELECT concat_ws(' ', acct_id, via, source_id) FROM archtics.holder_at(%s, %d, %s, %s, %d, TIMESTAMP '%s')`,
			schemas.QuoteString(team), p.h.EventID, schemas.QuoteString(p.h.Section), schemas.QuoteString(p.h.Row), p.h.Seat, wallClock(p.at, loc)))
		want := expect(p)
		if len(got) > 1 || len(got) == 0 && want != "nobody" || len(got) == 1 && got[0] != want {
			t.Fatalf("holder_at(%s, %d, %s, %s, %d, %s) = %v, the truth %s", team, p.h.EventID, p.h.Section, p.h.Row, p.h.Seat, wallClock(p.at, loc), got, want)
		}
	}
	return len(probes)
}
