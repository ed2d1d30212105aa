package realtime

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The seed's two example criteria, as the seed writes them.
const (
	seedCriteriaSportsConcerts = "total_events = 1 AND major_category IN ('SPORTS','CONCERTS')"
	seedCriteriaHockey         = "major_category = 'SPORTS' AND minor_category = 'NHL PRO HOCKEY'"
)

// TestCheckCriteriaRefusesHostile: every hostile fragment is refused with
// a *CriteriaError whose reason names what was refused.
func TestCheckCriteriaRefusesHostile(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, fragment, reason string
	}{
		{"subquery escaping its parentheses", "1=1) OR (SELECT count(*) FROM archtics.cust) > 0 OR (1=1", "subquery"},
		{"OR escaping the seed's date range", "1=1) OR (1=1", "outside their parentheses"},
		{"OR escaping behind escape strings the lexical pass misreads", "event_name = E'\\'' ) OR (1=1 OR event_name = E'\\''", "outside their parentheses"},
		{"subquery in IN", "event_id IN (SELECT acct_id FROM archtics.cust)", "subquery"},
		{"EXISTS subquery", "EXISTS (SELECT 1 FROM archtics.ticket)", "subquery"},
		{"scalar subquery", "(SELECT max(event_id) FROM archtics.event) = event_id", "subquery"},
		{"statement separator", "1=1; DROP TABLE archtics.event", "statement separator"},
		{"separator then COPY", "major_category = 'SPORTS'; COPY archtics.cust TO '/tmp/x.csv'", "statement separator"},
		{"line comment hiding the closing parenthesis", "1=1 -- ", "comment"},
		{"block comment hiding code", "major_category = 'SPORTS' /* ) OR (SELECT 1) */", "comment"},
		{"COPY", "COPY archtics.cust TO '/tmp/cust.csv'", "COPY"},
		{"ATTACH", "ATTACH '/tmp/other.duckdb' AS other", "ATTACH"},
		{"PRAGMA", "PRAGMA database_list", "PRAGMA"},
		{"SET", "SET enable_external_access = true", "SET"},
		{"DDL", "CREATE TABLE x AS SELECT 1", "CREATE"},
		{"DROP", "DROP TABLE archtics.event", "DROP"},
		{"INSTALL", "INSTALL httpfs", "INSTALL"},
		{"read_csv", "read_csv('/etc/passwd') IS NOT NULL", "reads files"},
		{"read_parquet", "(read_parquet('s3://bucket/x.parquet')) IS NULL", "reads files"},
		{"glob", "glob('/home/*') IS NULL", "reads files"},
		{"getenv", "getenv('AWS_SECRET_ACCESS_KEY') = 'x'", "reads files"},
		{"current_setting", "current_setting('s3_secret_access_key') = 'x'", "reads files"},
		{"the clock", "event_date = today()", "reads files"},
		{"another table's column", "archtics.cust.acct_id = 1", "another table"},
		{"another table by its name", "cust.email_addr LIKE '%@example.com'", "another table"},
		{"unknown column", "acct_id = 1", "not a column of archtics.event"},
		{"aggregate", "count(*) > 0", "not allowed"},
		{"window function", "row_number() OVER () = 1", "window"},
		{"set operation", "1=1) UNION SELECT 1 FROM archtics.cust WHERE (1=1", "outside their parentheses"},
		{"GROUP BY smuggled", "1=1) GROUP BY (1", "outside their parentheses"},
		{"parameter", "event_id = ?", "parameter"},
		{"dollar quoting", "event_name = $$x$$", "dollar"},
		{"unterminated string", "event_name = 'x", "unterminated string"},
		{"not an expression", "major_category =", "parse"},
		{"empty", "   ", "empty"},
		{"too long", "event_id = 1 OR " + strings.Repeat("event_id = 1 OR ", 300) + "false", "characters long"},
		{"cast to a complex type", "CAST(event_name AS VARCHAR[]) IS NULL", "CAST to"},
		{"lambda", "list_filter([1], x -> x > 1) IS NULL", "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCriteria(ctx, tc.fragment)
			var ce *CriteriaError
			if !errors.As(err, &ce) {
				t.Fatalf("CheckCriteria(%q) = %v, want a *CriteriaError", tc.fragment, err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("CheckCriteria(%q) refused with %q, want a reason naming %q", tc.fragment, err, tc.reason)
			}
		})
	}
}

// TestCheckCriteriaAllows: the seed's examples and expressions using every
// allowed construct pass.
func TestCheckCriteriaAllows(t *testing.T) {
	ctx := context.Background()
	for _, fragment := range []string{
		seedCriteriaSportsConcerts,
		seedCriteriaHockey,
		"event_name LIKE '27NHL%' OR event_name ILIKE '%con%' OR event_name NOT LIKE 'x%'",
		"event_date BETWEEN current_date AND current_date + 3 AND event_time IS NOT NULL",
		"lower(trim(major_category)) = 'sports' AND coalesce(minor_category, '') <> ''",
		"CAST(event_time AS TIME) >= TIME '12:00:00' AND year(event_date) >= 2026",
		"date_part('dow', event_date) IN (0, 6) OR dayname(event_date) = 'Friday'",
		"CASE WHEN total_events = 1 THEN true ELSE false END AND NOT (enabled IS NULL)",
		"event.event_id > 0 AND archtics.event.team = 'nhl'",
		"season_name = 'it''s; -- not a comment /* nor this */ $$'",
		"event_date IS DISTINCT FROM current_date - INTERVAL 1 DAY",
		"substr(event_name, 1, 2) = '27' AND event_name NOT IN ('X', 'Y')",
	} {
		if err := CheckCriteria(ctx, fragment); err != nil {
			t.Errorf("CheckCriteria(%q): %v", fragment, err)
		}
	}
}
