package dedup

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The engine: accounts in, one at a time in the found-first order, each
// compared with the contacts as they are at that moment (the client's
// pre-existing ones and those earlier accounts created), never contacts
// with contacts.
//
// Choice. When the rules hold for several contacts the account goes to
// the first in contact order (ContactBefore): pre-existing contacts
// (Source "crm") before those deduplication created, then by contact_id
// in natural order (digit runs compared as numbers, so "C99" comes before
// "C100"). The simulator's truth picks the same: the lowest contact_id,
// pre-existing first.
//
// New contacts. An account no contact matches becomes a new contact,
// "AR-<team>-<acct_id>", its primary, with a new CRM account: its company
// when it has one (an existing Company account whose name is similar, at
// the threshold, is reused; else "AC-<team>-<acct_id>"), else a household
// ("AH-<team>-<household_id>" shared by the household's accounts, or
// "AH-<team>-<acct_id>" without one). IDs derive from the account, so an
// incremental run and a full run name them alike.
//
// Primaries and the seed's overwrite rule. The first account mapped to a
// contact is its primary and overwrites it, field by field, wherever the
// account's value is not blank: first and last name, email, phone
// (phone_day, else phone_cell, else phone_eve), company (the contact's CRM
// account becomes the company's, existing or new) and the address (street
// lines, city, state and postal code together, when street line 1 is not
// blank). Later accounts are secondary and change nothing.
//
// An account added again (changed in an incremental run):
//   - a primary stays with its contact, whose data is its data, and its
//     changes flow to the contact as a first overwrite would;
//   - a mapping made by hand (set-primary) or by a merge stays;
//   - a secondary stays while the rules still hold with its contact, else
//     it is matched again like a new account (and may make a new
//     contact); a contact it leaves keeps its fields.
// A mapping that stays keeps the rule and scores it was made with, so
// adding an unchanged account again changes nothing (Result.Changed false,
// no contact changes).
//
// When a contact's primary leaves it (a merge moves it to its winner's
// contact), the contact's next account in the found-first order (by
// Mapping.AddDate, then team and acct_id) becomes its primary, reported in
// Result.Others; it does not overwrite the contact until it is added
// again: the engine keeps no account's details.

// Engine holds the CRM state in memory and decides account by account.
// Feed accounts in the found-first order (FoundFirst): primaries and the
// contacts new accounts create depend on it. It holds the contacts, the
// CRM accounts, the mapping and a blocking index over the contacts; never
// pairs. An Engine is not safe for concurrent use.
type Engine struct {
	cfg      Config
	th       float64
	contacts chunked[contact]
	byID     map[string]int32
	heads    [nKeys]map[uint64]int32 // blocking key -> first contact of its chain

	accounts    chunked[CRMAccount]
	acctByID    map[string]int32
	companies   map[byte][]int32     // indexes of the Company accounts by the first letter of their normalised name
	companyKeys map[int32]companyKey // their names, ready to compare
	companyOf   map[string]resolved  // normalised company name -> the account it resolves to

	maps     chunked[mapping]
	scores   chunked[Scores]   // the mappings' scores other than NoScores
	weights  chunked[Weights]  // the mappings' weights that are Valid (the probabilistic rule set's)
	names    []string          // roles and rules, by mapping.role and mapping.rule
	nameIdx  map[string]uint16 // names' indexes
	mapNext  []int32           // next mapping of the same contact, -1 none
	mapByAcc map[AccountRef]int32

	// emailNeedsFirst narrows rule 1 (Config.EmailNeedsFirstName, or
	// the evidence rules); ev is rule 4's index, nil under KORE's rules.
	emailNeedsFirst bool
	ev              *evidenceRule
	pb              *probRule // the probabilistic rule set's index, nil under the others

	stamp []uint32 // per contact: the candidate round that last saw it
	round uint32
	cand  []int32

	chg *changeLog // what changed since TrackChanges (changes.go); nil: not tracking
}

// mapping is a Mapping as the engine holds it (64 bytes where a Mapping
// takes more than 200): its contact by index (the contact's ID is its
// ContactID), role and rule by index into Engine.names, the scores and
// weights apart (most mappings are new contacts' and have none).
type mapping struct {
	acct    AccountRef
	addDate time.Time
	contact int32
	scores  int32 // index into Engine.scores; -1: NoScores
	weights int32 // index into Engine.weights; -1: none (Valid false)
	role    uint16
	rule    uint16
}

// The names every engine holds first, so that these indexes are theirs.
const (
	namePrimary = iota
	nameSecondary
	nameNew
	nameMerged
	nameManual
)

var firstNames = []string{string(Primary), string(Secondary), RuleNew, RuleMerged, RuleManual}

