package simulator

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// People: who the accounts and the CRM contacts are.
//
// A person is identified by (team, index of their original account), or,
// for CRM contacts of people with no Archtics account, by (outsider team,
// contact number); person_id is "<team>-<acct_id>" of the original account
// (see personID). Names are drawn from census-weighted pools (names.go).
//
// Emails say who someone is. Every personal email (current and previous),
// work email (current and previous employer) and household family email
// is unique to its holder: the generator draws natural ones
// ("mary.walsh@gmail.com", "jsmith@comcast.net"), then a pass over every
// person finds the natural emails two people drew and gives all but the
// first holder a form that cannot collide ("marywalsh.1234561@gmail.com":
// the number encodes the person and the kind of email). The only emails
// several people share are shared on purpose and recorded
// (SharedEmails, groundtruth/shared_emails.csv):
//   - household: a spouse's account under the other's personal email;
//   - family: a household's "thewalshes@comcast.net" on several accounts;
//   - company_inbox: a company's tickets@... inbox on several employees'
//     corporate accounts.
// So an exact-email rule is right about who is who except for those.

// Stream kinds of this file and of the CRM, deletes and companies code,
// numbered apart from generate.go's so the two lists can grow
// independently.
const (
	kName uint64 = 100 + iota
	kHousehold
	kCompany
	kDelete
	kInbox
	kCRMStory
)

// personOrd numbers a person (or an account: an original account and its
// person share the number) uniquely across teams and outsiders.
func personOrd(ti int, idx int32) uint64 { return uint64(ti)*100_000_000 + uint64(idx) }

// outsiderTeam is the team index of CRM contacts who have no account.
func (g *generator) outsiderTeam() int { return len(g.teams) + 7 }

// Kinds of email, for the uniqueness pass and the collision-proof form.
const (
	emPersonal = 1 + iota
	emOld
	emWork
	emOldWork
	emFamily
	emName // +k: the email of an account's k-th non-primary name
)

var oldDomains = []string{"aol.com", "hotmail.com", "yahoo.com", "juno.com", "earthlink.net"}

// identity is the part of a person the email pass needs: names, employers
// and natural emails, drawn from the person's own kName stream.
type identity struct {
	female                  bool
	first, mi, last         string
	employer, oldEmployer   int // company index; employer -1: none
	email, oldEmail         string
	workEmail, oldWorkEmail string // workEmail "" without an employer
}

func (g *generator) identity(ti int, idx int32) identity { return g.identityOf(ti, idx, true) }

// personalEmailOf is person (ti, idx)'s current personal email.
func (g *generator) personalEmailOf(ti int, idx int32) string {
	return g.identityOf(ti, idx, false).email
}

