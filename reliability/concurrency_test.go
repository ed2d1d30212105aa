package reliability

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConcurrentWriters starts two to four copies of each stage at once
// on the same warehouse (each with its own temporary folder and cache, as
// separate machines would have): each must exit 0 (it committed, or found
// the work done) or 3 (another writer won), at least one must succeed,
// and the warehouse must end as after a single run, with as many commits
// per stream and stage: never two writers committing the same batch.
func TestConcurrentWriters(t *testing.T) {
	snaps := snapshots(t)
	w := sharedWorld(t)
	rounds := 1
	if full() {
		rounds = 2
	}
	for _, s := range stages() {
		t.Run(s.name, func(t *testing.T) {
			res := record("concurrent", s.name)
			begun := time.Now()
			w.setClock(s)
			for round := range rounds {
				seed := subSeed("concurrent", s.name, round)
				rng := rand.New(rand.NewPCG(seed, 2))
				n := 2 + rng.IntN(3)
				dir := trialDir(t, "concurrent-", slug(s.name), "-", round)
				wh := filepath.Join(dir, "wh")
				if s.base != "" {
					copyTree(t, snaps[s.base].dir, wh)
				}
				runs := make([]*run, n)
				for i := range runs {
					runs[i] = start(t, runSpec{wh: wh, tmp: filepath.Join(dir, fmt.Sprint("tmp", i)), cache: filepath.Join(dir, fmt.Sprint("cache", i)), args: s.args(w, w.url)})
				}
				var o outcome
				codes := make([]int, n)
				won := 0
				for i, r := range runs {
					select {
					case <-r.done:
					case <-time.After(5 * time.Minute):
						r.kill()
					}
					codes[i] = r.code()
					switch codes[i] {
					case 0:
						won++
					case 3:
						if !strings.Contains(r.out.String(), "archtics:") {
							o.problems = append(o.problems, fmt.Sprintf("writer %d exited 3 without saying why:\n%s", i, r.out.String()))
						}
					default:
						o.problems = append(o.problems, fmt.Sprintf("writer %d exited %d (want 0 or 3):\n%s", i, codes[i], r.out.String()))
					}
				}
				if won == 0 {
					o.problems = append(o.problems, fmt.Sprintf("no writer succeeded (exit codes %v)", codes))
				}
				if st, err := readState(wh); err != nil {
					o.problems = append(o.problems, "reading the warehouse: "+err.Error())
				} else {
					c := compare(snaps[s.name].state, st, true)
					c.problems = append(o.problems, c.problems...)
					o = c
				}
				res.count(n, 0, 0)
				res.add(o)
				if !o.ok() {
					t.Errorf("%s, %d writers at once (seed %d, exit codes %v): %s", s.name, n, seed, codes, strings.Join(o.problems, "\n  "))
				}
			}
			progress("concurrent %-16s %d writers in %d rounds (%v)", s.name, res.runs, rounds, time.Since(begun).Round(time.Second))
		})
	}
}