// name is the index of a role or rule name, added when new.
func (e *Engine) name(s string) uint16 {
	if i, ok := e.nameIdx[s]; ok {
		return i
	}
	i := uint16(len(e.names))
	e.names = append(e.names, s)
	e.nameIdx[s] = i
	return i
}

// setScores sets mapping mi's scores.
func (e *Engine) setScores(mi int32, sc Scores) {
	e.touchMapping(mi)
	m := e.maps.at(mi)
	switch {
	case sc == NoScores:
		m.scores = -1
	case m.scores >= 0:
		*e.scores.at(m.scores) = sc
	default:
		m.scores = e.scores.push(sc)
	}
}

// setWeights sets mapping mi's weights (Valid false: none).
func (e *Engine) setWeights(mi int32, w Weights) {
	e.touchMapping(mi)
	m := e.maps.at(mi)
	switch {
	case !w.Valid:
		m.weights = -1
	case m.weights >= 0:
		*e.weights.at(m.weights) = w
	default:
		m.weights = e.weights.push(w)
	}
}

// mappingOf is mapping mi as a Mapping.
func (e *Engine) mappingOf(mi int32) Mapping {
	m := e.maps.at(mi)
	sc := NoScores
	if m.scores >= 0 {
		sc = *e.scores.at(m.scores)
	}
	var w Weights
	if m.weights >= 0 {
		w = *e.weights.at(m.weights)
	}
	return Mapping{ContactID: e.contacts.at(m.contact).c.ID, Account: m.acct, Role: Role(e.names[m.role]), Rule: e.names[m.rule],
		Scores: sc, Weights: w, AddDate: m.addDate}
}

// resolved is a company name resolved to a Company account (a cache:
// kept equal to what a scan of every Company account would find).
type resolved struct {
	key  companyKey
	acct int32
}

// contact is a contact and what the engine keeps about it.
type contact struct {
	// What a block's walk reads first: the chains and the normalised
	// fields, ahead of the contact's own.
	next    [nKeys]int32 // next contact in each blocking chain; notIndexed when not in one
	firstMp int32        // first of its mappings (mapNext list), -1 none
	crm     bool         // pre-existing (Source "crm")
	n       packedRec
	c       Contact
}

// Blocking keys. Every rule needs one of them equal, so looking up the
// account's keys finds every contact a rule can hold for:
//   - email: the normalised email (rule 1);
//   - last name + postal code: rule 2 needs the last name equal and the
//     postal code equal or blank in both;
//   - last name + phone: rule 3 needs the last name equal and the phone
//     equal or blank in both; with a blank phone it needs a company in
//     both, so blank phones are indexed only with a company.
//
// Rules 2 and 3 also need a first name in both: records without one are
// not indexed under those keys.
const (
	keyEmail = iota
	keyLastPostal
	keyLastPhone
	nKeys
)

const notIndexed = -2