// identityOf draws person (ti, idx)'s identity; without full, only the
// names, employers and personal email (the draws are the same).
func (g *generator) identityOf(ti int, idx int32, full bool) identity {
	var r rng
	r.seed(g.cfg.Seed, uint64(ti), kName, uint64(idx))
	id := identity{female: r.chance(0.5)}
	var f, l string
	id.first, f = drawGivenLocal(&r, id.female)
	id.last, l = drawSurnameLocal(&r)
	if r.chance(0.5) {
		id.mi = string(rune('A' + r.intn(26)))
	}
	id.employer, id.oldEmployer = -1, r.intn(len(companies))
	employed := r.chance(0.35)
	if ti < len(g.teams) && isCompany(g.teams[ti].acctType[idx]) {
		employed = true // a corporate account's person works somewhere
	}
	if employed {
		id.employer = r.intn(len(companies))
		if id.employer == id.oldEmployer {
			id.oldEmployer = (id.oldEmployer + 1) % len(companies)
		}
	}
	if ti < len(g.teams) {
		tg := g.teams[ti]
		switch idx {
		case tg.tremblayNew:
			id.first, id.mi, id.last, id.female = "Gabriel", "", "Tremblay", false
			id.employer, id.oldEmployer = 0, 1 // Sporting Service Solutions Inc, TryNowDo Ltd
			f, l = "gabriel", "tremblay"
		case tg.gagnonCur:
			id.first, id.mi, id.last, id.female = "Sophie", "", "Gagnon", true
			id.employer, id.oldEmployer = 0, 1
			f, l = "sophie", "gagnon"
		}
	}
	id.email = personalEmail(&r, f, l)
	oldNum, oldDomain := r.between(1, 999), pick(&r, oldDomains)
	if full {
		id.oldEmail = f + strconv.Itoa(oldNum) + "@" + oldDomain
		if id.employer >= 0 {
			id.workEmail = f + "." + l + "@" + companies[id.employer].domain
		}
		id.oldWorkEmail = f + "." + l + "@" + companies[id.oldEmployer].domain
	}
	if fix := g.emailFixOf(ti, idx); fix != 0 {
		ord := personOrd(ti, idx)
		if fix&(1<<emPersonal) != 0 {
			id.email = uniqueEmail(f+l, ord, emPersonal, domainOf(id.email))
		}
		if fix&(1<<emOld) != 0 && full {
			id.oldEmail = uniqueEmail(f, ord, emOld, domainOf(id.oldEmail))
		}
		if fix&(1<<emWork) != 0 && id.workEmail != "" {
			id.workEmail = uniqueEmail(f+"."+l, ord, emWork, domainOf(id.workEmail))
		}
		if fix&(1<<emOldWork) != 0 && full {
			id.oldWorkEmail = uniqueEmail(f+"."+l, ord, emOldWork, domainOf(id.oldWorkEmail))
		}
	}
	return id
}

// uniqueEmail is the collision-proof form: no natural email has a local
// part ending in '.' and digits only, and the number (ord*10 + kind) is
// different for every holder and kind.
func uniqueEmail(local string, ord uint64, kind int, domain string) string {
	return local + "." + strconv.FormatUint(ord*10+uint64(kind), 10) + "@" + domain
}

func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return d
}

// personalEmail draws a natural personal email from the email forms of a
// first and last name (emailLocal).
func personalEmail(r *rng, f, l string) string {
	d := pick(r, personalDomains)
	switch r.intn(6) {
	case 0:
		return f + l + "@" + d
	case 1:
		return f[:1] + l + "@" + d
	case 2:
		return f + "." + l + strconv.Itoa(r.between(1, 99)) + "@" + d
	case 3:
		return f + "_" + l + "@" + d
	case 4:
		return l + "." + f + "@" + d
	}
	return f + "." + l + "@" + d
}

// person is the truth about one human: what the original account says
// when typed cleanly. Accounts present a person with dirt.
type person struct {
	ord             uint64
	female          bool
	first, mi, last string
	birth           int32 // days since epoch
	home, old       addr  // current and previous address
	cell, oldCell   string
	homePhone       string
	email, oldEmail string // personal
	employer        int    // index in companies, -1: none
	oldEmployer     int
	workPhone       string
	oldWorkPhone    string
	workEmail       string
	oldWorkEmail    string
}

// person generates the person whose original account is (ti, idx).
func (g *generator) person(ti int, idx int32) person {
	id := g.identity(ti, idx)
	var r rng
	r.seed(g.cfg.Seed, uint64(ti), kPerson, uint64(idx))
	ord := personOrd(ti, idx)
	p := person{ord: ord, female: id.female, first: id.first, mi: id.mi, last: id.last,
		email: id.email, oldEmail: id.oldEmail, employer: id.employer, oldEmployer: id.oldEmployer,
		workEmail: id.workEmail, oldWorkEmail: id.oldWorkEmail}
	p.birth = dateOf(1940+r.intn(65), 1, 1) + int32(r.intn(365))
	p.home, p.old = genAddr(&r, ord*4+1), genAddr(&r, ord*4+2)
	// People keep their cell numbers when they move: the old cell has the
	// old home's area code, the current one often still does.
	p.oldCell = genPhone(&r, p.old.areaCode)
	if r.chance(0.6) {
		p.cell = genPhone(&r, p.home.areaCode)
	} else {
		p.cell = genPhone(&r, p.old.areaCode)
	}
	p.homePhone = genPhone(&r, p.home.areaCode)
	if p.employer >= 0 {
		p.workPhone = genPhone(&r, companyOffice(p.employer).areaCode)
	} else {
		p.workPhone = genPhone(&r, p.home.areaCode)
	}
	p.oldWorkPhone = genPhone(&r, companyOffice(p.oldEmployer).areaCode)
	return p
}

