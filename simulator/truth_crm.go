package simulator

import (
	"strconv"
	"strings"

	"archtics/schemas"
)

// The CRM outcome in the truth files: per pre-existing CRM contact, who it
// is and what KORE's initial load must make of it (crm_truth.go, the same
// facts as groundtruth/crm_contacts.csv).

// TruthCRMContacts is the expected CRM outcome of the initial load.
var TruthCRMContacts = &schemas.Table{
	Schema: "truth", Name: "crm_contacts",
	Doc: "Per pre-existing CRM contact: the person it is, its primary and secondary Archtics accounts after the initial load, and the contact as the load must leave it.",
	Columns: []schemas.Column{
		{Name: "contact_id", Type: schemas.String, Width: 50},
		{Name: "person_id", Type: schemas.String, Width: 50, Nullable: true, Doc: "empty: nobody in Archtics"},
		{Name: "story", Type: schemas.String, Width: 50, Doc: "how the contact was made: exact_email, fuzzy, stale_employer, stale_address, none, tremblay_outdated_first, gagnon_current_first"},
		{Name: "shared_email_kind", Type: schemas.String, Width: 50, Nullable: true, Doc: "non-empty: its email is shared on purpose, so exact email is ambiguous"},
		{Name: "person_contacts", Type: schemas.Int32, Doc: "how many contacts of the CRM are this person"},
		{Name: "primary_team", Type: schemas.String, Width: 50, Nullable: true},
		{Name: "primary_acct_id", Type: schemas.Int32, Nullable: true},
		{Name: "secondary_accounts", Type: schemas.String, Width: 2000, Nullable: true, Doc: "team:acct_id;..."},
		{Name: "overwritten", Type: schemas.Bool},
		{Name: "after_first_name", Type: schemas.String, Width: 100, Nullable: true},
		{Name: "after_last_name", Type: schemas.String, Width: 250, Nullable: true},
		{Name: "after_email", Type: schemas.String, Width: 300, Nullable: true},
		{Name: "after_phone", Type: schemas.String, Width: 50, Nullable: true},
		{Name: "after_company", Type: schemas.String, Width: 250, Nullable: true},
		{Name: "after_company_id", Type: schemas.Int32, Nullable: true},
		{Name: "after_street", Type: schemas.String, Width: 250, Nullable: true},
		{Name: "after_street2", Type: schemas.String, Width: 250, Nullable: true},
		{Name: "after_city", Type: schemas.String, Width: 100, Nullable: true},
		{Name: "after_state", Type: schemas.String, Width: 50, Nullable: true},
		{Name: "after_postal_code", Type: schemas.String, Width: 50, Nullable: true},
	},
	Key: []string{"contact_id"},
}

// crmTruth is the expected CRM outcome as a truth table.
func (w *World) crmTruth() TruthTable {
	tt := TruthTable{Path: "truth/crm_contacts.parquet", Table: TruthCRMContacts}
	contacts, _ := w.CRMTruth()
	for _, c := range contacts {
		team, acct := "", ""
		if c.Primary != nil {
			team, acct = c.Primary.Team, strconv.Itoa(int(c.Primary.AcctID))
		}
		var sec []string
		for _, s := range c.Secondary {
			sec = append(sec, s.Team+":"+strconv.Itoa(int(s.AcctID)))
		}
		companyID := ""
		if c.After.CompanyID >= 0 {
			companyID = strconv.Itoa(c.After.CompanyID)
		}
		a := c.After
		tt.Rows = append(tt.Rows, Row{c.ContactID, c.Person, c.Story, c.SharedEmail, strconv.Itoa(c.PersonContacts),
			team, acct, strings.Join(sec, ";"), strconv.FormatBool(c.Overwritten),
			a.First, a.Last, a.Email, a.Phone, a.Company, companyID, a.Street, a.Street2, a.City, a.State, a.PostalCode})
	}
	return tt
}
