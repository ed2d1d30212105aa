package crm

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/rowbuild"
	"archtics/pipeline"
	"archtics/schemas"
	"archtics/stages/dedup"
)

// contactVersion is a contact to write: inserted or updated, as it is now.
type contactVersion struct {
	Op      string
	Contact dedup.Contact
}

// mappingVersion is a mapping row to write.
type mappingVersion struct {
	mappingRow
	Reason string
}

// runChanges are the rows a run writes: what differs between the state it
// read and the state the engine left. They are held as the engine's
// indexes (dedup.Changes) and made into rows as they are written, so a
// first run's million contacts and mappings are never copied out of the
// engine into a second state.
type runChanges struct {
	eng      *dedup.Engine
	ids      *ids
	prev     *crmState
	prevMaps []*mappingRow // the engine's mapping i < len(prevMaps) is prevMaps[i]'s
	digests  []string      // per mapping index: the source_md5 this run fed it with; "": not fed
	runAt    time.Time

	contacts          []contactChange
	accounts          []int32
	mapping           []mappingChange
	inserted, updated int64
}

// contactChange is a contact to write: the engine's index, insert or
// update, and which of contactFields changed (bit i: contactFields[i]).
type contactChange struct {
	idx    int32
	insert bool
	fields uint32
}

// mappingChange is a mapping row to write: the engine's index and why.
type mappingChange struct {
	idx    int32
	reason string
}

// contactFields are a contact's fields the CRM cares about, by the
// column names of crm.contact: a version is written when one differs.
var contactFields = []struct {
	name string
	get  func(*dedup.Contact) string
}{
	{"first_name", func(c *dedup.Contact) string { return c.First }},
	{"last_name", func(c *dedup.Contact) string { return c.Last }},
	{"email", func(c *dedup.Contact) string { return c.Email }},
	{"phone", func(c *dedup.Contact) string { return c.Phone }},
	{"account_id", func(c *dedup.Contact) string { return c.AccountID }},
	{"street", func(c *dedup.Contact) string { return c.Street }},
	{"street2", func(c *dedup.Contact) string { return c.Street2 }},
	{"city", func(c *dedup.Contact) string { return c.City }},
	{"state", func(c *dedup.Contact) string { return c.State }},
	{"postal_code", func(c *dedup.Contact) string { return c.PostalCode }},
	{"primary_team", func(c *dedup.Contact) string {
		if c.Primary == nil {
			return ""
		}
		return c.Primary.Team
	}},
	// primary_acct_id: compared as a number by changedFields.
	{"primary_acct_id", nil},
}

// changedFields is which of contactFields differ between c and p (p nil:
// which c has), bit i for contactFields[i].
func changedFields(c, p *dedup.Contact) uint32 {
	var bits uint32
	last := len(contactFields) - 1
	for i, f := range contactFields[:last] {
		if p == nil && f.get(c) != "" || p != nil && f.get(c) != f.get(p) {
			bits |= 1 << i
		}
	}
	// The primary's acct_id as crm.contact holds it: NULL without one.
	if p == nil && c.Primary != nil || p != nil && primaryAcct(c) != primaryAcct(p) {
		bits |= 1 << last
	}
	return bits
}

// primaryAcct is c's primary account's acct_id; noPrimary without one.
func primaryAcct(c *dedup.Contact) int64 {
	if c.Primary == nil {
		return noPrimary
	}
	return int64(c.Primary.AcctID)
}

const noPrimary = -1 << 40 // beyond any int32 acct_id

// fieldNames are the names of the fields in bits, comma-separated, made
// once per set of fields (a few dozen sets among a million contacts).
type fieldNames struct {
	names map[uint32]string
}

func (f *fieldNames) of(bits uint32) string {
	if s, ok := f.names[bits]; ok {
		return s
	}
	var names []string
	for i, cf := range contactFields {
		if bits&(1<<i) != 0 {
			names = append(names, cf.name)
		}
	}
	s := strings.Join(names, ",")
	if f.names == nil {
		f.names = map[uint32]string{}
	}
	f.names[bits] = s
	return s
}

