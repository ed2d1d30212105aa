package clone

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"archtics/ats"
)

// stopAt is a change-API source that stops the run (as a SIGTERM or a lost
// connection would) at the first call of one kind, after the pull has
// committed: Keys is the sweep's first call, Lookup the merge detection's.
type stopAt struct {
	*ats.Client
	call    string
	stopped bool
}

var errStopped = errors.New("stopped by the test")

func (s *stopAt) Keys(ctx context.Context, dsn, table, cursor string, pageSize int) (*ats.KeysPage, error) {
	if s.call == "keys" && !s.stopped {
		s.stopped = true
		return nil, errStopped
	}
	return s.Client.Keys(ctx, dsn, table, cursor, pageSize)
}

func (s *stopAt) Lookup(ctx context.Context, dsn, table string, keys []string) (*ats.LookupResult, error) {
	if s.call == "lookup" && !s.stopped {
		s.stopped = true
		return nil, errStopped
	}
	return s.Client.Lookup(ctx, dsn, table, keys)
}

// TestIncrementalRerunSweepsAfterStop stops an incremental between its two
// commits (the pull committed, the sweep did not) and reruns the same
// command: the rerun must sweep, so the deletions and merges of the
// interval reach the clone, which then equals the truth. With --until the
// rerun finds nothing to pull (the watermark is at the interval's end) and
// used to return there, skipping the sweep for good.
func TestIncrementalRerunSweepsAfterStop(t *testing.T) {
	cases := []struct {
		name  string
		until bool
		call  string
	}{
		{"until, stopped at the key sweep", true, "keys"},
		{"until, stopped at the merge lookup", true, "lookup"},
		{"no until, stopped at the key sweep", false, "keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := mergeHeavyConfig(3)
			dir := t.TempDir()
			w, _ := loadSimulatedDump(t, cfg, dir)
			s := newSimSource(t, cfg)
			s.clock.Set(s.clock.Now().Add(50 * time.Hour))
			opts := s.opts
			opts.CacheDir = filepath.Join(dir, "cache")
			if tc.until {
				opts.Until = s.clock.Now().UTC().Truncate(time.Second)
			}
			team := s.world.Teams()[0]

			src := &stopAt{Client: s.cli, call: tc.call}
			rep, err := Incremental(ctx, w, src, team, opts)
			if !errors.Is(err, errStopped) {
				t.Fatalf("first run: want it stopped in the sweep, got %v (%+v)", err, rep)
			}
			head, err := w.Stream(ctx, CloneStream(team))
			if err != nil {
				t.Fatal(err)
			}
			if head.Seq != 2 {
				t.Fatalf("after the stop the clone stream is at commit %d, want 2 (dump, pull)", head.Seq)
			}

			rep, err = Incremental(ctx, w, s.cli, team, opts)
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if !rep.Swept || rep.SweepCommit == nil {
				t.Fatalf("rerun: swept %v, sweep commit %v: the interval's deletions and merges are never applied", rep.Swept, rep.SweepCommit)
			}
			if rep.Deletions == 0 || len(rep.Merges) == 0 {
				t.Fatalf("rerun found %d deletions and %d merges: the interval must exercise both", rep.Deletions, len(rep.Merges))
			}
			head, err = w.Stream(ctx, CloneStream(team))
			if err != nil {
				t.Fatal(err)
			}
			at, err := time.Parse(time.RFC3339, head.Watermark)
			if err != nil {
				t.Fatal(err)
			}
			checkNoDoubles(t, w, team, opts.CacheDir)
			checkCloneIsTruth(t, w, s.world, team, at, opts.CacheDir)

			again, err := Incremental(ctx, w, s.cli, team, opts)
			if err != nil {
				t.Fatalf("second rerun: %v", err)
			}
			if again.Swept || again.Commit != nil && !again.Commit.Existing {
				t.Fatalf("second rerun with nothing new: swept %v, commit %+v; want nothing", again.Swept, again.Commit)
			}
		})
	}
}