func keyHash(kind byte, parts ...string) uint64 {
	h := uint64(14695981039346656037) ^ uint64(kind)
	h *= 1099511628211
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// keys returns the blocking keys of a record; ok[k] false where it has none.
func keys(r *rec) (ks [nKeys]uint64, ok [nKeys]bool) {
	if r.email != "" {
		ks[keyEmail], ok[keyEmail] = keyHash('e', r.email), true
	}
	if r.last != "" && r.first != "" {
		ks[keyLastPostal], ok[keyLastPostal] = keyHash('p', r.last, r.postal), true
		if r.phone != "" || r.company.norm != "" {
			ks[keyLastPhone], ok[keyLastPhone] = keyHash('t', r.last, r.phone), true
		}
	}
	return ks, ok
}

// New returns an engine over st, which it copies. It checks that st is
// whole: every ID once, every mapping's contact present, and each
// contact's Primary agreeing with the mapping's roles.
func New(cfg Config, st State) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	th := cfg.Threshold
	if th == 0 {
		th = DefaultThreshold
	}
	if th < 0 || th > 1 {
		return nil, fmt.Errorf("dedup: threshold %v: want a similarity in (0, 1]", cfg.Threshold)
	}
	rules, err := ruleSet(cfg.Rules)
	if err != nil {
		return nil, err
	}
	cfg.Rules = rules
	e := &Engine{cfg: cfg, th: th, emailNeedsFirst: cfg.EmailNeedsFirstName || rules == RulesEvidence, byID: make(map[string]int32, len(st.Contacts)), acctByID: map[string]int32{},
		companyOf: map[string]resolved{}, companies: map[byte][]int32{}, companyKeys: map[int32]companyKey{}, mapByAcc: make(map[AccountRef]int32, len(st.Mapping)), nameIdx: map[string]uint16{}}
	for _, n := range firstNames {
		e.name(n)
	}
	if rules == RulesEvidence {
		e.ev = newEvidenceRule()
	}
	if rules == RulesProbabilistic {
		if cfg.Model == nil {
			return nil, fmt.Errorf("dedup: rule set %q needs a fitted model: fit one over the run's accounts (NewModelFitter, Add, Fit) and set Config.Model", RulesProbabilistic)
		}
		if err := checkModel(cfg.Model); err != nil {
			return nil, err
		}
		e.pb = newProbRule(cfg.Model)
	}
	for k := range e.heads {
		e.heads[k] = map[uint64]int32{}
	}
	for _, a := range st.Accounts {
		if _, dup := e.acctByID[a.ID]; dup {
			return nil, fmt.Errorf("dedup: CRM account %s appears twice in the CRM state: each account_id must be unique", a.ID)
		}
		e.addAccount(a)
	}
	for i := range st.Contacts {
		c := st.Contacts[i]
		if c.ID == "" {
			return nil, fmt.Errorf("dedup: contact %d of the CRM state has no contact_id", i+1)
		}
		if _, dup := e.byID[c.ID]; dup {
			return nil, fmt.Errorf("dedup: contact %s appears twice in the CRM state: each contact_id must be unique", c.ID)
		}
		if c.Primary != nil {
			p := *c.Primary
			c.Primary = &p
		}
		e.addContact(c, nil)
	}
	for _, m := range st.Mapping {
		ci, ok := e.byID[m.ContactID]
		if !ok {
			return nil, fmt.Errorf("dedup: mapping of account %s:%d names contact %s, which is not in the CRM state", m.Account.Team, m.Account.AcctID, m.ContactID)
		}
		if _, dup := e.mapByAcc[m.Account]; dup {
			return nil, fmt.Errorf("dedup: account %s:%d is mapped twice in the CRM state: one mapping per account", m.Account.Team, m.Account.AcctID)
		}
		c := &e.contacts.at(ci).c
		isPrimary := c.Primary != nil && *c.Primary == m.Account
		if isPrimary != (m.Role == Primary) {
			return nil, fmt.Errorf("dedup: account %s:%d has role %q for contact %s, whose primary is %s: the state's mapping and contacts disagree", m.Account.Team, m.Account.AcctID, m.Role, m.ContactID, refString(c.Primary))
		}
		e.link(ci, m)
	}
	for i := range e.contacts.len() {
		if p := e.contacts.at(i).c.Primary; p != nil {
			if mi, ok := e.mapByAcc[*p]; !ok || e.maps.at(mi).contact != i {
				return nil, fmt.Errorf("dedup: contact %s has primary %s, which is not mapped to it in the CRM state", e.contacts.at(i).c.ID, refString(p))
			}
		}
	}
	return e, nil
}

func refString(r *AccountRef) string {
	if r == nil {
		return "none"
	}
	return r.Team + ":" + strconv.Itoa(int(r.AcctID))
}

func (e *Engine) addAccount(a CRMAccount) int32 {
	i := e.accounts.push(a)
	e.acctByID[a.ID] = i
	if a.Type == "Company" {
		k := companyKeyOf(a.Name)
		e.companies[firstByte(k.norm)] = append(e.companies[firstByte(k.norm)], i)
		e.companyKeys[i] = k
		// A name resolved before resolves to the new account when it
		// matches and comes first: the cache stays what a scan finds.
		for n, r := range e.companyOf {
			if companySim(&r.key, &k) >= e.th && accountBefore(e.accounts.at(i), e.accounts.at(r.acct)) {
				e.companyOf[n] = resolved{key: r.key, acct: i}
			}
		}
	}
	return i
}

// contactCompanyKey is the key of the company a contact is linked to:
// its CRM account's name's (kept in companyKeys) when that is a Company,
// else none.
func (e *Engine) contactCompanyKey(c *Contact) companyKey {
	if i, ok := e.acctByID[c.AccountID]; ok && e.accounts.at(i).Type == "Company" {
		return e.companyKeys[i]
	}
	return companyKey{}
}

func (e *Engine) addContact(c Contact, n *rec) int32 {
	ci := e.contacts.push(contact{c: c, crm: c.Source != "archtics", firstMp: -1, next: [nKeys]int32{notIndexed, notIndexed, notIndexed}})
	e.stamp = append(e.stamp, 0)
	e.byID[c.ID] = ci
	if n != nil {
		e.contacts.at(ci).n = pack(n)
		e.index(ci)
	} else {
		e.renorm(ci)
	}
	return ci
}

// renorm recomputes a contact's normalised fields and moves it in the
// index: call after changing its fields.
func (e *Engine) renorm(ci int32) {
	x := e.contacts.at(ci)
	e.unindex(ci)
	n := contactRecWith(&x.c, e.contactCompanyKey(&x.c))
	x.n = pack(&n)
	e.index(ci)
}

