package crm

import (
	"strconv"

	"archtics/stages/dedup"
)

// ids names the contacts and CRM accounts the engine creates after the
// account that created them: contact A-<team>-<acct_id>, account
// AA-<team>-<acct_id> (a -2, -3 suffix should the name be taken). The
// engine's own ids are valid only within one engine: a later run starts
// another engine over the committed state, which could hand out the same
// ids again. Named after their account, the ids are the same whatever run
// creates them, so an incremental run and a full run over the same
// accounts name a new contact alike.
//
// Contacts and accounts the engine held from the start (the state read)
// keep their ids. Those it creates are named by index (Engine.NumContacts,
// NumAccounts: what an Add creates follows what was there), so naming a
// contact costs no lookup of the engine's id.
type ids struct {
	known     map[string]struct{} // contact ids committed before, or handed out this run
	knownAcct map[string]struct{} // CRM account ids likewise
	contacts0 int32               // contacts the engine started with
	accounts0 int32
	contact   []string // our id of contact contacts0+i
	account   []string // our id of CRM account accounts0+i
}

// newIDs names what eng creates from here on; prev is the state it was
// built with, expect how many accounts the run may feed (to size maps).
func newIDs(prev *crmState, eng *dedup.Engine, expect int) *ids {
	x := &ids{
		known:     make(map[string]struct{}, len(prev.Contacts)+expect),
		knownAcct: make(map[string]struct{}, len(prev.Accounts)+expect/2), // about one account per two new contacts
		contacts0: eng.NumContacts(), accounts0: eng.NumAccounts(),
		contact: make([]string, 0, expect),
	}
	for _, c := range prev.Contacts {
		x.known[c.ID] = struct{}{}
	}
	for _, a := range prev.Accounts {
		x.knownAcct[a.ID] = struct{}{}
	}
	return x
}

func name(known map[string]struct{}, prefix string, ref dedup.AccountRef) string {
	base := prefix + ref.Team + "-" + strconv.FormatInt(int64(ref.AcctID), 10)
	id := base
	for n := 2; ; n++ {
		if _, taken := known[id]; !taken {
			break
		}
		id = base + "-" + strconv.Itoa(n)
	}
	known[id] = struct{}{}
	return id
}

// learn names what the engine created while deciding ref's account (an
// Add or a Follow): every contact and CRM account past those named.
func (x *ids) learn(eng *dedup.Engine, ref dedup.AccountRef) {
	x.learnUpTo(ref, eng.NumContacts(), eng.NumAccounts())
}

// learnUpTo names contacts and CRM accounts after ref's account up to the
// engine's counts contacts and accounts.
func (x *ids) learnUpTo(ref dedup.AccountRef, contacts, accounts int32) {
	for x.contacts0+int32(len(x.contact)) < contacts {
		x.contact = append(x.contact, name(x.known, "A-", ref))
	}
	for x.accounts0+int32(len(x.account)) < accounts {
		x.account = append(x.account, name(x.knownAcct, "AA-", ref))
	}
}

// namer names what the engine creates on a goroutine of its own, in the
// order it was created, while the engine goes on: a first run names a
// million contacts, each a string made and looked up in a map of as many,
// which the engine (one goroutine) need not wait for. Do not read the ids
// before wait returns.
type namer struct {
	x       *ids
	last    created // the counts last sent: an account that created nothing is not
	batch   []created
	batches chan []created
	done    chan struct{}
}

// created is what the engine held after deciding ref's account.
type created struct {
	ref                dedup.AccountRef
	contacts, accounts int32
}

const namerBatch = 4096

func newNamer(x *ids) *namer {
	n := &namer{x: x, last: created{contacts: x.contacts0 + int32(len(x.contact)), accounts: x.accounts0 + int32(len(x.account))}, batch: make([]created, 0, namerBatch), batches: make(chan []created, 4), done: make(chan struct{})}
	go func() {
		defer close(n.done)
		for b := range n.batches {
			for _, c := range b {
				x.learnUpTo(c.ref, c.contacts, c.accounts)
			}
		}
	}()
	return n
}

// learn is ids.learn, done on the namer's goroutine.
func (n *namer) learn(eng *dedup.Engine, ref dedup.AccountRef) {
	c := created{ref: ref, contacts: eng.NumContacts(), accounts: eng.NumAccounts()}
	if c.contacts == n.last.contacts && c.accounts == n.last.accounts {
		return
	}
	n.last = c
	n.batch = append(n.batch, c)
	if len(n.batch) == namerBatch {
		n.batches <- n.batch
		n.batch = make([]created, 0, namerBatch)
	}
}

// wait names what is left and stops the goroutine. Call it once.
func (n *namer) wait() {
	if len(n.batch) > 0 {
		n.batches <- n.batch
	}
	close(n.batches)
	<-n.done
}

// contactID is our id of the engine's contact i.
func (x *ids) contactID(eng *dedup.Engine, i int32) string {
	if i >= x.contacts0 && int(i-x.contacts0) < len(x.contact) {
		return x.contact[i-x.contacts0]
	}
	return eng.ContactID(i)
}

// accountID is our id of the CRM account the engine calls id.
func (x *ids) accountID(eng *dedup.Engine, id string) string {
	if i, ok := eng.AccountIndex(id); ok {
		return x.accountAt(eng, i)
	}
	return id
}

// accountAt is our id of the engine's CRM account i.
func (x *ids) accountAt(eng *dedup.Engine, i int32) string {
	if i >= x.accounts0 && int(i-x.accounts0) < len(x.account) {
		return x.account[i-x.accounts0]
	}
	return eng.AccountAt(i).ID
}
