package crm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"archtics/pipeline"
	"archtics/schemas"
	"archtics/stages/dedup"
)

// Account categories of the report: each account with a primary name in
// a clone is in exactly one, tested in this order.
const (
	CatExcluded   = "excluded"    // its type is excluded from the CRM
	CatMergedAway = "merged_away" // Archtics merged it into another account
	CatPrimary    = "primary"     // the primary account of its contact
	CatSecondary  = "secondary"   // mapped to a contact that has another primary
	CatPending    = "pending"     // no mapping yet: added to a clone since the last dedup
)

// TeamSummary is one team's accounts by category and rule.
type TeamSummary struct {
	Team       string           `json:"team"`
	Accounts   int64            `json:"accounts"`
	Excluded   int64            `json:"excluded_by_type"`
	MergedAway int64            `json:"merged_away"`
	Primary    int64            `json:"primary"`
	Secondary  int64            `json:"secondary"`
	Pending    int64            `json:"pending"`
	Matched    int64            `json:"matched_existing_contact"` // mapped to a contact that was there: by a rule, or by the probabilistic model
	New        int64            `json:"new_contacts"`             // made a new contact
	PrimaryNew int64            `json:"primary_new"`              // of them, still the primary of the contact they made
	ByRule     map[string]int64 `json:"by_rule"`                  // mapped accounts (not merged away) by rule
}

// Summary is the report of `archtics dedup report`: why the CRM has fewer
// contacts than Archtics has accounts.
type Summary struct {
	CRMSeq          int64         `json:"crm_seq"`
	Excluded        []string      `json:"excluded_acct_types"`
	Rules           string        `json:"rules"` // the rule set in force: evidence, kore or probabilistic
	Teams           []TeamSummary `json:"teams"`
	Total           TeamSummary   `json:"total"`
	Contacts        int64         `json:"crm_contacts"`               // contacts in the CRM now
	PreExisting     int64         `json:"pre_existing_contacts"`      // of them, in the client's CRM before the first run
	PreExistingUsed int64         `json:"pre_existing_with_accounts"` // of those, with a primary account now
	Created         int64         `json:"created_contacts"`           // created by dedup
	WithAccounts    int64         `json:"contacts_with_accounts"`     // contacts that have at least one mapped account
	Why             string        `json:"why"`
}

// reportSQL puts each account of the clones in its category.
const reportSQL = `WITH acc AS (
  SELECT team, acct_id, lower(trim(coalesce(acct_type_desc, ''))) AS acct_type FROM archtics.cust WHERE primary_code = 'Primary'
  QUALIFY row_number() OVER (PARTITION BY team, acct_id ORDER BY cust_name_id) = 1),
losers AS (SELECT DISTINCT team, loser_acct_id AS acct_id FROM archtics.acct_merge)
SELECT acc.team,
  CASE WHEN acc.acct_type IN (%s) THEN 'excluded'
       WHEN l.acct_id IS NOT NULL THEN 'merged_away'
       WHEN m.acct_id IS NULL THEN 'pending'
       ELSE m.role END AS category,
  coalesce(m.rule, '') AS rule, count(*)
FROM acc LEFT JOIN losers l ON l.team = acc.team AND l.acct_id = acc.acct_id
  LEFT JOIN crm.archtics_mapping m ON m.team = acc.team AND m.acct_id = acc.acct_id
GROUP BY ALL ORDER BY ALL`