func genPhone(r *rng, area string) string {
	s := strconv.Itoa(10000 + r.between(0, 9999))[1:]
	return area + strconv.Itoa(r.between(200, 999)) + s
}

// --- Households ---------------------------------------------------------------

// A household is an original personal account (its head) and the one or
// two accounts opened right after it by people living with them (members).
// Members share the head's address and household_id, often the head's last
// name, and, depending on the household, an email: the head's personal
// one (hhSpouse) or a family address every account of the household uses
// (hhFamily). Each member's account also lists the head's primary
// customer name as one of its names, with the head's cust_name_id: one
// name, several accounts.
const (
	hhSeparate = iota // same address and household_id, own emails
	hhSpouse          // members use the head's personal email
	hhFamily          // head and members use a family email
)

func (tg *teamGen) hhEligible(i int) bool {
	return tg.dupTeam[i] < 0 && !isCompany(tg.acctType[i]) && tg.acctType[i] != atTest
}

func (tg *teamGen) initHouseholds() {
	g := tg.g
	tg.hhHead = make([]int32, tg.n)
	for i := range tg.hhHead {
		tg.hhHead[i] = int32(i)
		if i == 0 || !tg.hhEligible(i) {
			continue
		}
		h := tg.hhHead[i-1]
		if !tg.hhEligible(int(h)) || int32(i-1)-h >= 2 {
			continue
		}
		if unit(hash4(g.cfg.Seed, uint64(tg.ti), kHousehold, uint64(i))) < 0.05 {
			tg.hhHead[i] = h
		}
	}
}

// hasMembers reports whether account i heads a household of several accounts.
func (tg *teamGen) hasMembers(i int32) bool {
	return int(i)+1 < tg.n && tg.hhHead[i+1] == i
}

func (tg *teamGen) inHousehold(i int32) bool { return tg.hhHead[i] != i || tg.hasMembers(i) }

// hhKind is what the household of head h shares besides the address.
func (tg *teamGen) hhKind(h int32) int {
	u := unit(hash4(tg.g.cfg.Seed, uint64(tg.ti), kHousehold, uint64(h)|1<<40))
	switch {
	case u < 0.45:
		return hhSpouse
	case u < 0.75:
		return hhFamily
	}
	return hhSeparate
}

// hhTakesLast reports whether member i goes by the head's last name.
func (tg *teamGen) hhTakesLast(i int32) bool {
	return unit(hash4(tg.g.cfg.Seed, uint64(tg.ti), kHousehold, uint64(i)|2<<40)) < 0.7
}

// householdOf is account i's household_id: its head's for a household,
// its person's original account's for a duplicate the box office linked
// (40% of those in the same team), else its own.
func (tg *teamGen) householdOf(i int32) int32 {
	if int(tg.dupTeam[i]) == tg.ti {
		if unit(hash4(tg.g.cfg.Seed, uint64(tg.ti), kHousehold, uint64(i)|3<<40)) < 0.4 {
			return householdID0 + tg.hhHead[tg.dupIdx[i]]
		}
		return householdID0 + i
	}
	return householdID0 + tg.hhHead[i]
}

