package watch

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// BenchmarkPendingArrivals measures what a delivery pass reads before it
// sends anything: the stored scans' highest sequence numbers and the
// watched accounts' arrivals, over a week of one team's scans committed
// directly (a million, seven games, 200,000 holders) and a list of 10,000
// accounts.
func BenchmarkPendingArrivals(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	w, err := pipelinetest.Open(ctx, filepath.Join(dir, "warehouse"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	const scans, events, holders, listed = 1_000_000, 7, 200_000, 10_000
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 11, 16, 19, 0, 0, 0, time.UTC)
	rows := make([][]string, 0, scans)
	for i := range scans {
		e := i % events
		ev := start.AddDate(0, 0, e)
		at := ev.Add(-time.Hour + time.Duration(r.IntN(3*3600))*time.Second)
		seq := int64(e+1)*1_000_000 + int64(i/events)
		acct := 100_000 + r.IntN(holders)
		rows = append(rows, []string{"27NHL" + strconv.Itoa(e), "1" + strconv.Itoa(r.IntN(30)), strconv.Itoa(r.IntN(20)), "G" + strconv.Itoa(r.IntN(8)), "S",
			strconv.Itoa(i / events % 30), strconv.Itoa(acct), ev.Format(time.RFC3339), at.Format(time.RFC3339),
			ev.Format(time.DateTime), at.Format(time.DateTime), "A", "B", "a@b.c", "UTC", strconv.Itoa(e + 1), strconv.FormatInt(seq, 10), "nhl", ev.Format(time.DateOnly)})
	}
	req := txlog.CommitRequest{Stream: "nhl/realtime", Stage: "bench", BatchID: "bench-scans"}
	if _, err := w.WriteAndCommit(ctx, req, func(add func(t *schemas.Table) *pipeline.TableWriter) error {
		return writeRows(add(schemas.RTXEnriched), rows)
	}); err != nil {
		b.Fatal(err)
	}
	v := &Version{Team: "nhl", Version: 1, Change: "bench", SetBy: "bench", SetAt: time.Now().UTC()}
	for i := range listed {
		v.Entries = append(v.Entries, Entry{AcctID: int32(100_000 + i*holders/listed), Label: "VIP"})
	}
	v.Count = int64(len(v.Entries))
	head, err := w.Stream(ctx, SettingsStream("nhl"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := commitVersion(ctx, w, head, v); err != nil {
		b.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	db, err := views.OpenDuckDB(ctx, "", w.Log, cache, schemas.RTXEnriched, schemas.AcctMerge, schemas.WatchList)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	highs, err := storedHighs(ctx, db, "nhl")
	if err != nil {
		b.Fatal(err)
	}
	// A first pass (every arrival pending) and a pass after a tick that
	// stored a few thousand scans: the steady state.
	recent := map[int32]int64{}
	for e, h := range highs {
		recent[e] = h - 500
	}
	for _, bc := range []struct {
		name string
		base map[int32]int64
	}{{"first pass", nil}, {"after a tick", recent}} {
		b.Run(bc.name, func(b *testing.B) {
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			n := 0
			for range b.N {
				highs, err := storedHighs(ctx, db, "nhl")
				if err != nil {
					b.Fatal(err)
				}
				pending, err := pendingArrivals(ctx, db, "nhl", bc.base, highs, nil)
				if err != nil {
					b.Fatal(err)
				}
				n = len(pending)
			}
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) / time.Duration(b.N)
			b.ReportMetric(float64(n), "arrivals")
			b.ReportMetric(cpu.Seconds(), "cpu-s/op")
			if bc.base == nil && n == 0 {
				b.Fatal("no arrivals")
			}
		})
	}
}