// index puts a contact in the chains of its keys.
func (e *Engine) index(ci int32) {
	x := e.contacts.at(ci)
	n := x.n.rec()
	ks, ok := keys(&n)
	for k := range ks {
		if ok[k] {
			if h, has := e.heads[k][ks[k]]; has {
				x.next[k] = h
			} else {
				x.next[k] = -1
			}
			e.heads[k][ks[k]] = ci
		}
	}
	e.indexContactEvidence(ci)
	e.indexContactProb(ci)
}

// unindex takes a contact out of its chains (its keys from its current
// normalised fields).
func (e *Engine) unindex(ci int32) {
	x := e.contacts.at(ci)
	n := x.n.rec()
	ks, _ := keys(&n)
	for k := range ks {
		if x.next[k] == notIndexed {
			continue
		}
		h := e.heads[k][ks[k]]
		if h == ci {
			if x.next[k] < 0 {
				delete(e.heads[k], ks[k])
			} else {
				e.heads[k][ks[k]] = x.next[k]
			}
		} else {
			for p := h; p >= 0; p = e.contacts.at(p).next[k] {
				if e.contacts.at(p).next[k] == ci {
					e.contacts.at(p).next[k] = x.next[k]
					break
				}
			}
		}
		x.next[k] = notIndexed
	}
}

// link records mapping m of contact ci (m.ContactID is not read).
func (e *Engine) link(ci int32, m Mapping) int32 {
	mi := e.maps.push(mapping{acct: m.Account, addDate: m.AddDate, contact: ci, scores: -1, weights: -1, role: e.name(string(m.Role)), rule: e.name(m.Rule)})
	e.setScores(mi, m.Scores)
	e.setWeights(mi, m.Weights)
	e.mapNext = append(e.mapNext, e.contacts.at(ci).firstMp)
	e.contacts.at(ci).firstMp = mi
	e.mapByAcc[m.Account] = mi
	return mi
}

// relink moves mapping mi from its contact to contact ci.
func (e *Engine) relink(mi, ci int32) {
	e.touchMapping(mi)
	e.unlink(mi)
	e.mapNext[mi] = e.contacts.at(ci).firstMp
	e.contacts.at(ci).firstMp = mi
	e.maps.at(mi).contact = ci
}

// unlink takes mapping mi out of its contact's list of mappings (its
// contact field is left as it is).
func (e *Engine) unlink(mi int32) {
	x := e.contacts.at(e.maps.at(mi).contact)
	if x.firstMp == mi {
		x.firstMp = e.mapNext[mi]
	} else {
		for p := x.firstMp; p >= 0; p = e.mapNext[p] {
			if e.mapNext[p] == mi {
				e.mapNext[p] = e.mapNext[mi]
				break
			}
		}
	}
	e.mapNext[mi] = -1
}

// ContactBefore reports whether contact a comes before contact b in the
// choice order: pre-existing (Source other than "archtics") first, then
// contact_id in natural order.
func ContactBefore(a, b *Contact) bool {
	ca, cb := a.Source != "archtics", b.Source != "archtics"
	if ca != cb {
		return ca
	}
	return naturalLess(a.ID, b.ID)
}

// naturalLess compares IDs with digit runs as numbers ("C99" < "C100"),
// then byte by byte.
func naturalLess(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		da, db := a[i] >= '0' && a[i] <= '9', b[j] >= '0' && b[j] <= '9'
		if da && db {
			si, sj := i, j
			for i < len(a) && a[i] >= '0' && a[i] <= '9' {
				i++
			}
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			continue
		}
		if a[i] != b[j] {
			return a[i] < b[j]
		}
		i++
		j++
	}
	if len(a)-i != len(b)-j {
		return len(a)-i < len(b)-j
	}
	return a < b
}

// best finds the contact the rules send account a (normalised: r) to: -1
// for none. skip is a's own mapping (-1: none), which the evidence rules'
// checks leave out.
func (e *Engine) best(a *Account, r *rec, skip int32) (int32, string, Scores) {
	ks, ok := keys(r)
	e.round++
	if e.round == 0 { // wrapped: forget every stamp
		clear(e.stamp)
		e.round = 1
	}
	e.cand = e.cand[:0]
	for k := range ks {
		if !ok[k] {
			continue
		}
		h, has := e.heads[k][ks[k]]
		if !has {
			continue
		}
		for p := h; p >= 0; p = e.contacts.at(p).next[k] {
			if e.stamp[p] != e.round {
				e.stamp[p] = e.round
				e.cand = append(e.cand, p)
			}
		}
	}
	bi := int32(-1)
	for _, ci := range e.cand {
		if bi >= 0 && !ContactBefore(&e.contacts.at(ci).c, &e.contacts.at(bi).c) {
			continue
		}
		if c := e.contacts.at(ci).n.rec(); matches(r, &c, e.th, e.emailNeedsFirst) && (e.ev == nil || e.evidenceAllows(a, r, &c, ci, skip)) {
			bi = ci
		}
	}
	if bi < 0 {
		return -1, "", NoScores
	}
	c := e.contacts.at(bi).n.rec()
	rule, sc := match(r, &c, e.th, e.emailNeedsFirst)
	return bi, rule, sc
}

