package dedup

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// KORE's three rules (help.koresoftware.com), as this package applies
// them. An account matches a contact when any rule holds:
//
//  1. email: the emails are equal after trimming and lower-casing (both
//     filled);
//  2. name_address: last name equal, first name similar, and company,
//     address and postal code each agreeing, at least one of those three
//     filled in both;
//  3. name_phone: last name equal, first name similar, company agreeing
//     and phone agreeing, at least one of the two filled in both.
//
// A field agrees when it is blank in both (after normalising), or filled
// in both and equal (email, last name, postal code, phone: exact after
// normalising) or similar (first name, company, address: a similarity of
// at least the threshold). A field filled in one only does not agree:
// "blank in both counts as equal" is the rule, and a blank on one side is
// no evidence of the same person. The first name must be filled in both.
//
// Similarity (Scores) is in [0, 1], by Jaro-Winkler (jarowinkler.go, the
// standard definition: Winkler's prefix scale 0.1 over at most 4 letters)
// where a field is spelled differently:
//   - first name: 1 equal; 0.95 when one is a known nickname of the other
//     or both are nicknames of one name (nicknames.go: "Bob" and "Robert",
//     "Bob" and "Rob"); else the Jaro-Winkler similarity (typos: "Jonh",
//     "Micheal" score above 0.9), at least 0.92 for one typo (a letter
//     dropped, added, changed or two swapped) in names of five letters
//     or more, which Jaro-Winkler can score lower ("Atonio", 0.88);
//   - company: 1 equal after NormCompany; 0.95 when one is the acronym of
//     the other ("SSS" of "Sporting Service Solutions"); else the greater
//     of Jaro-Winkler and the edit similarity (1 - edits/length: two
//     typos in a long name stay close, where Jaro-Winkler counts shifted
//     letters as transpositions) of the normalised names, capped by the
//     similarity of their least similar word when both have as many
//     words ("Commonwealth Legal" and "Commonwealth Health" score 0.93
//     whole but 0.70 on "legal" and "health");
//   - address: 0 when the house numbers differ or the units differ (both
//     filled); else Jaro-Winkler of the canonical street ("main st"). A
//     unit on one side only does not count against: people leave it off.
//
// The threshold (Config.Threshold) defaults to DefaultThreshold, 0.9:
// Jaro-Winkler's usual cut for names; at 0.9 every spelling of every
// company the simulator writes agrees with its other spellings and with
// no other company's (TestCompanySimilarityAgainstSpellings).
//
// Rule 3's "business phone" is the account's phone_day against the
// contact's phone. When phone_day is blank it is blank: the rule then
// holds only with a contact without a phone and with a company in both. A
// cell or evening phone is not a business phone, and two people of one
// household share a home phone: comparing them would join them.

// DefaultThreshold is the least similarity for a fuzzy field to agree.
const DefaultThreshold = 0.9

// Similarity scores given to matches that are not spelling.
const (
	nicknameScore = 0.95
	acronymScore  = 0.95
	typoScore     = 0.92
)

// rec is an account or a contact as the rules see it: normalised.
type rec struct {
	email, last, first string
	company            companyKey
	addr               Address
	postal, phone      string
}

func accountRec(a *Account) rec {
	return rec{email: NormEmail(a.Email), last: NormName(a.Last), first: NormName(a.First), company: companyKeyOf(a.Company),
		addr: NormAddress(a.Street1, a.Street2), postal: NormPostal(a.Zip), phone: NormPhone(a.PhoneDay)}
}

// contactRec normalises a contact; company is the name of its CRM account
// when that is a company, else "".
func contactRecOf(c *Contact, company string) rec {
	return contactRecWith(c, companyKeyOf(company))
}

// contactRecWith normalises a contact whose company key is known.
func contactRecWith(c *Contact, company companyKey) rec {
	return rec{email: NormEmail(c.Email), last: NormName(c.Last), first: NormName(c.First), company: company,
		addr: NormAddress(c.Street, c.Street2), postal: NormPostal(c.PostalCode), phone: NormPhone(c.Phone)}
}

