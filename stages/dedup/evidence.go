package dedup

import "fmt"

// The evidence rule set (Config.Rules = RulesEvidence): KORE's rules 2 and
// 3 as they are, rule 1 narrowed, and a fourth rule. It is this product's,
// not KORE's; the CRM stage gives it to a new CRM by default (the engine's
// zero Config is KORE's rules, which the simulator's CRM truth follows).
//
// Why. Measured against who is who in the simulator (World.PersonOf),
// KORE's rules join 1,942 pairs of different people for 1,382 right ones:
// rule 1 joins everyone who shares an email (a spouse's account under the
// other's personal email, a family address, a company's tickets@ inbox).
// And they miss a third of the pairs of one person: an employer change or
// a corporate and a personal account (rules 2 and 3 need the company
// equal), a last-name typo (the last name must be equal), swapped names.
// What the same person keeps across such accounts is a cell phone, a birth
// date, an email, an address.
//
//  1. email, narrowed: the emails equal AND the first names agree (or first
//     and last swapped); an inbox shared by two people no longer joins them.
//  4. evidence: the names agree loosely (first name similar and last name
//     equal or similar, a typo; or first and last swapped, exactly) AND
//     one identifier agrees, against the contact itself or against any
//     account already mapped to it: an email; a phone number (any of the
//     account's day, cell and evening phones against any of theirs); the
//     birth date; or the address (postal code equal and street similar).
//     With the first names only agreeing (a married name) only a phone
//     counts; with the last names only (a first name mistyped past the
//     threshold) the birth date and one more identifier are needed.
//
// Rule 4 is tried only when rules 1 to 3 match no contact, so whatever
// KORE's rules decide stays decided; the choice among several contacts is
// the same (ContactBefore). A name alone is never evidence: two accounts
// that share nothing but a name (a corporate account with the work email,
// phone and office, and a personal one) stay apart, because namesakes are
// common (see docs/crm.md).
//
// Accounts already mapped before this engine was built (an incremental
// run) are evidence only once the caller tells the engine about them
// (Know): the stage does, for every unchanged account it reads.

// Rule sets (Config.Rules).
const (
	RulesKORE     = "kore"     // KORE's three rules, as published
	RulesEvidence = "evidence" // rule 1 narrowed, rules 2 and 3, and rule 4 (evidence)
)

// Rule 4's names in the mapping, by the identifier that agreed.
const (
	RuleEvidenceEmail   = "evidence_email"
	RuleEvidencePhone   = "evidence_phone"
	RuleEvidenceBirth   = "evidence_birth_date"
	RuleEvidenceAddress = "evidence_address"
)

// ParseRules checks a rule set's name ("" is RulesKORE).
func ParseRules(s string) (string, error) { return ruleSet(s) }

// ruleSet checks a Config.Rules value.
func ruleSet(s string) (string, error) {
	switch s {
	case "", RulesKORE:
		return RulesKORE, nil
	case RulesEvidence:
		return RulesEvidence, nil
	case RulesProbabilistic:
		return RulesProbabilistic, nil
	}
	return "", fmt.Errorf("dedup: rule set %q: want %q (KORE's three rules), %q (rule 1 narrowed and the evidence rule) or %q (a fitted model)",
		s, RulesKORE, RulesEvidence, RulesProbabilistic)
}

// accountEvidence is what rule 4 compares of an account: its names and
// the identifiers a person keeps across accounts, normalised.
type accountEvidence struct {
	known                             bool
	first, last, email, birth, postal string
	addr                              Address
	phones                            [3]string // day, cell, evening; "" none
}

func evidenceOf(a *Account, r *rec) accountEvidence {
	ev := accountEvidence{known: true, first: r.first, last: r.last, email: r.email, birth: normBirth(a.BirthDate), postal: r.postal, addr: r.addr}
	n := 0
	for _, p := range [3]string{a.PhoneDay, a.PhoneCell, a.PhoneEve} {
		if d := NormPhone(p); len(d) >= 7 && !contains(ev.phones[:n], d) {
			ev.phones[n] = d
			n++
		}
	}
	return ev
}

