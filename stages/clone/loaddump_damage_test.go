package clone

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"archtics/pipeline/pipelinetest"
	"archtics/simulator"
)

// TestLoadDumpDamagedGzip damages one gzip part of a simulated dump the
// three ways a download goes wrong and checks the load fails on its own
// (it used to spin for ever, counting the same read error as a reject),
// naming the file and saying what to do, with nothing committed.
func TestLoadDumpDamagedGzip(t *testing.T) {
	cfg := simulator.SmallConfig()
	for _, tc := range []struct {
		name   string
		damage func(data []byte) []byte
	}{
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"trailer cut off", func(b []byte) []byte { return b[:len(b)-8] }},
		{"8 bytes overwritten mid-file", func(b []byte) []byte {
			mid := len(b) / 2
			copy(b[mid:mid+8], []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x55, 0xaa})
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dump := simulatedDump(t, cfg, filepath.Join(dir, "dump"))
			victim := largestFile(dump, "nhl")
			path := filepath.Join(dir, "dump", filepath.FromSlash(victim))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(data), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := pipelinetest.Open(context.Background(), filepath.Join(dir, "warehouse"), quietLogger)
			if err != nil {
				t.Fatal(err)
			}

			err = loadWithin(t, time.Minute, func(ctx context.Context) error {
				_, err := LoadDump(ctx, w, dump, "nhl", nil)
				return err
			})
			if err == nil {
				t.Fatal("a damaged part loaded without error")
			}
			t.Log(err)
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the load ran until the test's deadline instead of failing on the damage: %v", err)
			}
			for _, want := range []string{victim, "download the file again"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			head, err := w.Stream(context.Background(), CloneStream("nhl"))
			if err != nil {
				t.Fatal(err)
			}
			if head.Seq != 0 {
				t.Errorf("the failed load committed: %s is at seq %d", CloneStream("nhl"), head.Seq)
			}
		})
	}
}

// largestFile is the name of team's largest dump file by promised rows.
func largestFile(d Dump, team string) string {
	var best DumpFile
	for _, f := range d.Files {
		if f.Team == team && f.Rows > best.Rows {
			best = f
		}
	}
	return best.Name
}

// loadWithin runs load with a context that ends after d, and fails the
// test if load has not returned a while after that: a loader that ignores
// its context must fail the test, not hang it.
func loadWithin(t *testing.T, d time.Duration, load func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- load(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(d + 30*time.Second):
		t.Fatalf("still loading %s after its context ended: the loop does not check its context", d+30*time.Second)
		return nil
	}
}
