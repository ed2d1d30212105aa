package realtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
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
		{"too long", "event_id = 1 OR " + strings.Repeat("event_id = 1 OR ", 300) + "false", "bytes long"},
		// The fragment that ran for tens of seconds and gigabytes: each
		// replace makes event_name up to 96 times longer.
		{"replace amplifying text", amplifying(4, 96), "longer"},
		{"one replace amplifying text", amplifying(1, 96), "longer"},
		{"nested replaces, each modest", amplifying(3, 8), "longer"},
		{"concatenated amplifiers", "length(" + strings.Repeat(amplifying(1, 40)[len("length("):len(amplifying(1, 40))-len(") > 0")]+" || ", 3) + "'x') > 0", "longer"},
		{"replace by a column", "length(replace(event_name, 'N', event_name)) > 0", "replace"},
		{"replace searching a column", "length(replace(event_name, event_name, 'NNNNNNNN')) > 0", "replace"},
		{"deep nesting", strings.Repeat("(", 40) + "event_id = 1" + strings.Repeat(")", 40), "nested"},
		{"deep function nesting", strings.Repeat("lower(", 40) + "event_name" + strings.Repeat(")", 40) + " = 'x'", "nested"},
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

// amplifying is the hostile fragment with levels nested replaces,
// each replacing 'N' by n Ns.
func amplifying(levels, n int) string {
	s := "event_name"
	for range levels {
		s = "replace(" + s + ",'N','" + strings.Repeat("N", n) + "')"
	}
	return "length(" + s + ") > 0"
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
		"replace(event_name, 'NHL', 'N.H.L.') LIKE '%N.H.L.%' AND replace(season_name, ' ', '') = '2026'",
		"lower(event_name) || ' ' || upper(season_name) || '-' || minor_category <> ''",
	} {
		if err := CheckCriteria(ctx, fragment); err != nil {
			t.Errorf("CheckCriteria(%q): %v", fragment, err)
		}
	}
}

// sandboxEvents is a sandbox load of n events named like the issue's
// (with Ns for the hostile fragment to multiply), all selected today.
func sandboxEvents(n int) string {
	return fmt.Sprintf(`CREATE TABLE archtics.event AS SELECT i::INTEGER AS event_id, 'NHL NNN game ' || i AS event_name,
		DATE '2026-01-02' AS event_date, '19:00' AS event_time, 'FRI' AS event_day, 'nhl' AS team, 'SPORTS' AS major_category,
		'NHL PRO HOCKEY' AS minor_category, '2026' AS season_name, 'Y' AS enabled, 1 AS total_events,
		DATE '2026-01-01' AS current_date FROM range(%d) t(i)`, n)
}

// TestSandboxLimits: the sandbox runs on one thread within its memory
// limit, with its configuration locked; a fragment the first wall would
// refuse (run here without it) ends with an error, not the machine's
// memory, and a cancelled context returns from it at once.
func TestSandboxLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("settings", func(t *testing.T) {
		sb, err := newSandbox(ctx, sandboxEvents(10))
		if err != nil {
			t.Fatal(err)
		}
		defer sb.Close()
		var threads, mem, access string
		if err := sb.QueryRowContext(ctx, "SELECT current_setting('threads')::VARCHAR, current_setting('memory_limit'), current_setting('enable_external_access')::VARCHAR").Scan(&threads, &mem, &access); err != nil {
			t.Fatal(err)
		}
		if threads != "1" || !strings.Contains(mem, "MiB") || access != "false" {
			t.Errorf("threads %s, memory_limit %s, enable_external_access %s; want 1, %s, false", threads, mem, access, SandboxMemory)
		}
		for _, stmt := range []string{"SET memory_limit = '8GB'", "SET threads = 8", "SET enable_external_access = true"} {
			if _, err := sb.ExecContext(ctx, stmt); err == nil {
				t.Errorf("%s: accepted in the sandbox", stmt)
			}
		}
	})
	t.Run("hostile fragment past the first wall", func(t *testing.T) {
		sb, err := newSandbox(ctx, sandboxEvents(5000))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rows, err := runCriteria(ctx, sb, amplifying(4, 96))
		t.Logf("%d rows, %v after %v", len(rows), err, time.Since(start))
		if err == nil {
			t.Fatal("the hostile fragment ran to the end")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		sb, err := newSandbox(ctx, sandboxEvents(5000))
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err = runCriteria(cctx, sb, amplifying(4, 96))
		t.Logf("returned %v after %v", err, time.Since(start))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("runCriteria after a cancel: %v, want context.Canceled", err)
		}
	})
}
