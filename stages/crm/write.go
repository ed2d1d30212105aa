package crm

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/pipeline"
	"archtics/schemas"
	"archtics/stages"
	"archtics/stages/dedup"
)

// contactVersion is a contact to write: inserted or updated, as it is now.
type contactVersion struct {
	Op      string
	Contact dedup.Contact
	Fields  []string
}

// mappingVersion is a mapping row to write.
type mappingVersion struct {
	mappingRow
	Reason string
}

// runChanges are the rows a run writes: what differs between the state it
// read and the state the engine left.
type runChanges struct {
	contacts          []contactVersion
	accounts          []dedup.CRMAccount
	mapping           []mappingVersion
	inserted, updated int64
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
	{"primary_acct_id", func(c *dedup.Contact) string {
		if c.Primary == nil {
			return ""
		}
		return strconv.FormatInt(int64(c.Primary.AcctID), 10)
	}},
}

// diffState compares the state read with the state the engine left and
// returns the versions to write. digests are the source_md5 of the
// accounts this run fed.
func diffState(prev *crmState, next dedup.State, digests map[dedup.AccountRef]string, runAt time.Time) *runChanges {
	ch := &runChanges{}
	before := make(map[string]*dedup.Contact, len(prev.Contacts))
	for i := range prev.Contacts {
		before[prev.Contacts[i].ID] = &prev.Contacts[i]
	}
	for _, c := range next.Contacts {
		p := before[c.ID]
		var fields []string
		for _, f := range contactFields {
			if p == nil && f.get(&c) != "" || p != nil && f.get(&c) != f.get(p) {
				fields = append(fields, f.name)
			}
		}
		switch {
		case p == nil:
			if c.Source == "" {
				c.Source = SourceArchtics
			}
			if c.Created.IsZero() {
				c.Created = runAt
			}
			if c.Updated.IsZero() {
				c.Updated = runAt
			}
			ch.contacts = append(ch.contacts, contactVersion{Op: schemas.CRMOpInsert, Contact: c, Fields: fields})
			ch.inserted++
		case len(fields) > 0:
			if !c.Updated.After(p.Updated) {
				c.Updated = runAt
			}
			ch.contacts = append(ch.contacts, contactVersion{Op: schemas.CRMOpUpdate, Contact: c, Fields: fields})
			ch.updated++
		}
	}
	sort.Slice(ch.contacts, func(i, j int) bool { return ch.contacts[i].Contact.ID < ch.contacts[j].Contact.ID })

	had := make(map[string]bool, len(prev.Accounts))
	for _, a := range prev.Accounts {
		had[a.ID] = true
	}
	for _, a := range next.Accounts {
		if had[a.ID] {
			continue
		}
		had[a.ID] = true
		if a.Source == "" {
			a.Source = SourceArchtics
		}
		if a.Created.IsZero() {
			a.Created = runAt
		}
		ch.accounts = append(ch.accounts, a)
	}
	sort.Slice(ch.accounts, func(i, j int) bool { return ch.accounts[i].ID < ch.accounts[j].ID })

	for _, m := range next.Mapping {
		p := prev.Mapping[m.Account]
		digest, fed := digests[m.Account]
		v := mappingVersion{mappingRow: mappingRow{Mapping: m, SourceMD5: digest, FirstMatched: runAt}}
		switch {
		case p == nil:
			v.Reason = "matched"
			if m.Rule == dedup.RuleMerged {
				v.Reason = "merged"
			}
		case p.ContactID != m.ContactID:
			v.Reason = "rematched"
			if m.Rule == dedup.RuleMerged {
				v.Reason = "merged"
			}
		case p.Role != m.Role && m.Rule == dedup.RuleManual:
			v.Reason = "set-primary"
		case p.Role != m.Role && m.Role == dedup.Secondary:
			v.Reason = "demoted"
		case p.Role != m.Role:
			v.Reason = "promoted"
		case p.Rule != m.Rule || p.Scores != m.Scores:
			v.Reason = "rematched"
		case fed && digest != p.SourceMD5:
			v.Reason = "account changed"
		default:
			continue
		}
		if p != nil {
			v.FirstMatched = p.FirstMatched
			if !fed {
				v.SourceMD5 = p.SourceMD5
			}
		}
		ch.mapping = append(ch.mapping, v)
	}
	sort.Slice(ch.mapping, func(i, j int) bool {
		a, b := ch.mapping[i].Account, ch.mapping[j].Account
		if a.Team != b.Team {
			return a.Team < b.Team
		}
		return a.AcctID < b.AcctID
	})
	return ch
}

