package simulator

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The client's CRM as it was before the initial load: contacts (people)
// and accounts (companies and households), some of them people with
// Archtics accounts, some stale, some nobody in Archtics. Each contact
// has a story (how it was generated); what can actually be matched, and
// what the load must do, is the CRM truth (crm_truth.go).

// CRMContact is one contact of the client's CRM before the initial load.
type CRMContact struct {
	ID, First, Last, Email, Phone, AccountID string
	Street, City, State, Zip                 string
	Created, Updated                         time.Time
	Person                                   string // truth: the person it is, "" for none of the Archtics people
	Story                                    string // truth: how it was made (crmStoryNames)
}

// CRMAccount is one account (company or household) of the CRM.
type CRMAccount struct {
	ID, Name, Type, City, State string
	Created                     time.Time
	CompanyID                   int // truth: the company a Company account is (CompanySpellings), -1 for a household
}

// CRM contact stories.
const (
	storyExactEmail = iota
	storyFuzzy
	storyStaleEmployer
	storyStaleAddress
	storyNone
	storyTremblay // the seed's Gabriel Tremblay: his outdated account is older
	storyGagnon   // the same story the other way round: the current account is older
)

var crmStoryNames = []string{"exact_email", "fuzzy", "stale_employer", "stale_address", "none",
	"tremblay_outdated_first", "gagnon_current_first"}

var crmWeights = []float64{40, 20, 8, 10, 22}

func (g *generator) crmSize() int {
	if n := g.cfg.CRMContacts; n > 0 {
		return n
	}
	return max(50, g.teams[0].n/8)
}

// crmStory is contact j's story: the first draw of its kCRMStory stream.
func (g *generator) crmStory(j int) int {
	t0 := g.teams[0]
	if j == 0 && t0.tremblayNew >= 0 {
		return storyTremblay
	}
	if j == 1 && t0.gagnonCur >= 0 {
		return storyGagnon
	}
	var r rng
	r.seed(g.cfg.Seed, 0, kCRMStory, uint64(j))
	return r.weighted(crmWeights)
}

// crmPerson is the person contact j is: (team, original account index),
// or (outsiderTeam, j) for a contact who is nobody in Archtics. About 3%
// of contacts are a second contact of the previous contact's person (the
// CRM holds some people twice).
func (g *generator) crmPerson(j int) (int, int32) {
	t0 := g.teams[0]
	switch story := g.crmStory(j); story {
	case storyTremblay:
		return 0, t0.tremblayNew
	case storyGagnon:
		return 0, t0.gagnonCur
	case storyNone:
		return g.outsiderTeam(), int32(j)
	}
	var r rng
	r.seed(g.cfg.Seed, 0, kCRMStory, uint64(j))
	r.weighted(crmWeights)
	if j >= 3 && r.chance(0.03) && g.crmStory(j-1) <= storyStaleAddress {
		return g.crmPerson(j - 1)
	}
	tg := t0
	if len(g.teams) > 1 && r.chance(0.3) {
		tg = g.teams[1+r.intn(len(g.teams)-1)]
	}
	idx := int32(r.intn(tg.n))
	for k := 0; k < tg.n; k++ {
		if tg.dupTeam[idx] < 0 && tg.acctType[idx] != atTest && tg.acctAdd[idx] < g.cutoff && !tg.special(idx) {
			break
		}
		idx = (idx + 1) % int32(tg.n)
	}
	return tg.ti, idx
}

// crmCompanyContact reports whether the CRM knows contact j at their
// company (work email, work phone, office address).
func (g *generator) crmCompanyContact(j int) bool {
	ti, idx := g.crmPerson(j)
	if g.identity(ti, idx).employer < 0 {
		return false
	}
	s := g.crmStory(j)
	return s == storyNone || s == storyTremblay || s == storyGagnon || (ti < len(g.teams) && isCompany(g.teams[ti].acctType[idx]))
}

// crmInbox is the company whose shared inbox contact j holds as its email
// (10% of exact-email company contacts), or -1.
func (g *generator) crmInbox(j int) int {
	if g.crmStory(j) != storyExactEmail || unit(hash4(g.cfg.Seed, 0, kInbox, uint64(j)|1<<40)) >= 0.1 || !g.crmCompanyContact(j) {
		return -1
	}
	ti, idx := g.crmPerson(j)
	return g.identity(ti, idx).employer
}