// changesOf collects what the engine changed since TrackChanges against
// the state it was built with (prev, and prevMaps in its mapping order):
// contacts inserted or whose fields differ, CRM accounts created, and
// mapping rows that are new or differ, each with its reason. digests are
// the source_md5 of the accounts this run fed, by mapping index.
func changesOf(eng *dedup.Engine, x *ids, prev *crmState, prevMaps []*mappingRow, digests []string, runAt time.Time) *runChanges {
	chg := eng.Changes()
	ch := &runChanges{eng: eng, ids: x, prev: prev, prevMaps: prevMaps, digests: digests, runAt: runAt}
	// Contacts, accounts and mappings are collected and sorted at once,
	// each by its own goroutine: they only read the engine and the ids.
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		ch.contacts = make([]contactChange, 0, len(chg.Contacts))
		for _, i := range chg.Contacts {
			c := ch.contact(i)
			if i >= chg.NewContacts {
				ch.contacts = append(ch.contacts, contactChange{idx: i, insert: true, fields: changedFields(&c, nil)})
				ch.inserted++
			} else if bits := changedFields(&c, &prev.Contacts[i]); bits != 0 {
				ch.contacts = append(ch.contacts, contactChange{idx: i, fields: bits})
				ch.updated++
			}
		}
		// By contact_id, as the ids are written.
		cid := func(i int32) string { return x.contactID(eng, i) }
		slices.SortFunc(ch.contacts, func(a, b contactChange) int { return strings.Compare(cid(a.idx), cid(b.idx)) })
	}()
	go func() {
		defer wg.Done()
		// The engine never changes a CRM account: the new ones are written.
		ch.accounts = chg.Accounts
		slices.SortFunc(ch.accounts, func(a, b int32) int { return strings.Compare(x.accountAt(eng, a), x.accountAt(eng, b)) })
	}()
	go func() {
		defer wg.Done()
		ch.mapping = make([]mappingChange, 0, len(chg.Mappings))
		touched := make(map[int32]bool, len(chg.Mappings))
		for _, i := range chg.Mappings {
			touched[i] = true
			if r := ch.reason(i); r != "" {
				ch.mapping = append(ch.mapping, mappingChange{idx: i, reason: r})
			}
		}
		// An account fed again whose mapping the engine kept as it was
		// (a primary, or a secondary its contact still matches) is not in
		// Changes, but its row must record the new source_md5: else the
		// next run finds it changed again, and the next, for ever.
		for i, d := range digests {
			if d == "" || touched[int32(i)] {
				continue
			}
			if p := ch.prevMapping(int32(i)); p != nil && p.SourceMD5 != d {
				if r := ch.reason(int32(i)); r != "" {
					ch.mapping = append(ch.mapping, mappingChange{idx: int32(i), reason: r})
				}
			}
		}
		slices.SortFunc(ch.mapping, func(a, b mappingChange) int {
			ra, rb := eng.MappingAccount(a.idx), eng.MappingAccount(b.idx)
			if ra.Team != rb.Team {
				return strings.Compare(ra.Team, rb.Team)
			}
			return int(ra.AcctID) - int(rb.AcctID)
		})
	}()
	wg.Wait()
	return ch
}

// contact is the engine's contact i with our ids.
func (ch *runChanges) contact(i int32) dedup.Contact {
	c := ch.eng.ContactAt(i)
	c.ID, c.AccountID = ch.ids.contactID(ch.eng, i), ch.ids.accountID(ch.eng, c.AccountID)
	return c
}

// contactVersion is change k as written: an insert takes its source and
// times from the run when the engine left them blank; an update whose
// time did not move is stamped with the run's.
func (ch *runChanges) contactVersion(k int) contactVersion {
	v := ch.contacts[k]
	c := ch.contact(v.idx)
	if v.insert {
		if c.Source == "" {
			c.Source = SourceArchtics
		}
		if c.Created.IsZero() {
			c.Created = ch.runAt
		}
		if c.Updated.IsZero() {
			c.Updated = ch.runAt
		}
		return contactVersion{Op: schemas.CRMOpInsert, Contact: c}
	}
	if !c.Updated.After(ch.prev.Contacts[v.idx].Updated) {
		c.Updated = ch.runAt
	}
	return contactVersion{Op: schemas.CRMOpUpdate, Contact: c}
}

// account is the engine's CRM account i as written.
func (ch *runChanges) account(i int32) dedup.CRMAccount {
	a := ch.eng.AccountAt(i)
	a.ID = ch.ids.accountAt(ch.eng, i)
	if a.Source == "" {
		a.Source = SourceArchtics
	}
	if a.Created.IsZero() {
		a.Created = ch.runAt
	}
	return a
}

