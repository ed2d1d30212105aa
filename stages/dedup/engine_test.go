package dedup

import (
	"reflect"
	"testing"
	"time"
)

func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// seedCRM is the seed's pre-existing CRM: Gabriel Tremblay at Sporting
// Service Solutions Inc, and TryNowDo Ltd as another account.
func seedCRM() State {
	return State{
		Contacts: []Contact{{ID: "C1000000", First: "Gabriel", Last: "Tremblay", Email: "gabriel.tremblay@gmail.com", Phone: "617-555-0100",
			AccountID: "A100000", Street: "100 Summer St Suite 1200", City: "Boston", State: "MA", PostalCode: "02110", Source: "crm"}},
		Accounts: []CRMAccount{
			{ID: "A100000", Name: "Sporting Service Solutions Inc", Type: "Company", City: "Boston", State: "MA", Source: "crm"},
			{ID: "A100001", Name: "TryNowDo Ltd", Type: "Company", City: "Cambridge", State: "MA", Source: "crm"},
		},
	}
}

// The seed's two accounts of Gabriel Tremblay: an outdated one from
// TryNowDo Ltd and his current one at Sporting Service Solutions Inc,
// both with his personal email (so both match his contact by rule 1).
func tremblayOld(add time.Time) Account {
	return Account{AccountRef: AccountRef{"nhl", 100100}, AddDate: add, AcctType: "Corporate", First: "Gabriel", Last: "Tremblay",
		Email: "gabriel.tremblay@gmail.com", Company: "TryNowDo Ltd", Street1: "5 Kendall Sq", Street2: "Floor 3", City: "Cambridge",
		State: "MA", Zip: "02142", PhoneDay: "617-555-0199"}
}

func tremblayNew(add time.Time) Account {
	return Account{AccountRef: AccountRef{"arena", 100200}, AddDate: add, AcctType: "Corporate", First: "Gabriel", Last: "Tremblay",
		Email: "gabriel.tremblay@gmail.com", Company: "Sporting Service Solutions, Inc.", Street1: "100 Summer Street", Street2: "Suite 1200",
		City: "Boston", State: "MA", Zip: "02110-1234", PhoneDay: "(617) 555-0100"}
}

type contactView struct {
	primary                     AccountRef
	first, email, phone, street string
	company                     string
}

func view(t *testing.T, e *Engine, id string) contactView {
	t.Helper()
	st := e.State()
	for _, c := range st.Contacts {
		if c.ID != id {
			continue
		}
		v := contactView{first: c.First, email: c.Email, phone: c.Phone, street: c.Street}
		if c.Primary != nil {
			v.primary = *c.Primary
		}
		for _, a := range st.Accounts {
			if a.ID == c.AccountID {
				v.company = a.Name
			}
		}
		return v
	}
	t.Fatalf("no contact %s", id)
	return contactView{}
}

