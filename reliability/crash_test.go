package reliability

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// killsPerStage: the 50 in the full form, a few in make test.
func killsPerStage() int {
	if full() {
		return 50
	}
	return 3
}

// maxFailedTrials stops a stage's trials once it has failed this often:
// more failures of the same defect only cost time.
const maxFailedTrials = 3

// TestCrash runs each stage from its starting warehouse and SIGKILLs it at
// seeded random points (two to five kills in a row, the reruns killed
// too), then runs it to the end, and compares the warehouse with the
// uninterrupted run's: the same rows in every table and view, no key held
// twice in the current-state tables, as many commits per stream and
// stage, and a clean verify. The delays are drawn up to 1.2 times the
// uninterrupted run's duration, so kills land throughout the run.
func TestCrash(t *testing.T) {
	snaps := snapshots(t)
	w := sharedWorld(t)
	for _, s := range stages() {
		t.Run(s.name, func(t *testing.T) { crashStage(t, w, snaps, s) })
	}
}

func crashStage(t *testing.T, w *world, snaps map[string]*snapshot, s step) {
	ref := snaps[s.name]
	res := record("crash", s.name)
	w.setClock(s)
	var seeds []uint64
	if v := os.Getenv(trialEnv); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want the trial seed a failure printed", trialEnv, v)
		}
		seeds = []uint64{seed}
	}
	begun := time.Now()
	maxDelay := ref.took * 12 / 10
	kills, trials, failed := 0, 0, 0
	for trial := 0; failed < maxFailedTrials; trial++ {
		var seed uint64
		if seeds != nil {
			if trial == len(seeds) {
				break
			}
			seed = seeds[trial]
		} else {
			if kills >= killsPerStage() {
				break
			}
			seed = subSeed("crash", s.name, trial)
		}
		trials++
		n, o, desc := crashTrial(t, w, snaps, s, seed, trial, res, &maxDelay)
		kills += n
		res.add(o)
		if !o.ok() {
			failed++
			t.Errorf("%s, trial seed %d (%s): %s\nreproduce: %s=%d go test ./reliability -run 'TestCrash/%s$' -v",
				s.name, seed, desc, strings.Join(o.problems, "\n  "), trialEnv, seed, strings.ReplaceAll(s.name, " ", "_"))
		}
	}
	progress("crash %-16s %3d kills in %2d trials, %d failed (%v; an uninterrupted run takes %v)",
		s.name, kills, trials, failed, time.Since(begun).Round(time.Second), ref.took.Round(time.Millisecond))
	if kills == 0 && os.Getenv(trialEnv) == "" {
		t.Errorf("%s: no run was killed (every one finished first): the test proved nothing", s.name)
	}
}

// crashTrial is one case: kills, then a run to the end, then the
// comparison. It returns the number of kills, the outcome and a
// description of the kills for the failure message.
func crashTrial(t *testing.T, w *world, snaps map[string]*snapshot, s step, seed uint64, trial int, res *result, maxDelay *time.Duration) (int, outcome, string) {
	ref := snaps[s.name]
	dir := trialDir(t, "crash-", slug(s.name), "-", trial)
	wh := filepath.Join(dir, "wh")
	if s.base != "" {
		copyTree(t, snaps[s.base].dir, wh)
	}
	spec := runSpec{wh: wh, tmp: filepath.Join(dir, "tmp"), cache: filepath.Join(dir, "cache"), args: s.args(w, w.url)}
	rng := rand.New(rand.NewPCG(seed, 0xc4a54))
	var desc []string
	kills, runs := 0, 0
	defer func() { res.count(runs, kills, 0) }()
	var o outcome
	finished := false
	for range 2 + rng.IntN(4) {
		delay := time.Duration(rng.Int64N(int64(*maxDelay) + 1))
		r := start(t, spec)
		runs++
		select {
		case <-r.done:
			desc = append(desc, fmt.Sprintf("finished before the kill at %v", delay.Round(time.Millisecond)))
			if r.code() != 0 {
				o.problems = append(o.problems, fmt.Sprintf("a run exited %d:\n%s", r.code(), r.out.String()))
				return kills, o, strings.Join(desc, ", ")
			}
			finished = true
			// Calibrate on the runs that beat their kill: the setup's
			// run may have been slowed by a cold start.
			if d := r.exited * 12 / 10; d < *maxDelay {
				*maxDelay = d
			}
		case <-time.After(delay):
			r.kill()
			kills++
			desc = append(desc, "killed at "+delay.Round(time.Millisecond).String())
		}
		if finished {
			break
		}
	}
	if !finished {
		code, out := runToEnd(t, spec)
		runs++
		if code != 0 {
			o.problems = append(o.problems, fmt.Sprintf("the run after the kills exited %d:\n%s", code, out))
			return kills, o, strings.Join(desc, ", ")
		}
	}
	st, err := readState(wh)
	if err != nil {
		o.problems = append(o.problems, "reading the warehouse: "+err.Error())
		return kills, o, strings.Join(desc, ", ")
	}
	o = compare(ref.state, st, true)
	return kills, o, strings.Join(desc, ", ")
}