// evidenceOfContact is a contact's own fields as evidence.
func evidenceOfContact(n *rec) accountEvidence {
	ev := accountEvidence{known: true, first: n.first, last: n.last, email: n.email, postal: n.postal, addr: n.addr}
	if len(n.phone) >= 7 {
		ev.phones[0] = n.phone
	}
	return ev
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// normBirth keeps a birth date only in the ISO form (YYYY-MM-DD...), the
// first ten characters: anything else is no evidence.
func normBirth(s string) string {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return ""
	}
	for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if s[i] < '0' || s[i] > '9' {
			return ""
		}
	}
	return s[:10]
}

// Evidence keys: each identifier of an evidence record, hashed with its
// kind; an account's keys find every record rule 4 can hold for. An
// email, a birth date or an address can be shared by many (a company's
// inbox and office, a date among a million accounts), so those are keyed
// with a name too, twice: with the first name and with the last name,
// as one kind. Names that rule 4 accepts share one of them exactly: the
// last name, or the first name when the last has a typo, or one name the
// other way round when they are swapped. (A typo in the last name AND a
// nickname or typo in the first is missed: dirt on both names at once.)
// Phone numbers are keyed alone: rule 4 takes a phone with the first
// names only (a name taken at marriage), and a phone is rarely shared.
func (ev *accountEvidence) keys(dst []uint64) []uint64 {
	fi, li := ev.first, ev.last
	both := func(kind byte, parts ...string) {
		if fi != "" {
			dst = append(dst, keyHash(kind, append(parts, fi)...))
		}
		if li != "" && li != fi {
			dst = append(dst, keyHash(kind, append(parts, li)...))
		}
	}
	if ev.email != "" {
		both('E', ev.email)
	}
	for _, p := range ev.phones {
		if p != "" {
			dst = append(dst, keyHash('P', p))
		}
	}
	if ev.birth != "" {
		both('B', ev.birth)
	}
	if ev.postal != "" && ev.addr.Number != "" {
		both('A', ev.postal, ev.addr.Number)
	}
	return dst
}

// How the names of two evidence records agree.
const (
	namesDisagree  = iota
	namesAgree     // first names similar, last names equal or similar (a typo), or first and last swapped
	namesFirstOnly // first names similar, last names not
	namesLastOnly  // last names equal or similar, first names not
)

// namesAgreement compares the names (both filled in both): first names
// similar and last names equal or similar (a typo), or first and last
// swapped exactly; or, weaker, first names similar and last names not (a
// name taken at marriage), which only a phone number can back.
func namesAgreement(a, b *accountEvidence, th float64) (int, float64, float64) {
	if a.first == "" || a.last == "" || b.first == "" || b.last == "" {
		return namesDisagree, -1, -1
	}
	if a.first == b.last && a.last == b.first && a.first != a.last {
		return namesAgree, 1, 1
	}
	if !firstNameAgrees(a.first, b.first, th) {
		if a.last == b.last {
			return namesLastOnly, FirstNameSimilarity(a.first, b.first), 1
		}
		if ls := spellSim(a.last, b.last); ls >= th {
			return namesLastOnly, FirstNameSimilarity(a.first, b.first), ls
		}
		return namesDisagree, -1, -1
	}
	fs := FirstNameSimilarity(a.first, b.first)
	if a.last == b.last {
		return namesAgree, fs, 1
	}
	if ls := spellSim(a.last, b.last); ls >= th {
		return namesAgree, fs, ls
	}
	return namesFirstOnly, fs, spellSim(a.last, b.last)
}

// Identifiers two evidence records can share, as bits.
const (
	idEmail = 1 << iota
	idPhone
	idBirth
	idAddress
)

