package dedup

import (
	"strings"
	"unicode"
	"unicode/utf8"
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
// agree, "Marc-Andre" and "Marc Andre" agree). Built in a stack buffer:
// a name already normal is returned as is, else allocated once.
func NormName(s string) string {
	var stack [64]byte
	b := stack[:0]
	space := false
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		r = unicode.ToLower(r)
		switch {
		case r == '.' || r == ',' || r == '\'' || r == '\u2019':
			continue
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r':
			space = len(b) > 0
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = utf8.AppendRune(b, r)
	}
	if string(b) == s {
		return s
	}
	return string(b)
}

// NormPhone is a phone number's digits, a leading US country code 1
// dropped from an 11-digit number ("+1 (617) 555-1234" is "6175551234").
func NormPhone(s string) string {
	var stack [16]byte
	d := stack[:0]
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) == len(s) && string(d) == s {
		return s
	}
	return string(d)
}

// NormPostal is a postal code: upper case without spaces or dashes; a US
// ZIP+4 ("02110-1234", "021101234") is its five-digit ZIP, a Canadian code
// "H2X 1Y4" is "H2X1Y4".
func NormPostal(s string) string {
	var stack [16]byte
	b := stack[:0]
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		r = unicode.ToUpper(r)
		if r == ' ' || r == '-' || r == '\t' || r == '.' {
			continue
		}
		b = utf8.AppendRune(b, r)
	}
	if len(b) >= 5 && isDigitBytes(b[:5]) && (len(b) == 5 || len(b) == 9 && isDigitBytes(b)) {
		b = b[:5]
	}
	switch {
	case string(b) == s:
		return s
	case len(s) >= len(b) && string(b) == s[:len(b)]:
		return s[:len(b)] // a ZIP+4 written without a separator
	}
	return string(b)
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
//
// It runs for every account, so it builds the parts in stack buffers and
// allocates once: the three parts share one string.
func NormAddress(lines ...string) Address {
	var numBuf [16]byte
	var streetBuf, unitBuf [128]byte
	number, street, unit := numBuf[:0], streetBuf[:0], unitBuf[:0]
	var sc wordScanner
	for li, line := range lines {
		sc.reset(line)
		inUnit := false
		for i := 0; ; i++ {
			w, ok := sc.next()
			if !ok {
				break
			}
			if u, ok := unitWords[string(w)]; ok && (i > 0 || li > 0) {
				inUnit = true
				unit = appendWord(unit, u)
				continue
			}
			switch {
			case inUnit:
				unit = appendWord(unit, string(w))
			case li == 0 && i == 0 && isDigitBytes(w):
				number = append(number[:0], w...)
			case li == 0:
				if c, ok := streetWords[string(w)]; ok {
					street = appendWord(street, c)
				} else {
					street = appendWord(street, string(w))
				}
			}
		}
		sc.release()
	}
	if len(number)+len(street)+len(unit) == 0 {
		return Address{}
	}
	var allBuf [288]byte
	all := string(append(append(append(allBuf[:0], number...), street...), unit...))
	n, s := len(number), len(number)+len(street)
	return Address{Number: all[:n], Street: all[n:s], Unit: all[s:]}
}

// appendWord appends w to a space-separated list of words.
func appendWord(dst []byte, w string) []byte {
	if len(dst) > 0 {
		dst = append(dst, ' ')
	}
	return append(dst, w...)
}

func isDigitBytes(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// wordScanner yields the words of a string as words() splits them, one
// at a time into a buffer it reuses (valid until the next call): the
// normalisation of every account then makes no garbage per word.
type wordScanner struct {
	s       string
	i       int
	buf     []byte
	pending string // "and" or "#": the word a '&' or '#' makes after the one it ended
	stack   [64]byte
}

func (w *wordScanner) reset(s string) {
	w.s, w.i, w.pending = s, 0, ""
	if w.buf == nil {
		w.buf = w.stack[:0]
	}
}

// release drops the reference to the scanned string.
func (w *wordScanner) release() { w.s = "" }

func (w *wordScanner) next() ([]byte, bool) {
	w.buf = w.buf[:0]
	if w.pending != "" {
		w.buf = append(w.buf, w.pending...)
		w.pending = ""
		return w.buf, true
	}
	for w.i < len(w.s) {
		r, size := rune(w.s[w.i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(w.s[w.i:])
		}
		w.i += size
		r = unicode.ToLower(r)
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r > 127 && r != '\u2019':
			w.buf = utf8.AppendRune(w.buf, r)
		case r == '.' || r == '\'' || r == '\u2019':
		case r == '&' || r == '#':
			word := "and"
			if r == '#' {
				word = "#"
			}
			if len(w.buf) > 0 {
				w.pending = word
				return w.buf, true
			}
			w.buf = append(w.buf, word...)
			return w.buf, true
		default:
			if len(w.buf) > 0 {
				return w.buf, true
			}
		}
	}
	return w.buf, len(w.buf) > 0
}

// Blank reports whether the address has nothing to compare.
func (a Address) Blank() bool { return a.Number == "" && a.Street == "" && a.Unit == "" }
