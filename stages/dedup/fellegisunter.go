package dedup

import (
	"math"
	"sort"
	"strings"
)

// A Fellegi–Sunter model of record linkage, the start of a probabilistic
// rule set (not yet one of the engine's: nothing but its test calls it):
// each pair of accounts is compared field by field into agreement levels;
// the levels' probabilities among non-matches (u) come from random pairs,
// among matches (m) from expectation-maximisation over blocked pairs,
// with no labels. A pair's match weight is the log-odds the levels give; pairs
// above a threshold are the same person. Where a rule falls off a cliff
// (a birth date typo vetoes, a surname typo misses), the model lets the
// other fields outweigh one disagreement.

// Agreement levels of one field: 0 is "missing in one or both", then
// from the strongest agreement down to disagreement.
const (
	levelNull = iota
	levelExact
	levelClose // a typo: Jaro-Winkler above a bound, a date off by one digit or swapped
	levelWeak  // names: a token shared (one of two surnames); dates: same year
	levelDiffer
	levels
)

// fsFields are the fields the model compares.
var fsFields = []struct {
	name    string
	compare func(a, b *fsRecord) int
}{
	{"first_name", func(a, b *fsRecord) int { return compareName(a.first, b.first) }},
	{"last_name", func(a, b *fsRecord) int { return compareName(a.last, b.last) }},
	{"birth_date", func(a, b *fsRecord) int { return compareDate(a.birth, b.birth) }},
	{"street", func(a, b *fsRecord) int { return compareName(a.street, b.street) }},
	{"postal_code", func(a, b *fsRecord) int { return compareExact(a.zip, b.zip) }},
	{"email", func(a, b *fsRecord) int { return compareExact(a.email, b.email) }},
	{"phone", func(a, b *fsRecord) int { return compareExact(a.phone, b.phone) }},
}

// fsRecord is an account's fields, normalised.
type fsRecord struct {
	first, last, birth, street, zip, email, phone string
}

func newFSRecord(a *Account) fsRecord {
	addr := NormAddress(a.Street1, a.Street2)
	street := strings.TrimSpace(addr.Number + " " + addr.Street)
	phone := NormPhone(a.PhoneDay)
	if phone == "" {
		phone = NormPhone(a.PhoneCell)
	}
	if len(phone) > 7 {
		phone = phone[len(phone)-7:] // the last seven digits: area codes are typed or not
	}
	return fsRecord{first: NormName(a.First), last: NormName(a.Last), birth: strings.TrimSpace(a.BirthDate),
		street: street, zip: NormPostal(a.Zip), email: NormEmail(a.Email), phone: phone}
}

func compareExact(a, b string) int {
	switch {
	case a == "" || b == "":
		return levelNull
	case a == b:
		return levelExact
	}
	return levelDiffer
}

func compareName(a, b string) int {
	switch {
	case a == "" || b == "":
		return levelNull
	case a == b:
		return levelExact
	case JaroWinkler(a, b) >= 0.92:
		return levelClose
	}
	for _, x := range strings.Fields(a) {
		for _, y := range strings.Fields(b) {
			if x == y && len(x) > 1 {
				return levelWeak
			}
		}
	}
	return levelDiffer
}

// compareDate compares YYYY-MM-DD dates: one digit apart, or day and
// month swapped, is a typo; the same year is weak.
func compareDate(a, b string) int {
	switch {
	case a == "" || b == "":
		return levelNull
	case a == b:
		return levelExact
	case len(a) == 10 && len(b) == 10:
		diff := 0
		for i := range a {
			if a[i] != b[i] {
				diff++
			}
		}
		if diff == 1 || a[:4] == b[:4] && a[5:7] == b[8:10] && a[8:10] == b[5:7] {
			return levelClose
		}
		if a[:4] == b[:4] {
			return levelWeak
		}
	}
	return levelDiffer
}

// FSModel is a fitted model: per field and level, the log2 of m/u.
type FSModel struct {
	Fields []string
	// Weight[f][l] is field f's weight at level l (0 at levelNull).
	Weight [][levels]float64
	// Prior is log2 of the odds that a blocked pair is a match.
	Prior float64
}

// FSPair is a scored pair of accounts (indices into the input).
type FSPair struct {
	A, B   int
	Weight float64
}

