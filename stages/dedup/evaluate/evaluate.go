// Package evaluate measures the dedup engine against the simulator's
// truth: it feeds a world's accounts (the dump's primary names) and its
// pre-existing CRM to an engine, then compares what the engine decided
// with the CRM truth (CRMTruth: every pre-existing contact's primary,
// secondaries and fields after the load) and with who is who (PersonOf:
// pairwise precision and recall over accounts of one person). Tests and
// docs/crm.md's figures use it; nothing in production does.
package evaluate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"archtics/simulator"
	"archtics/stages/dedup"
)

// Input is a world's deduplication input.
type Input struct {
	Accounts []dedup.Account // not excluded, in the found-first order
	Excluded int             // accounts of excluded types, left out
	CRM      dedup.State     // the pre-existing CRM
	Person   map[dedup.AccountRef]string
	Dump     map[dedup.AccountRef]*simulator.DumpAccount
}

// Load builds the input from a world: the dump's primary names without
// the excluded account types, sorted by FoundFirst, and the CRM.
func Load(w *simulator.World) Input {
	dump := w.DumpPrimaryNames()
	in := Input{Person: make(map[dedup.AccountRef]string, len(dump)), Dump: make(map[dedup.AccountRef]*simulator.DumpAccount, len(dump))}
	in.Accounts = make([]dedup.Account, 0, len(dump))
	for i := range dump {
		d := &dump[i]
		ref := dedup.AccountRef{Team: d.Team, AcctID: d.AcctID}
		in.Person[ref] = d.Person
		in.Dump[ref] = d
		if d.Excluded {
			in.Excluded++
			continue
		}
		in.Accounts = append(in.Accounts, AccountOf(d))
	}
	SortFoundFirst(in.Accounts)
	in.CRM = CRMState(w)
	return in
}

// AccountOf is a dump account as the engine takes it.
func AccountOf(d *simulator.DumpAccount) dedup.Account {
	return dedup.Account{AccountRef: dedup.AccountRef{Team: d.Team, AcctID: d.AcctID}, AddDate: d.AddDate, AcctType: d.AcctType,
		First: d.First, Last: d.Last, Email: d.Email, Company: d.Company, Street1: d.Street1, Street2: d.Street2,
		City: d.City, State: d.State, Zip: d.Zip, PhoneDay: d.PhoneDay, PhoneCell: d.PhoneCell, PhoneEve: d.PhoneEve,
		BirthDate: d.BirthDate, HouseholdID: d.HouseholdID}
}

// SortFoundFirst sorts accounts in the found-first order.
func SortFoundFirst(as []dedup.Account) {
	sort.Slice(as, func(i, j int) bool { return dedup.FoundFirst(&as[i], &as[j]) })
}

