package dedup

import "slices"

// What changed: a caller that commits what the engine decides (the CRM
// stage) needs the contacts, CRM accounts and mappings that differ from
// the state the engine was built with. Copying the whole State and
// diffing it with the state read costs a copy of every contact and
// mapping (a million of each for a large client) while a run changes a
// few; instead the engine marks what it changes (touchContact,
// touchMapping, called wherever engine.go changes a contact's fields or
// primary, or a mapping's contact, role, rule or scores) and reports it.
//
// Indexes: the engine holds contacts, CRM accounts and mappings in the
// order it got them: contact i < len(State.Contacts) of the State given
// to New is State.Contacts[i], likewise accounts and mappings; those it
// created follow, in the order it created them.

// changeLog is what changed since TrackChanges.
type changeLog struct {
	contacts0, accounts0, maps0 int32    // counts when tracking started: an index at or past them is new
	contactDirty, mapDirty      []uint64 // bit per contact / mapping of the state: changed
	contacts, maps              []int32  // the changed ones of the state, in the order first changed
}

// Changes are the contacts, CRM accounts and mappings new or changed since
// TrackChanges, by index (see ContactAt, AccountAt, MappingAt), ascending.
// A contact or mapping of the state is listed when the engine changed it,
// which may have left it as it was (changed and changed back): compare
// when that matters.
type Changes struct {
	Contacts []int32
	Accounts []int32 // created: the engine never changes a CRM account
	Mappings []int32
	// NewContacts, NewAccounts and NewMappings are the indexes from which
	// on they were created since TrackChanges.
	NewContacts, NewAccounts, NewMappings int32
}

// TrackChanges starts recording what changes, forgetting what was
// recorded before: call it once the engine is built, before the first Add.
func (e *Engine) TrackChanges() {
	e.chg = &changeLog{
		contacts0: e.contacts.len(), accounts0: e.accounts.len(), maps0: e.maps.len(),
		contactDirty: make([]uint64, (e.contacts.len()+63)/64),
		mapDirty:     make([]uint64, (e.maps.len()+63)/64),
	}
}

// touchContact marks contact ci changed (a no-op when not tracking, and
// for a contact created since: every one of those is reported).
func (e *Engine) touchContact(ci int32) {
	l := e.chg
	if l == nil || ci >= l.contacts0 {
		return
	}
	if w, b := ci/64, uint64(1)<<(ci%64); l.contactDirty[w]&b == 0 {
		l.contactDirty[w] |= b
		l.contacts = append(l.contacts, ci)
	}
}

// touchMapping marks mapping mi changed, as touchContact.
func (e *Engine) touchMapping(mi int32) {
	l := e.chg
	if l == nil || mi >= l.maps0 {
		return
	}
	if w, b := mi/64, uint64(1)<<(mi%64); l.mapDirty[w]&b == 0 {
		l.mapDirty[w] |= b
		l.maps = append(l.maps, mi)
	}
}

// Changes returns what is new or changed since TrackChanges; without
// TrackChanges, everything the engine holds.
func (e *Engine) Changes() Changes {
	l := e.chg
	if l == nil {
		l = &changeLog{}
	}
	span := func(changed []int32, from, to int32) []int32 {
		out := make([]int32, 0, len(changed)+int(to-from))
		out = append(out, changed...)
		slices.Sort(out)
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return out
	}
	return Changes{
		Contacts:    span(l.contacts, l.contacts0, e.contacts.len()),
		Accounts:    span(nil, l.accounts0, e.accounts.len()),
		Mappings:    span(l.maps, l.maps0, e.maps.len()),
		NewContacts: l.contacts0, NewAccounts: l.accounts0, NewMappings: l.maps0,
	}
}

// NumContacts, NumAccounts and NumMappings are how many contacts, CRM
// accounts and mappings the engine holds: after an Add or Follow, the
// indexes from the count before it are what it created.
func (e *Engine) NumContacts() int32 { return e.contacts.len() }

// NumAccounts: see NumContacts.
func (e *Engine) NumAccounts() int32 { return e.accounts.len() }

// NumMappings: see NumContacts.
func (e *Engine) NumMappings() int32 { return e.maps.len() }

// ContactAt is contact i (0 <= i < NumContacts) as it is now. Its Primary
// points at the engine's own: read it, do not change it.
func (e *Engine) ContactAt(i int32) Contact { return e.contacts.at(i).c }

// ContactID is contact i's contact_id.
func (e *Engine) ContactID(i int32) string { return e.contacts.at(i).c.ID }

// AccountIndex is the index of the CRM account the engine calls id
// (AccountAt), false if it holds none.
func (e *Engine) AccountIndex(id string) (int32, bool) {
	i, ok := e.acctByID[id]
	return i, ok
}

// MappingIndex is the index of acct's mapping, false if it has none.
func (e *Engine) MappingIndex(acct AccountRef) (int32, bool) {
	mi, ok := e.mapByAcc[acct]
	return mi, ok
}

// AccountAt is CRM account i (0 <= i < NumAccounts).
func (e *Engine) AccountAt(i int32) CRMAccount { return *e.accounts.at(i) }

// MappingAt is mapping i (0 <= i < NumMappings) as it is now.
func (e *Engine) MappingAt(i int32) Mapping { return e.mappingOf(i) }

// MappingContact is the index of mapping i's contact (ContactAt).
func (e *Engine) MappingContact(i int32) int32 { return e.maps.at(i).contact }

// MappingAccount is the account mapping i maps.
func (e *Engine) MappingAccount(i int32) AccountRef { return e.maps.at(i).acct }