func jw(a, b string) float64 { return JaroWinkler(a, b) }

// FirstNameSimilarity is the similarity of two normalised first names.
func FirstNameSimilarity(a, b string) float64 {
	if a == b {
		return 1
	}
	if nicknameOf(a, b) {
		return nicknameScore
	}
	return spellSim(a, b)
}

// spellSim is the similarity of two spellings: the greater of
// Jaro-Winkler and the edit similarity, and at least typoScore for one
// typo in words of five letters or more, which Jaro-Winkler can score low
// when it is near the start ("Atonio" and "Antonio": 0.88).
func spellSim(a, b string) float64 {
	if a == b {
		return 1
	}
	s := max(jw(a, b), editSimilarity(a, b))
	if s < typoScore && len(a) >= 5 && len(b) >= 5 && oneEdit(a, b) {
		s = typoScore
	}
	return s
}

// CompanySimilarity is the similarity of two company names as typed.
func CompanySimilarity(a, b string) float64 {
	ka, kb := companyKeyOf(a), companyKeyOf(b)
	return companySim(&ka, &kb)
}

// companyKey is a company name ready to compare: normalised, and the
// initials an acronym of it would spell, with and without its legal
// suffix ("Lynn Shoe Company" is "LSC", "Acme Widgets Corp" is "AW" or
// "AWC").
type companyKey struct {
	norm, initials, initialsAll string
}

func companyKeyOf(s string) companyKey {
	if i := strings.IndexByte(s, '|'); i >= 0 {
		s = s[:i] // a department typed after the name is not the company
	}
	// The words once, into stack buffers: joined (for the initials of
	// the whole name) and their ends (to drop suffixes and write
	// abbreviations out), then the three strings in one allocation.
	var joinedBuf, normBuf [128]byte
	var endsBuf [32]int
	joined, ends := joinedBuf[:0], endsBuf[:0]
	var sc wordScanner
	sc.reset(s)
	for w, ok := sc.next(); ok; w, ok = sc.next() {
		if len(joined) > 0 {
			joined = append(joined, ' ')
		}
		joined = append(joined, w...)
		ends = append(ends, len(joined))
	}
	sc.release()
	word := func(i int) []byte {
		start := 0
		if i > 0 {
			start = ends[i-1] + 1
		}
		return joined[start:ends[i]]
	}
	n := len(ends)
	for n > 1 && companySuffixes[string(word(n-1))] {
		n--
	}
	norm := normBuf[:0]
	for i := range n {
		if full, ok := companyWords[string(word(i))]; ok {
			norm = appendWord(norm, full)
		} else {
			norm = appendWord(norm, string(word(i)))
		}
	}
	if len(norm) == 0 {
		return companyKey{}
	}
	nn := len(norm)
	all := appendInitials(norm, norm[:nn])
	ni := len(all)
	all = appendInitials(all, joined)
	str := string(all)
	return companyKey{norm: str[:nn], initials: str[nn:ni], initialsAll: str[ni:]}
}

// appendInitials appends companyInitials(s) to dst.
func appendInitials(dst, s []byte) []byte {
	for i := 0; ; {
		start, end := nextField(s, i)
		if start == end {
			return dst
		}
		if w := string(s[start:end]); w != "and" && w != "of" && w != "the" {
			dst = append(dst, s[start])
		}
		i = end
	}
}

// nextField is the next field of s from byte i as strings.Fields splits
// them (runs of runes that are not unicode.IsSpace): start == end when
// none is left.
func nextField[T string | []byte](s T, i int) (start, end int) {
	inField := false
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune([]byte(s[i:min(i+utf8.UTFMax, len(s))]))
		}
		if unicode.IsSpace(r) {
			if inField {
				return start, i
			}
		} else if !inField {
			inField, start = true, i
		}
		i += size
	}
	if inField {
		return start, len(s)
	}
	return len(s), len(s)
}

// fieldCount is len(strings.Fields(s)).
func fieldCount(s string) int {
	n := 0
	for i := 0; ; n++ {
		start, end := nextField(s, i)
		if start == end {
			return n
		}
		i = end
	}
}