// Add deduplicates one new or changed account against the current state
// (see the package's rules and the engine's doc above). Call it only for
// accounts whose type is not excluded from the CRM.
func (e *Engine) Add(a *Account) (Result, error) {
	if a == nil {
		return Result{}, fmt.Errorf("dedup: Add of a nil account")
	}
	var res Result
	err := e.add(a, accountRec(a), nil, &res)
	return res, err
}

// Normalized is an account's fields as the rules compare them
// (Engine.Normalize): what Add computes from the account alone, which a caller
// feeding many accounts can compute ahead, on another goroutine.
type Normalized struct {
	r rec
	p pRec // the probabilistic rule set's record
}

// Normalize normalises account a's fields for e's Feed: only what e's rule
// set compares. It reads nothing e changes, so it may run on another
// goroutine than the one feeding e.
func (e *Engine) Normalize(a *Account) Normalized {
	r := accountRec(a)
	if e.pb == nil {
		return Normalized{r: r}
	}
	return Normalized{r: r, p: pRecOfAccount(a, &r)}
}

// Feed is Add for an account whose fields n normalises (e.Normalize(a)),
// without a Result: for a caller that tracks what changes (TrackChanges)
// and reads it from Changes, the contacts and accounts Add copies into
// its Result are garbage.
func (e *Engine) Feed(a *Account, n *Normalized) error {
	if a == nil {
		return fmt.Errorf("dedup: Feed of a nil account")
	}
	return e.add(a, n.r, &n.p, nil)
}

// add is Add with a's fields normalised (r, and pn for the probabilistic
// rule set: nil, computed here when needed); res nil: no Result wanted.
func (e *Engine) add(a *Account, r rec, pn *pRec, res *Result) error {
	if a.Team == "" {
		return fmt.Errorf("dedup: account %d has no team: every account names its team database", a.AcctID)
	}
	if mi, ok := e.mapByAcc[a.AccountRef]; ok {
		m := e.maps.at(mi)
		ci := m.contact
		keep := m.role == namePrimary || m.rule == nameManual || m.rule == nameMerged
		var p pRec
		if e.pb != nil {
			p = probRecOf(a, &r, pn)
			if !keep {
				w := e.probWith(&p, ci, mi)
				keep = w.Valid && w.Total >= e.pb.s.m.Threshold
			}
		}
		if !keep && e.pb == nil {
			c := e.contacts.at(ci).n.rec()
			keep = matches(&r, &c, e.th, e.emailNeedsFirst) && (e.ev == nil || e.evidenceAllows(a, &r, &c, ci, mi)) ||
				e.ev != nil && e.evidenceHoldsWith(a, &r, ci, mi)
		}
		if keep {
			if m.role == namePrimary {
				e.overwrite(ci, a, &r, res)
			}
			if e.ev != nil {
				e.know(mi, a, &r)
			}
			if e.pb != nil {
				e.probKnow(mi, &p)
			}
			if res != nil {
				res.Mapping = e.mappingOf(mi)
			}
			return nil
		}
		// A secondary its contact no longer matches: matched again.
		ni, rule, sc, w := e.choose(a, &r, &p, mi)
		if ni < 0 {
			ni = e.create(a, &r, res)
			rule, sc = RuleNew, NoScores
		}
		e.relink(mi, ni)
		m = e.maps.at(mi)
		m.rule, m.role, m.addDate = e.name(rule), nameSecondary, a.AddDate
		e.setScores(mi, sc)
		e.setWeights(mi, w)
		if e.ev != nil {
			e.know(mi, a, &r)
		}
		if e.pb != nil {
			e.probKnow(mi, &p)
		}
		e.claim(ni, mi, a, &r, res)
		if res != nil {
			res.Mapping, res.Changed = e.mappingOf(mi), true
		}
		return nil
	}
	var p pRec
	if e.pb != nil {
		p = probRecOf(a, &r, pn)
	}
	ci, rule, sc, w := e.choose(a, &r, &p, -1)
	if ci < 0 {
		ci = e.create(a, &r, res)
		rule, sc = RuleNew, NoScores
	}
	mi := e.link(ci, Mapping{Account: a.AccountRef, Role: Secondary, Rule: rule, Scores: sc, Weights: w, AddDate: a.AddDate})
	if e.ev != nil {
		e.know(mi, a, &r)
	}
	if e.pb != nil {
		e.probKnow(mi, &p)
	}
	e.claim(ci, mi, a, &r, res)
	if res != nil {
		res.Mapping, res.Changed = e.mappingOf(mi), true
	}
	return nil
}