// CRMState is the world's pre-existing CRM as an engine state.
func CRMState(w *simulator.World) dedup.State {
	cs, as := w.CRM()
	var st dedup.State
	st.Contacts = make([]dedup.Contact, len(cs))
	for i, c := range cs {
		st.Contacts[i] = dedup.Contact{ID: c.ID, First: c.First, Last: c.Last, Email: c.Email, Phone: c.Phone, AccountID: c.AccountID,
			Street: c.Street, City: c.City, State: c.State, PostalCode: c.Zip, Created: c.Created, Updated: c.Updated, Source: "crm"}
	}
	st.Accounts = make([]dedup.CRMAccount, len(as))
	for i, a := range as {
		st.Accounts[i] = dedup.CRMAccount{ID: a.ID, Name: a.Name, Type: a.Type, City: a.City, State: a.State, Created: a.Created, Source: "crm"}
	}
	return st
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

// TruthDiff compares an engine's state with the CRM truth: for every
// pre-existing contact, its primary, its secondaries and its fields after
// the load (the company by the company its CRM account names). It
// returns one line per difference.
func TruthDiff(w *simulator.World, st dedup.State) []string {
	truth, _ := w.CRMTruth()
	byID := map[string]*dedup.Contact{}
	for i := range st.Contacts {
		byID[st.Contacts[i].ID] = &st.Contacts[i]
	}
	acct := map[string]*dedup.CRMAccount{}
	for i := range st.Accounts {
		acct[st.Accounts[i].ID] = &st.Accounts[i]
	}
	secondary := map[string][]dedup.AccountRef{}
	for _, m := range st.Mapping {
		if m.Role == dedup.Secondary {
			secondary[m.ContactID] = append(secondary[m.ContactID], m.Account)
		}
	}
	ref := func(r *simulator.AccountRef) string {
		if r == nil {
			return "none"
		}
		return r.Team + ":" + strconv.Itoa(int(r.AcctID))
	}
	var out []string
	for _, t := range truth {
		c := byID[t.ContactID]
		if c == nil {
			out = append(out, t.ContactID+": missing from the engine's state")
			continue
		}
		diff := func(what, got, want string) {
			if got != want {
				out = append(out, fmt.Sprintf("%s (%s): %s is %q, truth %q", t.ContactID, t.Story, what, got, want))
			}
		}
		var got string
		if c.Primary == nil {
			got = "none"
		} else {
			got = c.Primary.Team + ":" + strconv.Itoa(int(c.Primary.AcctID))
		}
		diff("primary", got, ref(t.Primary))
		var gs, ws []string
		for _, s := range secondary[t.ContactID] {
			gs = append(gs, s.Team+":"+strconv.Itoa(int(s.AcctID)))
		}
		for _, s := range t.Secondary {
			ws = append(ws, s.Team+":"+strconv.Itoa(int(s.AcctID)))
		}
		slices.Sort(gs)
		slices.Sort(ws)
		diff("secondaries", fmt.Sprint(gs), fmt.Sprint(ws))
		a := t.After
		diff("first", c.First, a.First)
		diff("last", c.Last, a.Last)
		diff("email", c.Email, a.Email)
		diff("phone", c.Phone, a.Phone)
		company := -1
		if ca := acct[c.AccountID]; ca != nil && ca.Type == "Company" {
			company = simulator.CompanyOf(ca.Name)
		}
		diff("company", strconv.Itoa(company), strconv.Itoa(a.CompanyID))
		diff("street", c.Street, a.Street)
		diff("street2", c.Street2, a.Street2)
		diff("city", c.City, a.City)
		diff("state", c.State, a.State)
		diff("postal code", c.PostalCode, a.PostalCode)
	}
	return out
}

// Quality is pairwise precision and recall over accounts of one person:
// a predicted pair is two accounts mapped to one contact, a true pair two
// accounts of one person (PersonOf).
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
					q.MissesByCause[missCause(in.Dump[as[i]], in.Dump[as[j]])]++
				}
			}
		}
		if split {
			q.PeopleSplit++
		}
	}
	q.LinkablePairs, q.LinkableFound = linkable(in, byPerson, contactOf)
	q.RecallLinkable = 1
	if q.LinkablePairs > 0 {
		q.RecallLinkable = float64(q.LinkableFound) / float64(q.LinkablePairs)
	}
	byName := map[[2]string]map[string]int64{}
	for _, a := range in.Accounts {
		d := in.Dump[a.AccountRef]
		k := [2]string{dedup.NormName(d.First), dedup.NormName(d.Last)}
		if k[0] == "" || k[1] == "" {
			continue
		}
		if byName[k] == nil {
			byName[k] = map[string]int64{}
		}
		byName[k][d.Person]++
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
					q.FalseByCause[falseCause(in.Dump[as[i]], in.Dump[as[j]])]++
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
func missCause(a, b *simulator.DumpAccount) string {
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
func falseCause(a, b *simulator.DumpAccount) string {
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
func linkable(in Input, byPerson map[string][]dedup.AccountRef, contactOf map[dedup.AccountRef]string) (pairsAll, found int64) {
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
				if shareIdentifier(in.Dump[as[i]], in.Dump[as[j]]) {
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
func shareIdentifier(a, b *simulator.DumpAccount) bool {
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
