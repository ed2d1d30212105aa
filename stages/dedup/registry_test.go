package dedup_test

import (
	"testing"

	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// TestQualityRegistry measures the rule sets on the second population
// (evaluate.Registry): records of people with no email, few phones, and
// hand-entry errors in names, dates and addresses. Both rule sets need an
// exact last name and join no two people there; what they miss is the
// baseline the probabilistic rule set is measured against.
func TestQualityRegistry(t *testing.T) {
	in := evaluate.Registry(evaluate.DefaultRegistry())
	for _, rules := range []string{dedup.RulesKORE, dedup.RulesEvidence} {
		t.Run(rules, func(t *testing.T) {
			e, err := evaluate.Run(in, dedup.Config{Rules: rules})
			if err != nil {
				t.Fatal(err)
			}
			q := evaluate.Measure(in, e.State())
			logQuality(t, "registry, "+rules+" rules", q)
			if q.TruePairs == 0 || q.NamesakePairs == 0 {
				t.Fatalf("%d true pairs, %d namesake pairs: the registry must hold both duplicates and namesakes", q.TruePairs, q.NamesakePairs)
			}
			if q.Precision < 0.99 {
				t.Errorf("precision %.4f, want at least 0.99", q.Precision)
			}
		})
	}
}
