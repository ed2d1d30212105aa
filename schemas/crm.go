package schemas

import "fmt"

// The CRM stream (issue 11). `archtics dedup` matches every team's
// Archtics accounts (each account's primary customer name) with the
// client's CRM contacts and commits, in ONE commit per run on the stream
// "crm", what the CRM becomes. Stored tables are append-only logs, one
// batch of rows per run, never rewritten:
//
//	crm.contact_version   every version of every contact (the CRM as loaded, then each insert and update)
//	crm.mapping_version   every version of every account's mapping row (who, when, why)
//	crm.account           the CRM accounts (companies, households): loaded, then created
//	crm.dedup_settings    every version of the dedup settings (excluded account types)
//	crm.rejects           CRM CSV rows the first run could not load
//
// and views give the current state, as the clone's archtics.<t> do
// (the latest version per key, ranked by the commit that wrote it):
//
//	crm.contact           the current contacts
//	crm.contact_changes   the inserts and updates to push to a CRM (crm export)
//	crm.archtics_mapping  the current mapping: one row per deduplicated account
//	crm.mapping_history   every change of a mapping row, from and to
//
// A run writes only the rows that changed, so reading "current" costs a
// ranking over the versions; the CRM tables are small next to the clone
// (one version per contact and account per change), which keeps that cheap.

// The roles, rules, operations and sources the CRM tables hold (their
// values match stages/dedup's).
const (
	CRMOpLoad   = "load"   // contact_version: the contact as the pre-existing CRM had it (not pushed)
	CRMOpInsert = "insert" // a contact dedup created
	CRMOpUpdate = "update" // a contact dedup changed
)

var seqColumn = req(col("seq", Int64, "the commit of the crm stream that wrote the row (crm export --since takes it)"))

// contactColumns are a contact's fields, as crm.contact shows them.
var contactColumns = []Column{
	req(str("contact_id", 100, "the contact's id: the CRM's own for a pre-existing contact, A-<team>-<acct_id> "+
		"(the account that created it) for one dedup created")),
	str("first_name", 100, "first name"),
	str("last_name", 250, "last name"),
	noDict(str("email", 300, "email address")),
	noDict(str("phone", 40, "phone number, as the source wrote it")),
	str("account_id", 100, "the CRM account (crm.account: company or household) the contact belongs to"),
	noDict(str("street", 250, "mailing street (first line)")),
	str("street2", 250, "mailing street, second line"),
	str("city", 100, "mailing city"),
	str("state", 20, "mailing state or province"),
	str("postal_code", 20, "mailing postal code"),
	req(str("source", 10, "crm: the contact was in the client's CRM before the first run; archtics: dedup created it")),
	str("primary_team", 50, "the team of the contact's primary Archtics account; NULL: none yet"),
	col("primary_acct_id", Int32, "the acct_id of the contact's primary Archtics account; NULL: none yet"),
	col("created", TimestampTZ, "when the contact was created (in the CRM, or by dedup)"),
	col("updated", TimestampTZ, "when the contact last changed"),
}

// CRMContactVersion is crm.contact_version: every version of every
// contact, one row per contact per run that changed it.
var CRMContactVersion = &Table{
	Schema: "crm", Name: "contact_version",
	Doc: "Every version of every CRM contact: as the client's CRM had it (op load), then each insert and update dedup made.",
	Columns: append(append([]Column{seqColumn,
		req(str("op", 10, "load (the pre-existing CRM, first run), insert (dedup created the contact) or update (dedup changed it)"))},
		contactColumns...),
		str("changed_fields", 500, "the fields this version changed, comma-separated (every field for an insert; empty for a load)"),
	),
	Key:         []string{"contact_id", "seq"},
	Owner:       CRMOwner,
	TimeColumns: []string{"updated"},
}

// CRMContact is crm.contact: the current contacts, the latest version of
// each. The first run writes a contact's load and its first change in
// the same commit: the change wins.
var CRMContact = &Table{
	Schema: "crm", Name: "contact",
	Doc:     "The CRM's contacts as deduplication left them: the latest version of each (crm.contact_version keeps them all).",
	Columns: append(append([]Column(nil), contactColumns...), col("last_seq", Int64, "the crm commit that wrote this version")),
	Key:     []string{"contact_id"},
	ViewSQL: fmt.Sprintf(`SELECT %s, seq AS last_seq FROM %s
QUALIFY row_number() OVER (PARTITION BY contact_id ORDER BY seq DESC, op = '%s') = 1`,
		quotedList(contactColumns, ""), "crm.contact_version", CRMOpLoad),
	DependsOn: []string{"crm.contact_version"},
}

