package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// step is one command of the chain that builds every stage's starting
// warehouse. A stage (test: true) is run by every part of the suite from
// its base snapshot and compared with the snapshot its uninterrupted run
// left; a preparation step only builds a snapshot for later ones.
//
// To add a stage: append a step naming the snapshot it starts from and
// its arguments. Nothing else changes: the crash, storage-fault,
// concurrency and secrets parts run every step with test set.
type step struct {
	name string
	base string // the snapshot it starts from ("": no warehouse yet)
	test bool
	// at is the simulated source's clock while it runs (zero: unchanged).
	at   func(w *world) time.Time
	args func(w *world, source string) []string
	// source says the step reads the change API or the scan feed, so the
	// source-fault part runs it against the faulty source.
	source bool
	// sleep before the step, for one that acts on what is older than a
	// duration (vacuum's retention).
	sleep time.Duration
}

// The clone's timeline: a cutoff of 2021-12-29 12:00:01 (tinyConfig), an
// incremental up to two days later, then the doubleheader's evening of
// 2022-01-01 ticked at 19:00, 19:30 and 20:00.
var (
	incrementalUntil = func(w *world) time.Time { return w.cfg.Cutoff.Add(48 * time.Hour) }
	tickAt           = func(hhmm string) func(w *world) time.Time {
		return func(w *world) time.Time {
			t, err := time.ParseInLocation("2006-01-02 15:04", "2022-01-01 "+hhmm, w.loc)
			if err != nil {
				panic(err)
			}
			return t
		}
	}
)

func tick(hhmm string) func(w *world, source string) []string {
	return func(w *world, source string) []string {
		return []string{"realtime", "tick", "--team", "nhl", "--source", source, "--at", w.local(tickAt(hhmm)(w))}
	}
}

var chain = []step{
	{name: "load-dump", test: true,
		args: func(w *world, _ string) []string { return []string{"load-dump", "--dump", w.dump} }},
	{name: "incremental", base: "load-dump", test: true, source: true,
		at: func(w *world) time.Time { return w.cfg.Cutoff.Add(72 * time.Hour) },
		args: func(w *world, source string) []string {
			// --sweep-every 0: every run sweeps, so a kill can land between
			// the pull's commit and the sweep's.
			return []string{"incremental", "--team", "nhl", "--source", source, "--sweep-every", "0",
				"--page-size", "50", "--keys-page-size", "100", "--until", incrementalUntil(w).Format(time.RFC3339)}
		}},
	{name: "compact", base: "incremental", test: true,
		args: func(*world, string) []string { return []string{"compact", "--team", "nhl"} }},
	{name: "vacuum", base: "compact", test: true, sleep: 1100 * time.Millisecond,
		args: func(*world, string) []string { return []string{"vacuum", "--retain", "1s"} }},
	{name: "dedup", base: "incremental", test: true,
		args: func(w *world, _ string) []string { return []string{"dedup", "--crm", w.crm, "--actor", "reliability"} }},
	{name: "restore", base: "incremental", test: true,
		// Back to the dump: the pull's and the sweep's files retired, the
		// watermark moved back to the cutoff, their batches forgotten.
		args: func(*world, string) []string {
			return []string{"restore", "--stream", "nhl/clone", "--to", "1", "--by", "reliability", "--reason", "suite"}
		}},
	{name: "catalog iceberg", base: "incremental", test: true,
		args: func(*world, string) []string { return []string{"catalog", "iceberg"} }},
	{name: "criteria", base: "incremental",
		args: func(*world, string) []string {
			return []string{"realtime", "criteria", "set", "--team", "nhl", "--by", "reliability", "--effective", "2021-12-31 00:00:00",
				"total_events = 1 AND major_category IN ('SPORTS','CONCERTS')"}
		}},
	{name: "tick 19:00", base: "criteria", at: tickAt("19:00"), source: true, args: tick("19:00")},
	{name: "tick 19:30", base: "tick 19:00", at: tickAt("19:30"), source: true, args: tick("19:30")},
	{name: "realtime tick", base: "tick 19:30", test: true, at: tickAt("20:00"), source: true, args: tick("20:00")},
	{name: "realtime rollup", base: "realtime tick", test: true,
		args: func(*world, string) []string { return []string{"realtime", "rollup", "--team", "nhl"} }},
	{name: "realtime expire", base: "realtime rollup", test: true,
		args: func(*world, string) []string {
			return []string{"realtime", "expire", "--team", "nhl", "--at", "2022-01-09 12:00:00"}
		}},
}

// stages are the steps under test, in chain order.
func stages() []step {
	var out []step
	for _, s := range chain {
		if s.test {
			out = append(out, s)
		}
	}
	return out
}

// snapshot is a step's uninterrupted result: its warehouse folder, how
// long the command took, and its committed state.
type snapshot struct {
	dir   string
	took  time.Duration
	state *state
}

var (
	chainOnce sync.Once
	snaps     map[string]*snapshot
	chainErr  error
)

// snapshots runs the chain once, uninterrupted, and keeps each step's
// warehouse.
func snapshots(t *testing.T) map[string]*snapshot {
	t.Helper()
	w := sharedWorld(t)
	binary(t) // built before the runs are timed
	chainOnce.Do(func() {
		snaps = map[string]*snapshot{}
		begun := time.Now()
		for i, s := range chain {
			dir := filepath.Join(scratch, "snap", fmt.Sprint(i))
			if s.base != "" {
				copyTree(t, snaps[s.base].dir, dir)
			}
			w.setClock(s)
			time.Sleep(s.sleep)
			spec := runSpec{wh: dir, tmp: filepath.Join(scratch, "snap-tmp"), cache: filepath.Join(scratch, "snap-cache", fmt.Sprint(i)), args: s.args(w, w.url)}
			t0 := time.Now()
			code, out := runToEnd(t, spec)
			if code != 0 {
				chainErr = fmt.Errorf("building the suite's warehouses: %s: exit %d\n%s", s.name, code, out)
				return
			}
			snap := &snapshot{dir: dir, took: time.Since(t0)}
			t1 := time.Now()
			if s.test {
				st, err := readState(dir)
				if err != nil {
					chainErr = fmt.Errorf("reading %s's warehouse: %w", s.name, err)
					return
				}
				snap.state = st
			}
			snaps[s.name] = snap
			progress("setup %-16s ran in %v, read in %v", s.name, snap.took.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
		}
		progress("setup: %d steps in %v (seed %d; %s form)", len(chain), time.Since(begun).Round(time.Millisecond), baseSeed(), map[bool]string{true: "full", false: "short"}[full()])
	})
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	return snaps
}

// setClock sets both sources' clocks for a step.
func (w *world) setClock(s step) {
	if s.at != nil {
		w.clock.Set(s.at(w))
		w.faulty.clock.Set(s.at(w))
	}
}

// trialDir makes a fresh folder for one case, under the shared scratch
// folder (a test's TempDir would outlive nothing but cost a copy).
func trialDir(t *testing.T, parts ...any) string {
	t.Helper()
	dir := filepath.Join(append([]string{scratch, "cases"}, fmt.Sprint(parts...))...)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	return dir
}

// slug is a step's name as a file name (no spaces).
func slug(name string) string { return strings.ReplaceAll(name, " ", "-") }