// familyEmailNatural is the family email of head h before the uniqueness
// pass: "thewalshes@..." or "walshfamily@...".
func (g *generator) familyEmailNatural(ti int, h int32) string {
	id := g.identityOf(ti, h, false)
	r := newRNG(g.cfg.Seed, uint64(ti), kHousehold, uint64(h)|4<<40)
	l := emailLocal(id.last)
	d := pick(r, personalDomains)
	if r.chance(0.5) {
		return "the" + l + "s@" + d
	}
	return l + "family@" + d
}

func (g *generator) familyEmail(ti int, h int32) string {
	e := g.familyEmailNatural(ti, h)
	ord := personOrd(ti, h)
	if g.emailFixOf(ti, h)&(1<<emFamily) != 0 {
		return uniqueEmail(emailLocal(g.identityOf(ti, h, false).last)+"family", ord, emFamily, domainOf(e))
	}
	return e
}

// nameEmail is the email of account (ti, i)'s k-th non-primary name: in the
// collision-proof form, so it is nobody else's.
func nameEmail(r *rng, ti int, i int32, k int32, first, last string) string {
	return uniqueEmail(emailLocal(first)+"."+emailLocal(last), personOrd(ti, i), emName+int(k), pick(r, personalDomains))
}

// --- The email pass -----------------------------------------------------------

type emailEntry struct {
	h   uint64 // FNV-1a of the email
	who uint64 // ord<<3 | kind
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// initEmails finds every natural email drawn by two holders and marks all
// but the first (by person number and kind) for the collision-proof form.
// It runs once, before anything is generated.
func (g *generator) initEmails() {
	// One list per team (and one for the CRM's outsiders), drawn in
	// parallel: at a million accounts this is the generator's largest
	// start-up cost.
	lists := make([][]emailEntry, len(g.teams)+1)
	var wg sync.WaitGroup
	for li := range lists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ents []emailEntry
			add := func(email string, ord uint64, kind int) {
				ents = append(ents, emailEntry{h: fnv64(email), who: ord<<3 | uint64(kind)})
			}
			person := func(ti int, idx int32) {
				id := g.identity(ti, idx)
				ord := personOrd(ti, idx)
				add(id.email, ord, emPersonal)
				add(id.oldEmail, ord, emOld)
				if id.workEmail != "" {
					add(id.workEmail, ord, emWork)
				}
				add(id.oldWorkEmail, ord, emOldWork)
			}
			if li == len(g.teams) {
				for j := 0; j < g.crmSize(); j++ {
					if g.crmStory(j) == storyNone {
						person(g.outsiderTeam(), int32(j))
					}
				}
				lists[li] = ents
				return
			}
			tg := g.teams[li]
			ents = make([]emailEntry, 0, tg.n*7/2)
			for i := int32(0); i < int32(tg.n); i++ {
				if tg.dupTeam[i] >= 0 || tg.acctType[i] == atTest {
					continue
				}
				person(tg.ti, i)
				if tg.hasMembers(i) && tg.hhKind(i) == hhFamily {
					add(g.familyEmailNatural(tg.ti, i), personOrd(tg.ti, i), emFamily)
				}
			}
			lists[li] = ents
		}()
	}
	wg.Wait()
	ents := slices.Concat(lists...)
	slices.SortFunc(ents, func(a, b emailEntry) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		if a.who < b.who {
			return -1
		}
		if a.who > b.who {
			return 1
		}
		return 0
	})
	fix := make([][]uint8, len(g.teams)+1)
	for ti, tg := range g.teams {
		fix[ti] = make([]uint8, tg.n)
	}
	fix[len(g.teams)] = make([]uint8, g.crmSize())
	for k := 1; k < len(ents); k++ {
		if ents[k].h == ents[k-1].h {
			ord := ents[k].who >> 3
			ti, idx := int(ord/100_000_000), ord%100_000_000
			if ti == g.outsiderTeam() {
				ti = len(g.teams)
			}
			fix[ti][idx] |= 1 << (ents[k].who & 7)
		}
	}
	g.emailFix = fix
}

