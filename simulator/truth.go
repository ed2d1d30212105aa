package simulator

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// ClusterMember is one account of a person.
type ClusterMember struct {
	Team       string
	AcctID     int32
	Variant    string    // how the account presents the person: original, typo, nickname, employer_change, ...
	MergedInto int32     // winner's acct_id if Archtics merged this account away, else 0
	MergedAt   time.Time // when (zero if never)
}

// Cluster is one person holding several accounts, possibly in several teams.
type Cluster struct {
	Person  string // "<team>-<acct_id of the original account>"
	Members []ClusterMember
}

func (g *generator) duplicateClusters() []Cluster {
	type pkey struct {
		ti  int
		idx int32
	}
	members := map[pkey][]ClusterMember{}
	member := func(tg *teamGen, i int32) ClusterMember {
		m := ClusterMember{Team: tg.name, AcctID: acctID(i), Variant: variantNames[tg.variant[i]]}
		if k, ok := tg.loserMerge[i]; ok {
			m.MergedInto = acctID(tg.merges[k].winner)
			m.MergedAt = time.Unix(tg.merges[k].at, 0).UTC()
		}
		return m
	}
	for _, tg := range g.teams {
		for i := int32(0); i < int32(tg.n); i++ {
			if tg.dupTeam[i] < 0 {
				continue
			}
			k := pkey{int(tg.dupTeam[i]), tg.dupIdx[i]}
			members[k] = append(members[k], member(tg, i))
		}
	}
	keys := make([]pkey, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].ti != keys[b].ti {
			return keys[a].ti < keys[b].ti
		}
		return keys[a].idx < keys[b].idx
	})
	out := make([]Cluster, 0, len(keys))
	for _, k := range keys {
		orig := member(g.teams[k.ti], k.idx)
		out = append(out, Cluster{Person: g.personID(k.ti, k.idx), Members: append([]ClusterMember{orig}, members[k]...)})
	}
	return out
}

// writeClusters writes groundtruth/duplicate_clusters.csv: one line per
// account of a person with several accounts.
func (g *generator) writeClusters(w io.Writer) (int64, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"person_id", "team", "acct_id", "variant", "merged_into_acct_id", "merged_at"})
	var n int64
	for _, c := range g.duplicateClusters() {
		for _, m := range c.Members {
			merged, at := "", ""
			if m.MergedInto != 0 {
				merged = strconv.Itoa(int(m.MergedInto))
				at = m.MergedAt.In(g.loc).Format(TimeLayout)
			}
			_ = cw.Write([]string{c.Person, m.Team, strconv.Itoa(int(m.AcctID)), m.Variant, merged, at})
			n++
		}
	}
	cw.Flush()
	return n, cw.Error()
}

// writeMerges writes groundtruth/merges.csv.
func (g *generator) writeMerges(w io.Writer) (int64, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"team", "loser_acct_id", "winner_acct_id", "merged_at", "merged_at_utc", "person_id", "before_cutoff"})
	var n int64
	for _, tg := range g.teams {
		for _, m := range g.mergesOf(tg) {
			_ = cw.Write([]string{m.Team, strconv.Itoa(int(m.Loser)), strconv.Itoa(int(m.Winner)),
				m.At.In(g.loc).Format(TimeLayout), m.At.Format(time.RFC3339), m.Person,
				strconv.FormatBool(m.At.Unix() < g.cutoff)})
			n++
		}
	}
	cw.Flush()
	return n, cw.Error()
}

// --- The pre-existing CRM --------------------------------------------------

// CRMContact is one contact of the client's CRM before the initial load.
type CRMContact struct {
	ID, First, Last, Email, Phone, AccountID string
	Street, City, State, Zip                 string
	Created, Updated                         time.Time
	Person                                   string // truth: the person it is, "" for none of the Archtics people
	Match                                    string // truth: exact_email, fuzzy, stale_employer, stale_address, none
}

// CRMAccount is one account (company or household) of the CRM.
type CRMAccount struct {
	ID, Name, Type, City, State string
	Created                     time.Time
}

var crmKinds = []string{"exact_email", "fuzzy", "stale_employer", "stale_address", "none"}
var crmWeights = []float64{40, 20, 8, 10, 22}