// choose finds the contact the rule set sends account a to (r: its
// normalised fields, p: its record for the probabilistic rule set), -1
// for none; skip is a's own mapping (-1: none).
func (e *Engine) choose(a *Account, r *rec, p *pRec, skip int32) (int32, string, Scores, Weights) {
	if e.pb != nil {
		ci, w := e.probBest(p, skip)
		if ci < 0 {
			return -1, "", NoScores, Weights{}
		}
		return ci, RuleProbabilistic, NoScores, w
	}
	ci, rule, sc := e.best(a, r, skip)
	if ci < 0 && e.ev != nil {
		ci, rule, sc = e.evidenceBest(a, r, skip)
	}
	return ci, rule, sc, Weights{}
}

// claim makes mapping mi its contact's primary when the contact has none,
// and lets the account overwrite it.
func (e *Engine) claim(ci, mi int32, a *Account, r *rec, res *Result) {
	x := e.contacts.at(ci)
	if x.c.Primary != nil {
		return
	}
	ref := a.AccountRef
	x.c.Primary = &ref
	e.maps.at(mi).role = namePrimary
	e.touchContact(ci)
	e.touchMapping(mi)
	if e.maps.at(mi).rule != nameNew {
		e.overwrite(ci, a, r, res)
	}
}

// create makes a new contact (and its CRM account) from account a.
func (e *Engine) create(a *Account, r *rec, res *Result) int32 {
	now := e.cfg.Now()
	var idBuf [64]byte
	id := derivedID(idBuf[:0], "AR-", a.Team, a.AcctID)
	for k := 2; ; k++ {
		if _, taken := e.byID[string(id)]; !taken {
			break
		}
		id = strconv.AppendInt(append(derivedID(idBuf[:0], "AR-", a.Team, a.AcctID), '-'), int64(k), 10)
	}
	c := Contact{ID: string(id), First: a.First, Last: a.Last, Email: a.Email, Phone: firstPhone(a),
		Created: now, Updated: now, Source: "archtics"}
	if !blank(a.Street1) {
		c.Street, c.Street2, c.City, c.State, c.PostalCode = a.Street1, a.Street2, a.City, a.State, a.Zip
	}
	if !blank(a.Company) {
		c.AccountID = e.companyAccount(a, &r.company, "", res)
	} else {
		c.AccountID = e.householdAccount(a, res)
	}
	// The new contact compares as its account does, but for its phone
	// (phone_day, else cell, else evening), an address only with street
	// line 1, and its company as its CRM account names it.
	n := *r
	n.phone = NormPhone(c.Phone)
	if blank(a.Street1) {
		n.addr, n.postal = Address{}, ""
	}
	n.company = e.contactCompanyKey(&c)
	ci := e.addContact(c, &n)
	if res != nil {
		res.Contacts = append(res.Contacts, ContactChange{Op: "insert", Contact: e.contacts.at(ci).c, Fields: slices.Clone(contactFields)})
	}
	return ci
}

// contactFields are the contact's field names as changes report them
// (the CRM file's columns).
var contactFields = []string{"first_name", "last_name", "email", "phone", "account_id",
	"mailing_street", "mailing_street2", "mailing_city", "mailing_state", "mailing_postal_code"}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

func firstPhone(a *Account) string {
	for _, p := range []string{a.PhoneDay, a.PhoneCell, a.PhoneEve} {
		if !blank(p) {
			return p
		}
	}
	return ""
}

// companyAccount is the CRM account of account a's company: current (the
// contact's present account) when that is a Company of a similar name,
// else the first Company account of a similar name in contact order
// (pre-existing first, then natural ID order), else a new one.
func (e *Engine) companyAccount(a *Account, key *companyKey, current string, res *Result) string {
	if i, ok := e.acctByID[current]; ok && e.accounts.at(i).Type == "Company" {
		ck := e.companyKeys[i]
		if companySim(key, &ck) >= e.th {
			return current
		}
	}
	if r, ok := e.companyOf[key.norm]; ok {
		return e.accounts.at(r.acct).ID
	}
	bi := int32(-1)
	for _, i := range e.companies[firstByte(key.norm)] {
		ck := e.companyKeys[i]
		if companySim(key, &ck) < e.th {
			continue
		}
		if bi < 0 || accountBefore(e.accounts.at(i), e.accounts.at(bi)) {
			bi = i
		}
	}
	if bi >= 0 {
		e.companyOf[key.norm] = resolved{key: *key, acct: bi}
		return e.accounts.at(bi).ID
	}
	name := a.Company
	if k := strings.IndexByte(name, '|'); k >= 0 {
		name = name[:k] // a department typed after the name is not the company
	}
	acct := CRMAccount{ID: "AC-" + a.Team + "-" + strconv.Itoa(int(a.AcctID)), Name: strings.TrimSpace(name), Type: "Company",
		City: a.City, State: a.State, Created: e.cfg.Now(), Source: "archtics"}
	for k := 2; ; k++ {
		if _, taken := e.acctByID[acct.ID]; !taken {
			break
		}
		acct.ID = "AC-" + a.Team + "-" + strconv.Itoa(int(a.AcctID)) + "-" + strconv.Itoa(k)
	}
	i := e.addAccount(acct)
	e.companyOf[key.norm] = resolved{key: *key, acct: i}
	if res != nil {
		res.CRMAccounts = append(res.CRMAccounts, acct)
	}
	return acct.ID
}

