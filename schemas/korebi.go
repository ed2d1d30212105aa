package schemas

import "fmt"

// The korebi schema: settings an admin controls (the seed: "this is
// controlled by a record in the korebi.birulesettings table") and the
// realtime sample tables analysts write queries against when no game is on.

// SettingRealtimeCriteria is the setting (korebi.birulesettings.setting)
// holding a team's realtime criteria: the SQL fragment the seed's
// verification query inserts at /* INSERT CRITERIA HERE */.
const SettingRealtimeCriteria = "realtime_criteria"

// BIRuleSettingsHistory is korebi.birulesettings_history: every version of
// every setting, as committed on the team's settings stream. A `set`
// appends a version; nothing is ever rewritten, so the history says who
// changed what, when, and from when it applied.
var BIRuleSettingsHistory = &Table{
	Schema: "korebi", Name: "birulesettings_history",
	Doc: "Every version of every admin setting (realtime criteria, ...): who set it, when, and from when it applies.",
	Columns: []Column{
		req(str("setting", 100, "what the record sets: realtime_criteria (the SQL fragment that selects realtime events)")),
		req(col("version", Int64, "1 for the first record of (team, setting), then 2, 3, ...: the highest is the live record")),
		req(str("value", MaxSettingValue, "the setting's value: for realtime_criteria the fragment, as the admin wrote it")),
		req(str("set_by", 100, "who set it: --by, else $USER")),
		req(col("set_at", TimestampTZ, "when it was committed")),
		req(col("effective_at", TimestampTZ, "from when it applies: a tick at logical time T uses the highest version "+
			"whose effective_at <= T (set_at unless --effective backdates it for a catch-up)")),
		str("note", 500, "why it was set (--note)"),
		teamColumn,
	},
	Key:         []string{"team", "setting", "version"},
	PartitionBy: []string{"team"},
	Owner:       SettingsOwner,
	TimeColumns: []string{"set_at"},
}

// MaxSettingValue is the width of a setting's value.
const MaxSettingValue = 4000

// BIRuleSettings is korebi.birulesettings: the live record of each team's
// settings, the highest version of each (team, setting). A view.
var BIRuleSettings = &Table{
	Schema: "korebi", Name: "birulesettings",
	Doc:     "The live record of each team's settings (the newest version of each); korebi.birulesettings_history keeps them all.",
	Columns: BIRuleSettingsHistory.Columns,
	Key:     []string{"team", "setting"},
	ViewSQL: fmt.Sprintf(`SELECT %s FROM %s
QUALIFY row_number() OVER (PARTITION BY team, setting ORDER BY version DESC) = 1`,
		quotedList(BIRuleSettingsHistory.Columns, ""), BIRuleSettingsHistory.SQLName()),
	DependsOn: []string{BIRuleSettingsHistory.SQLName()},
}