func (k *companyKey) acronymOf(o *companyKey) bool {
	return len(k.norm) >= 3 && !strings.Contains(k.norm, " ") && (k.norm == o.initials || k.norm == o.initialsAll)
}

// companySim: 1 equal, acronymScore for an acronym, else the greater of
// Jaro-Winkler and the edit similarity of the names, but no more than
// that of their least similar word when they have as many words.
func companySim(a, b *companyKey) float64 {
	if a.norm == b.norm {
		return 1
	}
	if a.acronymOf(b) || b.acronymOf(a) {
		return acronymScore
	}
	s := spellSim(a.norm, b.norm)
	if fieldCount(a.norm) == fieldCount(b.norm) {
		// word by word, without splitting the names into slices
		for i, j := 0, 0; ; {
			sa, ea := nextField(a.norm, i)
			sb, eb := nextField(b.norm, j)
			if sa == ea {
				break
			}
			if wa, wb := a.norm[sa:ea], b.norm[sb:eb]; wa != wb {
				s = min(s, spellSim(wa, wb))
			}
			i, j = ea, eb
		}
	}
	return s
}

// AddressSimilarity is the similarity of two parsed addresses.
func AddressSimilarity(a, b Address) float64 {
	if a.Number != b.Number || a.Unit != "" && b.Unit != "" && a.Unit != b.Unit {
		return 0
	}
	return jw(a.Street, b.Street)
}

// Field agreement.
const (
	agreeBlank  = iota // blank in both: agrees, not filled
	agreeFilled        // filled in both and equal or similar
	agreeNot           // blank in one, or different
)

func exact(a, b string) (int, float64) {
	switch {
	case a == "" && b == "":
		return agreeBlank, -1
	case a == "" || b == "":
		return agreeNot, 0
	case a == b:
		return agreeFilled, 1
	}
	return agreeNot, 0
}

func fuzzy(blankA, blankB bool, sim func() float64, th float64) (int, float64) {
	switch {
	case blankA && blankB:
		return agreeBlank, -1
	case blankA || blankB:
		return agreeNot, 0
	}
	s := sim()
	if s >= th {
		return agreeFilled, s
	}
	return agreeNot, s
}

// match applies the rules to account a and contact c: the first rule
// that holds ("" for none) and the similarity of every field compared.
func match(a, c *rec, th float64, emailNeedsFirst bool) (string, Scores) {
	sc := NoScores
	var email int
	email, sc.Email = exact(a.email, c.email)
	last, ls := exact(a.last, c.last)
	if email != agreeFilled && last != agreeFilled {
		// Neither email nor last name: no rule can hold; leave the
		// fuzzy fields uncompared (the common case of a block's other
		// people).
		sc.Last = ls
		return "", sc
	}
	sc.Last = ls
	first, fs := fuzzy(a.first == "", c.first == "", func() float64 { return FirstNameSimilarity(a.first, c.first) }, th)
	sc.First = fs
	company, cs := fuzzy(a.company.norm == "", c.company.norm == "", func() float64 { return companySim(&a.company, &c.company) }, th)
	sc.Company = cs
	addr, as := fuzzy(a.addr.Blank(), c.addr.Blank(), func() float64 { return AddressSimilarity(a.addr, c.addr) }, th)
	sc.Address = as
	var postal, phone int
	postal, sc.Postal = exact(a.postal, c.postal)
	phone, sc.Phone = exact(a.phone, c.phone)
	if email == agreeFilled && (!emailNeedsFirst || first == agreeFilled ||
		a.first != "" && a.first == c.last && a.last == c.first) {
		return RuleEmail, sc
	}
	names := last == agreeFilled && first == agreeFilled
	if !names || company == agreeNot {
		return "", sc
	}
	if addr != agreeNot && postal != agreeNot && (company == agreeFilled || addr == agreeFilled || postal == agreeFilled) {
		return RuleNameAddress, sc
	}
	if phone != agreeNot && (company == agreeFilled || phone == agreeFilled) {
		return RuleNamePhone, sc
	}
	return "", sc
}

