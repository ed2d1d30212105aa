package dedup

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
)

// The probabilistic rule set (Config.Rules = RulesProbabilistic): a
// Fellegi–Sunter model fitted on the run's own accounts, no labels.
//
// Comparison. Two records (an account, or a pre-existing contact's own
// fields) are compared field by field into levels: null (missing in
// either), exact, close, weak, differ.
//   - first name: close when a nickname or a typo (FirstNameSimilarity at
//     DefaultThreshold); first and last swapped count as both exact (or
//     close, for a typo in one of them);
//   - last name: close for a typo (the same similarity), weak when one
//     word of two is shared (one of two surnames, a name taken at
//     marriage and joined to one's own);
//   - birth date: close for one wrong digit or day and month swapped;
//   - address: exact when house number, street and postal code are equal;
//     close when the number is equal and the street similar (or the
//     postal code alone differs or is missing);
//   - postal code, email: exact or differ;
//   - phone: exact when any of one's day, cell and evening phones equals
//     any of the other's by its last seven digits (area codes are typed
//     or not).
//
// Weights. A level's weight is log2(m/u): m the level's probability
// between two records of one person, u between two of different people.
// u comes from random pairs (almost all of different people). An exact
// agreement is weighed by its value (term frequency, as Splink does): u
// for value v is the share of records holding v, so a common surname, or
// an email, phone or address several accounts share, weighs less than a
// rare one.
//
// Correlation. Household members, and the accounts of a company's staff,
// share email, phone, address and postal code together: summed as if
// independent, four agreements make one family one person. These four
// are counted once, as one "contact identifier": the pair takes the
// highest of their weights (their breakdown in Weights shows that one,
// the others 0); a postal code counts only when an address is missing
// (at two different streets it is a neighbour's). A household shares its
// surname too: when the surname and an identifier both agree, they are
// the family's one piece of evidence, and only the larger counts. What
// tells a person from their household is then what the model weighs on
// its own: the first name (a clear difference is m small against u near
// one: strongly against) and the birth date.
//
// Estimation of m, without labels. EM over all blocked pairs learns the
// wrong classes: the pairs sharing a contact identifier are mostly
// households, and the "match" class EM finds is "same household". So m
// is estimated as Splink's training sessions do, each over pairs blocked
// on a field that households do not share, with that field left out:
//   - session A, pairs with one birth date: m of the names and the
//     contact identifiers (a parent and a child have different dates);
//   - session B, pairs with one first and last name: m of the birth date.
// u stays fixed at the random pairs' levels in both, so EM cannot swap
// the classes. Fields a session could not estimate (no birth dates at
// all) keep a default (exact 0.9).
//
// Prior and threshold. The prior is log2 of the odds that two records
// drawn at random are one person: the number of matching pairs (from
// session A's matches, over the share of matches with an equal birth
// date, which session B gives) over all pairs. A pair's match weight is
// the prior plus the field weights: the log2 of the posterior odds that
// the two are one person. The threshold is 0: join when one person is
// more likely than two (the Bayes decision with equal costs), a choice
// made from the model's meaning, not from any population's figures.
// Model.Threshold holds it, so a caller can ask for more certainty.

// Agreement levels of one field: 0 is "missing in one or both", then
// from the strongest agreement down to disagreement.
const (
	levelNull = iota
	levelExact
	levelClose // a typo: a name or street similar, a date one digit off or day and month swapped
	levelWeak  // last names: one word shared
	levelDiffer
	levels
)

func clamp(p float64) float64 { return math.Min(math.Max(p, 1e-6), 1-1e-6) }

// Rule set and rule name.
const (
	RulesProbabilistic = "probabilistic" // rule set: the fitted model (Config.Model)
	RuleProbabilistic  = "probabilistic" // a mapping's rule when the model matched it
)

// Weights is the match weight that decided a mapping the model made, and
// each field's part of it (log2 odds). Total is Prior of the model plus
// the seven fields. A field is 0 where null in either record, and for
// the contact identifiers (address, postal code, email, phone) but the
// one counted.
type Weights struct {
	Total                                             float64
	First, Last, Birth, Address, Postal, Email, Phone float64
	Valid                                             bool // false: not a probabilistic match
}

