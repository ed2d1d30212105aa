package dedup

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PLACEHOLDER ENGINE: the API is the contract between the CRM stage and
// the matcher; the body below matches on exact email only and is replaced
// by the real matcher (three rules, normalisation, fuzzy fields, blocking).

// Engine holds the CRM state in memory and decides account by account.
// Feed accounts in the found-first order (FoundFirst): primaries and the
// contacts new accounts create depend on it.
type Engine struct {
	cfg      Config
	contacts []*Contact
	byID     map[string]*Contact
	byEmail  map[string][]*Contact
	accounts []CRMAccount
	mapping  map[AccountRef]*Mapping
	nextID   int
}

// New returns an engine over st, which it copies.
func New(cfg Config, st State) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Engine{cfg: cfg, byID: map[string]*Contact{}, byEmail: map[string][]*Contact{}, mapping: map[AccountRef]*Mapping{}}
	for i := range st.Contacts {
		c := st.Contacts[i]
		if _, dup := e.byID[c.ID]; dup {
			return nil, fmt.Errorf("dedup: contact %s appears twice in the CRM state", c.ID)
		}
		e.add(&c)
	}
	e.accounts = append(e.accounts, st.Accounts...)
	for i := range st.Mapping {
		m := st.Mapping[i]
		e.mapping[m.Account] = &m
	}
	return e, nil
}

func (e *Engine) add(c *Contact) {
	e.contacts = append(e.contacts, c)
	e.byID[c.ID] = c
	if k := strings.ToLower(strings.TrimSpace(c.Email)); k != "" {
		e.byEmail[k] = append(e.byEmail[k], c)
	}
}

// Add deduplicates one new or changed account against the current state.
func (e *Engine) Add(a *Account) (Result, error) {
	if prev, ok := e.mapping[a.AccountRef]; ok {
		return Result{Mapping: *prev}, nil
	}
	m := Mapping{Account: a.AccountRef, Scores: NoScores}
	var res Result
	var c *Contact
	if k := strings.ToLower(strings.TrimSpace(a.Email)); k != "" && len(e.byEmail[k]) > 0 {
		c = e.byEmail[k][0]
		m.Rule = RuleEmail
		m.Scores.Email = 1
	}
	if c == nil {
		e.nextID++
		c = &Contact{ID: "N" + strconv.Itoa(e.nextID), First: a.First, Last: a.Last, Email: a.Email, Phone: a.PhoneDay,
			Street: a.Street1, Street2: a.Street2, City: a.City, State: a.State, PostalCode: a.Zip,
			Created: e.cfg.Now(), Updated: e.cfg.Now(), Source: "archtics"}
		e.add(c)
		m.Rule = RuleNew
		res.Contacts = append(res.Contacts, ContactChange{Op: "insert", Contact: *c})
	}
	m.ContactID = c.ID
	m.Role = Secondary
	if c.Primary == nil {
		ref := a.AccountRef
		c.Primary = &ref
		m.Role = Primary
		if m.Rule != RuleNew {
			c.First, c.Last, c.Email = a.First, a.Last, a.Email
			c.Updated = e.cfg.Now()
			res.Contacts = append(res.Contacts, ContactChange{Op: "update", Contact: *c, Fields: []string{"first", "last", "email"}})
		}
	}
	e.mapping[a.AccountRef] = &m
	res.Mapping, res.Changed = m, true
	return res, nil
}

// Follow maps loser, an account Archtics merged away, to winner's contact.
func (e *Engine) Follow(loser, winner AccountRef) (Result, error) {
	w, ok := e.mapping[winner]
	if !ok {
		return Result{}, fmt.Errorf("dedup: merge winner %s:%d has no mapping", winner.Team, winner.AcctID)
	}
	m := Mapping{ContactID: w.ContactID, Account: loser, Role: Secondary, Rule: RuleMerged, Scores: NoScores}
	e.mapping[loser] = &m
	return Result{Mapping: m, Changed: true}, nil
}

// SetPrimary makes acct, already mapped to contactID, its primary account.
func (e *Engine) SetPrimary(contactID string, acct AccountRef) (Result, error) {
	c, ok := e.byID[contactID]
	if !ok {
		return Result{}, fmt.Errorf("dedup: no contact %s", contactID)
	}
	m, ok := e.mapping[acct]
	if !ok || m.ContactID != contactID {
		return Result{}, fmt.Errorf("dedup: account %s:%d is not mapped to contact %s", acct.Team, acct.AcctID, contactID)
	}
	var res Result
	if c.Primary != nil && *c.Primary != acct {
		if old, ok := e.mapping[*c.Primary]; ok {
			old.Role = Secondary
			res.Others = append(res.Others, *old)
		}
	}
	ref := acct
	c.Primary = &ref
	m.Role, m.Rule = Primary, RuleManual
	res.Mapping, res.Changed = *m, true
	return res, nil
}

// State returns a copy of the current state.
func (e *Engine) State() State {
	var st State
	for _, c := range e.contacts {
		st.Contacts = append(st.Contacts, *c)
	}
	st.Accounts = append(st.Accounts, e.accounts...)
	for _, m := range e.mapping {
		st.Mapping = append(st.Mapping, *m)
	}
	return st
}