// fed is the source_md5 this run fed mapping i's account with.
func (ch *runChanges) fed(i int32) (string, bool) {
	if int(i) < len(ch.digests) && ch.digests[i] != "" {
		return ch.digests[i], true
	}
	return "", false
}

func (ch *runChanges) prevMapping(i int32) *mappingRow {
	if int(i) < len(ch.prevMaps) {
		return ch.prevMaps[i]
	}
	return nil
}

// reason is why mapping i is written, "" when it is as it was.
func (ch *runChanges) reason(i int32) string {
	m := ch.eng.MappingAt(i)
	m.ContactID = ch.ids.contactID(ch.eng, ch.eng.MappingContact(i))
	p := ch.prevMapping(i)
	digest, fed := ch.fed(i)
	switch {
	case m.Role == dedup.Deleted:
		return "deleted"
	case p == nil:
		if m.Rule == dedup.RuleMerged {
			return "merged"
		}
		return "matched"
	case p.ContactID != m.ContactID:
		if m.Rule == dedup.RuleMerged {
			return "merged"
		}
		return "rematched"
	case p.Role != m.Role && m.Rule == dedup.RuleManual:
		return "set-primary"
	case p.Role != m.Role && m.Role == dedup.Secondary:
		return "demoted"
	case p.Role != m.Role:
		return "promoted"
	case p.Rule != m.Rule || p.Scores != m.Scores:
		return "rematched"
	case fed && digest != p.SourceMD5:
		return "account changed"
	}
	return ""
}

// mappingVersion is mapping change k as written.
func (ch *runChanges) mappingVersion(k int) mappingVersion {
	c := ch.mapping[k]
	m := ch.eng.MappingAt(c.idx)
	m.ContactID = ch.ids.contactID(ch.eng, ch.eng.MappingContact(c.idx))
	digest, fed := ch.fed(c.idx)
	v := mappingVersion{mappingRow: mappingRow{Mapping: m, SourceMD5: digest, FirstMatched: ch.runAt}, Reason: c.reason}
	if p := ch.prevMapping(c.idx); p != nil {
		v.FirstMatched = p.FirstMatched
		if !fed {
			v.SourceMD5 = p.SourceMD5
		}
	}
	return v
}

// mappingVersions are every mapping change as written.
func (ch *runChanges) mappingVersions() []mappingVersion {
	out := make([]mappingVersion, len(ch.mapping))
	for k := range ch.mapping {
		out[k] = ch.mappingVersion(k)
	}
	return out
}

func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// appendContact appends a crm.contact_version row.
func appendContact(w *rowWriter, seq int64, op string, c *dedup.Contact, fields string) error {
	w.int64(seq)
	w.str(op)
	w.str(c.ID)
	w.str(c.First)
	w.str(c.Last)
	w.str(c.Email)
	w.str(c.Phone)
	w.str(c.AccountID)
	w.str(c.Street)
	w.str(c.Street2)
	w.str(c.City)
	w.str(c.State)
	w.str(c.PostalCode)
	w.str(c.Source)
	if c.Primary != nil {
		w.str(c.Primary.Team)
		w.int32(c.Primary.AcctID, true)
	} else {
		w.str("")
		w.int32(0, false)
	}
	w.instant(c.Created)
	w.instant(c.Updated)
	w.str(fields)
	return w.end()
}

// appendAccount appends a crm.account row.
func appendAccount(w *rowWriter, seq int64, a *dedup.CRMAccount) error {
	w.str(a.ID)
	w.str(a.Name)
	w.str(a.Type)
	w.str(a.City)
	w.str(a.State)
	w.str(a.Source)
	w.instant(a.Created)
	w.int64(seq)
	return w.end()
}

// appendMapping appends a crm.mapping_version row.
func appendMapping(w *rowWriter, seq int64, m *mappingVersion, at time.Time, who string) error {
	w.int64(seq)
	w.str(m.Account.Team)
	w.int32(m.Account.AcctID, true)
	w.str(m.ContactID)
	w.str(string(m.Role))
	w.str(m.Rule)
	s := m.Scores
	for _, f := range []float64{s.First, s.Last, s.Email, s.Company, s.Address, s.Postal, s.Phone} {
		w.score(f)
	}
	w.str(m.SourceMD5)
	w.instant(m.FirstMatched)
	w.instant(at)
	w.str(who)
	w.str(m.Reason)
	return w.end()
}