// The model's fields, in Model.Fields order.
const (
	fFirst = iota
	fLast
	fBirth
	fAddress
	fPostal
	fEmail
	fPhone
	nFields
)

var fieldNames = [nFields]string{"first_name", "last_name", "birth_date", "address", "postal_code", "email", "phone"}

// FieldModel is one field of a Model.
type FieldModel struct {
	Name string
	// M and U are the levels' probabilities (index: null, exact, close,
	// weak, differ; null unused) between records of one person and of
	// different people, over pairs where the field is filled in both.
	M, U [levels]float64
	// Records is how many fitted accounts had the field filled; TF the
	// number of them holding a value (by valueHash), for values held by
	// at least two; Floor the count assumed for a value not in TF (1, or
	// the least count kept when the table was capped).
	Records int64
	TF      map[uint64]uint32
	Floor   uint32
}

// Model is a fitted probabilistic model: JSON-serialisable (values are
// hashed, so no name or email is stored), and what Config.Model takes.
type Model struct {
	Version   int
	Accounts  int64 // accounts fitted
	Fields    [nFields]FieldModel
	Prior     float64 // log2 odds that two accounts drawn at random are one person
	Threshold float64 // least match weight to join
	// Sessions: pairs EM was run over, for the record.
	SessionBirthPairs, SessionNamePairs int64
}

// modelVersion is Model.Version.
const modelVersion = 1

// Caps on what fitting holds: the pairs of one EM session (sampled when
// the blocks hold more; kept as level patterns with counts), a block's
// size (a placeholder birth date held by thousands says nothing), the
// random pairs for u, and the term frequencies kept per field (the most
// common ones: 100,000 values in all).
const (
	maxSessionPairs = 1 << 20
	maxFitBlock     = 1000
	randomPairs     = 1 << 18
	maxTFPerField   = 100_000 / nFields
	emIterations    = 25
	maxFieldLen     = 64 // longer names and streets are cut: comparing them is quadratic
)

// pRec is a record as the model compares it: an account's or a
// pre-existing contact's fields, normalised; exact-only fields hashed.
type pRec struct {
	first, last, num, street string
	birth                    uint32 // YYYYMMDD; 0 none
	postal, email, addr      uint64 // valueHash; 0 none (addr: number, street and postal code)
	phones                   [3]uint32
	known                    bool
}

func clip(s string) string {
	if len(s) > maxFieldLen {
		return s[:maxFieldLen]
	}
	return s
}

func valueHash(kind byte, parts ...string) uint64 {
	h := keyHash(kind, parts...)
	if h == 0 {
		h = 1
	}
	return h
}

// phone7 is a phone's last seven digits plus one (0: none).
func phone7(s string) uint32 {
	d := NormPhone(s)
	if len(d) < 7 {
		return 0
	}
	var v uint32
	for i := len(d) - 7; i < len(d); i++ {
		v = v*10 + uint32(d[i]-'0')
	}
	return v + 1
}

func birthNum(s string) uint32 {
	b := normBirth(s)
	if b == "" {
		return 0
	}
	var v uint32
	for i := 0; i < 10; i++ {
		if b[i] != '-' {
			v = v*10 + uint32(b[i]-'0')
		}
	}
	return v
}

func pRecOf(first, last string, addr Address, postal, email string, birth uint32, phones [3]uint32) pRec {
	p := pRec{first: clip(first), last: clip(last), birth: birth, known: true}
	if addr.Street != "" || addr.Number != "" {
		p.num, p.street = clip(addr.Number), clip(addr.Street)
	}
	if postal != "" {
		p.postal = valueHash('z', postal)
	}
	if email != "" {
		p.email = valueHash('e', email)
	}
	if p.street != "" {
		p.addr = valueHash('a', p.num, p.street, postal)
	}
	n := 0
	for _, ph := range phones {
		if ph != 0 && !slices.Contains(p.phones[:n], ph) {
			p.phones[n] = ph
			n++
		}
	}
	return p
}

