package realtime

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"archtics/schemas"
)

// bait is a value held only by tables a fragment must never read.
const bait = "BAIT-do-not-read-7f3a"

var (
	fuzzDBOnce sync.Once
	fuzzDB     *sql.DB
	fuzzDBErr  error
)

// criteriaRunDB is where accepted fragments run: archtics.event with a
// few rows and current_date, as the sandbox builds it, beside bait tables
// (archtics.cust, main.secret) holding a marker, external access off. It
// is deliberately not openSandbox: the target checks what the check lets
// through, whatever walls the runner adds.
func criteriaRunDB() (*sql.DB, error) {
	fuzzDBOnce.Do(func() {
		db, err := sql.Open("duckdb", "")
		if err != nil {
			fuzzDBErr = err
			return
		}
		db.SetMaxOpenConns(1)
		for _, stmt := range []string{
			"SET threads = 1",
			"SET memory_limit = '256MB'",
			"CREATE SCHEMA archtics",
			fmt.Sprintf("CREATE TABLE archtics.event AS SELECT *, DATE '2026-11-20' AS %s FROM (%s)", schemas.QuoteIdent(CurrentDateColumn), schemas.Event.EmptySQL()),
			`INSERT INTO archtics.event BY NAME SELECT 'nhl' AS team, 1 AS event_id, '27NHL1125' AS event_name, DATE '2026-11-21' AS event_date,
				'Y' AS enabled, 'SPORTS' AS major_category, 1 AS total_events, DATE '2026-11-20' AS "current_date"`,
			`INSERT INTO archtics.event BY NAME SELECT 'nhl' AS team, 2 AS event_id, 'CONCERT' AS event_name, DATE '2026-11-22' AS event_date,
				'Y' AS enabled, 'CONCERTS' AS major_category, 2 AS total_events, DATE '2026-11-20' AS "current_date"`,
			"CREATE TABLE archtics.cust AS SELECT '" + bait + "' AS name_last",
			"CREATE TABLE main.secret AS SELECT '" + bait + "' AS s",
			"CREATE MACRO bait_macro() AS '" + bait + "'",
			"SET enable_external_access = false",
		} {
			if _, err := db.Exec(stmt); err != nil {
				fuzzDBErr = fmt.Errorf("%s: %w", stmt, err)
				return
			}
		}
		fuzzDB = db
	})
	return fuzzDB, fuzzDBErr
}

// cleanRunErrors are the errors an accepted expression may raise on some
// rows' values: anything else (a table or function it could not find, a
// file it was refused, an internal error) means the check let through
// what it should have refused.
var cleanRunErrors = []string{"Conversion Error", "Out of Range Error", "Invalid Input Error"}

// FuzzCriteriaSandbox: whatever fragment CheckCriteria accepts, run as
// the selection query, reads only archtics.event (never the bait's
// marker, never a file), finishes within seconds, and fails, if at all,
// with a value error; CheckCriteria itself never panics and refuses with
// a *CriteriaError or a wrapped error, never an empty one.
func FuzzCriteriaSandbox(f *testing.F) {
	for _, s := range []string{
		seedCriteriaSportsConcerts, seedCriteriaHockey, "true", "event_id = 1", "event_name LIKE '27NHL%'",
		"CAST(event_name AS INTEGER) > 0", "(SELECT count(*) FROM archtics.cust) > 0", "name_last = 'x'",
		"read_text('/etc/passwd') IS NOT NULL", "bait_macro() = 'x'", "1); DROP TABLE archtics.event; --",
		"event_id IN (SELECT 1)", "length(repeat('x', 10)) > 0", "current_date < event_date",
		"'" + bait + "' = event_name",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fragment string) {
		ctx := context.Background()
		err := CheckCriteria(ctx, fragment)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("CheckCriteria(%q) refused with an empty error", fragment)
			}
			return
		}
		db, err := criteriaRunDB()
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		rows, err := db.QueryContext(rctx, SelectionQuery(fragment))
		if err == nil {
			defer rows.Close()
			cols, _ := rows.Columns()
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err = rows.Scan(ptrs...); err != nil {
					break
				}
				for _, v := range vals {
					if strings.Contains(v.String, bait) && !strings.Contains(fragment, bait) {
						t.Fatalf("accepted %q read a table other than archtics.event: %q", fragment, v.String)
					}
				}
			}
			if err == nil {
				err = rows.Err()
			}
		}
		switch {
		case err == nil:
		case errors.Is(rctx.Err(), context.DeadlineExceeded):
			t.Fatalf("accepted %q ran past 5 s: a fragment must not be able to exhaust the machine", fragment)
		default:
			for _, ok := range cleanRunErrors {
				if strings.Contains(err.Error(), ok) {
					return
				}
			}
			t.Fatalf("accepted %q failed when run: %v", fragment, err)
		}
	})
}