func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func score(f float64) string {
	if f < 0 {
		return ""
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func contactRow(seq int64, op string, c dedup.Contact, fields []string) []string {
	pteam, pacct := "", ""
	if c.Primary != nil {
		pteam, pacct = c.Primary.Team, strconv.FormatInt(int64(c.Primary.AcctID), 10)
	}
	return []string{strconv.FormatInt(seq, 10), op, c.ID, c.First, c.Last, c.Email, c.Phone, c.AccountID, c.Street, c.Street2,
		c.City, c.State, c.PostalCode, c.Source, pteam, pacct, instant(c.Created), instant(c.Updated), strings.Join(fields, ",")}
}

func accountRow(seq int64, a dedup.CRMAccount) []string {
	return []string{a.ID, a.Name, a.Type, a.City, a.State, a.Source, instant(a.Created), strconv.FormatInt(seq, 10)}
}

func mappingRowText(seq int64, m mappingVersion, at time.Time, who string) []string {
	s := m.Scores
	return []string{strconv.FormatInt(seq, 10), m.Account.Team, strconv.FormatInt(int64(m.Account.AcctID), 10), m.ContactID,
		string(m.Role), m.Rule, score(s.First), score(s.Last), score(s.Email), score(s.Company), score(s.Address), score(s.Postal),
		score(s.Phone), m.SourceMD5, instant(m.FirstMatched), instant(at), who, m.Reason}
}

// writeChanges writes the changed contacts, the created accounts and the
// changed mapping rows as commit seq's rows.
func writeChanges(ctx context.Context, add func(*schemas.Table) *pipeline.TableWriter, ch *runChanges, seq int64, who string, at time.Time) error {
	// Rows are made one at a time as they are written: a first run's
	// million contacts, accounts and mappings never sit in memory as text.
	if err := writeEach(ctx, add(schemas.CRMContactVersion), len(ch.contacts), func(i int) []string {
		v := ch.contacts[i]
		return contactRow(seq, v.Op, v.Contact, v.Fields)
	}); err != nil {
		return err
	}
	if err := writeEach(ctx, add(schemas.CRMAccountTable), len(ch.accounts), func(i int) []string {
		return accountRow(seq, ch.accounts[i])
	}); err != nil {
		return err
	}
	return writeEach(ctx, add(schemas.CRMMappingVersion), len(ch.mapping), func(i int) []string {
		return mappingRowText(seq, ch.mapping[i], at, who)
	})
}

// writeLoadedCRM writes the client's CRM as the first run loaded it: every
// contact as version "load", every account, and the rejected rows.
func writeLoadedCRM(ctx context.Context, add func(*schemas.Table) *pipeline.TableWriter, l *loadedCRM, seq int64) error {
	rows := make([][]string, 0, len(l.Contacts))
	for _, c := range l.Contacts {
		rows = append(rows, contactRow(seq, schemas.CRMOpLoad, c, nil))
	}
	if err := writeRows(ctx, add(schemas.CRMContactVersion), rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, a := range l.Accounts {
		rows = append(rows, accountRow(seq, a))
	}
	if err := writeRows(ctx, add(schemas.CRMAccountTable), rows); err != nil {
		return err
	}
	rows = rows[:0]
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
// and writes them. A row that does not convert is a bug of this stage,
// not bad input (input was checked when read): it fails the run.
func writeRows(ctx context.Context, tw *pipeline.TableWriter, rows [][]string) error {
	return writeEach(ctx, tw, len(rows), func(i int) []string { return rows[i] })
}

// writeEach writes the n rows row(i) makes, as writeRows does.
func writeEach(ctx context.Context, tw *pipeline.TableWriter, n int, row func(i int) []string) error {
	t := tw.Table()
	rb := stages.NewRowBuilder(memory.DefaultAllocator, t)
	defer rb.Release()
	flush := func() error {
		if rb.Len() == 0 {
			return nil
		}
		rec := rb.NewRecord()
		defer rec.Release()
		return tw.Write(rec)
	}
	for i := 0; i < n; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := rb.Append(row(i)); err != nil {
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
