package simulator

import (
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CRM TRUTH
//
// What a correct initial load must do with the pre-existing CRM, as the
// seed and KORE's rules say, computed from what the generator knows the
// values mean (the same person's name typed as a nickname, the same
// company spelled another way, the same address with "St" for "Street")
// rather than from string similarity, so it can catch a wrong dedup.
//
// Agreement of one field between a contact and an account (the account's
// primary customer name as it is in the dump):
//   - same: equal after normalising (lower case; whitespace trimmed and
//     collapsed; for addresses '.', ',' and '#' dropped; phones: digits,
//     a leading 1 dropped; postal codes: a US ZIP's first five digits, a
//     Canadian code without its space);
//   - variant: different strings for the same thing (a nickname or typo of
//     the person's first name, a typo of their last name, another spelling
//     of the company, another spelling of the address or with and without
//     its unit line): a fuzzy comparison should accept it;
//   - blank: blank in both; one_blank: blank in one only;
//   - differs: different things.
// Email, last name, postal code and phone are never "variant" for the
// rules: email and last name are exact by KORE's rules, and the generator
// never misspells a ZIP or a phone number (it formats them differently).
//
// The rules (help.koresoftware.com), from the agreements:
//   - email: email is same;
//   - name_address: last same, first same or variant, company, address
//     and postal code each same, variant or blank, and at least one of
//     them same or variant;
//   - name_phone: last same, first same or variant, company same, variant
//     or blank, phone (contact phone vs the account's phone_day) same or
//     blank, and company or phone same or variant.
//
// Which accounts are compared with a contact: every account of the
// contact's person, of the people in their household, and of everyone
// holding an email any of these hold on purpose (shared_emails.csv). By
// construction no other account can agree on email, and agreeing on last
// name, first name and a company, address or phone takes one of these.
//
// The expected initial load (crm_contacts.csv). Accounts are taken in the
// "found first" order: add_date (the account's creation instant), then
// team name (byte order), then acct_id. Accounts of the excluded types
// (CRMExcludedAcctTypes) and accounts not in the dump are skipped. Each
// account is compared with every pre-existing contact as that contact is
// at that moment; if some rule holds for several, it goes to the one with
// the lowest contact_id (pre-existing contacts before any contact the load
// creates). The first account a contact gets is its primary and
// overwrites the contact: first, last, email, phone (phone_day, else
// phone_cell, else phone_eve), company (company_name, linked to the
// company it names) and the address (street lines, city, state, ZIP), each
// only where the account's value is not blank; later accounts are
// secondary and change nothing. A contact no account matches stays as it
// was.
//
// This expected load is KORE's rules'. Other rule sets promise who is who
// rather than a load rule by rule: their truth is CRMContactTruth.Person
// and World.PersonOf (no contact's primary is another person's account).

// CRMExcludedAcctTypes are the account types the expected load assumes
// the client configured not to sync to the CRM.
var CRMExcludedAcctTypes = []string{"Broker", "Internal Comp", "Test"}

// Agreement classes of one field (see CRM TRUTH).
const (
	AgreeSame     = "same"
	AgreeVariant  = "variant"
	AgreeBlank    = "blank"
	AgreeOneBlank = "one_blank"
	AgreeDiffers  = "differs"
)

// Rule names.
const (
	RuleEmail       = "email"
	RuleNameAddress = "name_address"
	RuleNamePhone   = "name_phone"
)

// matchRec is a contact or an account's primary name as the rules see it,
// with what its values denote.
type matchRec struct {
	first, last, email, company, street, postal, phone string
	firstEnt, lastEnt, addrEnt                         uint64
	companyEnt                                         int32 // company+1, 0 none

	norm [7]string // the fields normalised, in compare's order (setNorm)
}

// setNorm normalises the fields once: compare runs many times per record.
func (m *matchRec) setNorm() {
	m.norm = [7]string{normName(m.email), normName(m.last), normName(m.first), normName(m.company), normAddr(m.street),
		normPostal(m.postal), normPhone(m.phone)}
}

// AccountRef names an account of a team.
type AccountRef struct {
	Team   string
	AcctID int32
}

// FoundFirst reports whether account a comes before account b in the
// order the expected load takes accounts: add_date, then team name, then
// acct_id.
func FoundFirst(aAdd time.Time, a AccountRef, bAdd time.Time, b AccountRef) bool {
	if !aAdd.Equal(bAdd) {
		return aAdd.Before(bAdd)
	}
	if a.Team != b.Team {
		return a.Team < b.Team
	}
	return a.AcctID < b.AcctID
}

// CRMPair is the comparison of one contact (as it was before the load)
// with one account: every account of the contact's person, and every
// other account a rule matches.
type CRMPair struct {
	ContactID                                           string
	Account                                             AccountRef
	AccountPerson                                       string    // person_id of the account
	SamePerson                                          bool      // the account is the contact's person
	AddDate                                             time.Time // the account's add_date (the found-first order)
	Excluded                                            bool      // its type is excluded from the CRM: the load skips it
	Email, Last, First, Company, Address, Postal, Phone string    // agreement classes
	Rules                                               []string  // the rules that hold, in rule order
}

// CRMContactState is a contact's matchable fields.
type CRMContactState struct {
	First, Last, Email, Phone string
	Company                   string // the linked company as typed; "" none
	CompanyID                 int    // -1 none
	Street, Street2           string // street2: the account's street_addr_2 after an overwrite
	City, State, PostalCode   string
}

// CRMContactTruth is what one pre-existing contact is and what the
// initial load must make of it.
type CRMContactTruth struct {
	ContactID      string
	Person         string // person_id, "" for none of the Archtics people
	Story          string
	SharedEmail    string // the kind of shared email the contact holds (household, family, company_inbox): exact email is ambiguous; "" none
	PersonContacts int    // how many contacts of the CRM are this person (a dedup must pick one)
	Primary        *AccountRef
	Secondary      []AccountRef
	Overwritten    bool            // the primary changed at least one field
	Before, After  CRMContactState // before and expected after the initial load
}

func normName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func normAddr(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '.', ',', '#':
			return -1
		}
		return r
	}, s)
	return normName(s)
}