// CRMContactChanges is crm.contact_changes: the inserts and updates to
// push to a CRM, in commit order.
var CRMContactChanges = &Table{
	Schema: "crm", Name: "contact_changes",
	Doc: "The contact inserts and updates dedup made, to push to a CRM (archtics crm export --since SEQ): each with the contact's fields after the change.",
	Columns: append(append([]Column{seqColumn, req(str("op", 10, "insert or update"))}, contactColumns...),
		str("changed_fields", 500, "the fields the change set, comma-separated")),
	Key: []string{"contact_id", "seq"},
	ViewSQL: fmt.Sprintf(`SELECT seq, op, %s, changed_fields FROM %s WHERE op IN ('%s', '%s')`,
		quotedList(contactColumns, ""), "crm.contact_version", CRMOpInsert, CRMOpUpdate),
	DependsOn: []string{"crm.contact_version"},
}

// CRMAccountTable is crm.account: the CRM's accounts (companies and
// households), a row per account, written when loaded or created.
var CRMAccountTable = &Table{
	Schema: "crm", Name: "account",
	Doc: "The CRM's accounts (companies and households): those of the client's CRM, then those dedup created.",
	Columns: []Column{
		req(str("account_id", 100, "the CRM account's id")),
		str("name", 250, "the company's or household's name"),
		str("type", 20, "Company or Household"),
		str("city", 100, "billing city"),
		str("state", 20, "billing state"),
		req(str("source", 10, "crm (in the client's CRM before the first run) or archtics (dedup created it)")),
		col("created", TimestampTZ, "when the account was created"),
		seqColumn,
	},
	Key:         []string{"account_id"},
	Owner:       CRMOwner,
	TimeColumns: []string{"created"},
}

// mappingColumns are a mapping row's fields.
var mappingColumns = []Column{
	teamColumn,
	req(col("acct_id", Int32, "the Archtics account (its primary customer name took part)")),
	req(str("contact_id", 100, "the CRM contact the account maps to (crm.contact)")),
	req(str("role", 10, "primary (the contact's primary account: the first matched, or set-primary's) or secondary; "+
		"in crm.mapping_version and crm.mapping_history also deleted (Archtics deleted the account: it left its contact, "+
		"which keeps its fields)")),
	req(str("rule", 20, "how the mapping came to be: email, name_address or name_phone (KORE's rule that matched), "+
		"evidence_email, evidence_phone, evidence_birth_date or evidence_address (the evidence rule set's rule 4, by the "+
		"identifier that agreed), probabilistic (the probabilistic rule set's model: its weights are in match_weight and weight_*), new (nothing matched: the account made a new contact), merged (Archtics merged the "+
		"account away: it follows its winner) or manual (set-primary)")),
	col("sim_first", Float64, "similarity of the first names in [0, 1] in the match that decided; NULL: not compared"),
	col("sim_last", Float64, "similarity of the last names; NULL: not compared"),
	col("sim_email", Float64, "similarity of the emails; NULL: not compared"),
	col("sim_company", Float64, "similarity of the companies; NULL: not compared"),
	col("sim_address", Float64, "similarity of the street addresses; NULL: not compared"),
	col("sim_postal", Float64, "similarity of the postal codes; NULL: not compared"),
	col("sim_phone", Float64, "similarity of the phones; NULL: not compared"),
	noDict(str("source_md5", 32, "md5 of the account's primary-name fields as dedup last fed them: a later run feeds the account again when they differ; NULL: never fed (merged away)")),
	req(col("first_matched", TimestampTZ, "when the account was first mapped")),
	req(col("last_changed", TimestampTZ, "when this version was written")),
}

// CRMMappingVersion is crm.mapping_version: every version of every
// mapping row, with who wrote it and why.
var CRMMappingVersion = &Table{
	Schema: "crm", Name: "mapping_version",
	Doc: "Every version of every account's mapping to a CRM contact: one row per account per run or set-primary that changed it.",
	Columns: append(append([]Column{seqColumn}, mappingColumns...),
		req(str("changed_by", 100, "who: the user running dedup or set-primary ($USER, or --actor)")),
		req(str("reason", 200, "why: matched, account changed, merged, demoted (another account became primary), set-primary")),
	),
	Key:         []string{"team", "acct_id", "seq"},
	Owner:       CRMOwner,
	TimeColumns: []string{"last_changed"},
}