// TestTremblay is the seed's story in both orders: the first account
// found is the primary and overwrites the contact, the second is
// secondary and changes nothing.
func TestTremblay(t *testing.T) {
	d1, d2 := time.Date(2019, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(2023, 5, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		first    Account
		second   Account
		after1   contactView
		after2   contactView
		contacts int // contact changes reported by the second Add
	}{
		{"outdated account first", tremblayOld(d1), tremblayNew(d2),
			contactView{AccountRef{"nhl", 100100}, "Gabriel", "gabriel.tremblay@gmail.com", "617-555-0199", "5 Kendall Sq", "TryNowDo Ltd"},
			contactView{AccountRef{"nhl", 100100}, "Gabriel", "gabriel.tremblay@gmail.com", "617-555-0199", "5 Kendall Sq", "TryNowDo Ltd"}, 0},
		{"current account first", tremblayNew(d1), tremblayOld(d2),
			contactView{AccountRef{"arena", 100200}, "Gabriel", "gabriel.tremblay@gmail.com", "(617) 555-0100", "100 Summer Street", "Sporting Service Solutions Inc"},
			contactView{AccountRef{"arena", 100200}, "Gabriel", "gabriel.tremblay@gmail.com", "(617) 555-0100", "100 Summer Street", "Sporting Service Solutions Inc"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(Config{Now: fixedNow}, seedCRM())
			if err != nil {
				t.Fatal(err)
			}
			r1, err := e.Add(&c.first)
			if err != nil {
				t.Fatal(err)
			}
			if r1.Mapping.ContactID != "C1000000" || r1.Mapping.Role != Primary || r1.Mapping.Rule != RuleEmail {
				t.Fatalf("first account: mapping %+v, want the contact's primary by email", r1.Mapping)
			}
			if len(r1.CRMAccounts) != 0 {
				t.Errorf("first account created CRM accounts %+v: the company's existing account should be reused", r1.CRMAccounts)
			}
			if got := view(t, e, "C1000000"); got != c.after1 {
				t.Errorf("after the first account: %+v, want %+v", got, c.after1)
			}
			r2, err := e.Add(&c.second)
			if err != nil {
				t.Fatal(err)
			}
			if r2.Mapping.ContactID != "C1000000" || r2.Mapping.Role != Secondary {
				t.Fatalf("second account: mapping %+v, want the contact's secondary", r2.Mapping)
			}
			if len(r2.Contacts) != c.contacts {
				t.Errorf("second account changed contacts: %+v", r2.Contacts)
			}
			if got := view(t, e, "C1000000"); got != c.after2 {
				t.Errorf("after the second account: %+v, want %+v", got, c.after2)
			}
		})
	}
}

// TestRerunChangesNothing: adding the same accounts again (an
// incremental run over an unchanged state) changes no mapping and no
// contact, in the same engine and in one reloaded from its State.
func TestRerunChangesNothing(t *testing.T) {
	d := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	accts := []Account{tremblayOld(d), tremblayNew(d.Add(time.Hour)),
		{AccountRef: AccountRef{"nhl", 7}, AddDate: d.Add(2 * time.Hour), First: "Mary", Last: "Walsh", Email: "mwalsh@aol.com",
			Street1: "3 Elm St", City: "Quincy", State: "MA", Zip: "02169", PhoneCell: "617 555 0111", HouseholdID: 500007},
		{AccountRef: AccountRef{"arena", 9}, AddDate: d.Add(3 * time.Hour), First: "Molly", Last: "Walsh", Street1: "3 Elm Street", Street2: "Apt 2",
			City: "Quincy", State: "MA", Zip: "02169-0001"},
	}
	e, err := New(Config{Now: fixedNow}, seedCRM())
	if err != nil {
		t.Fatal(err)
	}
	for i := range accts {
		if _, err := e.Add(&accts[i]); err != nil {
			t.Fatal(err)
		}
	}
	before := e.State()
	reloaded, err := New(Config{Now: fixedNow}, before)
	if err != nil {
		t.Fatal(err)
	}
	for _, eng := range []*Engine{e, reloaded} {
		for i := range accts {
			r, err := eng.Add(&accts[i])
			if err != nil {
				t.Fatal(err)
			}
			if r.Changed || len(r.Contacts) > 0 || len(r.CRMAccounts) > 0 || len(r.Others) > 0 {
				t.Errorf("account %v again: %+v, want no change", accts[i].AccountRef, r)
			}
		}
		if after := eng.State(); !reflect.DeepEqual(before, after) {
			t.Errorf("state changed by a rerun:\nbefore %+v\nafter  %+v", before, after)
		}
	}
}

// TestChangedAccounts: a primary's changes flow to its contact; a
// secondary that no longer matches its contact moves.
func TestChangedAccounts(t *testing.T) {
	d := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := New(Config{Now: fixedNow}, State{})
	if err != nil {
		t.Fatal(err)
	}
	p := Account{AccountRef: AccountRef{"nhl", 1}, AddDate: d, First: "Ann", Last: "Lee", Email: "ann.lee@gmail.com", Street1: "1 Oak St", Zip: "02110"}
	s := Account{AccountRef: AccountRef{"nhl", 2}, AddDate: d.Add(time.Hour), First: "Ann", Last: "Lee", Email: "ann.lee@gmail.com"}
	for _, a := range []*Account{&p, &s} {
		if _, err := e.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	p.Street1, p.Zip = "9 Pine Rd", "02139"
	r, err := e.Add(&p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Changed || len(r.Contacts) != 1 || r.Contacts[0].Contact.Street != "9 Pine Rd" {
		t.Errorf("primary moved: %+v, want its contact updated to the new address and the mapping kept", r)
	}
	s.Email = "annie@yahoo.com"
	r, err = e.Add(&s)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Changed || r.Mapping.ContactID != "AR-nhl-2" || r.Mapping.Role != Primary || r.Mapping.Rule != RuleNew {
		t.Errorf("secondary no longer matching: %+v, want a new contact AR-nhl-2 it is primary of", r.Mapping)
	}
}

// TestFollowAndSetPrimary: a merged-away primary follows its winner and
// its old contact's next account becomes primary; set-primary swaps
// roles and is kept when the account is added again.
func TestFollowAndSetPrimary(t *testing.T) {
	d := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := New(Config{Now: fixedNow}, seedCRM())
	if err != nil {
		t.Fatal(err)
	}
	old, cur := tremblayOld(d), tremblayNew(d.Add(time.Hour))
	third := Account{AccountRef: AccountRef{"nhl", 5}, AddDate: d.Add(2 * time.Hour), First: "Gabe", Last: "Tremblay", Email: "gabriel.tremblay@gmail.com"}
	other := Account{AccountRef: AccountRef{"nhl", 9}, AddDate: d.Add(3 * time.Hour), First: "Luc", Last: "Roy", Email: "luc.roy@gmail.com"}
	for _, a := range []*Account{&old, &cur, &third, &other} {
		if _, err := e.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	r, err := e.SetPrimary("C1000000", cur.AccountRef)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mapping.Role != Primary || r.Mapping.Rule != RuleManual || len(r.Others) != 1 || r.Others[0].Account != old.AccountRef || r.Others[0].Role != Secondary {
		t.Fatalf("set-primary: %+v, want arena:100200 primary and nhl:100100 demoted", r)
	}
	// Adding the new primary again makes its details the contact's.
	r, err = e.Add(&cur)
	if err != nil {
		t.Fatal(err)
	}
	if got := view(t, e, "C1000000"); got.company != "Sporting Service Solutions Inc" || got.phone != "(617) 555-0100" {
		t.Errorf("after set-primary and add: %+v, want the current account's details", got)
	}
	if _, err := e.SetPrimary("C1000000", other.AccountRef); err == nil {
		t.Error("set-primary of another contact's account: no error")
	}
	// The primary is merged away into Luc Roy's account: the contact's
	// next account in the found-first order (nhl:100100) becomes primary.
	r, err = e.Follow(cur.AccountRef, other.AccountRef)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mapping.ContactID != "AR-nhl-9" || r.Mapping.Rule != RuleMerged || r.Mapping.Role != Secondary {
		t.Errorf("follow: %+v, want a secondary of the winner's contact", r.Mapping)
	}
	if len(r.Others) != 1 || r.Others[0].Account != old.AccountRef || r.Others[0].Role != Primary {
		t.Errorf("follow: others %+v, want nhl:100100 promoted", r.Others)
	}
	if _, err := New(Config{}, e.State()); err != nil {
		t.Errorf("state after follow does not reload: %v", err)
	}
	if _, err := e.Follow(AccountRef{"nhl", 1}, AccountRef{"nhl", 404}); err == nil {
		t.Error("follow of an unmapped winner: no error")
	}
}

func TestContactOrder(t *testing.T) {
	cs := []Contact{{ID: "C99", Source: "crm"}, {ID: "C100", Source: "crm"}, {ID: "AR-nhl-5", Source: "archtics"}, {ID: "AR-nhl-40", Source: "archtics"}}
	for i := range cs {
		for j := range cs {
			if got, want := ContactBefore(&cs[i], &cs[j]), i < j; got != want {
				t.Errorf("ContactBefore(%s, %s) = %v, want %v", cs[i].ID, cs[j].ID, got, want)
			}
		}
	}
}

func TestNewRejectsDamagedState(t *testing.T) {
	st := seedCRM()
	st.Contacts = append(st.Contacts, st.Contacts[0])
	if _, err := New(Config{}, st); err == nil {
		t.Error("duplicate contact_id: no error")
	}
	st = seedCRM()
	st.Mapping = []Mapping{{ContactID: "C404", Account: AccountRef{"nhl", 1}, Role: Secondary}}
	if _, err := New(Config{}, st); err == nil {
		t.Error("mapping to a missing contact: no error")
	}
	st = seedCRM()
	st.Mapping = []Mapping{{ContactID: "C1000000", Account: AccountRef{"nhl", 1}, Role: Primary}}
	if _, err := New(Config{}, st); err == nil {
		t.Error("primary mapping the contact does not name: no error")
	}
}
