package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/dedup"
)

// Quality is the committed mapping measured pairwise against a truth of
// who is who: a predicted pair is two accounts mapped to one contact, a
// true pair two accounts of one person. Accounts the truth does not name
// are people of their own; only mapped accounts count (excluded types and
// deleted accounts are not in the mapping).
type Quality struct {
	CRMSeq         int64   `json:"crm_seq"`
	Truth          string  `json:"truth"`
	Accounts       int64   `json:"accounts"`        // mapped accounts measured
	TruthAccounts  int64   `json:"truth_accounts"`  // rows of the truth file
	TruthUnmapped  int64   `json:"truth_unmapped"`  // of those, accounts the mapping does not hold (excluded, deleted, pending)
	TruePairs      int64   `json:"true_pairs"`      // pairs of mapped accounts of one person
	PredictedPairs int64   `json:"predicted_pairs"` // pairs of accounts of one contact
	TruePositives  int64   `json:"true_positives"`
	FalsePositives int64   `json:"false_positives"`
	FalseNegatives int64   `json:"false_negatives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	// FalseByRule counts the false pairs by the rule that mapped the
	// later of the two accounts (the one that joined the other's contact).
	FalseByRule map[string]int64 `json:"false_pairs_by_rule"`
}

// ErrBadTruth is a truth file that cannot be read as one.
var ErrBadTruth = errors.New("the truth file is not a CSV with a header naming person_id, team and acct_id")

// qualitySQL measures the mapping against truth(person_id, team, acct_id).
const qualitySQL = `WITH m AS (
  SELECT team, acct_id, contact_id, rule, role, coalesce(p.person_id, team || '-' || acct_id) AS person
  FROM crm.archtics_mapping LEFT JOIN truth p USING (team, acct_id)),
cells AS (SELECT contact_id, person, count(*) AS n FROM m GROUP BY ALL),
contacts AS (SELECT contact_id, count(*) AS n FROM m GROUP BY ALL),
people AS (SELECT person, count(*) AS n FROM m GROUP BY ALL)
SELECT (SELECT count(*) FROM m),
  (SELECT count(*) FROM truth),
  (SELECT count(*) FROM truth t WHERE NOT EXISTS (SELECT 1 FROM m WHERE m.team = t.team AND m.acct_id = t.acct_id)),
  (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM people),
  (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM contacts),
  (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM cells)`

// falseByRuleSQL counts false pairs by the rule of the pair's secondary
// (a pair with the primary) or of its later account by team and acct_id.
const falseByRuleSQL = `WITH m AS (
  SELECT team, acct_id, contact_id, rule, role, coalesce(p.person_id, team || '-' || acct_id) AS person
  FROM crm.archtics_mapping LEFT JOIN truth p USING (team, acct_id))
SELECT CASE WHEN a.role = 'primary' THEN b.rule ELSE a.rule END AS rule, count(*)
FROM m a JOIN m b ON a.contact_id = b.contact_id AND (a.team, a.acct_id) < (b.team, b.acct_id) AND a.person <> b.person
GROUP BY ALL ORDER BY ALL`

// Evaluate measures the committed mapping against truthPath, a CSV file
// with a header naming at least person_id, team and acct_id (one row per
// account of a person with several; other columns ignored): the
// simulator's groundtruth/duplicate_clusters.csv, or a client's own
// labelled sample.
func Evaluate(ctx context.Context, w *pipeline.Warehouse, truthPath, cacheDir string) (*Quality, error) {
	if _, err := os.Stat(truthPath); err != nil {
		return nil, fmt.Errorf("dedup evaluate: %w", err)
	}
	head, err := committedHead(ctx, w, "dedup evaluate")
	if err != nil {
		return nil, err
	}
	cacheDir, done, err := cacheFolder(cacheDir, "dedup evaluate")
	if err != nil {
		return nil, err
	}
	defer done()
	d, err := views.OpenViews(ctx, w.Log, "", cacheDir, schemas.CRMArchticsMapping)
	if err != nil {
		return nil, fmt.Errorf("dedup evaluate: open crm.archtics_mapping: %w", err)
	}
	defer d.Close()
	// The truth's rows as text with their line numbers (the header is
	// line 1): a file without the three columns fails here.
	_, err = d.ExecContext(ctx, `CREATE TEMP TABLE truth_text AS SELECT row_number() OVER () + 1 AS line,
  person_id, team, acct_id
FROM read_csv(`+schemas.QuoteString(truthPath)+`, header = true, all_varchar = true)`)
	if err != nil {
		return nil, fmt.Errorf("dedup evaluate: %s: %w (%s)", truthPath, ErrBadTruth, firstLine(err.Error()))
	}
	var line int64
	var field, value string
	switch err := d.QueryRowContext(ctx, `SELECT line, CASE WHEN coalesce(person_id, '') = '' THEN 'person_id'
  WHEN coalesce(team, '') = '' THEN 'team' ELSE 'acct_id' END, coalesce(acct_id, '')
FROM truth_text WHERE coalesce(person_id, '') = '' OR coalesce(team, '') = '' OR TRY_CAST(acct_id AS INTEGER) IS NULL
ORDER BY line LIMIT 1`).Scan(&line, &field, &value); {
	case err == nil:
		return nil, fmt.Errorf("dedup evaluate: %s line %d field %s: %q is not a value (person_id and team filled, acct_id a number): %w", truthPath, line, field, value, ErrBadTruth)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("dedup evaluate: %s: %w", truthPath, err)
	}
	if _, err := d.ExecContext(ctx, `CREATE TEMP TABLE truth AS SELECT DISTINCT person_id, team, CAST(acct_id AS INTEGER) AS acct_id FROM truth_text`); err != nil {
		return nil, fmt.Errorf("dedup evaluate: %s: %w", truthPath, err)
	}
	var dup string
	switch err := d.QueryRowContext(ctx, `SELECT team || ':' || acct_id FROM truth GROUP BY team, acct_id HAVING count(*) > 1 LIMIT 1`).Scan(&dup); {
	case err == nil:
		return nil, fmt.Errorf("dedup evaluate: %s: account %s belongs to two people, each account is one person's: %w", truthPath, dup, ErrBadTruth)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("dedup evaluate: %s: %w", truthPath, err)
	}
	q := &Quality{CRMSeq: head.Seq, Truth: truthPath, FalseByRule: map[string]int64{}}
	err = d.QueryRowContext(ctx, qualitySQL).Scan(&q.Accounts, &q.TruthAccounts, &q.TruthUnmapped, &q.TruePairs, &q.PredictedPairs, &q.TruePositives)
	if err != nil {
		return nil, fmt.Errorf("dedup evaluate: %w", err)
	}
	pc := dedup.PairCounts{TruePairs: q.TruePairs, PredictedPairs: q.PredictedPairs, TruePositives: q.TruePositives}
	q.FalsePositives, q.FalseNegatives, q.Precision, q.Recall = pc.FalsePositives(), pc.FalseNegatives(), pc.Precision(), pc.Recall()
	rows, err := d.QueryContext(ctx, falseByRuleSQL)
	if err != nil {
		return nil, fmt.Errorf("dedup evaluate: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rule string
		var n int64
		if err := rows.Scan(&rule, &n); err != nil {
			return nil, fmt.Errorf("dedup evaluate: %w", err)
		}
		q.FalseByRule[rule] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dedup evaluate: %w", err)
	}
	return q, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
