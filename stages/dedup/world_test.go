package dedup_test

import (
	"fmt"
	"slices"
	"strconv"

	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// worldInput is a simulated world's deduplication input: the dump's
// primary names, each with the person it is, and the pre-existing CRM.
// The simulator's types become the engine's here, in a test, so that
// neither the engine nor package evaluate imports the simulator.
func worldInput(w *simulator.World) evaluate.Input {
	dump := w.DumpPrimaryNames()
	accounts := make([]evaluate.Account, len(dump))
	for i := range dump {
		d := &dump[i]
		accounts[i] = evaluate.Account{Person: d.Person, Excluded: d.Excluded, Account: dedup.Account{
			AccountRef: dedup.AccountRef{Team: d.Team, AcctID: d.AcctID}, AddDate: d.AddDate, AcctType: d.AcctType,
			First: d.First, Last: d.Last, Email: d.Email, Company: d.Company, Street1: d.Street1, Street2: d.Street2,
			City: d.City, State: d.State, Zip: d.Zip, PhoneDay: d.PhoneDay, PhoneCell: d.PhoneCell, PhoneEve: d.PhoneEve,
			BirthDate: d.BirthDate, HouseholdID: d.HouseholdID}}
	}
	return evaluate.NewInput(accounts, crmState(w))
}

// crmState is the world's pre-existing CRM as an engine state.
func crmState(w *simulator.World) dedup.State {
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

// truthDiff compares an engine's state with the world's CRM truth: for
// every pre-existing contact, its primary, its secondaries and its fields
// after the load (the company by the company its CRM account names). It
// returns one line per difference.
func truthDiff(w *simulator.World, st dedup.State) []string {
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
