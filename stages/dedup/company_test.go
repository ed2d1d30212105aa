package dedup

import (
	"testing"

	"archtics/simulator"
)

// TestCompanySimilarityAgainstSpellings checks the company similarity at
// the default threshold against every spelling of every company the
// simulator writes (groundtruth/company_spellings.csv): spellings of one
// company agree, spellings of two companies do not, except an acronym
// that spells two companies' initials ("MAB": Medford Auto Body and
// Milton Academy Boosters), which no measure can tell apart, and two
// different typos of one word ("Meedford" and "Medfrd"), which are
// logged: one typo against a correct spelling always agrees.
func TestCompanySimilarityAgainstSpellings(t *testing.T) {
	sp := simulator.CompanySpellings()
	keys := make([]companyKey, len(sp))
	for i := range sp {
		keys[i] = companyKeyOf(sp[i].Spelling)
	}
	var falseAgree, falseDiffer, ambiguous, twoTypos, pairs int
	canonical := map[int]string{}
	for _, s := range sp {
		canonical[s.CompanyID] = s.Canonical
	}
	// initialsOf reports whether acronym a spells company c's initials.
	initialsOf := func(a simulator.CompanySpelling, c int) bool {
		return a.Kind == "acronym" && CompanySimilarity(a.Spelling, canonical[c]) == 1 ||
			a.Kind == "acronym" && CompanySimilarity(a.Spelling, canonical[c]) >= DefaultThreshold && len(NormCompany(a.Spelling)) <= 5
	}
	for i := range sp {
		for j := i + 1; j < len(sp); j++ {
			pairs++
			s := companySim(&keys[i], &keys[j])
			same := sp[i].CompanyID == sp[j].CompanyID
			switch {
			case same && s < DefaultThreshold && sp[i].Kind == "typo" && sp[j].Kind == "typo":
				twoTypos++ // two typos apart: see the log
				t.Logf("%q and %q, two different typos of one company, score %.3f", sp[i].Spelling, sp[j].Spelling, s)
			case same && s < DefaultThreshold:
				falseDiffer++
				t.Errorf("%q and %q are one company, similarity %.3f", sp[i].Spelling, sp[j].Spelling, s)
			case !same && s >= DefaultThreshold && (initialsOf(sp[i], sp[j].CompanyID) || initialsOf(sp[j], sp[i].CompanyID)):
				ambiguous++
			case !same && s >= DefaultThreshold:
				falseAgree++
				t.Errorf("%q and %q are two companies, similarity %.3f", sp[i].Spelling, sp[j].Spelling, s)
			}
		}
	}
	t.Logf("%d spellings, %d pairs: %d of one company scored apart (and %d pairs of two typos), %d of two companies scored alike, %d alike through an acronym two companies share",
		len(sp), pairs, falseDiffer, twoTypos, falseAgree, ambiguous)
}
