package simulator_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"archtics/ats"
	"archtics/simulator"
)

const benchScans = 1_000_000

var (
	benchOnce sync.Once
	benchFix  *fixture
)

// benchFixture is the test fixture with one event of a million feed rows,
// built once per process (it takes a second or two and ~0.5 GB).
func benchFixture() *fixture {
	benchOnce.Do(func() {
		f := newFixture()
		f.scans["nhl/"+strconv.Itoa(fixEventID)] = genScans("nhl", fixEventID, eventStart, benchScans, f.loc)
		benchFix = f
	})
	return benchFix
}

// BenchmarkScanFeed pulls a whole million-scan event over loopback TCP in
// pages of 10,000 (the new integration's size) and reports scans/s.
// "client" is end to end through package ats (request, retry logic,
// decoding into rows); "raw" reads the answers without decoding them, to
// show what the server alone serves.
func BenchmarkScanFeed(b *testing.B) {
	f := benchFixture()
	want := len(f.scans["nhl/"+strconv.Itoa(fixEventID)])
	ts := startServer(b, f, fixEnd, simulator.FaultConfig{})

	b.Run("client", func(b *testing.B) {
		c := ts.client()
		ctx := context.Background()
		var rows, bytesIn int
		start := time.Now()
		for i := 0; i < b.N; i++ {
			var after int64
			for {
				p, err := c.Attendance(ctx, "nhl", fixEventID, after, simulator.MaxAttendancePageSize)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Rows) == 0 {
					break
				}
				rows += len(p.Rows)
				for _, r := range p.Rows {
					bytesIn += len(r) // keep the rows alive
				}
				after = p.LastSeq
			}
		}
		elapsed := time.Since(start)
		if rows != want*b.N {
			b.Fatalf("pulled %d rows, want %d", rows, want*b.N)
		}
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "scans/s")
	})

	b.Run("raw", func(b *testing.B) {
		hc := ts.hs.Client()
		var bytesIn int64
		var buf bytes.Buffer
		start := time.Now()
		for i := 0; i < b.N; i++ {
			// Page by last_seq, read from the answer's tail without
			// decoding the rows.
			var after int64
			for more := true; more; {
				body := fmt.Sprintf(`{"command":"attendance","dsn":"nhl","event_id":%d,"after_seq":%d,"page_size":10000}`, fixEventID, after)
				req, _ := http.NewRequest(http.MethodPost, ts.hs.URL+"/ats", bytes.NewReader([]byte(body)))
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				n, err := buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("status %d, %v", resp.StatusCode, err)
				}
				bytesIn += n
				tail := buf.Bytes()[bytes.LastIndex(buf.Bytes(), []byte(`"last_seq":`))+len(`"last_seq":`):]
				comma := bytes.IndexByte(tail, ',')
				if after, err = strconv.ParseInt(string(tail[:comma]), 10, 64); err != nil {
					b.Fatal(err)
				}
				more = bytes.HasPrefix(tail[comma:], []byte(`,"more":true`))
			}
		}
		elapsed := time.Since(start)
		b.ReportMetric(float64(want*b.N)/elapsed.Seconds(), "scans/s")
		b.ReportMetric(float64(bytesIn)/elapsed.Seconds()/1e6, "MB/s")
	})
}

// TestScanFeedMaxPages pulls an event in pages of the maximum size, the
// benchmark's path, on the small fixture.
func TestScanFeedMaxPages(t *testing.T) {
	f := newFixture()
	ts := startServer(t, f, fixEnd, simulator.FaultConfig{})
	rows, err := pullScans(context.Background(), ats.New(ts.hs.URL, testToken), "nhl", fixEventID, simulator.MaxAttendancePageSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(f.scans["nhl/"+strconv.Itoa(fixEventID)]) {
		t.Fatalf("%d rows", len(rows))
	}
}