// crm generates the client's CRM as it was before the initial load, from
// the first team's people (the CRM is one per client).
func (g *generator) crm() ([]CRMContact, []CRMAccount) {
	tg := g.teams[0]
	n := g.cfg.CRMContacts
	if n == 0 {
		n = max(50, tg.n/8)
	}
	var contacts []CRMContact
	accounts := []CRMAccount{}
	acctByName := map[string]string{}
	account := func(name, typ, city, state string, created int64) string {
		if id, ok := acctByName[name+"|"+typ]; ok {
			return id
		}
		id := "A" + strconv.Itoa(100000+len(accounts))
		acctByName[name+"|"+typ] = id
		accounts = append(accounts, CRMAccount{ID: id, Name: name, Type: typ, City: city, State: state, Created: time.Unix(created, 0).UTC()})
		return id
	}
	var r rng
	for j := 0; j < n; j++ {
		r.seed(g.cfg.Seed, 0, kCRM, uint64(j))
		kind := crmKinds[r.weighted(crmWeights)]
		idx := int32(r.intn(tg.n))
		if j == 0 && tg.tremblayNew >= 0 {
			kind, idx = "tremblay", tg.tremblayNew
		}
		for kind != "none" && (tg.dupTeam[idx] >= 0 || tg.acctType[idx] == atTest || tg.acctAdd[idx] >= g.cutoff) {
			idx = (idx + 1) % int32(tg.n)
		}
		created := g.clock.rand(&r, g.origin, g.cutoff-30*daySec)
		updated := g.clock.rand(&r, created, g.cutoff-daySec)
		c := CRMContact{ID: "C" + strconv.Itoa(1000000+j), Created: time.Unix(created, 0).UTC(), Updated: time.Unix(updated, 0).UTC(), Match: kind}
		var p person
		if kind == "none" {
			p = g.person(len(g.teams)+7, int32(j)) // nobody in Archtics
		} else {
			p = g.person(0, idx)
			c.Person = g.personID(0, idx)
		}
		c.First, c.Last = p.first, p.last
		a := p.home
		company := ""
		emp := p.employer
		if isCompany(tg.acctType[idx]) && kind != "none" && emp < 0 {
			emp = int(hash4(g.cfg.Seed, 0, kPerson, uint64(idx)) % uint64(len(companies)))
		}
		c.Email = p.email
		c.Phone = formatPhone(p.cell, r.intn(phFormats))
		if emp >= 0 && (kind == "none" || isCompany(tg.acctType[idx])) {
			company = companies[emp].name
			c.Email = workEmail(p.first, p.last, emp)
			c.Phone = formatPhone(p.workPhone, phDashes)
		}
		switch kind {
		case "tremblay":
			// The seed's story: the CRM knows Gabriel at Sporting Service
			// Solutions Inc with his personal email and his work phone.
			c.Match = "exact_email"
			company = companies[0].name
			c.Email = p.email
			c.Phone = formatPhone(p.workPhone, phDashes)
		case "exact_email":
			if r.chance(0.2) {
				c.Email = mixCase(&r, c.Email)
			}
		case "fuzzy":
			c.Email = ""
			if r.chance(0.5) {
				c.First = nickname(&r, c.First)
			} else {
				c.First = typo(&r, c.First)
			}
		case "stale_employer":
			company = companies[p.oldEmployer].name
			c.Email = p.oldWorkEmail
			c.Phone = formatPhone(p.oldWorkPhone, phDashes)
			a = p.old
		case "stale_address":
			a = p.old
			if r.chance(0.5) {
				c.Email = p.oldEmail
			}
		}
		c.Street, c.City, c.State, c.Zip = a.line1(r.intn(3)), a.city, a.state, a.zip
		if company != "" {
			c.AccountID = account(company, "Company", a.city, a.state, created)
		} else {
			c.AccountID = account(p.last+" Household "+strconv.Itoa(j), "Household", a.city, a.state, created)
		}
		contacts = append(contacts, c)
	}
	return contacts, accounts
}

func (g *generator) writeCRM(contactsW, accountsW, matchesW io.Writer) (nc, na, nm int64, err error) {
	contacts, accounts := g.crm()
	ts := func(t time.Time) string { return t.In(g.loc).Format(TimeLayout) }
	cw := csv.NewWriter(contactsW)
	_ = cw.Write([]string{"contact_id", "first_name", "last_name", "email", "phone", "account_id", "mailing_street", "mailing_city", "mailing_state", "mailing_postal_code", "created_at", "updated_at"})
	mw := csv.NewWriter(matchesW)
	_ = mw.Write([]string{"contact_id", "person_id", "match"})
	for _, c := range contacts {
		_ = cw.Write([]string{c.ID, c.First, c.Last, c.Email, c.Phone, c.AccountID, c.Street, c.City, c.State, c.Zip, ts(c.Created), ts(c.Updated)})
		_ = mw.Write([]string{c.ID, c.Person, c.Match})
	}
	aw := csv.NewWriter(accountsW)
	_ = aw.Write([]string{"account_id", "name", "type", "billing_city", "billing_state", "created_at"})
	for _, a := range accounts {
		_ = aw.Write([]string{a.ID, a.Name, a.Type, a.City, a.State, ts(a.Created)})
	}
	for _, w := range []*csv.Writer{cw, mw, aw} {
		w.Flush()
		if err := w.Error(); err != nil {
			return 0, 0, 0, fmt.Errorf("write CRM csv: %w", err)
		}
	}
	return int64(len(contacts)), int64(len(accounts)), int64(len(contacts)), nil
}

// CRM returns the pre-existing CRM's contacts and accounts.
func (w *World) CRM() ([]CRMContact, []CRMAccount) { return w.g.crm() }
