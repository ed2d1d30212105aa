package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"sort"
	"time"

	"archtics/schemas"
	"archtics/simulator"
)

// The sample game: the first game of the simulated doubleheader, in the
// demo-size world.
const (
	sampleTeam  = "nhl"
	sampleEvent = "27NHL1123"
	sampleRows  = 240
)

// File names under schemas/samples, as schemas embeds them.
const (
	rawFile    = "realtime_attendance_sample.csv"
	reportFile = "realtime_attendance_report_sample.csv"
)

// generate computes the sample tables' CSV files from the simulator's
// truth: sampleRows of the sample game's stored scans (what a tick keeps:
// initial entries in the window), spread evenly over its arrivals, raw
// and with the ticket holder's primary name at the end of the window. It
// returns each file's content by name.
func generate() (map[string][]byte, error) {
	world, err := simulator.NewWorld(simulator.DefaultConfig())
	if err != nil {
		return nil, fmt.Errorf("generate the default world: %w", err)
	}
	loc := world.Location()
	var ev *simulator.EventStart
	for _, e := range world.ScanEvents(sampleTeam) {
		if e.Name == sampleEvent {
			ev = &e
			break
		}
	}
	if ev == nil {
		return nil, fmt.Errorf("the simulator has no realtime event %s of %s: choose another sample game", sampleEvent, sampleTeam)
	}
	_, closes := simulator.RealtimeWindow(ev.Start)
	asOf := closes.Add(10 * time.Minute) // past the late deliveries
	col := func(name string) int { return schemas.RTXAttendanceRaw.ColumnIndex(name) }
	var scans []simulator.Row
	for _, r := range world.TrueAttendance(sampleTeam, asOf, simulator.HockeyCriteria) {
		if r[col("archtics_event_name")] == sampleEvent {
			scans = append(scans, r)
		}
	}
	if len(scans) < sampleRows {
		return nil, fmt.Errorf("%s has %d stored scans, fewer than the %d samples: choose another sample game", sampleEvent, len(scans), sampleRows)
	}
	sort.SliceStable(scans, func(i, j int) bool {
		return scans[i][col("ticket_scan_time")] < scans[j][col("ticket_scan_time")]
	})
	type name struct{ first, last, email string }
	holders := map[string]name{}
	cust := schemas.Cust
	for _, r := range world.StateAt(sampleTeam, cust, asOf) {
		if r[cust.ColumnIndex("primary_code")] == "Primary" {
			holders[r[cust.ColumnIndex("acct_id")]] = name{r[cust.ColumnIndex("name_first")], r[cust.ColumnIndex("name_last")], r[cust.ColumnIndex("email_addr")]}
		}
	}
	start := ev.Start.In(loc).Format("2006-01-02 15:04:05")
	var rawBuf, reportBuf bytes.Buffer
	rw, pw := csv.NewWriter(&rawBuf), csv.NewWriter(&reportBuf)
	header := func(w *csv.Writer, tbl *schemas.Table) {
		names := make([]string, len(tbl.Columns))
		for i, c := range tbl.Columns {
			names[i] = c.Name
		}
		w.Write(names)
	}
	header(rw, schemas.RealtimeAttendanceSample)
	header(pw, schemas.RealtimeAttendanceReportSample)
	for i := 0; i < sampleRows; i++ {
		r := scans[i*len(scans)/sampleRows]
		raw := make([]string, len(schemas.RealtimeAttendanceSample.Columns))
		for j, c := range schemas.RealtimeAttendanceSample.Columns {
			raw[j] = r[col(c.Name)]
		}
		rw.Write(raw)
		h := holders[r[col("acct_id")]]
		pw.Write([]string{r[col("archtics_event_name")], r[col("section_name")], r[col("row_name")], r[col("seat_num")],
			r[col("acct_id")], start, r[col("ticket_scan_time")], h.first, h.last, h.email})
	}
	rw.Flush()
	pw.Flush()
	if err := rw.Error(); err != nil {
		return nil, fmt.Errorf("write %s: %w", rawFile, err)
	}
	if err := pw.Error(); err != nil {
		return nil, fmt.Errorf("write %s: %w", reportFile, err)
	}
	return map[string][]byte{rawFile: rawBuf.Bytes(), reportFile: reportBuf.Bytes()}, nil
}