// pRecOfAccount is account a's record (r: its normalised fields).
func pRecOfAccount(a *Account, r *rec) pRec {
	return pRecOf(r.first, r.last, r.addr, r.postal, r.email, birthNum(a.BirthDate),
		[3]uint32{phone7(a.PhoneDay), phone7(a.PhoneCell), phone7(a.PhoneEve)})
}

// pRecOfContact is a contact's own fields (n: normalised) as a record.
func pRecOfContact(n *rec) pRec {
	return pRecOf(n.first, n.last, n.addr, n.postal, n.email, 0, [3]uint32{phone7(n.phone)})
}

// tfKey is the value of field f whose frequency weighs an exact
// agreement of records a (and b); the phone is the one they share.
func tfKey(f int, a, b *pRec) uint64 {
	switch f {
	case fFirst:
		return valueHash('f', a.first)
	case fLast:
		return valueHash('l', a.last)
	case fBirth:
		return uint64(a.birth)
	case fAddress:
		return a.addr
	case fPostal:
		return a.postal
	case fEmail:
		return a.email
	case fPhone:
		for _, p := range a.phones {
			if p != 0 && b != nil && slices.Contains(b.phones[:], p) {
				return uint64(p)
			}
		}
	}
	return 0
}

// compareRecs compares two records field by field into levels.
func compareRecs(a, b *pRec) (lv [nFields]uint8) {
	swapped := a.first != "" && a.last != "" && a.first != a.last && a.first == b.last && a.last == b.first
	switch {
	case a.first == "" || b.first == "":
	case a.first == b.first || swapped:
		lv[fFirst] = levelExact
	case firstNameAgrees(a.first, b.first, DefaultThreshold):
		lv[fFirst] = levelClose
	default:
		lv[fFirst] = levelDiffer
	}
	switch {
	case a.last == "" || b.last == "":
	case a.last == b.last || swapped:
		lv[fLast] = levelExact
	case spellAgrees(a.last, b.last):
		lv[fLast] = levelClose
	case shareWord(a.last, b.last):
		lv[fLast] = levelWeak
	default:
		lv[fLast] = levelDiffer
	}
	// First and last name swapped, one of them with a typo.
	if !swapped && lv[fFirst] == levelDiffer && lv[fLast] == levelDiffer && a.first != "" && a.last != "" &&
		(a.first == b.last || a.last == b.first) {
		fl, lf := crossLevel(a.first, b.last), crossLevel(a.last, b.first)
		if fl != levelDiffer && lf != levelDiffer && (fl == levelExact || lf == levelExact) {
			lv[fFirst], lv[fLast] = fl, lf
		}
	}
	lv[fBirth] = compareBirth(a.birth, b.birth)
	switch {
	case a.street == "" || b.street == "":
	case a.addr == b.addr:
		lv[fAddress] = levelExact
	case a.num == b.num && (a.street == b.street || jw(a.street, b.street) >= DefaultThreshold):
		lv[fAddress] = levelClose
	default:
		lv[fAddress] = levelDiffer
	}
	lv[fPostal] = compareHash(a.postal, b.postal)
	lv[fEmail] = compareHash(a.email, b.email)
	if a.phones[0] != 0 && b.phones[0] != 0 {
		lv[fPhone] = levelDiffer
		for _, p := range a.phones {
			if p != 0 && slices.Contains(b.phones[:], p) {
				lv[fPhone] = levelExact
				break
			}
		}
	}
	return lv
}

// crossLevel compares a first name with a last name (swapped names):
// exact, close (a typo) or differ.
func crossLevel(a, b string) uint8 {
	switch {
	case a == "" || b == "":
		return levelDiffer
	case a == b:
		return levelExact
	case spellAgrees(a, b):
		return levelClose
	}
	return levelDiffer
}

// spellAgrees is spellSim(a, b) >= DefaultThreshold, a clear miss decided
// by the bound firstNameAgrees uses (clearlyBelow) without computing it.
func spellAgrees(a, b string) bool {
	if a == b {
		return true
	}
	if clearlyBelow(a, b, DefaultThreshold) {
		return false
	}
	return spellSim(a, b) >= DefaultThreshold
}

