package dedup

import (
	"testing"
	"time"
)

// TestEvidenceRules feeds two accounts to an empty CRM, one after the
// other, and checks which rule joins the second to the first's contact,
// under KORE's rules and under the evidence rules.
func TestEvidenceRules(t *testing.T) {
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	first := Account{AccountRef: AccountRef{"nhl", 1}, AddDate: day, First: "Gabriel", Last: "Tremblay",
		Email: "gabriel.tremblay@trynowdo.com", Company: "TryNowDo Ltd", Street1: "40 Summer St", Street2: "Suite 300",
		City: "Boston", State: "MA", Zip: "02110", PhoneDay: "617-555-0100", PhoneCell: "857-555-0199", BirthDate: "1980-03-14"}
	// The second account: the same person at another employer (another
	// email, company, office and desk phone), then one change per case.
	second := Account{AccountRef: AccountRef{"nhl", 2}, AddDate: day.Add(time.Hour), First: "Gabriel", Last: "Tremblay",
		Email: "gtremblay@sss.com", Company: "Sporting Service Solutions Inc", Street1: "1 Arena Way", City: "Boston",
		State: "MA", Zip: "02114", PhoneDay: "617-555-0400"}
	cases := []struct {
		name           string
		first, second  func(*Account)
		kore, evidence string // the second account's rule: "new" when it made its own contact
	}{
		{"a name alone joins nothing", nil, nil, RuleNew, RuleNew},
		{"the same cell phone", nil, func(a *Account) { a.PhoneCell = "(857) 555-0199" }, RuleNew, RuleEvidencePhone},
		{"the cell as the other's evening phone", nil, func(a *Account) { a.PhoneEve = "857.555.0199" }, RuleNew, RuleEvidencePhone},
		{"the same birth date", nil, func(a *Account) { a.BirthDate = "1980-03-14" }, RuleNew, RuleEvidenceBirth},
		{"a birth date with a time", nil, func(a *Account) { a.BirthDate = "1980-03-14 00:00:00" }, RuleNew, RuleEvidenceBirth},
		{"a last-name typo and the cell", nil, func(a *Account) { a.Last, a.PhoneCell = "Tremblya", "8575550199" }, RuleNew, RuleEvidencePhone},
		{"a married name and the cell", nil, func(a *Account) { a.Last, a.PhoneCell = "Gagnon", "8575550199" }, RuleNew, RuleEvidencePhone},
		{"a married name and the birth date is not enough", nil, func(a *Account) { a.Last, a.BirthDate = "Gagnon", "1980-03-14" }, RuleNew, RuleNew},
		{"swapped names and the birth date", nil, func(a *Account) { a.First, a.Last, a.BirthDate = "Tremblay", "Gabriel", "1980-03-14" }, RuleNew, RuleEvidenceBirth},
		{"a first name mistyped past the threshold, the email and the birth date", func(a *Account) { a.Email = "gt@gmail.com" },
			func(a *Account) { a.First, a.Email, a.BirthDate = "Gbrl", "gt@gmail.com", "1980-03-14" }, RuleEmail, RuleEvidenceEmail},
		{"another first name, the email and the address, no birth date (a spouse)", func(a *Account) { a.Email = "gt@gmail.com" },
			func(a *Account) {
				a.First, a.Email, a.Company, a.Street1, a.Street2, a.Zip = "Marie", "gt@gmail.com", "", "40 Summer St", "Suite 300", "02110"
			},
			RuleEmail, RuleNew},
		{"another first name and the cell", nil, func(a *Account) { a.First, a.PhoneCell = "Marie", "8575550199" }, RuleNew, RuleNew},
		{"the same address, moved office", nil, func(a *Account) {
			a.Company, a.Street1, a.Street2, a.Zip = "", "40 Summer Street", "Ste 300", "02110-1234"
		}, RuleNew, RuleEvidenceAddress},
		{"the same personal email", func(a *Account) { a.Email = "gabe.t@gmail.com" }, func(a *Account) { a.Email = "Gabe.T@gmail.com" }, RuleEmail, RuleEmail},
		{"a shared email, another first name", func(a *Account) { a.Email = "thetremblays@gmail.com" },
			func(a *Account) { a.Email, a.First = "thetremblays@gmail.com", "Marie" }, RuleEmail, RuleNew},
		{"a role address, another last name", func(a *Account) { a.Email = "tickets@trynowdo.com" },
			func(a *Account) { a.Email, a.Last = "tickets@trynowdo.com", "Roy" }, RuleEmail, RuleNew},
		{"a role address, the same names", func(a *Account) { a.Email = "tickets@trynowdo.com" },
			func(a *Account) { a.Email = "tickets@trynowdo.com" }, RuleEmail, RuleEmail},
		{"a family email, the same name, other birth dates", func(a *Account) { a.Email = "thetremblays@gmail.com" },
			func(a *Account) { a.Email, a.BirthDate = "thetremblays@gmail.com", "2004-07-01" }, RuleEmail, RuleNew},
		{"rule 2 vetoed by other birth dates", func(a *Account) { a.Email = "" },
			func(a *Account) {
				a.Email, a.Company, a.Street1, a.Street2, a.Zip, a.BirthDate = "", "TryNowDo Ltd", "40 Summer St", "Suite 300", "02110", "2004-07-01"
			}, RuleNameAddress, RuleNew},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, rules := range []string{RulesKORE, RulesEvidence} {
				a, b := first, second
				if c.first != nil {
					c.first(&a)
				}
				if c.second != nil {
					c.second(&b)
				}
				e, err := New(Config{Rules: rules, Now: func() time.Time { return day }}, State{})
				if err != nil {
					t.Fatal(err)
				}
				ra, err := e.Add(&a)
				if err != nil {
					t.Fatal(err)
				}
				rb, err := e.Add(&b)
				if err != nil {
					t.Fatal(err)
				}
				want := c.kore
				if rules == RulesEvidence {
					want = c.evidence
				}
				if rb.Mapping.Rule != want {
					t.Errorf("%s, %s rules: the second account's rule %q, want %q", c.name, rules, rb.Mapping.Rule, want)
				}
				joined := rb.Mapping.ContactID == ra.Mapping.ContactID
				if joined != (want != RuleNew) {
					t.Errorf("%s, %s rules: joined %v with rule %q", c.name, rules, joined, want)
				}
			}
		})
	}
}