// firstByte blocks company names: every spelling, abbreviation and
// acronym of a name the similarity accepts starts with its letter (typos
// keep the first letter; an acronym starts with the first word's).
func firstByte(norm string) byte {
	if norm == "" {
		return 0
	}
	return norm[0]
}

func accountBefore(a, b *CRMAccount) bool {
	ca, cb := a.Source != "archtics", b.Source != "archtics"
	if ca != cb {
		return ca
	}
	return naturalLess(a.ID, b.ID)
}

// derivedID appends "<prefix><team>-<n>" to dst: the IDs derived from an
// account, built without allocating so that a lookup of one that exists
// allocates nothing.
func derivedID(dst []byte, prefix, team string, n int32) []byte {
	dst = append(append(append(dst, prefix...), team...), '-')
	return strconv.AppendInt(dst, int64(n), 10)
}

// householdAccount is the household CRM account of a personal account:
// its Archtics household's when it has one, else its own.
func (e *Engine) householdAccount(a *Account, res *Result) string {
	var idBuf [64]byte
	n := a.AcctID
	if a.HouseholdID != 0 {
		n = a.HouseholdID
	}
	idb := derivedID(idBuf[:0], "AH-", a.Team, n)
	if i, ok := e.acctByID[string(idb)]; ok {
		return e.accounts.at(i).ID // the household's: no copy per member
	}
	id := string(idb)
	acct := CRMAccount{ID: id, Name: strings.TrimSpace(a.Last) + " Household", Type: "Household",
		City: a.City, State: a.State, Created: e.cfg.Now(), Source: "archtics"}
	e.addAccount(acct)
	if res != nil {
		res.CRMAccounts = append(res.CRMAccounts, acct)
	}
	return id
}

// overwrite applies account a's non-blank details to contact ci (the
// seed's rule for a primary) and reports an update when anything changed.
func (e *Engine) overwrite(ci int32, a *Account, r *rec, res *Result) {
	x := e.contacts.at(ci)
	c := &x.c
	var fields []string
	changed := false
	set := func(dst *string, v, name string) {
		if *dst != v {
			*dst = v
			changed = true
			if res != nil {
				fields = append(fields, name)
			}
		}
	}
	setIf := func(dst *string, v, name string) {
		if !blank(v) {
			set(dst, v, name)
		}
	}
	setIf(&c.First, a.First, "first_name")
	setIf(&c.Last, a.Last, "last_name")
	setIf(&c.Email, a.Email, "email")
	setIf(&c.Phone, firstPhone(a), "phone")
	if !blank(a.Company) {
		set(&c.AccountID, e.companyAccount(a, &r.company, c.AccountID, res), "account_id")
	}
	if !blank(a.Street1) {
		set(&c.Street, a.Street1, "mailing_street")
		set(&c.Street2, a.Street2, "mailing_street2")
		set(&c.City, a.City, "mailing_city")
		set(&c.State, a.State, "mailing_state")
		set(&c.PostalCode, a.Zip, "mailing_postal_code")
	}
	if !changed {
		return
	}
	c.Updated = e.cfg.Now()
	e.touchContact(ci)
	e.renorm(ci)
	if res != nil {
		res.Contacts = append(res.Contacts, ContactChange{Op: "update", Contact: x.c, Fields: fields})
	}
}

// Follow maps loser, an account Archtics merged away, to winner's contact
// as a secondary (rule "merged"). If loser was its contact's primary, the
// contact's next account in the found-first order becomes primary
// (Result.Others).
func (e *Engine) Follow(loser, winner AccountRef) (Result, error) {
	wi, ok := e.mapByAcc[winner]
	if !ok {
		return Result{}, fmt.Errorf("dedup: merge winner %s:%d has no mapping: add the winner before following its losers", winner.Team, winner.AcctID)
	}
	if loser == winner {
		return Result{}, fmt.Errorf("dedup: account %s:%d cannot follow itself", loser.Team, loser.AcctID)
	}
	wc := e.maps.at(wi).contact
	var res Result
	mi, ok := e.mapByAcc[loser]
	if !ok {
		mi = e.link(wc, Mapping{Account: loser, Role: Secondary, Rule: RuleMerged, Scores: NoScores})
		res.Mapping, res.Changed = e.mappingOf(mi), true
		return res, nil
	}
	before := e.mappingOf(mi)
	if before.ContactID == e.contacts.at(wc).c.ID && before.Role == Secondary && before.Rule == RuleMerged {
		res.Mapping = before
		return res, nil
	}
	from := e.maps.at(mi).contact
	wasPrimary := before.Role == Primary
	if from != wc {
		e.relink(mi, wc)
	}
	m := e.maps.at(mi)
	m.role, m.rule = nameSecondary, nameMerged
	e.touchMapping(mi)
	e.setScores(mi, NoScores)
	e.setWeights(mi, Weights{})
	if wasPrimary {
		e.contacts.at(from).c.Primary = nil
		e.touchContact(from)
		e.promote(from, &res)
	}
	res.Mapping, res.Changed = e.mappingOf(mi), true
	return res, nil
}

