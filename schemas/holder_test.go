package schemas

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"archtics/internal/dbtest"

	// The DuckDB driver, registered as "duckdb": the view runs in DuckDB.
	_ "github.com/duckdb/duckdb-go/v2"
)

// holderFixture stands in for the clone's tables the view reads, as
// DuckDB tables with the definitions' columns and types, filled by hand.
const holderFixture = `
INSERT INTO archtics.ticket (team, ticket_seq_id, event_id, section_name, row_name, seat_num, last_seat, num_seats, acct_id, ticket_status, add_datetime, upd_datetime) VALUES
 ('nhl', 100, 1, 'A', '1', 1, 4, 4, 10, 'A', '2026-01-01 10:00:00', '2026-01-01 10:00:00'),
 ('nhl', 101, 1, 'A', '2', 1, 2, 2, 40, 'R', '2026-01-02 10:00:00', '2026-01-12 09:00:00'),
 ('nhl', 102, 1, 'A', '3', 5, 6, 2, 50, 'R', '2026-01-01 08:00:00', '2026-01-08 08:00:00'),
 ('nhl', 103, 1, NULL, NULL, 1, 1, 1, 70, 'A', '2026-01-01 09:00:00', '2026-01-01 09:00:00'),
 ('arena', 100, 1, 'A', '1', 1, 1, 1, 10, 'A', '2026-01-01 07:00:00', '2026-01-01 07:00:00');
INSERT INTO archtics_dump.ticket (team, ticket_seq_id, event_id, ticket_status, upd_datetime) VALUES
 ('nhl', 101, 1, 'R', '2026-01-10 09:00:00'),
 ('nhl', 102, 1, 'R', '2026-01-08 08:00:00');
INSERT INTO archtics_changes.ticket (team, ticket_seq_id, event_id, ticket_status, upd_datetime, _op) VALUES
 ('nhl', 101, 1, 'R', '2026-01-12 09:00:00', 'upsert');
INSERT INTO archtics.tex (team, tex_id, event_id, section_name, row_name, seat_num, last_seat, acct_id, activity, upd_datetime) VALUES
 ('nhl', 500, 1, 'A', '1', 2, 3, 20, 'R', '2026-01-05 12:00:00'),
 ('nhl', 501, 1, 'A', '1', 3, 3, 30, 'F', '2026-01-06 12:00:00'),
 ('nhl', 502, 1, 'A', '3', 5, 5, 60, 'F', '2026-01-03 12:00:00'),
 ('nhl', 503, 1, NULL, NULL, 1, 1, 71, 'F', '2026-01-04 12:00:00'),
 ('nhl', 504, 1, 'A', '1', 4, 4, 99, 'X', '2026-01-04 12:00:00');
INSERT INTO archtics.acct_merge (team, loser_acct_id, winner_acct_id, detected_at) VALUES
 ('nhl', 10, 11, '2026-02-01 00:00:00+00'),
 ('nhl', 30, 31, '2026-02-01 00:00:00+00'),
 ('nhl', 31, 32, '2026-02-02 00:00:00+00');
`

