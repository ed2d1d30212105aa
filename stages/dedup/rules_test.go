package dedup

import (
	"fmt"
	"testing"
)

func TestRules(t *testing.T) {
	base := Contact{ID: "C1", First: "Robert", Last: "Walsh", Email: "rwalsh@gmail.com", Phone: "617-555-0101",
		Street: "12 Main Street", City: "Boston", State: "MA", PostalCode: "02110"}
	acct := Account{AccountRef: AccountRef{"nhl", 1}, First: "Robert", Last: "Walsh", Email: "rwalsh@gmail.com",
		Street1: "12 Main St", City: "Boston", State: "MA", Zip: "02110-4455", PhoneDay: "(617) 555-0101"}
	cases := []struct {
		name    string
		account func(*Account)
		contact func(*Contact)
		company string // the contact's company
		want    string
	}{
		{"email", nil, nil, "", RuleEmail},
		{"email in another case", func(a *Account) { a.Email = " RWalsh@Gmail.com" }, nil, "", RuleEmail},
		{"name and address", func(a *Account) { a.Email = "" }, nil, "", RuleNameAddress},
		{"nickname and address", func(a *Account) { a.Email, a.First = "", "Bob" }, nil, "", RuleNameAddress},
		{"typo and address", func(a *Account) { a.Email, a.First = "", "Rboert" }, nil, "", RuleNameAddress},
		{"last name typo never matches", func(a *Account) { a.Email, a.Last = "", "Walsch" }, nil, "", ""},
		{"other first name", func(a *Account) { a.Email, a.First = "", "Margaret" }, nil, "", ""},
		{"first name blank in both", func(a *Account) { a.Email, a.First = "", "" }, func(c *Contact) { c.First = "" }, "", ""},
		{"company in one only", func(a *Account) { a.Email, a.Company = "", "Acme Widgets Corp" }, nil, "", ""},
		{"company in both, similar", func(a *Account) { a.Email, a.Company = "", "ACME WIDGETS CORPORATION" }, nil, "Acme Widgets Corp", RuleNameAddress},
		{"company in both, different", func(a *Account) { a.Email, a.Company = "", "TryNowDo Ltd" }, nil, "Acme Widgets Corp", ""},
		{"other postal code", func(a *Account) { a.Email, a.Zip = "", "02111" }, nil, "", RuleNamePhone},
		{"other postal code, no phone", func(a *Account) { a.Email, a.Zip, a.PhoneDay = "", "02111", "" }, nil, "", ""},
		{"postal code in one only", func(a *Account) { a.Email, a.Zip, a.PhoneDay = "", "", "" }, nil, "", ""},
		{"address and postal blank in both, phone", func(a *Account) { a.Email, a.Zip, a.Street1 = "", "", "" },
			func(c *Contact) { c.PostalCode, c.Street = "", "" }, "", RuleNamePhone},
		{"names only: rules 2 and 3 need a non-name pair", func(a *Account) { a.Email, a.Zip, a.Street1, a.PhoneDay = "", "", "", "" },
			func(c *Contact) { c.PostalCode, c.Street, c.Phone = "", "", "" }, "", ""},
		{"phone_day blank is not the contact's phone", func(a *Account) { a.Email, a.Zip, a.Street1, a.PhoneDay, a.PhoneCell = "", "", "", "", "617-555-0101" },
			func(c *Contact) { c.PostalCode, c.Street = "", "" }, "", ""},
		{"company, address blank in both", func(a *Account) { a.Email, a.Zip, a.Street1, a.Company = "", "", "", "SSS Inc" },
			func(c *Contact) { c.PostalCode, c.Street = "", "" }, "Sporting Service Solutions Inc", RuleNameAddress},
		{"company and phone, other postal code", func(a *Account) { a.Email, a.Zip, a.Street1, a.Company = "", "02111", "", "SSS Inc" },
			func(c *Contact) { c.Street = "" }, "Sporting Service Solutions Inc", RuleNamePhone},
		{"another house number", func(a *Account) { a.Email, a.Street1, a.PhoneDay = "", "14 Main St", "" }, nil, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, k := acct, base
			if c.account != nil {
				c.account(&a)
			}
			if c.contact != nil {
				c.contact(&k)
			}
			ar, cr := accountRec(&a), contactRecOf(&k, c.company)
			got, sc := match(&ar, &cr, DefaultThreshold, false)
			if got != c.want {
				t.Errorf("%s: rule %q, want %q (scores %+v)", c.name, got, c.want, sc)
			}
		})
	}
}

