package dedup

import (
	"math"
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	cases := []struct {
		name     string
		fn       func(string) string
		in, want string
	}{
		{"email trimmed and lowered", NormEmail, "  Gabriel.Tremblay@Gmail.COM ", "gabriel.tremblay@gmail.com"},
		{"name case and spaces", NormName, "  MARY   ANN ", "mary ann"},
		{"name apostrophe", NormName, "O'Brien", "obrien"},
		{"name hyphen", NormName, "Marc-Andre", "marc andre"},
		{"name period", NormName, "St. Pierre", "st pierre"},
		{"phone dashes", NormPhone, "617-555-1234", "6175551234"},
		{"phone parens", NormPhone, "(617) 555-1234", "6175551234"},
		{"phone international", NormPhone, "+1 617 555 1234", "6175551234"},
		{"phone dots", NormPhone, "617.555.1234", "6175551234"},
		{"phone blank", NormPhone, " ", ""},
		{"zip", NormPostal, "02110", "02110"},
		{"zip+4", NormPostal, "02110-1234", "02110"},
		{"zip+4 no dash", NormPostal, "021101234", "02110"},
		{"canadian", NormPostal, "h2x 1y4", "H2X1Y4"},
		{"company Inc.", NormCompany, "Sporting Service Solutions Inc.", "sporting service solutions"},
		{"company comma Inc", NormCompany, "Sporting Service Solutions, Inc.", "sporting service solutions"},
		{"company Incorporated", NormCompany, "Sporting Service Solutions Incorporated", "sporting service solutions"},
		{"company abbreviations", NormCompany, "Sporting Svc Sol", "sporting service solutions"},
		{"company Ltd", NormCompany, "TryNowDo Ltd", "trynowdo"},
		{"company Limited", NormCompany, "TRYNOWDO LIMITED", "trynowdo"},
		{"company L.L.C.", NormCompany, "Harbor Freight Logistics L.L.C.", "harbor freight logistics"},
		{"company ampersand", NormCompany, "Patriot Plumbing & Heating", "patriot plumbing and heating"},
		{"company department", NormCompany, "Acme Widgets Corp | Accounts Payable", "acme widgets"},
		{"company Co.", NormCompany, "Cape Ann Seafood Co.", "cape ann seafood"},
		{"company only a suffix word", NormCompany, "Company", "company"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.fn(c.in); got != c.want {
				t.Errorf("%s: %q -> %q, want %q", c.name, c.in, got, c.want)
			}
		})
	}
}

func TestNormAddress(t *testing.T) {
	cases := []struct {
		lines []string
		want  Address
	}{
		{[]string{"123 Main Street"}, Address{"123", "main st", ""}},
		{[]string{"123 Main St."}, Address{"123", "main st", ""}},
		{[]string{"123 Main St", "Apt 4"}, Address{"123", "main st", "apt 4"}},
		{[]string{"123 Main St Apartment 4"}, Address{"123", "main st", "apt 4"}},
		{[]string{"12 Harbor Boulevard", "Suite 200"}, Address{"12", "harbor blvd", "ste 200"}},
		{[]string{"12 Harbor Blvd Ste 200"}, Address{"12", "harbor blvd", "ste 200"}},
		{[]string{"9 North Road #12"}, Address{"9", "n rd", "# 12"}},
		{[]string{"9 N Rd", "Attn: Receiving\nDock 4"}, Address{"9", "n rd", ""}},
		{[]string{"", ""}, Address{}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.lines, "|"), func(t *testing.T) {
			if got := NormAddress(c.lines...); got != c.want {
				t.Errorf("%q -> %+v, want %+v", c.lines, got, c.want)
			}
		})
	}
}

func TestSimilarity(t *testing.T) {
	cases := []struct {
		name string
		got  float64
		want float64 // exact, or a bound (see agree)
		at   bool    // true: want is a lower bound
	}{
		{"jaro-winkler martha marhta (textbook)", JaroWinkler("martha", "marhta"), 0.961, false},
		{"jaro-winkler dwayne duane (textbook)", JaroWinkler("dwayne", "duane"), 0.840, false},
		{"jaro-winkler eward edward", JaroWinkler("eward", "edward"), 0.95, false},
		{"first name nickname", FirstNameSimilarity("bob", "robert"), nicknameScore, false},
		{"first name two nicknames of one name", FirstNameSimilarity("bob", "rob"), nicknameScore, false},
		{"first name typo near the start", FirstNameSimilarity("atonio", "antonio"), DefaultThreshold, true},
		{"company acronym", CompanySimilarity("SSS Inc", "Sporting Service Solutions Inc"), acronymScore, false},
		{"company suffix", CompanySimilarity("TryNowDo Ltd", "TryNowDo Limited"), 1, false},
		{"company typo", CompanySimilarity("O'Neeill Funeral Home", "O'Neill Funeral Home"), DefaultThreshold, true},
		{"address spelling", AddressSimilarity(NormAddress("12 Main Street"), NormAddress("12 Main St.", "Apt 3")), 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.at && c.got < c.want || !c.at && math.Abs(c.got-c.want) > 0.001 {
				t.Errorf("%s: %.4f, want %.4f (at least: %v)", c.name, c.got, c.want, c.at)
			}
		})
	}
	for _, c := range []struct{ a, b string }{{"christopher", "christine"}, {"john", "joan"}, {"mary", "maria"}} {
		t.Run(c.a+" vs "+c.b, func(t *testing.T) {
			if s := FirstNameSimilarity(c.a, c.b); s >= DefaultThreshold {
				t.Errorf("%q and %q are different names, similarity %.3f", c.a, c.b, s)
			}
		})
	}
	for _, c := range []struct{ a, b string }{{"Commonwealth Legal LLP", "Commonwealth Health"}, {"Sporting Service Solutions Inc", "TryNowDo Ltd"}} {
		t.Run(c.a+" vs "+c.b, func(t *testing.T) {
			if s := CompanySimilarity(c.a, c.b); s >= DefaultThreshold {
				t.Errorf("%q and %q are different companies, similarity %.3f", c.a, c.b, s)
			}
		})
	}
	if s := AddressSimilarity(NormAddress("12 Main St"), NormAddress("14 Main St")); s != 0 {
		t.Errorf("different house numbers: similarity %.3f, want 0", s)
	}
	if s := AddressSimilarity(NormAddress("12 Main St", "Apt 3"), NormAddress("12 Main St", "Apt 4")); s != 0 {
		t.Errorf("different units: similarity %.3f, want 0", s)
	}
}