// Report summarises the CRM the committed crm tables hold against the
// clones' current accounts: per team and rule, accounts matched, new
// contacts, excluded by type, merged away, pending, and in plain words why
// the CRM has fewer contacts than Archtics has accounts.
func Report(ctx context.Context, w *pipeline.Warehouse, cacheDir string) (*Summary, error) {
	head, err := committedHead(ctx, w, "dedup report")
	if err != nil {
		return nil, err
	}
	d, closeDB, err := openClonesAndCRM(ctx, w, cacheDir, "dedup report")
	if err != nil {
		return nil, err
	}
	defer closeDB()
	set, err := readSettings(ctx, d.DB)
	if err != nil {
		return nil, fmt.Errorf("dedup report: %w", err)
	}
	s := &Summary{CRMSeq: head.Seq, Excluded: set.Excluded, Rules: set.Rules}
	var lowered []string
	for t := range set.excludedSet() {
		lowered = append(lowered, t)
	}
	sort.Strings(lowered)
	in := "NULL"
	if len(lowered) > 0 {
		quoted := make([]string, len(lowered))
		for i, t := range lowered {
			quoted[i] = schemas.QuoteString(t)
		}
		in = strings.Join(quoted, ", ")
	}
	rows, err := d.QueryContext(ctx, fmt.Sprintf(reportSQL, in))
	if err != nil {
		return nil, fmt.Errorf("dedup report: %w", err)
	}
	defer rows.Close()
	teams := map[string]*TeamSummary{}
	for rows.Next() {
		var team, cat, rule string
		var n int64
		if err := rows.Scan(&team, &cat, &rule, &n); err != nil {
			return nil, fmt.Errorf("dedup report: %w", err)
		}
		ts := teams[team]
		if ts == nil {
			ts = &TeamSummary{Team: team, ByRule: map[string]int64{}}
			teams[team] = ts
		}
		ts.add(cat, rule, n)
		s.Total.add(cat, rule, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dedup report: %w", err)
	}
	for _, t := range sortedKeys(teams) {
		s.Teams = append(s.Teams, *teams[t])
	}
	s.Total.Team = "all"
	err = d.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE source = 'crm'),
  count(*) FILTER (WHERE source = 'crm' AND primary_acct_id IS NOT NULL), count(*) FILTER (WHERE source <> 'crm'),
  (SELECT count(DISTINCT contact_id) FROM crm.archtics_mapping)
FROM crm.contact`).Scan(&s.Contacts, &s.PreExisting, &s.PreExistingUsed, &s.Created, &s.WithAccounts)
	if err != nil {
		return nil, fmt.Errorf("dedup report: %w", err)
	}
	s.Why = s.why()
	return s, nil
}

func (t *TeamSummary) add(cat, rule string, n int64) {
	if t.ByRule == nil {
		t.ByRule = map[string]int64{}
	}
	t.Accounts += n
	switch cat {
	case CatExcluded:
		t.Excluded += n
		return
	case CatMergedAway:
		t.MergedAway += n
		return
	case CatPending:
		t.Pending += n
		return
	case string(dedup.Primary):
		t.Primary += n
		if rule == dedup.RuleNew {
			t.PrimaryNew += n
		}
	default:
		t.Secondary += n
	}
	t.ByRule[rule] += n
	switch rule {
	case dedup.RuleEmail, dedup.RuleNameAddress, dedup.RuleNamePhone,
		dedup.RuleEvidenceEmail, dedup.RuleEvidencePhone, dedup.RuleEvidenceBirth, dedup.RuleEvidenceAddress:
		t.Matched += n
	case dedup.RuleNew:
		t.New += n
	}
}

// why says in plain words how N accounts became M contacts.
func (s *Summary) why() string {
	t := s.Total
	var b strings.Builder
	fmt.Fprintf(&b, "Archtics has %d accounts across %d team database(s); the CRM has %d contacts with Archtics accounts, because:\n",
		t.Accounts, len(s.Teams), s.WithAccounts)
	fmt.Fprintf(&b, "  - %d accounts are of a type excluded from the CRM (%s);\n", t.Excluded, typesText(s.Excluded))
	fmt.Fprintf(&b, "  - %d accounts were merged into another account in Archtics and follow it;\n", t.MergedAway)
	rules := "one of KORE's three rules"
	switch s.Rules {
	case dedup.RulesEvidence:
		rules = "one of KORE's three rules, or the evidence rule,"
	case dedup.RulesProbabilistic:
		rules = "the probabilistic model (or a rule of an earlier rule set)"
	}
	fmt.Fprintf(&b, "  - %d accounts are the same person as another account (%s matched a contact that already had a primary account), so they are secondary accounts of that contact;\n", t.Secondary, rules)
	if t.Pending > 0 {
		fmt.Fprintf(&b, "  - %d accounts were added to a clone since the last dedup run and are not deduplicated yet;\n", t.Pending)
	}
	fmt.Fprintf(&b, "  - the other %d accounts are each the primary account of one contact: %d matched a contact that was already in the CRM, %d became new contacts.\n",
		t.Primary, t.Primary-primaryNew(s), primaryNew(s))
	fmt.Fprintf(&b, "The CRM holds %d contacts in all: %d were in the CRM before (%d of them now have a primary Archtics account), %d were created from Archtics accounts.",
		s.Contacts, s.PreExisting, s.PreExistingUsed, s.Created)
	return b.String()
}

// primaryNew is how many primary accounts made the contact they are the
// primary of.
func primaryNew(s *Summary) int64 { return s.Total.PrimaryNew }

func typesText(types []string) string {
	if len(types) == 0 {
		return "none are configured: archtics dedup --exclude-acct-type T sets them"
	}
	return strings.Join(types, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