func normPhone(s string) string {
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

func normPostal(s string) string {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if len(s) >= 5 && s[0] >= '0' && s[0] <= '9' {
		return s[:5]
	}
	return s
}

func agree(na, nb string, entA, entB uint64) string {
	switch {
	case na == "" && nb == "":
		return AgreeBlank
	case na == "" || nb == "":
		return AgreeOneBlank
	case na == nb:
		return AgreeSame
	case entA != 0 && entA == entB:
		return AgreeVariant
	}
	return AgreeDiffers
}

// compare evaluates every field and rule between a contact and an account.
func compare(c, a *matchRec) (p CRMPair) {
	p.Email = agree(c.norm[0], a.norm[0], 0, 0)
	p.Last = agree(c.norm[1], a.norm[1], c.lastEnt, a.lastEnt)
	p.First = agree(c.norm[2], a.norm[2], c.firstEnt, a.firstEnt)
	p.Company = agree(c.norm[3], a.norm[3], uint64(c.companyEnt), uint64(a.companyEnt))
	p.Address = agree(c.norm[4], a.norm[4], c.addrEnt, a.addrEnt)
	p.Postal = agree(c.norm[5], a.norm[5], 0, 0)
	p.Phone = agree(c.norm[6], a.norm[6], 0, 0)
	ok := func(x string) bool { return x == AgreeSame || x == AgreeVariant || x == AgreeBlank }
	filled := func(x string) bool { return x == AgreeSame || x == AgreeVariant }
	names := p.Last == AgreeSame && filled(p.First)
	if p.Email == AgreeSame {
		p.Rules = append(p.Rules, RuleEmail)
	}
	if names && ok(p.Company) && ok(p.Address) && (p.Postal == AgreeSame || p.Postal == AgreeBlank) &&
		(filled(p.Company) || filled(p.Address) || p.Postal == AgreeSame) {
		p.Rules = append(p.Rules, RuleNameAddress)
	}
	if names && ok(p.Company) && (p.Phone == AgreeSame || p.Phone == AgreeBlank) && (filled(p.Company) || p.Phone == AgreeSame) {
		p.Rules = append(p.Rules, RuleNamePhone)
	}
	return p
}

// loadedAccount is an account as the initial load sees it.
type loadedAccount struct {
	ti       int
	idx      int32
	ref      AccountRef
	add      int64
	person   string
	excluded bool
	rec      matchRec
	row      custRow // the primary name at the cutoff
}

// dumpPrimary returns account idx's primary name as the dump holds it,
// false if the account is not in the dump.
func (tg *teamGen) dumpPrimary(idx int32) (custRow, bool) {
	asOf := tg.g.dumpAsOf
	var row custRow
	found := false
	for _, v := range tg.genAccount(idx, nil) {
		if v.row.k != 0 || v.com > asOf {
			continue
		}
		if v.gone != 0 && v.gone <= asOf {
			return custRow{}, false
		}
		row, found = v.row, true
	}
	return row, found
}

func accountRec(row *custRow) matchRec {
	street := row.street1
	if row.street2 != "" {
		street += " " + row.street2
	}
	m := matchRec{first: row.first, last: row.last, email: row.email, company: row.company, street: street,
		postal: row.zip, phone: row.phoneDay, firstEnt: row.firstEnt, lastEnt: row.lastEnt, addrEnt: row.addrEnt, companyEnt: row.companyEnt}
	m.setNorm()
	return m
}

func excludedType(t uint8) bool {
	for _, x := range CRMExcludedAcctTypes {
		if acctTypes[t] == x {
			return true
		}
	}
	return false
}

// crmTruth computes the CRM truth (see CRM TRUTH).
func (g *generator) crmTruth() ([]CRMContactTruth, []CRMPair) {
	contacts, recs, _ := g.crmFull()
	shared := g.sharedEmails()
	holders := map[string][]string{}  // email -> person ids
	heldBy := map[string][]string{}   // person id -> emails held on purpose
	sharedKind := map[string]string{} // email -> kind
	for _, s := range shared {
		holders[s.Email] = append(holders[s.Email], s.Person)
		heldBy[s.Person] = append(heldBy[s.Person], s.Email)
		sharedKind[s.Email] = s.Kind
	}
	type pkey struct {
		ti  int
		idx int32
	}
	parse := func(id string) (pkey, bool) {
		team, a, ok := strings.Cut(id, "-")
		n, err := strconv.Atoi(a)
		tg := g.byName[team]
		if !ok || err != nil || tg == nil {
			return pkey{}, false
		}
		return pkey{tg.ti, int32(n - acctBase)}, true
	}
	// The persons each contact is compared through.
	related := make([][]string, len(contacts))
	want := map[pkey]bool{}
	for j, c := range contacts {
		set := map[string]bool{}
		var add func(id string, depth int)
		add = func(id string, depth int) {
			if id == "" || set[id] {
				return
			}
			set[id] = true
			if depth > 0 {
				return
			}
			if pk, ok := parse(id); ok {
				tg := g.teams[pk.ti]
				h := tg.hhHead[pk.idx]
				for m := h; int(m) < tg.n && (m == h || tg.hhHead[m] == h); m++ {
					add(g.personID(pk.ti, m), depth+1)
				}
			}
			for _, e := range heldBy[id] {
				for _, o := range holders[e] {
					add(o, depth+1)
				}
			}
		}
		add(c.Person, 0)
		for _, o := range holders[strings.ToLower(strings.TrimSpace(c.Email))] {
			add(o, 0)
		}
		for id := range set {
			related[j] = append(related[j], id)
			if pk, ok := parse(id); ok {
				want[pk] = true
			}
		}
		sort.Strings(related[j])
	}
	// Their accounts, as the dump holds them.
	byPerson := map[string][]*loadedAccount{}
	for _, tg := range g.teams {
		for i := int32(0); i < int32(tg.n); i++ {
			pt, pi := tg.personOf(i)
			if !want[pkey{pt, pi}] {
				continue
			}
			row, ok := tg.dumpPrimary(i)
			if !ok {
				continue
			}
			la := &loadedAccount{ti: tg.ti, idx: i, ref: AccountRef{tg.name, acctID(i)}, add: tg.acctAdd[i],
				person: g.personID(pt, pi), excluded: excludedType(tg.acctType[i]), rec: accountRec(&row), row: row}
			byPerson[la.person] = append(byPerson[la.person], la)
		}
	}
	order := func(a, b *loadedAccount) bool {
		return FoundFirst(time.Unix(a.add, 0), a.ref, time.Unix(b.add, 0), b.ref)
	}
	var pairs []CRMPair
	cands := make([][]*loadedAccount, len(contacts))
	for j, c := range contacts {
		for _, id := range related[j] {
			cands[j] = append(cands[j], byPerson[id]...)
		}
		sort.Slice(cands[j], func(a, b int) bool { return order(cands[j][a], cands[j][b]) })
		for _, la := range cands[j] {
			p := compare(&recs[j], &la.rec)
			p.ContactID, p.Account, p.AccountPerson, p.SamePerson = c.ID, la.ref, la.person, la.person == c.Person
			p.AddDate, p.Excluded = time.Unix(la.add, 0).UTC(), la.excluded
			if p.SamePerson || len(p.Rules) > 0 {
				pairs = append(pairs, p) // another person's account only if a rule matches it
			}
		}
	}
	// The load, account by account in the found-first order.
	perPerson := map[string]int{}
	for _, c := range contacts {
		if c.Person != "" {
			perPerson[c.Person]++
		}
	}
	truth := make([]CRMContactTruth, len(contacts))
	state := make([]matchRec, len(contacts))
	copy(state, recs)
	contactsOf := map[*loadedAccount][]int{}
	var all []*loadedAccount
	for j := range contacts {
		for _, la := range cands[j] {
			if _, ok := contactsOf[la]; !ok {
				all = append(all, la)
			}
			contactsOf[la] = append(contactsOf[la], j)
		}
	}
	sort.Slice(all, func(a, b int) bool { return order(all[a], all[b]) })
	for j, c := range contacts {
		t := &truth[j]
		t.ContactID, t.Person, t.Story = c.ID, c.Person, c.Story
		t.SharedEmail = sharedKind[strings.ToLower(strings.TrimSpace(c.Email))]
		if c.Person != "" {
			t.PersonContacts = perPerson[c.Person]
		}
		t.Before = CRMContactState{First: c.First, Last: c.Last, Email: c.Email, Phone: c.Phone, Company: recs[j].company,
			CompanyID: int(recs[j].companyEnt) - 1, Street: c.Street, City: c.City, State: c.State, PostalCode: c.Zip}
		t.After = t.Before
	}
	for _, la := range all {
		if la.excluded {
			continue
		}
		best := -1
		for _, j := range contactsOf[la] {
			if p := compare(&state[j], &la.rec); len(p.Rules) > 0 && (best < 0 || j < best) {
				best = j
			}
		}
		if best < 0 {
			continue
		}
		t := &truth[best]
		if t.Primary != nil {
			t.Secondary = append(t.Secondary, la.ref)
			continue
		}
		ref := la.ref
		t.Primary = &ref
		before := t.After
		overwrite(&t.After, &state[best], &la.row)
		t.Overwritten = t.After != before
	}
	return truth, pairs
}

// overwrite applies a primary account's non-blank details to a contact.
func overwrite(s *CRMContactState, rec *matchRec, row *custRow) {
	set := func(dst *string, v string) bool {
		if strings.TrimSpace(v) == "" {
			return false
		}
		*dst = v
		return true
	}
	if set(&s.First, row.first) {
		rec.first, rec.firstEnt = row.first, row.firstEnt
	}
	if set(&s.Last, row.last) {
		rec.last, rec.lastEnt = row.last, row.lastEnt
	}
	if set(&s.Email, row.email) {
		rec.email = row.email
	}
	phone := row.phoneDay
	if strings.TrimSpace(phone) == "" {
		phone = row.phoneCell
	}
	if strings.TrimSpace(phone) == "" {
		phone = row.phoneEve
	}
	if set(&s.Phone, phone) {
		rec.phone = phone
	}
	if set(&s.Company, row.company) {
		s.CompanyID = int(row.companyEnt) - 1
		rec.company, rec.companyEnt = row.company, row.companyEnt
	}
	if strings.TrimSpace(row.street1) != "" {
		s.Street, s.Street2, s.City, s.State, s.PostalCode = row.street1, row.street2, row.city, row.state, row.zip
		a := accountRec(row)
		rec.street, rec.postal, rec.addrEnt = a.street, a.postal, a.addrEnt
	}
	rec.setNorm()
}

// CRMTruth returns, per pre-existing CRM contact in contact order, what it
// is and what the initial load must make of it, and every comparison of a
// contact with an account it could match (see CRM TRUTH).
func (w *World) CRMTruth() ([]CRMContactTruth, []CRMPair) { return w.g.crmTruth() }

// SharedEmails lists the emails several people hold on purpose.
func (w *World) SharedEmails() []SharedEmail { return w.g.sharedEmails() }

// PersonOf returns the person_id of a team's account ("" if there is no
// such account): its own "<team>-<acct_id>" for an original account, the
// original's for a duplicate.
func (w *World) PersonOf(team string, acct int32) string {
	tg := w.g.byName[team]
	i := acct - acctBase
	if tg == nil || i < 0 || int(i) >= tg.n {
		return ""
	}
	pt, pi := tg.personOf(i)
	return w.g.personID(pt, pi)
}

// HouseholdMember is one account of a household of several accounts.
type HouseholdMember struct {
	Team        string
	HouseholdID int32
	AcctID      int32
	Person      string
	Role        string // head, member (another person living there), linked_duplicate (the head's or a member's duplicate account the box office linked)
}

// households lists every household_id that several accounts of a team
// share, by team, household and account.
func (g *generator) households() []HouseholdMember {
	var out []HouseholdMember
	for _, tg := range g.teams {
		byHH := map[int32][]HouseholdMember{}
		for i := int32(0); i < int32(tg.n); i++ {
			if tg.accountCompany(i) >= 0 || tg.acctType[i] == atTest {
				continue // company and test accounts have no household
			}
			hh := tg.householdOf(i)
			role := "head"
			switch {
			case tg.dupTeam[i] >= 0:
				role = "linked_duplicate"
			case tg.hhHead[i] != i:
				role = "member"
			}
			pt, pi := tg.personOf(i)
			byHH[hh] = append(byHH[hh], HouseholdMember{Team: tg.name, HouseholdID: hh, AcctID: acctID(i), Person: g.personID(pt, pi), Role: role})
		}
		var ids []int32
		for id, ms := range byHH {
			if len(ms) > 1 {
				ids = append(ids, id)
			}
		}
		sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
		for _, id := range ids {
			out = append(out, byHH[id]...)
		}
	}
	return out
}

// Households lists the household_ids several accounts share.
func (w *World) Households() []HouseholdMember { return w.g.households() }

// --- Files ----------------------------------------------------------------------

func writeCSV(w io.Writer, header []string, rows func(emit func(...string))) (int64, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	var n int64
	rows(func(f ...string) {
		_ = cw.Write(f)
		n++
	})
	cw.Flush()
	return n, cw.Error()
}

func (g *generator) writeCRMTruth(contactsW, pairsW io.Writer) (nc, np int64, err error) {
	truth, pairs := g.crmTruth()
	ts := func(t time.Time) string { return t.In(g.loc).Format(TimeLayout) }
	ref := func(r *AccountRef) (string, string) {
		if r == nil {
			return "", ""
		}
		return r.Team, strconv.Itoa(int(r.AcctID))
	}
	id := func(c int) string {
		if c < 0 {
			return ""
		}
		return strconv.Itoa(c)
	}
	nc, err = writeCSV(contactsW, []string{"contact_id", "person_id", "story", "shared_email_kind", "person_contacts",
		"primary_team", "primary_acct_id", "secondary_accounts", "overwritten",
		"after_first_name", "after_last_name", "after_email", "after_phone", "after_company", "after_company_id",
		"after_street", "after_street2", "after_city", "after_state", "after_postal_code"}, func(emit func(...string)) {
		for _, t := range truth {
			pt, pa := ref(t.Primary)
			var sec []string
			for _, s := range t.Secondary {
				sec = append(sec, s.Team+":"+strconv.Itoa(int(s.AcctID)))
			}
			a := t.After
			emit(t.ContactID, t.Person, t.Story, t.SharedEmail, strconv.Itoa(t.PersonContacts), pt, pa, strings.Join(sec, ";"),
				strconv.FormatBool(t.Overwritten), a.First, a.Last, a.Email, a.Phone, a.Company, id(a.CompanyID),
				a.Street, a.Street2, a.City, a.State, a.PostalCode)
		}
	})
	if err != nil {
		return 0, 0, err
	}
	np, err = writeCSV(pairsW, []string{"contact_id", "team", "acct_id", "account_person_id", "same_person", "add_date", "excluded",
		"email", "last_name", "first_name", "company", "address", "postal_code", "phone", "rules"}, func(emit func(...string)) {
		for _, p := range pairs {
			emit(p.ContactID, p.Account.Team, strconv.Itoa(int(p.Account.AcctID)), p.AccountPerson, strconv.FormatBool(p.SamePerson),
				ts(p.AddDate), strconv.FormatBool(p.Excluded), p.Email, p.Last, p.First, p.Company, p.Address, p.Postal, p.Phone,
				strings.Join(p.Rules, ";"))
		}
	})
	return nc, np, err
}

func (g *generator) writeSharedEmails(w io.Writer) (int64, error) {
	return writeCSV(w, []string{"email", "kind", "person_id", "role"}, func(emit func(...string)) {
		for _, s := range g.sharedEmails() {
			emit(s.Email, s.Kind, s.Person, s.Role)
		}
	})
}

func (g *generator) writeHouseholds(w io.Writer) (int64, error) {
	return writeCSV(w, []string{"team", "household_id", "acct_id", "person_id", "role"}, func(emit func(...string)) {
		for _, h := range g.households() {
			emit(h.Team, strconv.Itoa(int(h.HouseholdID)), strconv.Itoa(int(h.AcctID)), h.Person, h.Role)
		}
	})
}

func writeCompanySpellings(w io.Writer) (int64, error) {
	return writeCSV(w, []string{"company_id", "canonical_name", "spelling", "kind"}, func(emit func(...string)) {
		for _, s := range CompanySpellings() {
			emit(strconv.Itoa(s.CompanyID), s.Canonical, s.Spelling, s.Kind)
		}
	})
}
