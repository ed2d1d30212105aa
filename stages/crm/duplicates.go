package crm

import (
	"context"
	"fmt"
	"os"
	"sort"

	"archtics/pipeline"
	"archtics/stages/dedup"
)

// KORE never compares CRM contacts with each other: a person the client's
// CRM already held twice, or one whose accounts share nothing but a name
// and so made two contacts, stays split. CRMDuplicates lists the pairs of
// contacts the probabilistic model scores as likely one person, with the
// weights, for a person to decide; it changes nothing.

// DuplicateContact is one contact of a likely pair, as crm.contact has it.
type DuplicateContact struct {
	ContactID  string `json:"contact_id"`
	Source     string `json:"source"` // crm (pre-existing) or archtics (created by dedup)
	First      string `json:"first_name"`
	Last       string `json:"last_name"`
	Email      string `json:"email"`
	Phone      string `json:"phone"`
	Street     string `json:"street"`
	PostalCode string `json:"postal_code"`
	BirthDate  string `json:"birth_date"` // its primary account's, "" none
	Accounts   int64  `json:"accounts"`   // Archtics accounts mapped to it
}

// DuplicatePair is two contacts the model scores as likely one person.
type DuplicatePair struct {
	A           DuplicateContact   `json:"a"`
	B           DuplicateContact   `json:"b"`
	MatchWeight float64            `json:"match_weight"`
	Weights     map[string]float64 `json:"weights"` // each field's part of the match weight
}

// DuplicatesReport is what `archtics dedup report --crm-duplicates` says.
type DuplicatesReport struct {
	CRMSeq    int64   `json:"crm_seq"`
	Contacts  int64   `json:"contacts"` // contacts compared
	Model     string  `json:"model"`    // which model scored them
	MinWeight float64 `json:"min_weight"`
	// Pairs are the likely pairs, the highest weight first.
	Pairs []DuplicatePair `json:"pairs"`
}

// duplicateContactsSQL reads every contact with its primary account's
// birth date and its number of mapped accounts.
const duplicateContactsSQL = `SELECT c.contact_id, c.source, coalesce(c.first_name, ''), coalesce(c.last_name, ''), coalesce(c.email, ''),
  coalesce(c.phone, ''), coalesce(c.street, ''), coalesce(c.street2, ''), coalesce(c.city, ''), coalesce(c.state, ''), coalesce(c.postal_code, ''),
  coalesce(CAST(p.birth_date AS VARCHAR), ''), coalesce(m.n, 0)
FROM crm.contact c
LEFT JOIN (SELECT team, acct_id, min(birth_date) AS birth_date FROM archtics.cust WHERE primary_code = 'Primary' GROUP BY ALL) p
  ON p.team = c.primary_team AND p.acct_id = c.primary_acct_id
LEFT JOIN (SELECT contact_id, count(*) AS n FROM crm.archtics_mapping GROUP BY ALL) m ON m.contact_id = c.contact_id
ORDER BY c.contact_id`

// CRMDuplicates scores pairs of CRM contacts with the probabilistic model
// and returns those at or above minWeight (nil: the model's threshold).
// The model is the committed one when the probabilistic rule set is in
// force, else one fitted now on the clones' accounts.
func CRMDuplicates(ctx context.Context, w *pipeline.Warehouse, cacheDir string, minWeight *float64) (*DuplicatesReport, error) {
	const what = "dedup report --crm-duplicates"
	head, err := committedHead(ctx, w, what)
	if err != nil {
		return nil, err
	}
	d, closeDB, err := openClonesAndCRM(ctx, w, cacheDir, what)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	set, err := readSettings(ctx, d.DB)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	rep := &DuplicatesReport{CRMSeq: head.Seq, Pairs: []DuplicatePair{}}
	var model *dedup.Model
	if set.Rules == dedup.RulesProbabilistic {
		if model, err = readModel(ctx, d.DB, set.Version); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		rep.Model = fmt.Sprintf("the committed model of settings version %d (crm.match_model)", set.Version)
	}

	rows, err := d.QueryContext(ctx, duplicateContactsSQL)
	if err != nil {
		return nil, fmt.Errorf("%s: read crm.contact: %w", what, err)
	}
	defer rows.Close()
	var contacts []DuplicateContact
	var recs []dedup.Account
	for rows.Next() {
		var c DuplicateContact
		var street2, city, state string
		if err := rows.Scan(&c.ContactID, &c.Source, &c.First, &c.Last, &c.Email, &c.Phone, &c.Street, &street2, &city, &state, &c.PostalCode,
			&c.BirthDate, &c.Accounts); err != nil {
			return nil, fmt.Errorf("%s: read crm.contact: %w", what, err)
		}
		contacts = append(contacts, c)
		recs = append(recs, dedup.Account{First: c.First, Last: c.Last, Email: c.Email, PhoneDay: c.Phone, Street1: c.Street, Street2: street2,
			City: city, State: state, Zip: c.PostalCode, BirthDate: c.BirthDate})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: read crm.contact: %w", what, err)
	}
	rep.Contacts = int64(len(contacts))
	if model == nil {
		// The model is of the client's people: fitted on the clones'
		// accounts, as the probabilistic rule set's is, not on contacts
		// dedup has already made one per person.
		spool, err := os.MkdirTemp("", "archtics-dedup-report-")
		if err != nil {
			return nil, fmt.Errorf("%s: spool folder: %w", what, err)
		}
		defer os.RemoveAll(spool)
		merges, err := readMerges(ctx, d.DB)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		file, err := sortAccounts(ctx, d.DB, spool)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		fit, err := fitModel(ctx, file, newAccountFilter(set, merges))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		model = fit.model
		rep.Model = fmt.Sprintf("a model fitted now on the clones' %d accounts (the rule set in force, %s, has none)", fit.accounts, set.Rules)
	}
	rep.MinWeight = model.Threshold
	if minWeight != nil {
		rep.MinWeight = *minWeight
	}
	for _, p := range dedup.LikelyDuplicates(ctx, model, recs, rep.MinWeight) {
		x := p.Weights
		rep.Pairs = append(rep.Pairs, DuplicatePair{A: contacts[p.A], B: contacts[p.B], MatchWeight: x.Total, Weights: map[string]float64{
			"first_name": x.First, "last_name": x.Last, "birth_date": x.Birth, "address": x.Address, "postal_code": x.Postal,
			"email": x.Email, "phone": x.Phone}})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(rep.Pairs, func(i, j int) bool {
		if rep.Pairs[i].MatchWeight != rep.Pairs[j].MatchWeight {
			return rep.Pairs[i].MatchWeight > rep.Pairs[j].MatchWeight
		}
		if rep.Pairs[i].A.ContactID != rep.Pairs[j].A.ContactID {
			return rep.Pairs[i].A.ContactID < rep.Pairs[j].A.ContactID
		}
		return rep.Pairs[i].B.ContactID < rep.Pairs[j].B.ContactID
	})
	return rep, nil
}