// CRMArchticsMapping is crm.archtics_mapping: one row per deduplicated
// account, its current mapping.
var CRMArchticsMapping = &Table{
	Schema: "crm", Name: "archtics_mapping",
	Doc: "Which CRM contact each Archtics account maps to, as primary or secondary, by which rule and with which similarities " +
		"(and, for the probabilistic rule set, which weights): one mapping for every team database of the client.",
	Columns: append(append(append([]Column(nil), mappingColumns...), col("last_seq", Int64, "the crm commit that wrote this version"),
		matchWeightColumn), weightColumns...),
	Key:       []string{"team", "acct_id"},
	ViewSQL:   archticsMappingSQL,
	DependsOn: []string{"crm.mapping_version", "crm.match_weights"},
}

// CRMMappingHistory is crm.mapping_history: every change of a mapping
// row, from what to what.
var CRMMappingHistory = &Table{
	Schema: "crm", Name: "mapping_history",
	Doc: "Every change of an account's mapping: when, who, which commit, the contact and role from and to, the rule and the reason.",
	Columns: []Column{
		col("changed_at", TimestampTZ, "when"),
		str("changed_by", 100, "who ($USER, or --actor)"),
		col("seq", Int64, "the crm commit"),
		teamColumn,
		col("acct_id", Int32, "the Archtics account"),
		str("contact_from", 100, "the contact before; NULL: the account was not mapped"),
		str("contact_to", 100, "the contact after"),
		str("role_from", 10, "the role before; NULL: the account was not mapped"),
		str("role_to", 10, "the role after"),
		str("rule", 20, "the rule of the new mapping (see crm.archtics_mapping.rule)"),
		str("reason", 200, "why it changed"),
	},
	Key: []string{"team", "acct_id", "seq"},
	ViewSQL: `SELECT last_changed AS changed_at, changed_by, seq, team, acct_id,
  lag(contact_id) OVER w AS contact_from, contact_id AS contact_to,
  lag(role) OVER w AS role_from, role AS role_to, rule, reason
FROM crm.mapping_version
WINDOW w AS (PARTITION BY team, acct_id ORDER BY seq)`,
	DependsOn: []string{"crm.mapping_version"},
}

// SettingExcludeAcctTypes is the dedup setting naming the account types
// that never reach the CRM.
const SettingExcludeAcctTypes = "exclude_acct_types"

// SettingRules is the dedup setting naming the rule set: "evidence" (rule
// 1 narrowed, and rule 4; a new CRM's default) or "kore" (KORE's three
// rules). A CRM with no such row was made with KORE's.
const SettingRules = "rules"

// CRMDedupSettings is crm.dedup_settings: every version of the dedup
// settings.
var CRMDedupSettings = &Table{
	Schema: "crm", Name: "dedup_settings",
	Doc: "Every version of the CRM deduplication's settings (the account types excluded from the CRM, the rule set): who set it and when; the highest version is in force.",
	Columns: []Column{
		req(str("setting", 100, "exclude_acct_types: the acct_type_desc values whose accounts never reach the CRM; rules: the rule set, evidence (rule 1 narrowed, and rule 4; a new CRM's default) or kore (KORE's three rules)")),
		req(col("version", Int64, "1, 2, ...: the highest is in force")),
		req(str("value", MaxSettingValue, "the setting's value: for exclude_acct_types a JSON array of type names, [] for none; for rules kore or evidence")),
		req(str("set_by", 100, "who set it ($USER, or --actor)")),
		req(col("set_at", TimestampTZ, "when it was committed")),
		seqColumn,
	},
	Key:         []string{"setting", "version"},
	Owner:       CRMOwner,
	TimeColumns: []string{"set_at"},
}

// CRMRejects is crm.rejects: the rows of the CRM's CSV files the first
// run could not load (with --max-rejects; by default one fails the run).
var CRMRejects = &Table{
	Schema: "crm", Name: "rejects",
	Doc: "Rows of the client's CRM files (contacts.csv, accounts.csv) the first dedup run could not load, with file, line, field and reason.",
	Columns: []Column{
		req(str("source", 500, "the file the row came from")),
		req(col("line", Int64, "1-based line of the row in the file (the header is line 1)")),
		str("field", 100, "the column that failed, empty for a malformed line"),
		req(str("reason", 500, "why")),
		str("raw", 65535, "the row as read"),
		seqColumn,
	},
	Owner: CRMOwner,
}
