package dedup

import (
	"strings"
	"testing"
)

// The normalisation before it was rewritten to make no garbage per word
// (stack buffers, wordScanner): kept here, word for word, as the
// reference the rewrite must agree with on every input.

func refNormName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r == '.' || r == ',' || r == '\'' || r == '\u2019':
			continue
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r':
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func refNormPhone(s string) string {
	d := make([]byte, 0, 12)
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	return string(d)
}

func refNormPostal(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r == ' ' || r == '-' || r == '\t' || r == '.' {
			continue
		}
		b.WriteRune(r)
	}
	p := b.String()
	if len(p) >= 5 && isDigits(p[:5]) && (len(p) == 5 || len(p) == 9 && isDigits(p)) {
		return p[:5]
	}
	return p
}

func refWords(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r > 127 && r != '\u2019':
			b.WriteRune(r)
		case r == '.' || r == '\'' || r == '\u2019':
		case r == '&':
			flush()
			out = append(out, "and")
		case r == '#':
			flush()
			out = append(out, "#")
		default:
			flush()
		}
	}
	flush()
	return out
}

func refNormAddress(lines ...string) Address {
	var a Address
	var street, unit []string
	for li, line := range lines {
		ws := refWords(line)
		inUnit := false
		for i, w := range ws {
			if u, ok := unitWords[w]; ok && (i > 0 || li > 0) {
				inUnit = true
				unit = append(unit, u)
				continue
			}
			switch {
			case inUnit:
				unit = append(unit, w)
			case li == 0 && i == 0 && isDigits(w):
				a.Number = w
			case li == 0:
				if c, ok := streetWords[w]; ok {
					w = c
				}
				street = append(street, w)
			}
		}
	}
	a.Street = strings.Join(street, " ")
	a.Unit = strings.Join(unit, " ")
	return a
}

// normInputs: the spellings the tests and the simulator use, and the
// awkward ones: non-ASCII letters and spaces, invalid UTF-8, '&' and '#'
// next to words, long lines.
var normInputs = []string{
	"", " ", "123 Main Street", "123 Main St.", "12 Harbor Boulevard", "Suite 200", "9 North Road #12", "#12", "12#B",
	"Attn: Receiving\nDock 4", "1 Rue Saint-Andr\u00e9", "45 \u00c9COLE AVE", "O'Brien ", "OBRIEN", "Marc-Andre", "  MARY   ANN ",
	"St. Pierre", "Ma\u00efa", "D\u2019Angelo", "J\u00dcRGEN", "\xff\xfeBad", "bad\xc3", "A&B Plumbing", "A & B", "&", "##", "x&y#z",
	"Apt 4", "Apartment 4B", "Unit", "Floor 3 Room 12", "12 Main St Apt 4 Bldg C", "100 Mount Vernon Street Apt 5",
	"617-555-1234", "(617) 555-1234", "+1 617 555 1234", "16175551234", "6175551234", "617.555.1234 x12", "1",
	"02110", "02110-1234", "021101234", "h2x 1y4", "H2X1Y4", "0211", "02110-12", "\u212a1a 2b3", "k1a.2b3",
	"Sporting Service Solutions, Inc.", "Acme Widgets Corp | Accounts Payable", "Company", "Lynn Shoe Company",
	"THE BANK OF BOSTON", "Commonwealth\u00a0Legal Co", "Caf\u00e9 du Monde LLC", "Intl Grp of Mass", "L.L.C.",
	"1234567890123456789012345 Very Long Street Name That Goes On And On Beyond Any Stack Buffer Boulevard Northwest Suite 1234567890",
	"\u3000Tokyo\u3000Tower", "Main\u0085St", "N\u00a0Main",
}

func TestNormalisationAgreesWithReference(t *testing.T) {
	for _, s := range normInputs {
		if got, want := NormName(s), refNormName(s); got != want {
			t.Errorf("NormName(%q) = %q, reference %q", s, got, want)
		}
		if got, want := NormPhone(s), refNormPhone(s); got != want {
			t.Errorf("NormPhone(%q) = %q, reference %q", s, got, want)
		}
		if got, want := NormPostal(s), refNormPostal(s); got != want {
			t.Errorf("NormPostal(%q) = %q, reference %q", s, got, want)
		}
		var sc wordScanner
		sc.reset(s)
		var got []string
		for w, ok := sc.next(); ok; w, ok = sc.next() {
			got = append(got, string(w))
		}
		if want := refWords(s); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("wordScanner(%q) = %q, reference words %q", s, got, want)
		}
		for _, l2 := range []string{"", "Apt 4", s} {
			if got, want := NormAddress(s, l2), refNormAddress(s, l2); got != want {
				t.Errorf("NormAddress(%q, %q) = %+v, reference %+v", s, l2, got, want)
			}
			if got, want := NormAddress(l2, s), refNormAddress(l2, s); got != want {
				t.Errorf("NormAddress(%q, %q) = %+v, reference %+v", l2, s, got, want)
			}
		}
	}
}

func refCompanyKeyOf(s string) companyKey {
	k := companyKey{norm: NormCompany(s)}
	if k.norm == "" {
		return k
	}
	k.initials = companyInitials(k.norm)
	if i := strings.IndexByte(s, '|'); i >= 0 {
		s = s[:i]
	}
	k.initialsAll = companyInitials(strings.Join(refWords(s), " "))
	return k
}

func refCompanySim(a, b *companyKey) float64 {
	if a.norm == b.norm {
		return 1
	}
	if a.acronymOf(b) || b.acronymOf(a) {
		return acronymScore
	}
	s := spellSim(a.norm, b.norm)
	wa, wb := strings.Fields(a.norm), strings.Fields(b.norm)
	if len(wa) == len(wb) {
		for i := range wa {
			if wa[i] != wb[i] {
				s = min(s, spellSim(wa[i], wb[i]))
			}
		}
	}
	return s
}

func TestCompanyKeyAgreesWithReference(t *testing.T) {
	names := append([]string{"SSS", "Sporting Svc Solutions", "Acme Widgets", "Acme Widgits Inc", "AW", "AWC",
		"Lynn Shoe", "LSC", "Commonwealth Health", "Commonwealth\u00a0Health", "B of B", "Bank of Boston"}, normInputs...)
	for _, a := range names {
		ka, ra := companyKeyOf(a), refCompanyKeyOf(a)
		if ka != ra {
			t.Errorf("companyKeyOf(%q) = %+v, reference %+v", a, ka, ra)
		}
		for _, b := range names {
			kb := refCompanyKeyOf(b)
			if got, want := companySim(&ra, &kb), refCompanySim(&ra, &kb); got != want {
				t.Errorf("companySim(%q, %q) = %v, reference %v", a, b, got, want)
			}
		}
	}
}
