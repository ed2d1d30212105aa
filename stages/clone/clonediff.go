package clone

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"archtics/schemas"
)

// textExpr renders column c as the dump and the change API write it:
// timestamps 'YYYY-MM-DD HH:MM:SS', dates 'YYYY-MM-DD', money with two
// decimals, NULL as "".
func textExpr(c schemas.Column) string {
	q := schemas.QuoteIdent(c.Name)
	var e string
	switch c.Type {
	case schemas.Timestamp:
		e = fmt.Sprintf("strftime(%s, '%%Y-%%m-%%d %%H:%%M:%%S')", q)
	case schemas.Date:
		e = fmt.Sprintf("strftime(%s, '%%Y-%%m-%%d')", q)
	default:
		e = fmt.Sprintf("CAST(%s AS VARCHAR)", q)
	}
	return "coalesce(" + e + ", '')"
}

// CloneDiff compares team's current state of source table t (archtics.<t>,
// on db) with want, the rows the clone must hold (the simulator's StateAt
// at the watermark: every column as text in t's order), row for row over
// every column. It returns "" when they are equal, else the first
// differences (at most limit of each kind) and the counts.
func CloneDiff(ctx context.Context, db *sql.DB, team string, t *schemas.Table, want [][]string, limit int) (string, error) {
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		exprs[i] = textExpr(c)
	}
	q := fmt.Sprintf("SELECT concat_ws(chr(31), %s) FROM %s WHERE team = ?", strings.Join(exprs, ", "), schemas.Current(t).SQLName())
	rows, err := db.QueryContext(ctx, q, team)
	if err != nil {
		return "", fmt.Errorf("read %s of %s: %w", schemas.Current(t).SQLName(), team, err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", fmt.Errorf("read %s of %s: %w", schemas.Current(t).SQLName(), team, err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("read %s of %s: %w", schemas.Current(t).SQLName(), team, err)
	}
	exp := make([]string, len(want))
	for i, r := range want {
		exp[i] = strings.Join(r, "\x1f")
	}
	slices.Sort(got)
	slices.Sort(exp)
	if slices.Equal(got, exp) {
		return "", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s: %d rows, want %d\n", schemas.Current(t).SQLName(), team, len(got), len(exp))
	show := func(label string, a, other []string) {
		n := 0
		for _, v := range a {
			if _, found := slices.BinarySearch(other, v); !found {
				if n == limit {
					break
				}
				fmt.Fprintf(&b, "  %s %s\n", label, strings.ReplaceAll(v, "\x1f", "|"))
				n++
			}
		}
	}
	show("missing", exp, got)
	show("extra  ", got, exp)
	return b.String(), nil
}
