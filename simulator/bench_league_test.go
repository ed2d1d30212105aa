package simulator_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"archtics/schemas"
	"archtics/simulator"
)

// BenchmarkLeagueTick serves the league preset's busiest three-minute
// tick through the feed: the server's clock at the tick's end, every
// team's events pulled concurrently over loopback through the Go client
// from where the previous tick left off (after_seq), in pages of 10,000.
// It reports the tick's rows, scans/s and the heap the generated night
// takes; "client" decodes the rows, "raw" shows what the server alone
// serves. Run with go test -run '^$' -bench LeagueTick -benchtime 1x
// ./simulator/ (make bench).
func BenchmarkLeagueTick(b *testing.B) {
	w, err := simulator.NewWorldLazy(simulator.LeagueConfig())
	if err != nil {
		b.Fatal(err)
	}
	tick := w.BusiestTick(w.Cutoff(), w.End())
	prev := tick.End.Add(-simulator.TickLength)
	// Where the previous tick left each event: its last seq_num by then.
	type cursor struct {
		team  string
		event int32
		after int64
	}
	var cursors []cursor
	seqCol := schemas.Scan.ColumnIndex("seq_num")
	for _, team := range w.Teams() {
		for _, e := range w.ScanEvents(team) {
			if !simulator.FeedKeeps(e.Start, tick.End) {
				continue
			}
			c := cursor{team: team, event: e.EventID}
			if rows := w.Scans(team, e.EventID, 0, prev, 0); len(rows) > 0 {
				c.after, _ = strconv.ParseInt(rows[len(rows)-1][seqCol], 10, 64)
			}
			cursors = append(cursors, c)
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	ts := startServer(b, w, tick.End, simulator.FaultConfig{})
	// pull serves every cursor's event to the tick's end, eight events at
	// a time, with page(team, event, after) -> (rows, last_seq, more).
	pull := func(b *testing.B, page func(team string, event int32, after int64) (int, int64, bool, error)) {
		start := time.Now()
		var total atomic.Int64
		for i := 0; i < b.N; i++ {
			total.Store(0)
			next := make(chan cursor)
			var wg sync.WaitGroup
			errs := make(chan error, 1)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for c := range next {
						for after, more := c.after, true; more; {
							n, last, m, err := page(c.team, c.event, after)
							if err != nil {
								select {
								case errs <- err:
								default:
								}
								return
							}
							total.Add(int64(n))
							after, more = last, m
						}
					}
				}()
			}
			for _, c := range cursors {
				next <- c
			}
			close(next)
			wg.Wait()
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
		}
		elapsed := time.Since(start)
		if got := int(total.Load()); got != tick.Rows {
			b.Fatalf("pulled %d rows in the tick ending %s, the feed delivered %d", got, tick.End, tick.Rows)
		}
		b.ReportMetric(float64(tick.Rows), "tick-rows")
		b.ReportMetric(float64(tick.Events), "events")
		b.ReportMetric(float64(tick.Rows)*float64(b.N)/elapsed.Seconds(), "scans/s")
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-heap")
	}
	// Through package ats: request, retries, decoding into rows.
	b.Run("client", func(b *testing.B) {
		cl := ts.client()
		pull(b, func(team string, event int32, after int64) (int, int64, bool, error) {
			p, err := cl.Attendance(context.Background(), team, event, after, simulator.MaxAttendancePageSize)
			if err != nil {
				return 0, 0, false, err
			}
			return len(p.Rows), p.LastSeq, p.More, nil
		})
	})
	// The server alone: answers read whole, rows counted without decoding.
	b.Run("raw", func(b *testing.B) {
		hc := ts.hs.Client()
		pull(b, func(team string, event int32, after int64) (int, int64, bool, error) {
			body := fmt.Sprintf(`{"command":"attendance","dsn":%q,"event_id":%d,"after_seq":%d,"page_size":10000}`, team, event, after)
			req, _ := http.NewRequest(http.MethodPost, ts.hs.URL+"/ats", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := hc.Do(req)
			if err != nil {
				return 0, 0, false, err
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				return 0, 0, false, fmt.Errorf("status %d: %v %.200s", resp.StatusCode, err, data)
			}
			rows := bytes.Count(data, []byte("],[")) // rows are arrays of strings: "],[" only between rows
			if !bytes.Contains(data, []byte(`"rows":[]`)) {
				rows++
			}
			tail := data[bytes.LastIndex(data, []byte(`"last_seq":`))+len(`"last_seq":`):]
			comma := bytes.IndexByte(tail, ',')
			last, err := strconv.ParseInt(string(tail[:comma]), 10, 64)
			return rows, last, bytes.HasPrefix(tail[comma:], []byte(`,"more":true`)), err
		})
	})
}
