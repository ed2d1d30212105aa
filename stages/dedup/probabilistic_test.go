package dedup_test

import (
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// fitModel fits a model over the input's accounts.
func fitModel(t testing.TB, in evaluate.Input) *dedup.Model {
	t.Helper()
	f := dedup.NewModelFitter()
	for i := range in.Accounts {
		f.Add(&in.Accounts[i])
	}
	m, err := f.Fit()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestQualityProbabilistic measures the probabilistic rule set against
// who is who: on the small and default simulator worlds precision at
// least 0.99 and recall over the linkable pairs at least 0.97; on the
// registry population F1 at least 0.9.
func TestQualityProbabilistic(t *testing.T) {
	for _, c := range []struct {
		name                      string
		in                        func(t *testing.T) evaluate.Input
		minPrecision, minLinkable float64
		minF1                     float64
	}{
		{"small", func(t *testing.T) evaluate.Input { return worldInput(smallWorld(t)) }, 0.99, 0.97, 0},
		{"default", func(t *testing.T) evaluate.Input {
			w, err := simulator.NewWorldLazy(simulator.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			return worldInput(w)
		}, 0.99, 0.97, 0},
		{"registry", func(*testing.T) evaluate.Input { return evaluate.Registry(evaluate.DefaultRegistry()) }, 0, 0, 0.9},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in(t)
			m := fitModel(t, in)
			t.Logf("prior %.2f threshold %.2f; session pairs: birth %d, name %d", m.Prior, m.Threshold, m.SessionBirthPairs, m.SessionNamePairs)
			for _, f := range m.Fields {
				t.Logf("%-12s m %.4f u %.4f (TF %d values of %d records)", f.Name, f.M[1:], f.U[1:], len(f.TF), f.Records)
			}
			e, err := evaluate.Run(in, dedup.Config{Rules: dedup.RulesProbabilistic, Model: m})
			if err != nil {
				t.Fatal(err)
			}
			q := evaluate.Measure(in, e.State())
			logQuality(t, c.name+", probabilistic rules", q)
			f1 := 0.0
			if q.Precision+q.Recall > 0 {
				f1 = 2 * q.Precision * q.Recall / (q.Precision + q.Recall)
			}
			t.Logf("F1 %.4f", f1)
			if q.Precision < c.minPrecision {
				t.Errorf("precision %.4f, want at least %.2f", q.Precision, c.minPrecision)
			}
			if q.RecallLinkable < c.minLinkable {
				t.Errorf("recall over linkable pairs %.4f, want at least %.2f", q.RecallLinkable, c.minLinkable)
			}
			if f1 < c.minF1 {
				t.Errorf("F1 %.4f, want at least %.2f", f1, c.minF1)
			}
			if q.TruePairs == 0 {
				t.Error("no true pairs: the population has no duplicates to find")
			}
		})
	}
}
