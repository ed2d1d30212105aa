package dedup

import "context"

// LikelyPair is two records LikelyDuplicates weighs as likely one person:
// their indexes in its input (A < B) and the weights.
type LikelyPair struct {
	A, B    int
	Weights Weights
}

// LikelyDuplicates weighs, with model m, every pair of records that
// shares one of the probabilistic rule set's blocking keys (each key
// walked for at most maxProbWalk records, as the engine does) and
// returns the pairs whose match weight is at least min, in the order
// found. It is for records the engine never compares with each other:
// CRM contacts (as Accounts: name, email, phone, address, a birth date
// when known). It stops early, returning what it found, when ctx ends.
func LikelyDuplicates(ctx context.Context, m *Model, recs []Account, min float64) []LikelyPair {
	x := newProbRule(m)
	ps := make([]pRec, len(recs))
	for i := range recs {
		r := accountRec(&recs[i])
		ps[i] = pRecOfAccount(&recs[i], &r)
	}
	byKey := map[uint64][]int32{}
	seen := make([]int32, len(recs)) // per record: 1 + the last record weighed against it
	var out []LikelyPair
	var keys []uint64
	for i := range ps {
		if i%4096 == 0 && ctx.Err() != nil {
			return out
		}
		keys = x.keys(&ps[i], keys[:0])
		for _, k := range keys {
			list := byKey[k]
			for n := len(list) - 1; n >= 0 && n >= len(list)-maxProbWalk; n-- {
				j := list[n]
				if int(j) == i || seen[j] == int32(i)+1 {
					continue
				}
				seen[j] = int32(i) + 1
				if w := x.s.weigh(&ps[j], &ps[i]); w.Total >= min {
					out = append(out, LikelyPair{A: int(j), B: i, Weights: w})
				}
			}
			byKey[k] = append(list, int32(i))
		}
	}
	return out
}