// crmContact generates contact j and what its fields denote.
func (g *generator) crmContact(j int) (CRMContact, matchRec, string) {
	story := g.crmStory(j)
	ti, idx := g.crmPerson(j)
	var r rng
	r.seed(g.cfg.Seed, 0, kCRM, uint64(j))
	created := g.clock.rand(&r, g.origin, g.cutoff-30*daySec)
	updated := g.clock.rand(&r, created, g.cutoff-daySec)
	c := CRMContact{ID: "C" + strconv.Itoa(1000000+j), Created: time.Unix(created, 0).UTC(), Updated: time.Unix(updated, 0).UTC(),
		Story: crmStoryNames[story]}
	p := g.person(ti, idx)
	if story != storyNone {
		c.Person = g.personID(ti, idx)
	}
	rec := matchRec{firstEnt: p.ord * 2, lastEnt: p.ord*2 + 1}
	first, last := p.first, p.last
	a := p.home
	company := -1
	email := p.email
	phone := formatPhone(p.cell, r.intn(phFormats))
	if g.crmCompanyContact(j) {
		company = p.employer
		email = p.workEmail
		phone = formatPhone(p.workPhone, phDashes)
		a = companyOffice(company)
	}
	if story == storyExactEmail && ti < len(g.teams) {
		// The CRM often knows a household's people by the email the
		// household shares.
		tg := g.teams[ti]
		if h := tg.hhHead[idx]; (h != idx || tg.hasMembers(idx)) && r.chance(0.5) {
			switch tg.hhKind(h) {
			case hhSpouse:
				email = g.identity(ti, h).email
			case hhFamily:
				email = g.familyEmail(ti, h)
			}
		}
	}
	if ib := g.crmInbox(j); ib >= 0 {
		email = companyInbox(ib)
	}
	switch story {
	case storyTremblay, storyGagnon:
		// The seed's story: the CRM knows the person at Sporting Service
		// Solutions Inc, with their personal email and work phone.
		company = 0
		email = p.email
		phone = formatPhone(p.workPhone, phDashes)
		a = companyOffice(0)
	case storyExactEmail:
		if r.chance(0.2) {
			email = mixCase(&r, email)
		}
	case storyFuzzy:
		email = ""
		if r.chance(0.5) {
			first = nickname(&r, first)
		} else {
			first = typo(&r, first)
		}
	case storyStaleEmployer:
		company = p.oldEmployer
		email = p.oldWorkEmail
		phone = formatPhone(p.oldWorkPhone, phDashes)
		a = companyOffice(company)
	case storyStaleAddress:
		a = p.old
		if r.chance(0.5) {
			email = p.oldEmail
		}
	}
	street := a.line1(r.intn(3))
	if a.unit != "" && r.chance(0.6) {
		street += " " + a.unit
	}
	zip := a.zip
	if a.zip4 != "" && r.chance(0.1) {
		zip += "-" + a.zip4
	}
	c.First, c.Last, c.Email, c.Phone = first, last, email, phone
	c.Street, c.City, c.State, c.Zip = street, a.city, a.state, zip
	rec.first, rec.last, rec.email, rec.phone = first, last, email, phone
	rec.street, rec.postal, rec.addrEnt = street, zip, a.ent
	companyName := ""
	if company >= 0 {
		if story == storyTremblay || story == storyGagnon {
			companyName = companies[company].name
		} else {
			companyName, _ = companySpelling(&r, company)
		}
		rec.company, rec.companyEnt = companyName, int32(company)+1
	}
	rec.setNorm()
	return c, rec, companyName
}

// crm generates the client's CRM as it was before the initial load.
func (g *generator) crm() ([]CRMContact, []CRMAccount) {
	contacts, _, accounts := g.crmFull()
	return contacts, accounts
}

// crmFull also returns what each contact's fields denote.
func (g *generator) crmFull() ([]CRMContact, []matchRec, []CRMAccount) {
	n := g.crmSize()
	contacts := make([]CRMContact, 0, n)
	recs := make([]matchRec, 0, n)
	accounts := []CRMAccount{}
	acctByName := map[string]string{}
	account := func(name, typ, city, state string, created time.Time, company int) string {
		if id, ok := acctByName[name+"|"+typ]; ok {
			return id
		}
		id := "A" + strconv.Itoa(100000+len(accounts))
		acctByName[name+"|"+typ] = id
		accounts = append(accounts, CRMAccount{ID: id, Name: name, Type: typ, City: city, State: state, Created: created, CompanyID: company})
		return id
	}
	for j := 0; j < n; j++ {
		c, rec, companyName := g.crmContact(j)
		if companyName != "" {
			c.AccountID = account(companyName, "Company", c.City, c.State, c.Created, int(rec.companyEnt)-1)
		} else {
			c.AccountID = account(strings.TrimSpace(c.Last)+" Household "+strconv.Itoa(j), "Household", c.City, c.State, c.Created, -1)
		}
		contacts = append(contacts, c)
		recs = append(recs, rec)
	}
	return contacts, recs, accounts
}

func (g *generator) writeCRM(contactsW, accountsW io.Writer) (nc, na int64, err error) {
	contacts, accounts := g.crm()
	ts := func(t time.Time) string { return t.In(g.loc).Format(TimeLayout) }
	cw := csv.NewWriter(contactsW)
	_ = cw.Write([]string{"contact_id", "first_name", "last_name", "email", "phone", "account_id", "mailing_street", "mailing_city", "mailing_state", "mailing_postal_code", "created_at", "updated_at"})
	for _, c := range contacts {
		_ = cw.Write([]string{c.ID, c.First, c.Last, c.Email, c.Phone, c.AccountID, c.Street, c.City, c.State, c.Zip, ts(c.Created), ts(c.Updated)})
	}
	aw := csv.NewWriter(accountsW)
	_ = aw.Write([]string{"account_id", "name", "type", "billing_city", "billing_state", "created_at"})
	for _, a := range accounts {
		_ = aw.Write([]string{a.ID, a.Name, a.Type, a.City, a.State, ts(a.Created)})
	}
	for _, w := range []*csv.Writer{cw, aw} {
		w.Flush()
		if err := w.Error(); err != nil {
			return 0, 0, fmt.Errorf("write CRM csv: %w", err)
		}
	}
	return int64(len(contacts)), int64(len(accounts)), nil
}

// CRM returns the pre-existing CRM's contacts and accounts.
func (w *World) CRM() ([]CRMContact, []CRMAccount) { return w.g.crm() }