// promote makes the contact's first account in the found-first order,
// if any, its primary.
func (e *Engine) promote(ci int32, res *Result) {
	bi := int32(-1)
	for p := e.contacts.at(ci).firstMp; p >= 0; p = e.mapNext[p] {
		if bi < 0 || mappingBefore(e.maps.at(p), e.maps.at(bi)) {
			bi = p
		}
	}
	if bi < 0 {
		return
	}
	ref := e.maps.at(bi).acct
	e.contacts.at(ci).c.Primary = &ref
	e.maps.at(bi).role = namePrimary
	e.touchContact(ci)
	e.touchMapping(bi)
	if res != nil {
		res.Others = append(res.Others, e.mappingOf(bi))
	}
}

func mappingBefore(a, b *mapping) bool {
	return FoundFirst(&Account{AccountRef: a.acct, AddDate: a.addDate}, &Account{AccountRef: b.acct, AddDate: b.addDate})
}

// SetPrimary makes acct, already mapped to contactID, its primary account
// (rule "manual"); the old primary becomes secondary (Result.Others).
//
// It does not change the contact's fields: the engine keeps no account's
// details. KORE treats the primary's data as true, so the caller adds the
// account again right after (Add): a primary's details then flow to its
// contact as a first overwrite would. A manual mapping stays when the
// account is added again, whatever the rules say.
func (e *Engine) SetPrimary(contactID string, acct AccountRef) (Result, error) {
	ci, ok := e.byID[contactID]
	if !ok {
		return Result{}, fmt.Errorf("dedup: no contact %s in the CRM state: check the contact_id", contactID)
	}
	mi, ok := e.mapByAcc[acct]
	if !ok || e.maps.at(mi).contact != ci {
		return Result{}, fmt.Errorf("dedup: account %s:%d is not mapped to contact %s: set-primary only chooses among a contact's own accounts", acct.Team, acct.AcctID, contactID)
	}
	var res Result
	x := e.contacts.at(ci)
	if x.c.Primary != nil && *x.c.Primary == acct {
		res.Mapping = e.mappingOf(mi)
		return res, nil
	}
	if x.c.Primary != nil {
		if old, ok := e.mapByAcc[*x.c.Primary]; ok {
			e.maps.at(old).role = nameSecondary
			e.touchMapping(old)
			res.Others = append(res.Others, e.mappingOf(old))
		}
	}
	ref := acct
	x.c.Primary = &ref
	m := e.maps.at(mi)
	m.role, m.rule = namePrimary, nameManual
	e.touchContact(ci)
	e.touchMapping(mi)
	res.Mapping, res.Changed = e.mappingOf(mi), true
	return res, nil
}

// State returns a copy of the current state: contacts in the order the
// engine holds them (the state's, then created ones), CRM accounts
// likewise, mappings by team and acct_id.
func (e *Engine) State() State {
	st := State{Contacts: make([]Contact, e.contacts.len()), Accounts: e.accounts.all(), Mapping: make([]Mapping, 0, e.maps.len())}
	for i := range e.maps.len() {
		if e.names[e.maps.at(i).role] != string(Deleted) {
			st.Mapping = append(st.Mapping, e.mappingOf(i))
		}
	}
	for i := range e.contacts.len() {
		c := e.contacts.at(i).c
		if c.Primary != nil {
			p := *c.Primary
			c.Primary = &p
		}
		st.Contacts[i] = c
	}
	slices.SortFunc(st.Mapping, func(a, b Mapping) int {
		if a.Account.Team != b.Account.Team {
			return strings.Compare(a.Account.Team, b.Account.Team)
		}
		return int(a.Account.AcctID) - int(b.Account.AcctID)
	})
	return st
}

// Lookup returns the mapping of an account, false if it has none.
func (e *Engine) Lookup(acct AccountRef) (Mapping, bool) {
	mi, ok := e.mapByAcc[acct]
	if !ok {
		return Mapping{}, false
	}
	return e.mappingOf(mi), true
}
