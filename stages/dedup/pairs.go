package dedup

// PairCounts is a pairwise comparison of a mapping with a truth of who is
// who: a predicted pair is two accounts of one contact, a true pair two
// accounts of one person.
type PairCounts struct {
	TruePairs, PredictedPairs, TruePositives int64
}

// FalsePositives are predicted pairs of two people.
func (p PairCounts) FalsePositives() int64 { return p.PredictedPairs - p.TruePositives }

// FalseNegatives are true pairs the mapping split.
func (p PairCounts) FalseNegatives() int64 { return p.TruePairs - p.TruePositives }

// Precision is the share of predicted pairs that are true (1 with none).
func (p PairCounts) Precision() float64 {
	if p.PredictedPairs == 0 {
		return 1
	}
	return float64(p.TruePositives) / float64(p.PredictedPairs)
}

// Recall is the share of true pairs predicted (1 with none).
func (p PairCounts) Recall() float64 {
	if p.TruePairs == 0 {
		return 1
	}
	return float64(p.TruePositives) / float64(p.TruePairs)
}