func compareHash(a, b uint64) uint8 {
	switch {
	case a == 0 || b == 0:
		return levelNull
	case a == b:
		return levelExact
	}
	return levelDiffer
}

// compareBirth: one wrong digit, or day and month swapped, is close.
func compareBirth(a, b uint32) uint8 {
	switch {
	case a == 0 || b == 0:
		return levelNull
	case a == b:
		return levelExact
	}
	diff := 0
	for x, y := a, b; x > 0 || y > 0; x, y = x/10, y/10 {
		if x%10 != y%10 {
			diff++
		}
	}
	if diff == 1 || a/10000 == b/10000 && a%100 == b/100%100 && a/100%100 == b%100 {
		return levelClose
	}
	return levelDiffer
}

// shareWord reports whether two names share a word of two letters or more.
func shareWord(a, b string) bool {
	for i := 0; ; {
		sa, ea := nextField(a, i)
		if sa == ea {
			return false
		}
		if w := a[sa:ea]; len(w) > 1 {
			for j := 0; ; {
				sb, eb := nextField(b, j)
				if sb == eb {
					break
				}
				if b[sb:eb] == w {
					return true
				}
				j = eb
			}
		}
		i = ea
	}
}

// scorer is a Model ready to weigh pairs.
type scorer struct {
	m         *Model
	level     [nFields][levels]float64 // log2(m/u) per level
	logMExact [nFields]float64
	logN      [nFields]float64
	logFloor  [nFields]float64
}

// Check reports whether m is a model this release can match with: one
// read back from storage may be damaged, or fitted by another release.
func (m *Model) Check() error { return checkModel(m) }

