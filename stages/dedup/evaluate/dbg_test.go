package evaluate

import (
	"testing"
	"time"

	"archtics/simulator"
	"archtics/stages/dedup"
)

func TestDbgDefault(t *testing.T) {
	t0 := time.Now()
	w, err := simulator.NewWorldLazy(simulator.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	in := Load(w)
	t.Log("load", time.Since(t0))
	t0 = time.Now()
	e, err := Run(in, dedup.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("run", time.Since(t0))
	st := e.State()
	diffs := TruthDiff(w, st)
	for i, d := range diffs {
		if i == 40 {
			break
		}
		t.Error(d)
	}
	t.Log(len(diffs), "diffs")
	logQuality(t, Measure(in, st))
	e, _ = Run(in, dedup.Config{EmailNeedsFirstName: true})
	logQuality(t, Measure(in, e.State()))
}