// writeChanges writes the changed contacts, the created accounts and the
// changed mapping rows as commit seq's rows, after the first run's loaded
// CRM (l, nil on later runs), and withWeights the weights of the mappings
// the probabilistic model decided. The three tables are written at once, each
// by its own goroutine (their writers are apart; the engine is only
// read): Parquet encoding is most of this, and a second core takes a
// third of it.
func writeChanges(ctx context.Context, add func(*schemas.Table) *pipeline.TableWriter, l *loadedCRM, ch *runChanges, seq int64, who string, at time.Time,
	withWeights bool) error {
	contacts, accounts, mapping := add(schemas.CRMContactVersion), add(schemas.CRMAccountTable), add(schemas.CRMMappingVersion)
	var weights *pipeline.TableWriter
	if withWeights {
		weights = add(schemas.CRMMatchWeights)
	}
	var names fieldNames
	jobs := []func() error{
		func() error {
			w := newRowWriter(ctx, contacts)
			return w.finish(func() error {
				if l != nil {
					for i := range l.Contacts {
						if err := appendContact(w, seq, schemas.CRMOpLoad, &l.Contacts[i], ""); err != nil {
							return err
						}
					}
				}
				for k := range ch.contacts {
					v := ch.contactVersion(k)
					if err := appendContact(w, seq, v.Op, &v.Contact, names.of(ch.contacts[k].fields)); err != nil {
						return err
					}
				}
				return nil
			}())
		},
		func() error {
			w := newRowWriter(ctx, accounts)
			return w.finish(func() error {
				if l != nil {
					for i := range l.Accounts {
						if err := appendAccount(w, seq, &l.Accounts[i]); err != nil {
							return err
						}
					}
				}
				for _, i := range ch.accounts {
					a := ch.account(i)
					if err := appendAccount(w, seq, &a); err != nil {
						return err
					}
				}
				return nil
			}())
		},
		func() error {
			w := newRowWriter(ctx, mapping)
			var ww *rowWriter
			if weights != nil {
				ww = newRowWriter(ctx, weights)
			}
			err := w.finish(func() error {
				for k := range ch.mapping {
					v := ch.mappingVersion(k)
					if err := appendMapping(w, seq, &v, at, who); err != nil {
						return err
					}
					if ww != nil && v.Weights.Valid {
						if err := appendWeights(ww, seq, &v); err != nil {
							return err
						}
					}
				}
				return nil
			}())
			if ww != nil {
				err = ww.finish(err)
			}
			return err
		},
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = job()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeRejects writes the rows of the CRM files the first run rejected.
func writeRejects(ctx context.Context, add func(*schemas.Table) *pipeline.TableWriter, l *loadedCRM, seq int64) error {
	rows := make([][]string, 0, len(l.Rejects))
	for _, r := range l.Rejects {
		raw := r.Raw
		if len(raw) > 8192 {
			raw = raw[:8192]
		}
		rows = append(rows, []string{r.File, strconv.FormatInt(r.Line, 10), r.Field, truncate(r.Reason, 490), raw, strconv.FormatInt(seq, 10)})
	}
	return writeRows(ctx, add(schemas.CRMRejects), rows)
}

// recordRows is how many rows go into one record batch.
const recordRows = 64 * 1024

// writeRows converts text rows (in tw's table's column order, "" = NULL)
// and writes them: for the few rows of the settings and the rejects. A
// row that does not convert is a bug of this stage, not bad input (input
// was checked when read): it fails the run.
func writeRows(ctx context.Context, tw *pipeline.TableWriter, rows [][]string) error {
	t := tw.Table()
	rb := rowbuild.New(memory.DefaultAllocator, t)
	defer rb.Release()
	flush := func() error {
		if rb.Len() == 0 {
			return nil
		}
		rec := rb.NewRecord()
		defer rec.Release()
		return tw.Write(rec)
	}
	for i, row := range rows {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := rb.Append(row); err != nil {
			return fmt.Errorf("%s row %d: %w", t.SQLName(), i+1, err)
		}
		if rb.Len() >= recordRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