// checkModel checks a model a caller gives (it may come from a file).
func checkModel(m *Model) error {
	if m.Version != modelVersion {
		return fmt.Errorf("dedup: probabilistic model version %d, want %d: fit it again (NewModelFitter)", m.Version, modelVersion)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !finite(m.Prior) || !finite(m.Threshold) {
		return fmt.Errorf("dedup: probabilistic model: prior %v or threshold %v not a number: fit it again", m.Prior, m.Threshold)
	}
	for f := range nFields {
		fm := &m.Fields[f]
		if fm.Name != fieldNames[f] {
			return fmt.Errorf("dedup: probabilistic model: field %d is %q, want %q: fit it again", f, fm.Name, fieldNames[f])
		}
		for l := 1; l < levels; l++ {
			if !(fm.M[l] > 0 && fm.M[l] <= 1 && fm.U[l] > 0 && fm.U[l] <= 1) {
				return fmt.Errorf("dedup: probabilistic model: field %s level %d: m %v, u %v, want probabilities above 0: fit it again", fm.Name, l, fm.M[l], fm.U[l])
			}
		}
	}
	return nil
}

func newScorer(m *Model) *scorer {
	s := &scorer{m: m}
	for f := range nFields {
		fm := &m.Fields[f]
		for l := 1; l < levels; l++ {
			s.level[f][l] = math.Log2(fm.M[l] / fm.U[l])
		}
		s.logMExact[f] = math.Log2(fm.M[levelExact])
		s.logN[f] = math.Log2(float64(max(fm.Records, 1)))
		s.logFloor[f] = math.Log2(float64(max(fm.Floor, 1)))
	}
	return s
}

// weigh is the match weight of records a and b, with each field's part.
func (s *scorer) weigh(a, b *pRec) Weights {
	lv := compareRecs(a, b)
	var fw [nFields]float64
	for f, l := range lv {
		switch {
		case l == levelNull:
		case l == levelExact:
			// u for this value: the share of records holding it.
			lf := s.logFloor[f]
			if c, ok := s.m.Fields[f].TF[tfKey(f, a, b)]; ok {
				lf = math.Log2(float64(max(c, s.m.Fields[f].Floor)))
			}
			fw[f] = s.logMExact[f] - (lf - s.logN[f])
		default:
			fw[f] = s.level[f][l]
		}
	}
	// A postal code shared by two different streets is a neighbour's:
	// it counts only when an address is missing.
	if lv[fAddress] == levelDiffer && lv[fPostal] == levelExact {
		lv[fPostal], fw[fPostal] = levelNull, 0
	}
	// The contact identifiers count once: the highest of those filled.
	best := -1
	for f := fAddress; f < nFields; f++ {
		if lv[f] != levelNull && (best < 0 || fw[f] > fw[best]) {
			best = f
		}
	}
	for f := fAddress; f < nFields; f++ {
		if f != best {
			fw[f] = 0
		}
	}
	// A household shares its surname with its identifiers: when both
	// agree they are one piece of evidence (the family's), counted once.
	if best >= 0 && fw[best] > 0 && fw[fLast] > 0 {
		if fw[fLast] > fw[best] {
			fw[best] = 0
		} else {
			fw[fLast] = 0
		}
	}
	w := Weights{First: fw[fFirst], Last: fw[fLast], Birth: fw[fBirth], Address: fw[fAddress], Postal: fw[fPostal],
		Email: fw[fEmail], Phone: fw[fPhone], Valid: true}
	w.Total = s.m.Prior + w.First + w.Last + w.Birth + w.Address + w.Postal + w.Email + w.Phone
	return w
}

// ModelFitter collects accounts and fits a Model on them.
type ModelFitter struct {
	recs []fitRec
}

type fitRec struct {
	ref AccountRef
	p   pRec
}

// NewModelFitter returns an empty fitter.
func NewModelFitter() *ModelFitter { return &ModelFitter{} }

// Add adds an account (any order; each account once): the fitter keeps
// its normalised record.
func (f *ModelFitter) Add(a *Account) {
	r := rec{email: NormEmail(a.Email), last: NormName(a.Last), first: NormName(a.First), addr: NormAddress(a.Street1, a.Street2),
		postal: NormPostal(a.Zip)}
	f.recs = append(f.recs, fitRec{ref: a.AccountRef, p: pRecOfAccount(a, &r)})
}

// Fit estimates the model from the accounts added (see the top of this
// file). The same accounts in any order give the same model.
func (f *ModelFitter) Fit() (*Model, error) {
	slices.SortFunc(f.recs, func(a, b fitRec) int {
		if c := strings.Compare(a.ref.Team, b.ref.Team); c != 0 {
			return c
		}
		return int(a.ref.AcctID) - int(b.ref.AcctID)
	})
	recs := make([]*pRec, len(f.recs))
	for i := range f.recs {
		recs[i] = &f.recs[i].p
	}
	m := &Model{Version: modelVersion, Accounts: int64(len(recs)), Threshold: 0}
	for fi := range nFields {
		m.Fields[fi].Name = fieldNames[fi]
	}
	// Four independent parts, on as many goroutines: each reads the
	// records and writes its own results, so the model is the same.
	var (
		u      [nFields][levels]float64
		pa, pb []pattern
		sa, sb int64
		g      errgroup.Group
	)
	g.Go(func() error { termFrequencies(m, recs); return nil })
	g.Go(func() error { u = randomPairLevelsP(recs); return nil })
	// Session A: one birth date; session B: one first and last name.
	g.Go(func() error {
		pa, sa = blockPatterns(recs, func(p *pRec) uint64 { return uint64(p.birth) })
		return nil
	})
	g.Go(func() error {
		pb, sb = blockPatterns(recs, func(p *pRec) uint64 {
			if p.first == "" || p.last == "" {
				return 0
			}
			return valueHash('n', p.first, p.last)
		})
		return nil
	})
	_ = g.Wait()
	for fi := range nFields {
		m.Fields[fi].U = u[fi]
		m.Fields[fi].M = defaultM
	}
	m.SessionBirthPairs, m.SessionNamePairs = sa, sb
	var mA, mB [nFields][levels]float64
	var lamA, lamB float64
	if len(pa) > 0 {
		mA, lamA, _ = runEM(pa, u, 1<<fBirth)
		for _, fi := range []int{fFirst, fLast, fAddress, fPostal, fEmail, fPhone} {
			m.Fields[fi].M = mA[fi]
		}
	}
	birthShare := -1.0 // share of matches with one birth date, filled in both
	if len(pb) > 0 {
		mB, lamB, birthShare = runEM(pb, u, 1<<fFirst|1<<fLast)
		m.Fields[fBirth].M = mB[fBirth]
		if len(pa) == 0 {
			for _, fi := range []int{fAddress, fPostal, fEmail, fPhone} {
				m.Fields[fi].M = mB[fi]
			}
		}
	}
	// Matching pairs among all: from session A, scaled by the share of
	// matches it can see; else from session B, assuming a person's
	// names agree exactly.
	n := float64(len(recs))
	all := n * (n - 1) / 2
	matches := n / 2 // no session: as if every other account had a duplicate
	switch {
	case len(pa) > 0 && birthShare > 0:
		matches = lamA * float64(sa) / birthShare
	case len(pa) > 0:
		cov := float64(m.Fields[fBirth].Records) / max(n, 1)
		matches = lamA * float64(sa) / max(cov*cov*defaultM[levelExact], 1e-6)
	case len(pb) > 0:
		matches = lamB * float64(sb) / (defaultM[levelExact] * defaultM[levelExact])
	}
	lambda := min(max(matches/max(all, 1), 1e-15), 0.5)
	m.Prior = math.Log2(lambda / (1 - lambda))
	return m, checkModel(m)
}

var defaultM = [levels]float64{0, 0.9, 0.05, 0.02, 0.03}

// termFrequencies counts each field's values and keeps those held by at
// least two records, the most common first, up to maxTFPerField.
func termFrequencies(m *Model, recs []*pRec) {
	vals := make([]uint64, 0, len(recs))
	for f := range nFields {
		// The values sorted, counted by runs: a map of a million
		// values costs more than sorting them.
		vals = vals[:0]
		var records int64
		for _, p := range recs {
			if f == fPhone {
				if p.phones[0] != 0 {
					records++
				}
				for _, ph := range p.phones {
					if ph != 0 {
						vals = append(vals, uint64(ph))
					}
				}
				continue
			}
			if k := fieldValue(f, p); k != 0 {
				records++
				vals = append(vals, k)
			}
		}
		slices.Sort(vals)
		type kv struct {
			k uint64
			n uint32
		}
		var kept []kv
		for i := 0; i < len(vals); {
			j := i + 1
			for j < len(vals) && vals[j] == vals[i] {
				j++
			}
			if j-i >= 2 {
				kept = append(kept, kv{vals[i], uint32(min(j-i, math.MaxUint32))})
			}
			i = j
		}
		fm := &m.Fields[f]
		fm.Records, fm.Floor, fm.TF = records, 1, map[uint64]uint32{}
		if len(kept) > maxTFPerField {
			slices.SortFunc(kept, func(a, b kv) int {
				if a.n != b.n {
					return int(b.n) - int(a.n)
				}
				if a.k < b.k {
					return -1
				}
				return 1
			})
			kept = kept[:maxTFPerField]
			fm.Floor = kept[len(kept)-1].n
		}
		for _, x := range kept {
			fm.TF[x.k] = x.n
		}
	}
}

// fieldValue is record p's value of field f as term frequencies count
// it, 0 for none (not for phones, of which a record has several).
func fieldValue(f int, p *pRec) uint64 {
	switch f {
	case fFirst:
		if p.first != "" {
			return valueHash('f', p.first)
		}
	case fLast:
		if p.last != "" {
			return valueHash('l', p.last)
		}
	default:
		return tfKey(f, p, nil)
	}
	return 0
}

// randomPairLevelsP is u: each field's level frequencies over random
// pairs (a fixed sequence over the sorted records), smoothed.
func randomPairLevelsP(recs []*pRec) [nFields][levels]float64 {
	var counts [nFields][levels]float64
	if len(recs) >= 2 {
		var x uint64 = 0x9e3779b97f4a7c15
		next := func() int {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			return int(x % uint64(len(recs)))
		}
		for range randomPairs {
			a, b := next(), next()
			if a == b {
				continue
			}
			lv := compareRecs(recs[a], recs[b])
			for f, l := range lv {
				counts[f][l]++
			}
		}
	}
	var u [nFields][levels]float64
	for f := range u {
		u[f] = normalise(counts[f])
	}
	return u
}

// normalise makes counts over the filled levels probabilities, smoothed
// so that none is zero.
func normalise(c [levels]float64) [levels]float64 {
	var t float64
	for l := 1; l < levels; l++ {
		t += c[l]
	}
	var p [levels]float64
	for l := 1; l < levels; l++ {
		p[l] = clamp((c[l] + 0.5) / (t + 0.5*(levels-1)))
	}
	return p
}

type pattern struct {
	lv [nFields]uint8
	n  float64
}

// blockPatterns compares the pairs of records sharing a key (0: none),
// in blocks of at most maxFitBlock, sampled down to about maxSessionPairs,
// and returns their level patterns with counts, and the number of pairs
// the blocks hold.
func blockPatterns(recs []*pRec, key func(*pRec) uint64) ([]pattern, int64) {
	blocks := map[uint64][]int32{}
	for i, p := range recs {
		if k := key(p); k != 0 {
			blocks[k] = append(blocks[k], int32(i))
		}
	}
	keys := make([]uint64, 0, len(blocks))
	var total int64
	for k, b := range blocks {
		if len(b) >= 2 && len(b) <= maxFitBlock {
			keys = append(keys, k)
			total += int64(len(b)) * int64(len(b)-1) / 2
		}
	}
	slices.Sort(keys)
	// Keep a pair when its hash falls under the rate: the same pairs
	// whatever the machine.
	limit := uint64(math.MaxUint64)
	if total > maxSessionPairs {
		limit = uint64(float64(math.MaxUint64) * (float64(maxSessionPairs) / float64(total)))
	}
	counts := map[[nFields]uint8]float64{}
	for _, k := range keys {
		b := blocks[k]
		for x := range b {
			for y := x + 1; y < len(b); y++ {
				if limit != math.MaxUint64 && mix64(uint64(b[x])<<32|uint64(b[y])) > limit {
					continue
				}
				counts[compareRecs(recs[b[x]], recs[b[y]])]++
			}
		}
	}
	out := make([]pattern, 0, len(counts))
	for lv, n := range counts {
		out = append(out, pattern{lv, n})
	}
	slices.SortFunc(out, func(a, b pattern) int {
		for f := range a.lv {
			if a.lv[f] != b.lv[f] {
				return int(a.lv[f]) - int(b.lv[f])
			}
		}
		return 0
	})
	return out, total
}

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// runEM estimates m and the share of matches λ over the patterns, u
// fixed, the fields in skip (the session's blocking fields) left out. It
// also returns the share of the matches' mass whose birth dates are
// equal (filled in both).
func runEM(ps []pattern, u [nFields][levels]float64, skip int) ([nFields][levels]float64, float64, float64) {
	m := [nFields][levels]float64{}
	for f := range m {
		m[f] = defaultM
	}
	lambda := 0.1
	post := make([]float64, len(ps))
	birthShare := 0.0
	for range emIterations {
		var lu, lm [nFields][levels]float64
		for f := range nFields {
			for l := 1; l < levels; l++ {
				lm[f][l], lu[f][l] = math.Log(m[f][l]), math.Log(u[f][l])
			}
		}
		var cm [nFields][levels]float64
		var mass, total, birthEq float64
		for i, p := range ps {
			a, b := math.Log(lambda), math.Log(1-lambda)
			for f, l := range p.lv {
				if l == levelNull || skip&(1<<f) != 0 {
					continue
				}
				a += lm[f][l]
				b += lu[f][l]
			}
			post[i] = 1 / (1 + math.Exp(b-a))
			w := post[i] * p.n
			mass += w
			total += p.n
			if p.lv[fBirth] == levelExact {
				birthEq += w
			}
			for f, l := range p.lv {
				cm[f][l] += w
			}
		}
		for f := range nFields {
			if skip&(1<<f) == 0 {
				m[f] = normalise(cm[f])
			}
		}
		lambda = clamp(mass / max(total, 1))
		if mass > 0 {
			birthShare = birthEq / mass
		}
	}
	return m, lambda, birthShare
}