// TestEmailNeedsFirstName: the optional narrowing of rule 1 keeps a
// household's shared email from joining two people.
func TestEmailNeedsFirstName(t *testing.T) {
	c := Contact{ID: "C1", First: "Mary", Last: "Walsh", Email: "thewalshes@comcast.net"}
	for _, tc := range []struct {
		first, last string
		narrow      bool
		want        string
	}{
		{"John", "Walsh", false, RuleEmail},
		{"John", "Walsh", true, ""},
		{"Mary", "Walsh", true, RuleEmail},
		{"Walsh", "Mary", true, RuleEmail},
	} {
		t.Run(fmt.Sprintf("%s %s narrow=%v", tc.first, tc.last, tc.narrow), func(t *testing.T) {
			a := Account{AccountRef: AccountRef{"nhl", 2}, First: tc.first, Last: tc.last, Email: "TheWalshes@comcast.net"}
			ar, cr := accountRec(&a), contactRecOf(&c, "")
			if got, _ := match(&ar, &cr, DefaultThreshold, tc.narrow); got != tc.want {
				t.Errorf("%s %s (narrow %v): rule %q, want %q", tc.first, tc.last, tc.narrow, got, tc.want)
			}
		})
	}
}

// TestMatchesAgreesWithMatch: the engine decides with matches (no scores,
// cheap fields first) and scores only the contact it keeps with match, so
// the two must agree on whether a rule holds. Pairs drawn from values
// that are blank, equal, similar and different in every field, with both
// settings of EmailNeedsFirstName.
func TestMatchesAgreesWithMatch(t *testing.T) {
	emails := []string{"", "rwalsh@gmail.com", "walsh@x.com"}
	lasts := []string{"", "Walsh", "Welsh", "Robert"}
	firsts := []string{"", "Robert", "Bob", "Rboert", "Margaret", "Walsh"}
	companies := []string{"", "Acme Widgets Corp", "ACME WIDGET", "AW", "TryNowDo Ltd"}
	streets := []string{"", "12 Main Street", "12 Main St Apt 4", "14 Main St", "12 Maine St"}
	zips := []string{"", "02110", "02110-4455", "02111"}
	phones := []string{"", "617-555-0101", "6175550199"}
	pick := func(seed uint64) (Account, string) {
		next := func(n int) int {
			seed = seed*6364136223846793005 + 1442695040888963407
			return int(seed>>33) % n
		}
		a := Account{AccountRef: AccountRef{"nhl", 1}, Email: emails[next(len(emails))], Last: lasts[next(len(lasts))],
			First: firsts[next(len(firsts))], Company: companies[next(len(companies))], Street1: streets[next(len(streets))],
			Zip: zips[next(len(zips))], PhoneDay: phones[next(len(phones))]}
		return a, companies[next(len(companies))]
	}
	held := 0
	for i := range uint64(200_000) {
		a, _ := pick(2*i + 1)
		b, company := pick(2*i + 2)
		if i%3 == 0 { // mostly alike: the last name and email shared, as a block's candidates are
			b.Last, b.Email = a.Last, a.Email
		}
		c := Contact{ID: "C1", First: b.First, Last: b.Last, Email: b.Email, Phone: b.PhoneDay, Street: b.Street1, PostalCode: b.Zip}
		ar, cr := accountRec(&a), contactRecOf(&c, company)
		for _, narrow := range []bool{false, true} {
			rule, _ := match(&ar, &cr, DefaultThreshold, narrow)
			if got := matches(&ar, &cr, DefaultThreshold, narrow); got != (rule != "") {
				t.Fatalf("account %+v, contact %+v (company %q, narrow %v): matches %v, match %q", a, c, company, narrow, got, rule)
			}
			if rule != "" {
				held++
			}
		}
	}
	if held == 0 {
		t.Fatal("no pair matched: the values drawn do not exercise the rules")
	}
}

// TestFirstNameAgrees: the bound that rejects most first names without
// computing their similarity never rejects a pair the similarity
// accepts, nor accepts one it rejects: every pair of the nickname
// table's names and their typos (a letter dropped, doubled, changed or
// two swapped), at several thresholds.
func TestFirstNameAgrees(t *testing.T) {
	var names []string
	for formal, nicks := range nicknameGroups {
		names = append(names, formal)
		names = append(names, nicks...)
	}
	base := len(names)
	for i, n := range names[:base] {
		if len(n) < 3 || i%2 == 1 {
			continue
		}
		names = append(names, n[1:], n[:2]+n[3:], n[:len(n)-1], n[:2]+n[1:], n[:1]+"x"+n[2:], n[:1]+n[2:3]+n[1:2]+n[3:])
	}
	names = append(names, "marc andre", "jean-luc", "o", "an", "zz", "\u00e9lodie", "elodie")
	thresholds := []float64{0.8, 0.85, 0.9, 0.92, 0.95}
	agreed := make([]int, len(thresholds))
	for _, a := range names {
		for _, b := range names {
			sim := FirstNameSimilarity(a, b)
			for k, th := range thresholds {
				if got := firstNameAgrees(a, b, th); got != (sim >= th) {
					t.Fatalf("threshold %v: firstNameAgrees(%q, %q) = %v, similarity %v", th, a, b, got, sim)
				}
				if sim >= th && a != b {
					agreed[k]++
				}
			}
		}
	}
	for k, n := range agreed {
		if n == 0 {
			t.Fatalf("threshold %v: no two different names agreed: the pairs do not exercise the bound", thresholds[k])
		}
	}
}