// openHolderFixture creates the fixture's tables, then the view and the
// macro exactly as the warehouse creates them (ViewDDL).
func openHolderFixture(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	create := func(schema string, tb *Table) {
		var cols []string
		for _, c := range tb.Columns {
			cols = append(cols, QuoteIdent(c.Name)+" "+c.Type.String())
		}
		ddl := fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s; CREATE TABLE %s.%s (%s)", schema, schema, tb.Name, strings.Join(cols, ", "))
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	create("archtics", Ticket)
	create("archtics", Tex)
	create("archtics", AcctMerge)
	create(DumpSchema, Ticket)
	create(ChangesSchema, Changes(Ticket))
	if _, err := db.ExecContext(ctx, holderFixture); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []*Table{TicketHolder, HolderAt} {
		if _, err := db.ExecContext(ctx, tb.ViewDDL(nil)); err != nil {
			t.Fatalf("create %s: %v", tb.SQLName(), err)
		}
	}
	return db
}

func holderRows(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	return dbtest.Strings(t, db, "SELECT concat_ws(' ', team, event_id, coalesce(section_name, '-'), coalesce(row_name, '-'), seat_num, acct_id, "+
		"strftime(held_from, '%m-%d %H:%M'), coalesce(strftime(held_until, '%m-%d %H:%M'), 'holds'), via, source_id) FROM ("+query+")", args...)
}

// TestTicketHolderRules checks each rule of the view on a hand-made
// clone: the buyer until the first activity on the seat, resales and
// forwards on sub-ranges of a block (last one wins), a merge chain
// followed to its end, a return dated by the earliest returned version
// seen (dump or changes), a return ending an exchange holder's interval,
// NULL section and row names, activities other than R and F ignored, and
// teams kept apart.
func TestTicketHolderRules(t *testing.T) {
	db := openHolderFixture(t)
	got := holderRows(t, db, "SELECT * FROM archtics.ticket_holder")
	want := []string{
		"arena 1 A 1 1 10 01-01 07:00 holds purchase 100",
		"nhl 1 - - 1 70 01-01 09:00 01-04 12:00 purchase 103",
		"nhl 1 - - 1 71 01-04 12:00 holds forward 503",
		"nhl 1 A 1 1 11 01-01 10:00 holds purchase 100",
		"nhl 1 A 1 2 11 01-01 10:00 01-05 12:00 purchase 100",
		"nhl 1 A 1 2 20 01-05 12:00 holds resale 500",
		"nhl 1 A 1 3 11 01-01 10:00 01-05 12:00 purchase 100",
		"nhl 1 A 1 3 20 01-05 12:00 01-06 12:00 resale 500",
		"nhl 1 A 1 3 32 01-06 12:00 holds forward 501",
		"nhl 1 A 1 4 11 01-01 10:00 holds purchase 100",
		"nhl 1 A 2 1 40 01-02 10:00 01-10 09:00 purchase 101",
		"nhl 1 A 2 2 40 01-02 10:00 01-10 09:00 purchase 101",
		"nhl 1 A 3 5 50 01-01 08:00 01-03 12:00 purchase 102",
		"nhl 1 A 3 5 60 01-03 12:00 01-08 08:00 forward 502",
		"nhl 1 A 3 6 50 01-01 08:00 01-08 08:00 purchase 102",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("archtics.ticket_holder:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}

	var names []string
	rows, err := db.Query("SELECT column_name || ' ' || column_type FROM (DESCRIBE SELECT * FROM archtics.ticket_holder)")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		names = append(names, s)
	}
	var contract []string
	for i, c := range TicketHolder.Columns {
		contract = append(contract, c.Name+" "+c.Type.String())
		if TicketHolderColumnNames[i] != c.Name {
			t.Errorf("TicketHolderColumnNames[%d] = %s, the definition's column is %s", i, TicketHolderColumnNames[i], c.Name)
		}
	}
	if !slices.Equal(names, contract) {
		t.Fatalf("the view's columns are %v, the contract's %v", names, contract)
	}
}

// TestHolderAtEdges asks holder_at inside, at both edges of and outside
// intervals: held_from is included, held_until excluded.
func TestHolderAtEdges(t *testing.T) {
	db := openHolderFixture(t)
	tests := []struct {
		name               string
		team, section, row string
		seat               int
		at                 string
		want               []string
	}{
		{"before the sale", "nhl", "A", "1", 3, "2026-01-01 09:59:59", nil},
		{"the sale's second", "nhl", "A", "1", 3, "2026-01-01 10:00:00", []string{"nhl 1 A 1 3 11 01-01 10:00 01-05 12:00 purchase 100"}},
		{"a second before the resale", "nhl", "A", "1", 3, "2026-01-05 11:59:59", []string{"nhl 1 A 1 3 11 01-01 10:00 01-05 12:00 purchase 100"}},
		{"the resale's second", "nhl", "A", "1", 3, "2026-01-05 12:00:00", []string{"nhl 1 A 1 3 20 01-05 12:00 01-06 12:00 resale 500"}},
		{"after the forward, merged twice", "nhl", "A", "1", 3, "2027-01-01 00:00:00", []string{"nhl 1 A 1 3 32 01-06 12:00 holds forward 501"}},
		{"a seat outside the forward", "nhl", "A", "1", 2, "2027-01-01 00:00:00", []string{"nhl 1 A 1 2 20 01-05 12:00 holds resale 500"}},
		{"a second before the return", "nhl", "A", "2", 1, "2026-01-10 08:59:59", []string{"nhl 1 A 2 1 40 01-02 10:00 01-10 09:00 purchase 101"}},
		{"the return's second", "nhl", "A", "2", 1, "2026-01-10 09:00:00", nil},
		{"a seat no block holds", "nhl", "A", "2", 3, "2026-01-05 00:00:00", nil},
		{"another team", "arena", "A", "1", 3, "2026-01-05 12:00:00", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := holderRows(t, db, "SELECT * FROM archtics.holder_at(?, 1, ?, ?, ?, CAST(? AS TIMESTAMP))", tc.team, tc.section, tc.row, tc.seat, tc.at)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("holder_at(%s, 1, %s, %s, %d, %s) = %v, want %v", tc.team, tc.section, tc.row, tc.seat, tc.at, got, tc.want)
			}
		})
	}
}