// matches reports whether match would find a rule holding for account a
// and contact c, without computing the scores: the cheap comparisons
// first (exact fields), a fuzzy one only when the answer still depends on
// it. Most candidates of a block fail, and their scores were thrown away;
// match computes them for the one the engine keeps.
func matches(a, c *rec, th float64, emailNeedsFirst bool) bool {
	if a.email != "" && a.email == c.email {
		// Rule 1, or with EmailNeedsFirstName the first names agreeing
		// or swapped; else rules 2 and 3 fail too, needing the first
		// names to agree.
		return !emailNeedsFirst || a.first != "" && (c.first != "" && firstNameAgrees(a.first, c.first, th) ||
			a.first == c.last && a.last == c.first)
	}
	if a.last == "" || a.last != c.last {
		return false
	}
	postal, phone := agreement(a.postal, c.postal), agreement(a.phone, c.phone)
	if postal == agreeNot && phone == agreeNot {
		return false
	}
	if a.first == "" || c.first == "" || !firstNameAgrees(a.first, c.first, th) {
		return false
	}
	company := agreeBlank
	switch {
	case a.company.norm == "" && c.company.norm == "":
	case a.company.norm == "" || c.company.norm == "":
		return false
	case companySim(&a.company, &c.company) >= th:
		company = agreeFilled
	default:
		return false
	}
	if postal != agreeNot {
		addr := agreeBlank
		switch ab, cb := a.addr.Blank(), c.addr.Blank(); {
		case ab && cb:
		case ab || cb:
			addr = agreeNot
		case AddressSimilarity(a.addr, c.addr) >= th:
			addr = agreeFilled
		default:
			addr = agreeNot
		}
		if addr != agreeNot && (company == agreeFilled || addr == agreeFilled || postal == agreeFilled) {
			return true
		}
	}
	return phone != agreeNot && (company == agreeFilled || phone == agreeFilled)
}

// firstNameAgrees is FirstNameSimilarity(a, b) >= th for names filled in
// both, mostly without computing it: different people of one block (a
// surname in a postal code) have names that share few letters, and an
// upper bound from the letters they share rejects them. Jaro counts at
// most the letters both hold (as a multiset), m, so Jaro <= (m/|a| +
// m/|b| + 1)/3 and Winkler's boost of the exact common prefix keeps it
// increasing; an edit similarity needs at least max(|a|, |b|) - m edits
// (a swap keeps the letters, any other edit fixes at most one on each
// side), so it is at most m/max(|a|, |b|).
func firstNameAgrees(a, b string, th float64) bool {
	if a == b {
		return true
	}
	if !nicknameOf(a, b) && clearlyBelow(a, b, th) {
		return false
	}
	return FirstNameSimilarity(a, b) >= th
}

// clearlyBelow reports whether spellSim(a, b) is surely below th by the
// bound above (false: compute it). A single typo in names of five letters
// or more scores typoScore, which the bound does not see: never below.
func clearlyBelow(a, b string, th float64) bool {
	if len(a) > 64 || len(b) > 64 || len(a) >= 5 && len(b) >= 5 && oneEdit(a, b) {
		return false
	}
	m := commonLetters(a, b)
	la, lb := float64(len(a)), float64(len(b))
	jaro := (m/la + m/lb + 1) / 3
	p := 0
	for p < 4 && p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	jw := jaro + 0.1*float64(p)*(1-jaro)
	// The margin covers rounding: only a clear miss is decided here.
	return max(jw, m/max(la, lb)) < th-1e-9
}

// commonLetters is the number of bytes a and b hold in common, as
// multisets (len(a), len(b) <= 64).
func commonLetters(a, b string) float64 {
	var used uint64
	m := 0
	for i := 0; i < len(a); i++ {
		for j := 0; j < len(b); j++ {
			if used&(1<<j) == 0 && a[i] == b[j] {
				used |= 1 << j
				m++
				break
			}
		}
	}
	return float64(m)
}

// agreement is exact's agreement without the score.
func agreement(a, b string) int {
	switch {
	case a == "" && b == "":
		return agreeBlank
	case a == b:
		return agreeFilled
	}
	return agreeNot
}
