// Package evaluate measures the dedup engine against a labelled truth:
// it feeds accounts whose person is known, and a pre-existing CRM, to an
// engine, then measures what the engine decided against who is who
// (pairwise precision and recall over accounts of one person, with the
// cause of every miss and false join). The truth is plain data the
// caller gives: the tests build it from the simulator's worlds, which
// this package does not import. Tests, benchmarks and docs/crm.md's
// figures use it; nothing in production does.
package evaluate

import (
	"fmt"
	"sort"
	"time"

	"archtics/stages/dedup"
)

// Account is an account with what the truth knows of it and the engine
// must not see.
type Account struct {
	dedup.Account
	Person   string // who the account is
	Excluded bool   // its type is excluded from the CRM: left out, counted
}

// Input is a labelled deduplication input.
type Input struct {
	Accounts []dedup.Account // not excluded, in the found-first order
	Excluded int             // accounts of excluded types, left out
	CRM      dedup.State     // the pre-existing CRM
	Person   map[dedup.AccountRef]string
}

// NewInput builds the input from labelled accounts and the pre-existing
// CRM: the accounts not excluded, sorted by FoundFirst.
func NewInput(accounts []Account, crm dedup.State) Input {
	in := Input{CRM: crm, Person: make(map[dedup.AccountRef]string, len(accounts))}
	in.Accounts = make([]dedup.Account, 0, len(accounts))
	for i := range accounts {
		a := &accounts[i]
		in.Person[a.AccountRef] = a.Person
		if a.Excluded {
			in.Excluded++
			continue
		}
		in.Accounts = append(in.Accounts, a.Account)
	}
	SortFoundFirst(in.Accounts)
	return in
}

// SortFoundFirst sorts accounts in the found-first order.
func SortFoundFirst(as []dedup.Account) {
	sort.Slice(as, func(i, j int) bool { return dedup.FoundFirst(&as[i], &as[j]) })
}

// Fixed is a clock for deterministic runs.
func Fixed() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// Run feeds the input to a new engine and returns it.
func Run(in Input, cfg dedup.Config) (*dedup.Engine, error) {
	if cfg.Now == nil {
		cfg.Now = Fixed
	}
	e, err := dedup.New(cfg, in.CRM)
	if err != nil {
		return nil, err
	}
	for i := range in.Accounts {
		if _, err := e.Add(&in.Accounts[i]); err != nil {
			return nil, fmt.Errorf("add account %s:%d: %w", in.Accounts[i].Team, in.Accounts[i].AcctID, err)
		}
	}
	return e, nil
}

// Quality is pairwise precision and recall over accounts of one person:
// a predicted pair is two accounts mapped to one contact, a true pair two
// accounts of one person (Input.Person).
type Quality struct {
	Accounts        int // accounts deduplicated (excluded types left out)
	Excluded        int
	Contacts        int // contacts after the run (pre-existing and created)
	Created         int
	TruePairs       int64
	PredictedPairs  int64
	TruePositives   int64
	FalsePositives  int64
	FalseNegatives  int64
	Precision       float64
	Recall          float64
	MissesByCause   map[string]int64 // false negatives by why the two accounts did not meet
	FalseByCause    map[string]int64 // false positives by what joined two people
	PeopleSplit     int              // people whose accounts went to several contacts
	ContactsMerging int              // contacts holding accounts of several people
	// Linkable pairs are true pairs the data can join: the two accounts
	// are connected, through the person's accounts, by identifiers they
	// share (an email, a phone number, a birth date, an address). The
	// others share nothing but a name: a corporate account with the work
	// email, phone and office, and a personal one, say.
	LinkablePairs, LinkableFound int64
	RecallLinkable               float64
	// NamesakePairs are pairs of accounts of different people with the
	// same first and last name (normalised): what a join on the name
	// alone would add to the false positives.
	NamesakePairs int64
}

func pairs(n int64) int64 { return n * (n - 1) / 2 }