// TestEvidenceKnowEqualsAdd: a later engine over the committed state knows
// the mapped accounts' evidence only through Know; with it, an account
// added later matches as it would in one engine over both.
func TestEvidenceKnowEqualsAdd(t *testing.T) {
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return day }
	a := Account{AccountRef: AccountRef{"nhl", 1}, AddDate: day, First: "Ann", Last: "Lee", Email: "ann@work.com",
		Company: "Acme Corp", PhoneCell: "617-555-0111"}
	b := Account{AccountRef: AccountRef{"mlb", 7}, AddDate: day.Add(time.Hour), First: "Ann", Last: "Lee",
		Email: "annlee@gmail.com", PhoneCell: "6175550111"}
	one, _ := New(Config{Rules: RulesEvidence, Now: now}, State{})
	ra, _ := one.Add(&a)
	rb, _ := one.Add(&b)
	if rb.Mapping.ContactID != ra.Mapping.ContactID || rb.Mapping.Rule != RuleEvidencePhone {
		t.Fatalf("one engine: %+v, want b joined to a's contact by the phone", rb.Mapping)
	}
	first, _ := New(Config{Rules: RulesEvidence, Now: now}, State{})
	if _, err := first.Add(&a); err != nil {
		t.Fatal(err)
	}
	for _, know := range []bool{false, true} {
		later, err := New(Config{Rules: RulesEvidence, Now: now}, first.State())
		if err != nil {
			t.Fatal(err)
		}
		if know {
			if err := later.Know(&a); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := later.Add(&b)
		if joined := got.Mapping.ContactID == ra.Mapping.ContactID; joined != know {
			t.Errorf("later engine, Know %v: joined %v (%+v)", know, joined, got.Mapping)
		}
	}
	if err := first.Know(&Account{AccountRef: AccountRef{"nhl", 99}}); err == nil {
		t.Error("Know of an unmapped account: no error")
	}
	if _, err := New(Config{Rules: "splink"}, State{}); err == nil {
		t.Error("an unknown rule set: no error")
	}
}

func TestIsRoleEmail(t *testing.T) {
	for email, want := range map[string]bool{
		"info@acme.com": true, "tickets@harborview.com": true, "sales2@acme.com": true, "hr.boston@acme.com": true,
		"mary.walsh@gmail.com": false, "information.desk@acme.com": false, "infomary@acme.com": false, "": false,
	} {
		if got := isRoleEmail(email); got != want {
			t.Errorf("isRoleEmail(%q) = %v, want %v", email, got, want)
		}
	}
}