// FitFS blocks the accounts into candidate pairs, estimates the model by
// expectation-maximisation and scores every candidate pair.
func FitFS(accounts []Account, iterations int) (*FSModel, []FSPair) {
	recs := make([]fsRecord, len(accounts))
	for i := range accounts {
		recs[i] = newFSRecord(&accounts[i])
	}
	cands := fsBlock(recs)
	vecs := make([][]uint8, len(cands))
	for i, c := range cands {
		v := make([]uint8, len(fsFields))
		for f, fld := range fsFields {
			v[f] = uint8(fld.compare(&recs[c[0]], &recs[c[1]]))
		}
		vecs[i] = v
	}
	nf := len(fsFields)
	m := make([][levels]float64, nf)
	for f := range m {
		// A start: matches mostly agree exactly.
		m[f] = [levels]float64{0, 0.85, 0.08, 0.04, 0.03}
	}
	// u, the levels among non-matches, from pairs drawn at random (almost
	// all non-matches), as Splink does, and kept fixed: EM then estimates
	// only m and the prior, and cannot swap the two classes.
	u := randomPairLevels(recs, 1<<18)
	// The prior, kept fixed too: the share of candidates a strict rule
	// (birth date and first or last name exact) calls a match. Left to
	// EM, it drifts to one and every candidate passes.
	strict := 0
	for _, v := range vecs {
		if v[2] == levelExact && (v[0] == levelExact || v[1] == levelExact) {
			strict++
		}
	}
	lambda := clamp(float64(strict) / float64(max(len(vecs), 1)))
	post := make([]float64, len(vecs))
	for it := 0; it < iterations; it++ {
		// E: each pair's probability of being a match.
		for i, v := range vecs {
			lm, lu := math.Log(lambda), math.Log(1-lambda)
			for f, l := range v {
				if l == levelNull {
					continue
				}
				lm += math.Log(m[f][l])
				lu += math.Log(u[f][l])
			}
			post[i] = 1 / (1 + math.Exp(lu-lm))
		}
		// M: m, the levels' frequencies weighted by those probabilities.
		cm := make([][levels]float64, nf)
		for i, v := range vecs {
			for f, l := range v {
				cm[f][l] += post[i]
			}
		}
		for f := range m {
			var tm float64
			for l := 1; l < levels; l++ {
				tm += cm[f][l]
			}
			for l := 1; l < levels; l++ {
				m[f][l] = clamp((cm[f][l] + 0.5) / (tm + 0.5*(levels-1)))
			}
		}
	}
	model := &FSModel{Weight: make([][levels]float64, nf), Prior: math.Log2(lambda / (1 - lambda))}
	for f, fld := range fsFields {
		model.Fields = append(model.Fields, fld.name)
		for l := 1; l < levels; l++ {
			model.Weight[f][l] = math.Log2(m[f][l] / u[f][l])
		}
	}
	out := make([]FSPair, len(cands))
	for i, c := range cands {
		w := model.Prior
		for f, l := range vecs[i] {
			w += model.Weight[f][l]
		}
		out[i] = FSPair{A: c[0], B: c[1], Weight: w}
	}
	return model, out
}

func clamp(p float64) float64 { return math.Min(math.Max(p, 1e-6), 1-1e-6) }

// fsBlock is the candidate pairs: accounts sharing a blocking key (a
// birth date, a surname token and a postal code, a first name and a
// birth year, an email, a phone), each pair once. Blocks larger than a
// bound are skipped: a key that common says nothing.
func fsBlock(recs []fsRecord) [][2]int {
	const maxBlock = 200
	blocks := map[string][]int{}
	add := func(k string, i int) { blocks[k] = append(blocks[k], i) }
	for i, r := range recs {
		if r.birth != "" {
			add("b:"+r.birth, i)
			if r.first != "" && len(r.birth) >= 4 {
				add("fy:"+r.first+"|"+r.birth[:4], i)
			}
		}
		if r.zip != "" {
			for _, t := range strings.Fields(r.last) {
				add("lz:"+t+"|"+r.zip, i)
			}
		}
		if r.email != "" {
			add("e:"+r.email, i)
		}
		if r.phone != "" {
			add("p:"+r.phone, i)
		}
	}
	seen := map[[2]int]bool{}
	var out [][2]int
	keys := make([]string, 0, len(blocks))
	for k := range blocks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ids := blocks[k]
		if len(ids) < 2 || len(ids) > maxBlock {
			continue
		}
		for x := 0; x < len(ids); x++ {
			for y := x + 1; y < len(ids); y++ {
				if ids[x] == ids[y] {
					continue // a record under one key twice ("garcia garcia")
				}
				p := [2]int{ids[x], ids[y]}
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// randomPairLevels is each field's level frequencies over n pairs of
// records drawn at random (a fixed sequence: the same data, the same
// model), smoothed so no level has probability zero.
func randomPairLevels(recs []fsRecord, n int) [][levels]float64 {
	u := make([][levels]float64, len(fsFields))
	if len(recs) < 2 {
		for f := range u {
			u[f] = [levels]float64{0, 0.25, 0.25, 0.25, 0.25}
		}
		return u
	}
	var x uint64 = 0x9e3779b97f4a7c15
	next := func() int {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int(x % uint64(len(recs)))
	}
	counts := make([][levels]float64, len(fsFields))
	for i := 0; i < n; i++ {
		a, b := next(), next()
		if a == b {
			continue
		}
		for f, fld := range fsFields {
			counts[f][fld.compare(&recs[a], &recs[b])]++
		}
	}
	for f := range u {
		var t float64
		for l := 1; l < levels; l++ {
			t += counts[f][l]
		}
		for l := 1; l < levels; l++ {
			u[f][l] = clamp((counts[f][l] + 0.5) / (t + 0.5*(levels-1)))
		}
	}
	return u
}