// Measure computes the pairwise quality of an engine's mapping.
func Measure(in Input, st dedup.State) Quality {
	q := Quality{Accounts: len(in.Accounts), Excluded: in.Excluded, Contacts: len(st.Contacts),
		MissesByCause: map[string]int64{}, FalseByCause: map[string]int64{}}
	for _, c := range st.Contacts {
		if c.Source == "archtics" {
			q.Created++
		}
	}
	byContact := map[string][]dedup.AccountRef{}
	contactOf := map[dedup.AccountRef]string{}
	for _, m := range st.Mapping {
		byContact[m.ContactID] = append(byContact[m.ContactID], m.Account)
		contactOf[m.Account] = m.ContactID
	}
	acct := make(map[dedup.AccountRef]*dedup.Account, len(in.Accounts))
	for i := range in.Accounts {
		acct[in.Accounts[i].AccountRef] = &in.Accounts[i]
	}
	byPerson := map[string][]dedup.AccountRef{}
	for _, a := range in.Accounts {
		byPerson[in.Person[a.AccountRef]] = append(byPerson[in.Person[a.AccountRef]], a.AccountRef)
	}
	cell := map[[2]string]int64{}
	for _, a := range in.Accounts {
		cell[[2]string{contactOf[a.AccountRef], in.Person[a.AccountRef]}]++
	}
	for _, n := range cell {
		q.TruePositives += pairs(n)
	}
	for _, as := range byContact {
		q.PredictedPairs += pairs(int64(len(as)))
	}
	for _, as := range byPerson {
		q.TruePairs += pairs(int64(len(as)))
	}
	pc := dedup.PairCounts{TruePairs: q.TruePairs, PredictedPairs: q.PredictedPairs, TruePositives: q.TruePositives}
	q.FalsePositives, q.FalseNegatives, q.Precision, q.Recall = pc.FalsePositives(), pc.FalseNegatives(), pc.Precision(), pc.Recall()
	// Causes, pair by pair (the clusters are small).
	for _, as := range byPerson {
		split := false
		for i := range as {
			for j := i + 1; j < len(as); j++ {
				if contactOf[as[i]] != contactOf[as[j]] {
					split = true
					q.MissesByCause[missCause(acct[as[i]], acct[as[j]])]++
				}
			}
		}
		if split {
			q.PeopleSplit++
		}
	}
	q.LinkablePairs, q.LinkableFound = linkable(acct, byPerson, contactOf)
	q.RecallLinkable = 1
	if q.LinkablePairs > 0 {
		q.RecallLinkable = float64(q.LinkableFound) / float64(q.LinkablePairs)
	}
	byName := map[[2]string]map[string]int64{}
	for _, a := range in.Accounts {
		k := [2]string{dedup.NormName(a.First), dedup.NormName(a.Last)}
		if k[0] == "" || k[1] == "" {
			continue
		}
		if byName[k] == nil {
			byName[k] = map[string]int64{}
		}
		byName[k][in.Person[a.AccountRef]]++
	}
	for _, people := range byName {
		var all, same int64
		for _, n := range people {
			all += n
			same += pairs(n)
		}
		q.NamesakePairs += pairs(all) - same
	}
	for _, as := range byContact {
		mixed := false
		for i := range as {
			for j := i + 1; j < len(as); j++ {
				if in.Person[as[i]] != in.Person[as[j]] {
					mixed = true
					q.FalseByCause[falseCause(acct[as[i]], acct[as[j]])]++
				}
			}
		}
		if mixed {
			q.ContactsMerging++
		}
	}
	return q
}