// identifiersAgreeing returns the identifiers a and b share.
func identifiersAgreeing(a, b *accountEvidence, th float64) int {
	ids := 0
	if a.email != "" && a.email == b.email {
		ids |= idEmail
	}
	if a.birth != "" && a.birth == b.birth {
		ids |= idBirth
	}
	for _, p := range a.phones {
		if p != "" && contains(b.phones[:], p) {
			ids |= idPhone
			break
		}
	}
	if a.postal != "" && a.postal == b.postal && !a.addr.Blank() && !b.addr.Blank() && AddressSimilarity(a.addr, b.addr) >= th {
		ids |= idAddress
	}
	return ids
}

// evidenceRule holds what the engine keeps for rule 4: the evidence of
// every account it has mapped (by mapping index) and an index of every
// evidence record's keys, contacts' own fields included. Entries are only
// added: a record that changed leaves its old keys behind, and a lookup
// compares the record as it is now, so a stale key finds nothing.
type evidenceRule struct {
	evs    chunked[accountEvidence] // by mapping index; known false: none
	heads  map[uint64]int32         // key -> its last entry
	owner  chunked[int32]           // entry -> mapping index (>= 0) or -(contact index + 1)
	next   chunked[int32]           // entry -> previous entry of the same key, -1 none
	keyBuf []uint64
	// The candidate round that last saw each owner, by mapping and by
	// contact index (grown as they are).
	seenMapping, seenContact []uint32
	round                    uint32
	contactIndexed           []bool // pre-existing contacts whose own fields are indexed
}

func newEvidenceRule() *evidenceRule {
	return &evidenceRule{heads: map[uint64]int32{}}
}

// of is mapping mi's evidence, nil when the engine has none.
func (x *evidenceRule) of(mi int32) *accountEvidence {
	if mi >= x.evs.len() {
		return nil
	}
	if ev := x.evs.at(mi); ev.known {
		return ev
	}
	return nil
}

// seen marks owner o seen in this round and reports whether it was.
func (x *evidenceRule) seen(o int32) bool {
	s := &x.seenMapping
	i := o
	if o < 0 {
		s, i = &x.seenContact, -o-1
	}
	if int(i) >= len(*s) {
		*s = append(*s, make([]uint32, int(i)+1-len(*s)+len(*s)/4)...)
	}
	if (*s)[i] == x.round {
		return true
	}
	(*s)[i] = x.round
	return false
}

func (x *evidenceRule) add(owner int32, ev *accountEvidence) {
	x.keyBuf = ev.keys(x.keyBuf[:0])
	for _, k := range x.keyBuf {
		prev, ok := x.heads[k]
		if !ok {
			prev = -1
		}
		x.heads[k] = x.owner.push(owner)
		x.next.push(prev)
	}
}

// know records mapping mi's account evidence and indexes it.
func (e *Engine) know(mi int32, a *Account, r *rec) {
	ev := evidenceOf(a, r)
	if old := e.ev.of(mi); old != nil && *old == ev {
		return
	}
	for e.ev.evs.len() <= mi {
		e.ev.evs.push(accountEvidence{})
	}
	*e.ev.evs.at(mi) = ev
	e.ev.add(mi, &ev)
}

// indexContactEvidence indexes a pre-existing contact's own fields as
// evidence, once, when the engine takes it in. A contact deduplication
// created has its accounts' evidence instead; a pre-existing one that an
// account overwrote is compared as it is now (evidenceOwner), and its
// overwriting account's evidence is indexed with that account.
func (e *Engine) indexContactEvidence(ci int32) {
	if e.ev == nil || !e.contacts.at(ci).crm || int(ci) < len(e.ev.contactIndexed) && e.ev.contactIndexed[ci] {
		return
	}
	for len(e.ev.contactIndexed) <= int(ci) {
		e.ev.contactIndexed = append(e.ev.contactIndexed, false)
	}
	e.ev.contactIndexed[ci] = true
	n := e.contacts.at(ci).n.rec()
	ev := evidenceOfContact(&n)
	e.ev.add(-(ci + 1), &ev)
}

