package dedup

import "fmt"

// Remove takes an account Archtics deleted out of the mapping. Its
// contact stays, with its fields (a CRM does not forget a person because
// a ticketing account went); if the account was the contact's primary,
// the contact's next account in the found-first order becomes primary
// (Result.Others), as when a merge takes a primary away. Result.Mapping
// is the mapping as it was. An account with no mapping is an error: the
// caller removes only what the state maps.
func (e *Engine) Remove(acct AccountRef) (Result, error) {
	mi, ok := e.mapByAcc[acct]
	if !ok {
		return Result{}, fmt.Errorf("dedup: Remove of account %s:%d, which has no mapping", acct.Team, acct.AcctID)
	}
	res := Result{Mapping: e.mappingOf(mi), Changed: true}
	ci := e.maps.at(mi).contact
	x := e.contacts.at(ci)
	e.unlink(mi)
	delete(e.mapByAcc, acct)
	// The mapping keeps its contact (a writer of its last version names
	// it) with the role Deleted; State leaves it out.
	e.maps.at(mi).role = e.name(string(Deleted))
	e.touchMapping(mi)
	if e.ev != nil {
		if ev := e.ev.of(mi); ev != nil {
			ev.known = false // no longer evidence: its index entries now find nothing
		}
	}
	if e.pb != nil {
		if p := e.pb.of(mi); p != nil {
			p.known = false
		}
	}
	if x.c.Primary != nil && *x.c.Primary == acct {
		x.c.Primary = nil
		e.touchContact(ci)
		e.promote(ci, &res)
	}
	return res, nil
}

// Deleted is the role of a mapping Remove took out: its last version in
// the mapping's history.
const Deleted Role = "deleted"
