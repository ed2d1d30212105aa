package dedup_test

import (
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// TestFellegiSunterPairs measures the Fellegi–Sunter model's pairs, before
// any clustering into contacts, on the registry population and on the
// simulator's default world: precision, recall and F1 over true pairs
// among the candidate pairs above each weight. On the registry, whose
// errors the rules miss, the model must reach F1 0.9 at some threshold.
func TestFellegiSunterPairs(t *testing.T) {
	w, err := simulator.NewWorldLazy(simulator.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		in    evaluate.Input
		minF1 float64
	}{
		{"registry", evaluate.Registry(evaluate.DefaultRegistry()), 0.9},
		{"simulator", worldInput(w), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			model, pairs := dedup.FitFS(in.Accounts, 25)
			for f, name := range model.Fields {
				t.Logf("%-12s exact %6.2f close %6.2f weak %6.2f differ %6.2f", name, model.Weight[f][1], model.Weight[f][2], model.Weight[f][3], model.Weight[f][4])
			}
			var truePairs int64
			count := map[string]int64{}
			for _, a := range in.Accounts {
				count[in.Person[a.AccountRef]]++
			}
			for _, n := range count {
				truePairs += n * (n - 1) / 2
			}
			best := 0.0
			for _, threshold := range []float64{3, 6, 9, 12} {
				var tp, fp int64
				for _, p := range pairs {
					if p.Weight < threshold {
						continue
					}
					if in.Person[in.Accounts[p.A].AccountRef] == in.Person[in.Accounts[p.B].AccountRef] {
						tp++
					} else {
						fp++
					}
				}
				prec := float64(tp) / float64(max(tp+fp, 1))
				rec := float64(tp) / float64(max(truePairs, 1))
				f1 := 0.0
				if prec+rec > 0 {
					f1 = 2 * prec * rec / (prec + rec)
				}
				best = max(best, f1)
				t.Logf("weight >= %4.1f: %d candidates, %d true pairs, TP %d FP %d, precision %.4f recall %.4f F1 %.4f", threshold, len(pairs), truePairs, tp, fp, prec, rec, f1)
			}
			if truePairs == 0 || best < c.minF1 {
				t.Errorf("best F1 %.4f over %d true pairs, want at least %.2f", best, truePairs, c.minF1)
			}
		})
	}
}