// Know tells an engine running the evidence or the probabilistic rules
// about an account that is already mapped and unchanged (not fed again by
// Add): its details are evidence for later accounts. Under KORE's rules
// it does nothing.
func (e *Engine) Know(a *Account) error {
	if e.ev == nil && e.pb == nil {
		return nil
	}
	mi, ok := e.mapByAcc[a.AccountRef]
	if !ok {
		return fmt.Errorf("dedup: Know of account %s:%d, which has no mapping: Add it instead", a.Team, a.AcctID)
	}
	r := accountRec(a)
	if e.ev != nil {
		e.know(mi, a, &r)
	}
	if e.pb != nil {
		p := pRecOfAccount(a, &r)
		e.probKnow(mi, &p)
	}
	return nil
}

// evidenceBest finds the first contact (ContactBefore) rule 4 holds for,
// -1 for none; only skip is left out (the account's own mapping).
func (e *Engine) evidenceBest(a *Account, r *rec, skip int32) (int32, string, Scores) {
	ev := evidenceOf(a, r)
	x := e.ev
	x.round++
	if x.round == 0 {
		clear(x.seenMapping)
		clear(x.seenContact)
		x.round = 1
	}
	bi, brule, bs := int32(-1), "", NoScores
	x.keyBuf = ev.keys(x.keyBuf[:0])
	for _, k := range x.keyBuf {
		h, ok := x.heads[k]
		if !ok {
			continue
		}
		for p := h; p >= 0; p = *x.next.at(p) {
			o := *x.owner.at(p)
			if o == skip || x.seen(o) {
				continue
			}
			ci, other := e.evidenceOwner(o)
			if other == nil {
				continue
			}
			if bi >= 0 && !ContactBefore(&e.contacts.at(ci).c, &e.contacts.at(bi).c) {
				continue
			}
			if rule, sc := evidenceMatch(&ev, other, e.th); rule != "" && e.birthAgrees(ev.birth, ci, skip) {
				bi, brule, bs = ci, rule, sc
			}
		}
	}
	return bi, brule, bs
}

// evidenceHoldsWith reports whether rule 4 holds between account a and
// contact ci (its own fields or any of its accounts but a's own mapping).
func (e *Engine) evidenceHoldsWith(a *Account, r *rec, ci, skip int32) bool {
	ev := evidenceOf(a, r)
	n := e.contacts.at(ci).n.rec()
	own := evidenceOfContact(&n)
	if rule, _ := evidenceMatch(&ev, &own, e.th); rule != "" {
		return true
	}
	for p := e.contacts.at(ci).firstMp; p >= 0; p = e.mapNext[p] {
		if p == skip {
			continue
		}
		if other := e.ev.of(p); other != nil {
			if rule, _ := evidenceMatch(&ev, other, e.th); rule != "" {
				return true
			}
		}
	}
	return false
}

// evidenceAllows is what the evidence rules add to rules 1 to 3 for
// account a and contact ci (c: its normalised fields): two vetoes.
//   - Birth dates: when the account has one and the contact's accounts
//     have some, one of them must be the account's. A parent and a child
//     of one name at one address, or sharing a family email, are told
//     apart by it.
//   - A role address (RFC 2142's info@, sales@, and the like: see
//     roleLocals) is an inbox several people read: rule 1 over one then
//     needs the last names to agree too (equal, or a typo), not only the
//     first names.
func (e *Engine) evidenceAllows(a *Account, r *rec, c *rec, ci, skip int32) bool {
	if !e.birthAgrees(normBirth(a.BirthDate), ci, skip) {
		return false
	}
	if r.email != "" && r.email == c.email && isRoleEmail(r.email) && r.last != c.last && spellSim(r.last, c.last) < e.th {
		return false
	}
	return true
}

