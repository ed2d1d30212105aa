// Package dbtest holds the helpers tests use to compare what DuckDB
// answers with the simulator's truth: rows read as sorted strings, and a
// readable difference between two sets of them.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Queryer is a *sql.DB or a *sql.Conn.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Strings runs q, whose rows are one string each, and returns them sorted.
func Strings(tb testing.TB, db Queryer, q string, args ...any) []string {
	tb.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// DiffSets lists up to ten entries of each side missing from the other,
// or, when both hold the same entries, that their counts differ
// (duplicates); "" when they are equal. The slices are not modified.
func DiffSets(want, got []string) string {
	want, got = slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	in := func(s []string, v string) bool {
		_, found := slices.BinarySearch(s, v)
		return found
	}
	var b strings.Builder
	n := 0
	for _, v := range want {
		if !in(got, v) && n < 10 {
			fmt.Fprintf(&b, "  missing %s\n", v)
			n++
		}
	}
	n = 0
	for _, v := range got {
		if !in(want, v) && n < 10 {
			fmt.Fprintf(&b, "  extra   %s\n", v)
			n++
		}
	}
	if len(want) != len(got) && b.Len() == 0 {
		fmt.Fprintf(&b, "  %d rows want, %d got (duplicates)\n", len(want), len(got))
	}
	return b.String()
}
