package crm

import (
	"strconv"

	"archtics/stages/dedup"
)

// ids names the contacts and CRM accounts the engine creates after the
// account that created them: contact A-<team>-<acct_id>, account
// AA-<team>-<acct_id> (a -2, -3 suffix should one account create
// several). The engine's own ids are valid only within one engine: a
// later run starts another engine over the committed state, which could
// hand out the same ids again. Named after their account, the ids are the
// same whatever run creates them, so an incremental run and a full run
// over the same accounts name a new contact alike.
type ids struct {
	known    map[string]bool   // ids committed before, or handed out this run
	contacts map[string]string // the engine's id → ours
	accounts map[string]string
}

func newIDs(prev *crmState) *ids {
	x := &ids{known: map[string]bool{}, contacts: map[string]string{}, accounts: map[string]string{}}
	for _, c := range prev.Contacts {
		x.known[c.ID] = true
	}
	for _, a := range prev.Accounts {
		x.known["account:"+a.ID] = true
	}
	return x
}

func (x *ids) name(prefix string, ref dedup.AccountRef, space string) string {
	base := prefix + ref.Team + "-" + strconv.FormatInt(int64(ref.AcctID), 10)
	id := base
	for n := 2; x.known[space+id]; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	x.known[space+id] = true
	return id
}

func (x *ids) contact(engineID string, ref dedup.AccountRef) {
	if engineID == "" || x.known[engineID] {
		return
	}
	if _, ok := x.contacts[engineID]; !ok {
		x.contacts[engineID] = x.name("A-", ref, "")
	}
}

// learn names what the engine created while deciding ref's account.
func (x *ids) learn(res dedup.Result, ref dedup.AccountRef) {
	for _, c := range res.Contacts {
		if c.Op == "insert" {
			x.contact(c.Contact.ID, ref)
		}
	}
	if res.Mapping.Rule == dedup.RuleNew {
		x.contact(res.Mapping.ContactID, ref)
	}
	for _, a := range res.CRMAccounts {
		if x.known["account:"+a.ID] {
			continue
		}
		if _, ok := x.accounts[a.ID]; !ok {
			x.accounts[a.ID] = x.name("AA-", ref, "account:")
		}
	}
}

func (x *ids) contactID(id string) string {
	if n, ok := x.contacts[id]; ok {
		return n
	}
	return id
}

func (x *ids) accountID(id string) string {
	if n, ok := x.accounts[id]; ok {
		return n
	}
	return id
}

// translate returns st with our ids. A contact the engine created without
// saying so (no insert in any result) is named after its primary account.
func (x *ids) translate(st dedup.State) dedup.State {
	for _, c := range st.Contacts {
		if _, ok := x.contacts[c.ID]; !ok && !x.known[c.ID] && c.Primary != nil {
			x.contact(c.ID, *c.Primary)
		}
	}
	out := dedup.State{
		Contacts: make([]dedup.Contact, len(st.Contacts)),
		Accounts: make([]dedup.CRMAccount, len(st.Accounts)),
		Mapping:  make([]dedup.Mapping, len(st.Mapping)),
	}
	for i, c := range st.Contacts {
		c.ID, c.AccountID = x.contactID(c.ID), x.accountID(c.AccountID)
		out.Contacts[i] = c
	}
	for i, a := range st.Accounts {
		a.ID = x.accountID(a.ID)
		out.Accounts[i] = a
	}
	for i, m := range st.Mapping {
		m.ContactID = x.contactID(m.ContactID)
		out.Mapping[i] = m
	}
	return out
}
