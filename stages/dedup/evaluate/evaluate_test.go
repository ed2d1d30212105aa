package evaluate

import (
	"sort"
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
)

func smallWorld(t testing.TB) *simulator.World {
	t.Helper()
	w, err := simulator.NewWorldLazy(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestAgainstCRMTruth runs the engine over a small world's dump and CRM
// and checks every pre-existing contact against the CRM truth.
func TestAgainstCRMTruth(t *testing.T) {
	w := smallWorld(t)
	in := Load(w)
	e, err := Run(in, dedup.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st := e.State()
	diffs := TruthDiff(w, st)
	for i, d := range diffs {
		if i == 40 {
			t.Errorf("... and %d more", len(diffs)-40)
			break
		}
		t.Error(d)
	}
	q := Measure(in, st)
	logQuality(t, q)
}

func logQuality(t *testing.T, q Quality) {
	t.Logf("accounts %d (excluded %d), contacts %d (created %d)", q.Accounts, q.Excluded, q.Contacts, q.Created)
	t.Logf("pairs: true %d, predicted %d, TP %d, FP %d, FN %d; precision %.4f recall %.4f", q.TruePairs, q.PredictedPairs,
		q.TruePositives, q.FalsePositives, q.FalseNegatives, q.Precision, q.Recall)
	for _, m := range []map[string]int64{q.MissesByCause, q.FalseByCause} {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(a, b int) bool { return m[ks[a]] > m[ks[b]] })
		for _, k := range ks {
			t.Logf("  %6d  %s", m[k], k)
		}
		t.Log("--")
	}
}