// emailFixOf is the set of person (ti, idx)'s emails in the
// collision-proof form (none before initEmails has run).
func (g *generator) emailFixOf(ti int, idx int32) uint8 {
	if ti == g.outsiderTeam() {
		ti = len(g.teams)
	}
	if ti >= len(g.emailFix) || int(idx) >= len(g.emailFix[ti]) {
		return 0
	}
	return g.emailFix[ti][idx]
}

// --- Shared emails ------------------------------------------------------------

// SharedEmail is one person holding an email that several people use, on
// purpose.
type SharedEmail struct {
	Email  string // lower case
	Kind   string // household, family, company_inbox
	Person string // person_id of one holder
	Role   string // owner (household: whose personal email it is), member, employee
}

// sharedEmails lists every deliberately shared email and its holders,
// sorted by email and person.
func (g *generator) sharedEmails() []SharedEmail {
	var out []SharedEmail
	seen := map[string]bool{}
	add := func(s SharedEmail) {
		s.Email = strings.ToLower(s.Email)
		k := s.Email + "|" + s.Person
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	for _, tg := range g.teams {
		for i := int32(0); i < int32(tg.n); i++ {
			if tg.hasMembers(i) {
				var email, kind, role string
				switch tg.hhKind(i) {
				case hhSpouse:
					email, kind, role = g.identity(tg.ti, i).email, "household", "owner"
				case hhFamily:
					email, kind, role = g.familyEmail(tg.ti, i), "family", "member"
				default:
					continue
				}
				add(SharedEmail{Email: email, Kind: kind, Person: g.personID(tg.ti, i), Role: role})
				for m := i + 1; int(m) < tg.n && tg.hhHead[m] == i; m++ {
					add(SharedEmail{Email: email, Kind: kind, Person: g.personID(tg.ti, m), Role: "member"})
				}
			}
			if c := tg.inboxCompany(i); c >= 0 {
				pt, pi := tg.personOf(i)
				add(SharedEmail{Email: companyInbox(c), Kind: "company_inbox", Person: g.personID(pt, pi), Role: "employee"})
			}
		}
	}
	for j := 0; j < g.crmSize(); j++ {
		if c := g.crmInbox(j); c >= 0 {
			ti, idx := g.crmPerson(j)
			add(SharedEmail{Email: companyInbox(c), Kind: "company_inbox", Person: g.personID(ti, idx), Role: "employee"})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Email != out[b].Email {
			return out[a].Email < out[b].Email
		}
		return out[a].Person < out[b].Person
	})
	return out
}

// accountCompany is the company account i presents (the person's employer,
// the previous one for an employer_change duplicate), or -1 for a
// personal account.
func (tg *teamGen) accountCompany(i int32) int {
	if !isCompany(tg.acctType[i]) && tg.variant[i] != vEmployer {
		return -1
	}
	pt, pi := tg.personOf(i)
	id := tg.g.identity(pt, pi)
	if tg.variant[i] == vEmployer {
		return id.oldEmployer
	}
	return id.employer
}

// inboxCompany is the company whose shared inbox account i uses as its
// email, or -1: 12% of corporate accounts, never the seed's special cases.
func (tg *teamGen) inboxCompany(i int32) int {
	if !isCompany(tg.acctType[i]) && tg.variant[i] != vEmployer || tg.special(i) {
		return -1
	}
	if unit(hash4(tg.g.cfg.Seed, uint64(tg.ti), kInbox, uint64(i))) >= 0.12 {
		return -1
	}
	return tg.accountCompany(i)
}

// special reports the accounts of the seed's stories, kept free of dirt.
func (tg *teamGen) special(i int32) bool {
	return i == tg.tremblayOld || i == tg.tremblayNew || i == tg.gagnonCur || i == tg.gagnonOld
}
