package schemas

import "fmt"

// The probabilistic rule set's record: the model each settings version
// matched with, and the weights that decided each mapping it made. Both
// are their own tables, so that crm.mapping_version's files keep one
// shape; crm.archtics_mapping shows the weights beside each mapping.

// weightColumns are each field's part of a match weight, in
// crm.match_weights and crm.archtics_mapping.
var weightColumns = []Column{
	col("weight_first_name", Float64, "the first names' part of the match weight (log2 of m/u at their agreement level, term frequencies applied); 0: missing on either side"),
	col("weight_last_name", Float64, "the last names' part of the match weight"),
	col("weight_birth_date", Float64, "the birth dates' part of the match weight"),
	col("weight_address", Float64, "the street addresses' part of the match weight"),
	col("weight_postal_code", Float64, "the postal codes' part of the match weight"),
	col("weight_email", Float64, "the emails' part of the match weight"),
	col("weight_phone", Float64, "the phone numbers' part of the match weight (the best agreeing pair of the account's day, cell and evening phones)"),
}

var matchWeightColumn = col("match_weight", Float64, "the match weight (log2 odds that the account and the contact are one person) that decided the mapping; "+
	"at least the model's threshold; NULL: the mapping was not made by the probabilistic rule set")

// CRMMatchWeights is crm.match_weights: the weights of every mapping the
// probabilistic rule set decided.
var CRMMatchWeights = &Table{
	Schema: "crm", Name: "match_weights",
	Doc: "Why the probabilistic rule set mapped an account to a contact: the match weight and each field's part of it, one row per mapping it decided (crm.archtics_mapping shows the current one).",
	Columns: append([]Column{
		seqColumn,
		teamColumn,
		req(col("acct_id", Int32, "the Archtics account")),
		req(str("contact_id", 100, "the contact it was mapped to")),
		req(matchWeightColumn),
	}, weightColumns...),
	Key:   []string{"team", "acct_id", "seq"},
	Owner: CRMOwner,
}

// CRMMatchModel is crm.match_model: the fitted model of each settings
// version under the probabilistic rule set.
var CRMMatchModel = &Table{
	Schema: "crm", Name: "match_model",
	Doc: "The probabilistic rule set's fitted model: per settings version, the accounts it was fitted on, its threshold and the model itself (JSON: per field and level m, u and weight; term frequencies).",
	Columns: []Column{
		req(col("version", Int64, "the settings version (crm.dedup_settings) the model belongs to")),
		req(col("fitted_at", TimestampTZ, "when it was fitted")),
		req(col("accounts", Int64, "how many accounts it was fitted on")),
		req(col("threshold", Float64, "the least match weight for an account to join a contact")),
		req(noDict(col("model", String, "the model as JSON, exactly as the engine reads it: json_extract(model, '$.fields') lists the fields, levels and weights"))),
		seqColumn,
	},
	Key:         []string{"version"},
	Owner:       CRMOwner,
	TimeColumns: []string{"fitted_at"},
}

// archticsMappingSQL is crm.archtics_mapping: each account's latest
// mapping version, with the weights of the probabilistic match that made
// it (the latest crm.match_weights row at or before that version, to the
// same contact; NULL for every other rule).
var archticsMappingSQL = func() string {
	w := "w." + QuoteIdent(matchWeightColumn.Name)
	weights := fmt.Sprintf("CASE WHEN m.rule = 'probabilistic' AND w.contact_id = m.contact_id THEN %s END AS %s", w, QuoteIdent(matchWeightColumn.Name))
	for _, c := range weightColumns {
		weights += fmt.Sprintf(",\n  CASE WHEN m.rule = 'probabilistic' AND w.contact_id = m.contact_id THEN w.%s END AS %s", QuoteIdent(c.Name), QuoteIdent(c.Name))
	}
	return fmt.Sprintf(`WITH m AS (SELECT %s, seq AS last_seq FROM crm.mapping_version
QUALIFY row_number() OVER (PARTITION BY team, acct_id ORDER BY seq DESC) = 1 AND role <> 'deleted')
SELECT %s, m.last_seq,
  %s
FROM m ASOF LEFT JOIN crm.match_weights w ON w.team = m.team AND w.acct_id = m.acct_id AND m.last_seq >= w.seq`,
		quotedList(mappingColumns, ""), quotedList(mappingColumns, "m."), weights)
}()