// birthAgrees reports whether birth date b ("": none) is no reason to
// keep an account from contact ci: b is blank, or none of the contact's
// accounts (but skip) has a birth date, or one has b.
func (e *Engine) birthAgrees(b string, ci, skip int32) bool {
	if b == "" {
		return true
	}
	other := false
	for p := e.contacts.at(ci).firstMp; p >= 0; p = e.mapNext[p] {
		if p == skip {
			continue
		}
		if ev := e.ev.of(p); ev != nil && ev.birth != "" {
			if ev.birth == b {
				return true
			}
			other = true
		}
	}
	return !other
}

// roleLocals are the local parts of role addresses: RFC 2142's mailbox
// names and the usual business inboxes. An email with one of them (or one
// of them followed by digits, a dot, a dash or an underscore and more) is
// a shared inbox, not a person's.
var roleLocals = map[string]bool{
	"info": true, "marketing": true, "sales": true, "support": true, "abuse": true, "noc": true, "security": true,
	"postmaster": true, "hostmaster": true, "webmaster": true, "admin": true, "office": true, "hr": true,
	"accounting": true, "accounts": true, "ap": true, "billing": true, "invoices": true, "payables": true,
	"events": true, "frontdesk": true, "reception": true, "tickets": true, "ticketing": true, "boxoffice": true,
	"contact": true, "hello": true, "team": true, "mail": true, "inquiries": true, "enquiries": true, "orders": true,
	"booking": true, "bookings": true, "service": true, "customerservice": true, "operations": true, "ops": true,
	"purchasing": true, "finance": true, "legal": true, "press": true, "media": true, "jobs": true, "careers": true,
	"noreply": true, "no-reply": true, "general": true, "staff": true, "group": true, "groups": true,
}

// isRoleEmail reports whether a normalised email is a role address.
func isRoleEmail(email string) bool {
	at := len(email)
	for i := 0; i < len(email); i++ {
		if email[i] == '@' {
			at = i
			break
		}
	}
	local := email[:at]
	if roleLocals[local] {
		return true
	}
	for i := 1; i < len(local); i++ {
		if c := local[i]; c == '.' || c == '-' || c == '_' || c == '+' || c >= '0' && c <= '9' {
			return roleLocals[local[:i]]
		}
	}
	return false
}

// evidenceOwner resolves an index entry's owner to its contact and its
// evidence as it is now.
func (e *Engine) evidenceOwner(o int32) (int32, *accountEvidence) {
	if o < 0 {
		ci := -o - 1
		n := e.contacts.at(ci).n.rec()
		ev := evidenceOfContact(&n)
		return ci, &ev
	}
	ev := e.ev.of(o)
	if ev == nil {
		return -1, nil
	}
	return e.maps.at(o).contact, ev
}

// evidenceMatch applies rule 4 to two evidence records: the rule's name
// by the identifier that agreed ("" for none) and the scores.
func evidenceMatch(a, b *accountEvidence, th float64) (string, Scores) {
	names, fs, ls := namesAgreement(a, b, th)
	if names == namesDisagree {
		return "", NoScores
	}
	ids := identifiersAgreeing(a, b, th)
	switch names {
	case namesFirstOnly:
		ids &= idPhone // a married name: only a phone number backs it
	case namesLastOnly:
		// A first name mistyped past the threshold ("Hlen"): the birth
		// date and one more identifier, which a spouse sharing the
		// email and address does not have.
		if ids&idBirth == 0 || ids&^idBirth == 0 {
			ids = 0
		}
	}
	sc := NoScores
	sc.First, sc.Last = fs, ls
	switch {
	case ids&idEmail != 0:
		sc.Email = 1
		return RuleEvidenceEmail, sc
	case ids&idPhone != 0:
		sc.Phone = 1
		return RuleEvidencePhone, sc
	case ids&idBirth != 0:
		return RuleEvidenceBirth, sc // no score column: the rule says it
	case ids&idAddress != 0:
		sc.Address, sc.Postal = AddressSimilarity(a.addr, b.addr), 1
		return RuleEvidenceAddress, sc
	}
	return "", NoScores
}
