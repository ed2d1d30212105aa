package simulator

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"archtics/schemas"
)

// TestTremblayBothOrders: the seed's story is in the generated world both
// ways round, and the truth records what the initial load must do:
// Gabriel Tremblay's outdated TryNowDo Ltd account is older, so it becomes
// his contact's primary, overwrites it and re-links it to TryNowDo Ltd;
// Sophie Gagnon's current Sporting Service Solutions Inc account is older,
// so her contact keeps its company and her outdated account is secondary.
func TestTremblayBothOrders(t *testing.T) {
	w := small(t)
	dump := primaryAt(w, w.Cutoff().Add(-time.Nanosecond))
	truth, _ := w.CRMTruth()
	c := schemas.Cust
	addDate := func(ref AccountRef) time.Time {
		r, ok := dump[ref]
		if !ok {
			t.Fatalf("account %v is not in the dump", ref)
		}
		at, err := time.ParseInLocation(TimeLayout, r[col(c, "add_date")], w.Location())
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	for _, tc := range []struct {
		story, first, last       string
		primaryCo, secondaryCo   string
		afterCompany             string
		afterCompanyID           int
		primaryIsOutdatedAccount bool
	}{
		{"tremblay_outdated_first", "Gabriel", "Tremblay", "TryNowDo Ltd", "Sporting Service Solutions Inc", "TryNowDo Ltd", 1, true},
		{"gagnon_current_first", "Sophie", "Gagnon", "Sporting Service Solutions Inc", "TryNowDo Ltd", "Sporting Service Solutions Inc", 0, false},
	} {
		t.Run(tc.story, func(t *testing.T) {
			i := slices.IndexFunc(truth, func(x CRMContactTruth) bool { return x.Story == tc.story })
			if i < 0 {
				t.Fatalf("no contact with story %s", tc.story)
			}
			tr := truth[i]
			if tr.Before.First != tc.first || tr.Before.Last != tc.last || tr.Before.Company != "Sporting Service Solutions Inc" {
				t.Fatalf("contact before the load: %+v", tr.Before)
			}
			if tr.Primary == nil || len(tr.Secondary) != 1 {
				t.Fatalf("primary %v, secondary %v: want one of each", tr.Primary, tr.Secondary)
			}
			p, s := *tr.Primary, tr.Secondary[0]
			if got := dump[p][col(c, "company_name")]; got != tc.primaryCo {
				t.Errorf("primary %v is at %q, want %q", p, got, tc.primaryCo)
			}
			if got := dump[s][col(c, "company_name")]; got != tc.secondaryCo {
				t.Errorf("secondary %v is at %q, want %q", s, got, tc.secondaryCo)
			}
			if !FoundFirst(addDate(p), p, addDate(s), s) {
				t.Errorf("primary %v (added %v) is not found before secondary %v (added %v)", p, addDate(p), s, addDate(s))
			}
			if w.PersonOf(p.Team, p.AcctID) != tr.Person || w.PersonOf(s.Team, s.AcctID) != tr.Person {
				t.Errorf("the two accounts are not the contact's person %s", tr.Person)
			}
			if tr.After.Company != tc.afterCompany || tr.After.CompanyID != tc.afterCompanyID {
				t.Errorf("after the load the contact is at %q (%d), want %q (%d)", tr.After.Company, tr.After.CompanyID, tc.afterCompany, tc.afterCompanyID)
			}
			// The contact takes the primary's details, none of the secondary's.
			pr := dump[p]
			if tr.After.Phone != pr[col(c, "phone_day")] || tr.After.Street != pr[col(c, "street_addr_1")] || tr.After.PostalCode != pr[col(c, "zip")] {
				t.Errorf("after the load %+v, want the primary's phone %s, street %s, zip %s", tr.After,
					pr[col(c, "phone_day")], pr[col(c, "street_addr_1")], pr[col(c, "zip")])
			}
			if tc.primaryIsOutdatedAccount != (tr.After.CompanyID != tr.Before.CompanyID) {
				t.Errorf("re-linked from company %d to %d", tr.Before.CompanyID, tr.After.CompanyID)
			}
		})
	}
}

// TestCRMTruthDescribesTheData: the truth's agreements are about the
// values actually in the CRM file and the dump; each contact's story,
// person and shared email say what they mean; people with several
// contacts are recorded.
func TestCRMTruthDescribesTheData(t *testing.T) {
	w := small(t)
	dump := primaryAt(w, w.Cutoff().Add(-time.Nanosecond))
	contacts, accounts := w.CRM()
	truth, pairs := w.CRMTruth()
	company := map[string]CRMAccount{}
	for _, a := range accounts {
		company[a.ID] = a
		if a.Type == "Company" && CompanyOf(a.Name) != a.CompanyID {
			t.Errorf("CRM account %s %q is company %d, its truth says %d", a.ID, a.Name, CompanyOf(a.Name), a.CompanyID)
		}
	}
	byID := map[string]CRMContact{}
	for _, c := range contacts {
		byID[c.ID] = c
	}
	c := schemas.Cust
	rules := map[string]int{}
	for _, p := range pairs {
		ct := byID[p.ContactID]
		r, ok := dump[p.Account]
		if !ok {
			t.Fatalf("pair %s/%v: account not in the dump", p.ContactID, p.Account)
		}
		if p.SamePerson != (w.PersonOf(p.Account.Team, p.Account.AcctID) == ct.Person) {
			t.Errorf("pair %s/%v: same_person %v, contact person %s", p.ContactID, p.Account, p.SamePerson, ct.Person)
		}
		for _, f := range []struct {
			name, class string
			a, b        string
			norm        func(string) string
		}{
			{"email", p.Email, ct.Email, r[col(c, "email_addr")], normName},
			{"last", p.Last, ct.Last, r[col(c, "name_last")], normName},
			{"phone", p.Phone, ct.Phone, r[col(c, "phone_day")], normPhone},
			{"postal", p.Postal, ct.Zip, r[col(c, "zip")], normPostal},
		} {
			eq := f.norm(f.a) == f.norm(f.b) && f.norm(f.a) != ""
			if eq != (f.class == AgreeSame) {
				t.Errorf("pair %s/%v: %s %q vs %q classed %s", p.ContactID, p.Account, f.name, f.a, f.b, f.class)
			}
		}
		if p.Company == AgreeSame || p.Company == AgreeVariant {
			if CompanyOf(r[col(c, "company_name")]) != company[ct.AccountID].CompanyID {
				t.Errorf("pair %s/%v: company %s but %q is not the contact's company", p.ContactID, p.Account, p.Company, r[col(c, "company_name")])
			}
		}
		for _, x := range p.Rules {
			rules[x]++
		}
	}
	for _, x := range []string{RuleEmail, RuleNameAddress, RuleNamePhone} {
		if rules[x] == 0 {
			t.Errorf("no pair matches by rule %s", x)
		}
	}
	stories := map[string]int{}
	several, overwritten, kept, none := 0, 0, 0, 0
	for i, tr := range truth {
		ct := contacts[i]
		stories[tr.Story]++
		if (ct.Person == "") != (tr.Story == "none") {
			t.Errorf("%s: story %s, person %q", ct.ID, tr.Story, ct.Person)
		}
		if tr.PersonContacts > 1 {
			several++
		}
		switch {
		case tr.Primary == nil:
			none++
			if tr.After != tr.Before {
				t.Errorf("%s: no primary, yet changed by the load", ct.ID)
			}
		case tr.Overwritten:
			overwritten++
		default:
			kept++
		}
		if tr.Story == "none" && tr.Primary != nil {
			// Somebody in no account can only be matched through a shared
			// email or by a namesake's coincidence, never by exact email.
			for _, p := range pairs {
				if p.ContactID == ct.ID && slices.Contains(p.Rules, RuleEmail) {
					t.Errorf("%s, nobody in Archtics, matches %v by email", ct.ID, p.Account)
				}
			}
		}
	}
	t.Logf("stories %v; %d contacts of people with several; primaries: %d overwrite, %d change nothing, %d contacts unmatched", stories, several, overwritten, kept, none)
	if several == 0 {
		t.Errorf("no person has several CRM contacts")
	}
	if overwritten == 0 || none == 0 {
		t.Errorf("the load overwrites %d contacts and leaves %d unmatched: want both", overwritten, none)
	}
}

// TestFoundFirstOrder: add_date, then team name, then acct_id.
func TestFoundFirstOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		aAdd time.Time
		a    AccountRef
		bAdd time.Time
		b    AccountRef
		want bool
	}{
		{t0, AccountRef{"nhl", 200}, t0.Add(time.Second), AccountRef{"arena", 100}, true},
		{t0, AccountRef{"arena", 200}, t0, AccountRef{"nhl", 100}, true},
		{t0, AccountRef{"nhl", 100}, t0, AccountRef{"nhl", 200}, true},
		{t0, AccountRef{"nhl", 200}, t0, AccountRef{"nhl", 100}, false},
		{t0, AccountRef{"nhl", 100}, t0, AccountRef{"nhl", 100}, false},
	} {
		t.Run(fmt.Sprint(tc.a, tc.b), func(t *testing.T) {
			if got := FoundFirst(tc.aAdd, tc.a, tc.bAdd, tc.b); got != tc.want {
				t.Errorf("FoundFirst(%v %v, %v %v) = %v", tc.aAdd, tc.a, tc.bAdd, tc.b, got)
			}
		})
	}
}