// missCause says why two accounts of one person were not joined, from
// how their primary names differ, in the order the rules need them.
func missCause(a, b *dedup.Account) string {
	ea, eb := dedup.NormEmail(a.Email), dedup.NormEmail(b.Email)
	la, lb := dedup.NormName(a.Last), dedup.NormName(b.Last)
	fa, fb := dedup.NormName(a.First), dedup.NormName(b.First)
	switch {
	case ea != "" && ea == eb:
		return "same email, different contacts (the person's accounts matched different CRM contacts)"
	case la == fb && fa == lb:
		return "first and last name swapped"
	case la != lb:
		return "last name differs (typo)"
	case dedup.FirstNameSimilarity(fa, fb) < dedup.DefaultThreshold:
		return "first name not recognised (nickname or typo)"
	case (a.Company == "") != (b.Company == "") || dedup.CompanySimilarity(a.Company, b.Company) < dedup.DefaultThreshold:
		return "company differs (employer change, or corporate and personal accounts)"
	case dedup.NormPostal(a.Zip) != dedup.NormPostal(b.Zip):
		if ea == "" || eb == "" {
			return "address differs (moved) and an email missing"
		}
		return "address differs (moved) and emails differ"
	case dedup.AddressSimilarity(dedup.NormAddress(a.Street1, a.Street2), dedup.NormAddress(b.Street1, b.Street2)) < dedup.DefaultThreshold:
		return "street differs at the same postal code"
	}
	return "rules hold between the accounts, but they matched different contacts"
}

// CauseSharedEmail is the false-join cause of an email two people share.
const CauseSharedEmail = "shared email (household, family or company inbox)"

// falseCause says what joined two accounts of different people.
func falseCause(a, b *dedup.Account) string {
	ea, eb := dedup.NormEmail(a.Email), dedup.NormEmail(b.Email)
	switch {
	case ea != "" && ea == eb:
		return CauseSharedEmail
	case dedup.NormName(a.Last) == dedup.NormName(b.Last) && dedup.NormPostal(a.Zip) == dedup.NormPostal(b.Zip):
		return "same last name, similar first name, same address (household member)"
	}
	return "joined through a contact both matched (chained)"
}

// linkable counts the true pairs whose accounts are connected through the
// person's accounts by shared identifiers, and how many of them the
// mapping joined.
func linkable(acct map[dedup.AccountRef]*dedup.Account, byPerson map[string][]dedup.AccountRef, contactOf map[dedup.AccountRef]string) (pairsAll, found int64) {
	for _, as := range byPerson {
		if len(as) < 2 {
			continue
		}
		parent := make([]int, len(as))
		for i := range parent {
			parent[i] = i
		}
		find := func(i int) int {
			for parent[i] != i {
				parent[i] = parent[parent[i]]
				i = parent[i]
			}
			return i
		}
		for i := range as {
			for j := i + 1; j < len(as); j++ {
				if shareIdentifier(acct[as[i]], acct[as[j]]) {
					parent[find(i)] = find(j)
				}
			}
		}
		for i := range as {
			for j := i + 1; j < len(as); j++ {
				if find(i) == find(j) {
					pairsAll++
					if contactOf[as[i]] == contactOf[as[j]] {
						found++
					}
				}
			}
		}
	}
	return pairsAll, found
}

// shareIdentifier reports whether two accounts share an email, a phone
// number (any of day, cell and evening against any), a birth date or an
// address (postal code, and a similar street).
func shareIdentifier(a, b *dedup.Account) bool {
	if e := dedup.NormEmail(a.Email); e != "" && e == dedup.NormEmail(b.Email) {
		return true
	}
	if a.BirthDate != "" && a.BirthDate == b.BirthDate {
		return true
	}
	for _, p := range []string{a.PhoneDay, a.PhoneCell, a.PhoneEve} {
		p = dedup.NormPhone(p)
		if len(p) < 7 {
			continue
		}
		for _, o := range []string{b.PhoneDay, b.PhoneCell, b.PhoneEve} {
			if p == dedup.NormPhone(o) {
				return true
			}
		}
	}
	pa := dedup.NormPostal(a.Zip)
	if pa == "" || pa != dedup.NormPostal(b.Zip) {
		return false
	}
	aa, ab := dedup.NormAddress(a.Street1, a.Street2), dedup.NormAddress(b.Street1, b.Street2)
	return !aa.Blank() && !ab.Blank() && dedup.AddressSimilarity(aa, ab) >= dedup.DefaultThreshold
}
