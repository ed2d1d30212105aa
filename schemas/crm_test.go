package schemas

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	// The DuckDB driver, registered as "duckdb": the views run in DuckDB.
	_ "github.com/duckdb/duckdb-go/v2"
)

// crmTables are All's tables and views of the crm schema.
func crmTables(t *testing.T) []*Table {
	var out []*Table
	for _, tb := range All {
		if tb.Schema == "crm" {
			out = append(out, tb)
		}
	}
	if len(out) == 0 {
		t.Fatal("All has no crm table")
	}
	return out
}

// TestCRMTablesDefinitions: every crm table is valid, known to All, and
// either stored on the crm stream (no other) or a view over stored crm
// tables; every column is documented.
func TestCRMTablesDefinitions(t *testing.T) {
	for _, tb := range crmTables(t) {
		if err := tb.Validate(); err != nil {
			t.Errorf("%s: %v", tb.FullName(), err)
		}
		if got, ok := Lookup(tb.FullName()); !ok || got != tb {
			t.Errorf("%s is not in All", tb.FullName())
		}
		for _, c := range tb.Columns {
			if c.Doc == "" {
				t.Errorf("%s.%s has no Doc", tb.FullName(), c.Name)
			}
		}
		if tb.ViewSQL != "" {
			continue
		}
		if !tb.OwnedBy("crm") || tb.OwnedBy("nhl/clone") {
			t.Errorf("%s must be owned by the crm stream alone (owner %q)", tb.FullName(), tb.Owner)
		}
		if s, err := tb.OwnerStream(nil); err != nil || s != "crm" {
			t.Errorf("%s: owner stream %q, %v; want crm", tb.FullName(), s, err)
		}
	}
}

// crmFixture fills the stored crm tables by hand: contact C1 loaded then
// updated; A-nhl-2 inserted; account nhl:1 mapped to C1 then demoted by
// a set-primary of nhl:3; C3 loaded and updated by the same first run
// (its update, written first, must still win).
const crmFixture = `
INSERT INTO crm.contact_version (seq, op, contact_id, first_name, last_name, email, source, primary_team, primary_acct_id, changed_fields) VALUES
 (1, 'load',   'C1', 'Gabe',    'Tremblay', 'g@old.example', 'crm', NULL, NULL, ''),
 (2, 'update', 'C1', 'Gabriel', 'Tremblay', 'g@x.example',   'crm', 'nhl', 1, 'first_name,email,primary_team,primary_acct_id'),
 (2, 'insert', 'A-nhl-2', 'Ann', 'Lee', NULL, 'archtics', 'nhl', 2, 'first_name,last_name'),
 (3, 'update', 'C1', 'Gabriel', 'Tremblay', 'g@x.example',   'crm', 'nhl', 3, 'primary_team,primary_acct_id'),
 (1, 'update', 'C3', 'Luc',     'Roy',      'luc@x.example', 'crm', 'nhl', 4, 'primary_team,primary_acct_id'),
 (1, 'load',   'C3', 'Luc',     'Roy',      'luc@x.example', 'crm', NULL, NULL, '');
INSERT INTO crm.mapping_version (seq, team, acct_id, contact_id, role, rule, source_md5, first_matched, last_changed, changed_by, reason) VALUES
 (2, 'nhl', 1, 'C1', 'primary', 'email', 'x', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 'ops', 'matched'),
 (2, 'nhl', 3, 'C1', 'secondary', 'email', 'y', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 'ops', 'matched'),
 (2, 'nhl', 2, 'A-nhl-2', 'primary', 'new', 'z', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 'ops', 'matched'),
 (3, 'nhl', 1, 'C1', 'secondary', 'email', 'x', '2026-01-01 00:00:00+00', '2026-01-02 00:00:00+00', 'ann', 'demoted'),
 (3, 'nhl', 3, 'C1', 'primary', 'manual', 'y', '2026-01-01 00:00:00+00', '2026-01-02 00:00:00+00', 'ann', 'set-primary');
`

// TestCRMViews runs the views over hand-filled tables: the current
// contact and mapping are the latest versions, the changes leave out the
// load, and the mapping history says from and to.
func TestCRMViews(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range crmTables(t) {
		if tb.ViewSQL != "" {
			continue
		}
		var cols []string
		for _, c := range tb.Columns {
			cols = append(cols, QuoteIdent(c.Name)+" "+c.Type.String())
		}
		ddl := fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS crm; CREATE TABLE %s (%s)", tb.SQLName(), strings.Join(cols, ", "))
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	if _, err := db.ExecContext(ctx, crmFixture); err != nil {
		t.Fatal(err)
	}
	for _, tb := range crmTables(t) {
		if tb.ViewSQL == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, tb.ViewDDL(nil)); err != nil {
			t.Fatalf("create %s: %v", tb.SQLName(), err)
		}
		// The view's columns are the definition's, in order.
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+tb.SQLName()+" LIMIT 0")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := rows.Columns()
		rows.Close()
		var want []string
		for _, c := range tb.Columns {
			want = append(want, c.Name)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s columns %v, definition %v", tb.SQLName(), got, want)
		}
	}
	for _, tc := range []struct{ name, query, want string }{
		{"contact", "SELECT string_agg(contact_id || ' ' || first_name || ' ' || primary_acct_id || ' ' || last_seq, '; ' ORDER BY contact_id) FROM crm.contact",
			"A-nhl-2 Ann 2 2; C1 Gabriel 3 3; C3 Luc 4 1"},
		{"contact_changes", "SELECT string_agg(seq || ' ' || op || ' ' || contact_id, '; ' ORDER BY seq, contact_id) FROM crm.contact_changes",
			"1 update C3; 2 insert A-nhl-2; 2 update C1; 3 update C1"},
		{"archtics_mapping", "SELECT string_agg(acct_id || ' ' || contact_id || ' ' || role || ' ' || rule, '; ' ORDER BY acct_id) FROM crm.archtics_mapping",
			"1 C1 secondary email; 2 A-nhl-2 primary new; 3 C1 primary manual"},
		{"mapping_history", "SELECT string_agg(acct_id || ' ' || coalesce(role_from, '-') || '>' || role_to || ' ' || changed_by || ' ' || reason, '; ' ORDER BY seq, acct_id) FROM crm.mapping_history WHERE acct_id IN (1, 3)",
			"1 ->primary ops matched; 3 ->secondary ops matched; 1 primary>secondary ann demoted; 3 secondary>primary ann set-primary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := db.QueryRowContext(ctx, tc.query).Scan(&got); err != nil {
				t.Fatalf("%s: %v", tc.query, err)
			}
			if got != tc.want {
				t.Errorf("%s\n got %s\nwant %s", tc.query, got, tc.want)
			}
		})
	}
}
