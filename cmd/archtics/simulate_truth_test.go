package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestSimulateTruth writes the small client's truth and refuses local
// times that name no instant or two.
func TestSimulateTruth(t *testing.T) {
	ctx := context.Background()
	quiet := []string{"archtics", "--log-level", "error"}
	out := filepath.Join(t.TempDir(), "truth")
	if code := run(ctx, append(quiet, "simulate", "truth", "--scale", "small", "--out", out, "--at", "2026-11-20 21:00:00")); code != exitOK {
		t.Fatalf("simulate truth: exit %d", code)
	}
	for _, f := range []string{"truth.json", "archtics/cust.parquet", "archtics_rtx/attendance_raw.parquet", "truth/merges.parquet"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("simulate truth wrote no %s: %v", f, err)
		}
	}
	for _, args := range [][]string{
		{"simulate", "truth", "--scale", "small", "--out", t.TempDir(), "--at", "2026-11-01 01:30:00"}, // twice that night
		{"simulate", "truth", "--scale", "small", "--out", t.TempDir(), "--at", "2026-03-08 02:30:00"}, // never that night
		{"simulate", "dump", "--scale", "small", "--out", t.TempDir(), "--cutoff", "2026-03-08 02:30:00"},
		{"simulate", "serve", "--scale", "small", "--clock-start", "2026-11-01 01:30:00"},
	} {
		if code := run(ctx, append(append([]string{}, quiet...), args...)); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
