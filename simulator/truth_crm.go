package simulator

import "archtics/schemas"

// The CRM outcome in the truth files, kept apart so the CRM truth can be
// replaced without touching the rest of TruthAt: today it is what
// groundtruth/crm_matches.csv records, one row per pre-existing contact.

// TruthCRMMatches is groundtruth/crm_matches.csv as a table.
var TruthCRMMatches = &schemas.Table{
	Schema: "truth", Name: "crm_matches",
	Doc: "Per pre-existing CRM contact: the person it is (empty for nobody in Archtics) and how it was made to match.",
	Columns: []schemas.Column{
		{Name: "contact_id", Type: schemas.String, Width: 50},
		{Name: "person_id", Type: schemas.String, Width: 50, Nullable: true},
		{Name: "match", Type: schemas.String, Width: 50, Doc: "exact_email, fuzzy, stale_employer, stale_address or none"},
	},
	Key: []string{"contact_id"},
}

// crmTruth is the CRM outcome as the simulator records it.
func (w *World) crmTruth() TruthTable {
	tt := TruthTable{Path: "truth/crm_matches.parquet", Table: TruthCRMMatches}
	contacts, _ := w.CRM()
	for _, c := range contacts {
		tt.Rows = append(tt.Rows, Row{c.ID, c.Person, c.Match})
	}
	return tt
}
