package simulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"archtics/ats"
	"archtics/simulator"
)

// TestFeedForgets: the feed lists and serves an event until seven days
// after its start by the simulated clock, then answers 410.
func TestFeedForgets(t *testing.T) {
	f := newFixture()
	ts := startServer(t, f, eventStart.Add(7*24*time.Hour-time.Second), simulator.FaultConfig{})
	c := ts.client()
	ctx := context.Background()
	listed := func() bool {
		evs, err := c.Events(ctx, "nhl", time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.EventID == fixEventID {
				return true
			}
		}
		return false
	}
	if !listed() {
		t.Fatal("event not listed a second before its seventh day ends")
	}
	if _, err := c.Attendance(ctx, "nhl", fixEventID, 0, 0); err != nil {
		t.Fatalf("attendance a second before the seventh day ends: %v", err)
	}
	ts.clock.Advance(time.Second)
	if listed() {
		t.Error("event still listed seven days after its start")
	}
	_, err := c.Attendance(ctx, "nhl", fixEventID, 0, 0)
	var ce *ats.Error
	if !errors.As(err, &ce) || ce.Status != 410 || ce.Code != "event_expired" || !strings.Contains(ce.Message, "7 days") {
		t.Fatalf("attendance seven days after the start: %v, want a 410 event_expired saying the feed keeps 7 days", err)
	}
}

// TestClockRefusesAmbiguousLocalTimes: the admin clock takes a local time
// only if it names one instant, or an offset says which.
func TestClockRefusesAmbiguousLocalTimes(t *testing.T) {
	ts := startServer(t, newFixture(), fixCutoff, simulator.FaultConfig{})
	for _, tc := range []struct {
		set    string
		status int
		want   time.Time
		says   string
	}{
		{"2026-11-01 01:30:00", 400, time.Time{}, "happens twice"},
		{"2026-03-08 02:30:00", 400, time.Time{}, "skipping"},
		{"2026-11-01 01:30:00-04:00", 200, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), ""},
		{"2026-11-01 01:30:00-05:00", 200, time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), ""},
		{"2026-11-01 02:30:00", 200, time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC), ""},
	} {
		t.Run(tc.set, func(t *testing.T) {
			before := ts.clock.Now()
			status, body, _ := ts.post(t, "/admin/clock", testToken, `{"set":"`+tc.set+`"}`)
			if status != tc.status {
				t.Fatalf("set %s: status %d %s, want %d", tc.set, status, body, tc.status)
			}
			if tc.status != 200 {
				var e struct{ Error, Field string }
				if err := json.Unmarshal(body, &e); err != nil || e.Field != "set" || !strings.Contains(e.Error, tc.says) {
					t.Errorf("set %s: %s, want an error on field set saying %q", tc.set, body, tc.says)
				}
				if !ts.clock.Now().Equal(before) {
					t.Errorf("set %s: refused, yet the clock moved", tc.set)
				}
				return
			}
			if got := ts.clock.Now(); !got.Equal(tc.want) {
				t.Errorf("set %s: clock %s, want %s", tc.set, got, tc.want)
			}
		})
	}
	// The change API's since is read the same way.
	status, body, _ := ts.post(t, "/ats", testToken, `{"command":"changes","dsn":"nhl","table":"cust","since":"2026-11-01 01:30:00"}`)
	if status != 400 || !strings.Contains(string(body), "-05:00") {
		t.Errorf("changes since an ambiguous local time: %d %s", status, body)
	}
}

// plainSource hides the World's own page writer: the server then pages
// through Source.Scans like any other source.
type plainSource struct {
	simulator.Source
	loc *time.Location
}

func (p plainSource) Location() *time.Location { return p.loc }

// TestAttendanceFastPathSameBytes: the World's pages, written straight
// from its compact scans, are byte for byte those of the generic path,
// redeliveries on page boundaries included.
func TestAttendanceFastPathSameBytes(t *testing.T) {
	w, err := simulator.NewWorld(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	var game simulator.EventStart
	for _, e := range w.SelectedEvents("nhl", w.Cutoff(), nil) {
		if e.Start.After(w.Cutoff()) {
			game = e
			break
		}
	}
	for _, at := range []time.Time{game.Start, game.Start.Add(8 * time.Hour)} {
		fast := startServer(t, w, at, simulator.FaultConfig{})
		slow := startServer(t, plainSource{w, w.Location()}, at, simulator.FaultConfig{})
		for _, size := range []int{1, 2, 97, 1000, 10000} {
			after, pages := int64(0), 0
			for {
				body := fmt.Sprintf(`{"command":"attendance","dsn":"nhl","event_id":%d,"after_seq":%d,"page_size":%d}`, game.EventID, after, size)
				s1, b1, _ := fast.post(t, "/ats", testToken, body)
				s2, b2, _ := slow.post(t, "/ats", testToken, body)
				if s1 != 200 || s2 != 200 || !bytes.Equal(b1, b2) {
					t.Fatalf("at %s page size %d after %d: fast %d %.400s\nslow %d %.400s", at, size, after, s1, b1, s2, b2)
				}
				var p struct {
					LastSeq int64 `json:"last_seq"`
					More    bool  `json:"more"`
				}
				if err := json.Unmarshal(b1, &p); err != nil {
					t.Fatal(err)
				}
				pages++
				if !p.More || pages > 5000 {
					break
				}
				after = p.LastSeq
			}
		}
	}
}
