package dedup

import (
	"strings"
)

// Normalisation: every field is brought to one canonical form before the
// rules compare it, so that differences of typing (case, spacing,
// punctuation, phone and postal formats, "Inc." or not, "St" or "Street")
// are not differences of value. Exact fields (email, last name, postal
// code, phone) are compared as normalised strings; fuzzy ones (first name,
// company, address) by similarity of their normalised forms (rules.go).

// NormEmail is an email compared exactly: trimmed and lower case.
func NormEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormName is a person's name: lower case, periods, commas and apostrophes dropped,
// hyphens and runs of whitespace made one space ("O'Brien " and "OBRIEN"
// agree, "Marc-Andre" and "Marc Andre" agree).
func NormName(s string) string {
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

// NormPhone is a phone number's digits, a leading US country code 1
// dropped from an 11-digit number ("+1 (617) 555-1234" is "6175551234").
func NormPhone(s string) string {
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

// NormPostal is a postal code: upper case without spaces or dashes; a US
// ZIP+4 ("02110-1234", "021101234") is its five-digit ZIP, a Canadian code
// "H2X 1Y4" is "H2X1Y4".
func NormPostal(s string) string {
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

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// words splits s into lower-case words: letters and digits, '&' as
// "and", '#' as its own word; other punctuation separates words except
// periods and apostrophes inside one ("St." is "st", "Martha's" is "marthas").
func words(s string) []string {
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

// companySuffixes are legal forms: dropped from the end of a company name
// ("Acme Widgets Corp.", "Acme Widgets Corporation", "Acme Widgets" agree).
var companySuffixes = map[string]bool{
	"inc": true, "incorporated": true, "llc": true, "ltd": true, "limited": true, "corp": true, "corporation": true,
	"co": true, "company": true, "llp": true, "lp": true, "plc": true, "pc": true, "pllc": true, "gmbh": true,
}

// companyWords are the usual abbreviations of words in business names,
// written out, so "Intl" and "International" agree.
var companyWords = map[string]string{
	"intl": "international", "svcs": "services", "svc": "service", "sol": "solutions", "assoc": "associates",
	"assocs": "associates", "grp": "group", "ne": "northeast", "mfg": "manufacturing", "const": "construction",
	"constr": "construction", "ins": "insurance", "eng": "engineering", "engr": "engineering", "consult": "consulting",
	"fin": "financial", "med": "medical", "mgmt": "management", "mgt": "management", "bros": "brothers", "st": "saint",
	"tech": "technology", "ptnrs": "partners", "assn": "association", "hosp": "hospital", "contr": "contractors",
	"pharma": "pharmaceuticals", "dev": "development", "dist": "distribution", "instr": "instruments",
	"mass": "massachusetts", "conn": "connecticut", "fdn": "foundation", "adv": "advisors", "cap": "capital",
	"sys": "systems", "auth": "authority", "coop": "cooperative", "mtg": "mortgage", "natl": "national",
	"dept": "department", "univ": "university", "ctr": "center", "cntr": "center", "bldrs": "builders",
}

// NormCompany is a company name: what follows a '|' (a department typed
// after the name) dropped, '&' as "and", punctuation dropped, usual
// abbreviations written out and legal suffixes dropped from the end
// ("Sporting Service Solutions, Inc." and "Sporting Svc Solutions" are
// both "sporting service solutions").
func NormCompany(s string) string {
	if i := strings.IndexByte(s, '|'); i >= 0 {
		s = s[:i]
	}
	ws := words(s)
	for len(ws) > 1 && companySuffixes[ws[len(ws)-1]] {
		ws = ws[:len(ws)-1]
	}
	for i, w := range ws {
		if full, ok := companyWords[w]; ok {
			ws[i] = full
		}
	}
	return strings.Join(ws, " ")
}

// companyInitials are the first letters of a normalised company name's
// words, "and", "of" and "the" skipped: what an acronym of it spells
// ("sporting service solutions" is "sss").
func companyInitials(norm string) string {
	var b strings.Builder
	for _, w := range strings.Fields(norm) {
		if w == "and" || w == "of" || w == "the" {
			continue
		}
		b.WriteByte(w[0])
	}
	return b.String()
}

// streetWords canonicalises street types, directions and unit words to
// the USPS abbreviations.
var streetWords = map[string]string{
	"street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
	"lane": "ln", "court": "ct", "place": "pl", "terrace": "ter", "parkway": "pkwy", "highway": "hwy",
	"square": "sq", "circle": "cir", "highlands": "hls", "heights": "hts", "turnpike": "tpke", "expressway": "expy",
	"north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw", "southeast": "se",
	"southwest": "sw", "mount": "mt", "fort": "ft",
}

// unitWords start the unit part of an address line, canonicalised.
var unitWords = map[string]string{
	"apartment": "apt", "apt": "apt", "suite": "ste", "ste": "ste", "unit": "unit", "#": "#", "floor": "fl",
	"fl": "fl", "flr": "fl", "room": "rm", "rm": "rm", "building": "bldg", "bldg": "bldg",
}

// Address is a street address split for comparison.
type Address struct {
	Number string // the house number, "" if none
	Street string // the rest of the street line, canonical ("main st")
	Unit   string // the unit, canonical ("apt 4", "ste 1200"); "" if none
}

// NormAddress parses street lines (line 1, then any further lines) into
// a canonical Address: words as in words(), street types and directions
// abbreviated the USPS way ("123 Main Street" and "123 Main St." agree),
// the unit after "Apt", "Suite", "Unit", "#", "Floor", ... canonicalised
// ("Suite 200" and "Ste 200" agree, "#12" is "# 12"). Words on a further
// line that are not a unit (an "Attn: Receiving" note) are ignored: they
// say nothing about where the place is.
func NormAddress(lines ...string) Address {
	var a Address
	var street, unit []string
	for li, line := range lines {
		ws := words(line)
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

// Blank reports whether the address has nothing to compare.
func (a Address) Blank() bool { return a.Number == "" && a.Street == "" && a.Unit == "" }
