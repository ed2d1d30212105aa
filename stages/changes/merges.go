package changes

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"archtics/schemas"
)

// Merge is an account merge found from the API's evidence: every reference
// to Loser now names Winner (acct_ids, as the rows spell them).
type Merge struct {
	Loser, Winner string
	DetectedAt    time.Time // the lookups' as_of: merged by then
}

// AccountRef names a column that holds an account reference. Archtics
// moves all of them from a merge's loser to its winner, update time
// unchanged.
type AccountRef struct {
	Table  *schemas.Table
	Column string
}

// AccountRefs are the account references of the source tables.
var AccountRefs = []AccountRef{
	{schemas.Ticket, "acct_id"},
	{schemas.Tex, "owner_acct_id"},
	{schemas.Tex, "acct_id"},
	{schemas.Attendance, "acct_id"},
}

// References is what merge detection asks of the clone: for one account
// reference column, the held keys whose value is one of accts, with that
// value (key -> acct_id).
type References interface {
	Referencing(t *schemas.Table, column string, accts []string) (map[string]string, error)
}

// MergeResult is what Merges found.
type MergeResult struct {
	Merges []Merge
	// Unresolved lists the gone accounts with no held reference that now
	// names another account: deleted, or merged with nothing the clone
	// holds to show the winner (then nothing held needs rewriting).
	Unresolved []string
	Lookups    int
}

// Merges finds the winner of each gone account (SweepResult.GoneAccounts
// of cust): it looks up the rows the clone holds that name the account
// (References), and an account a looked-up row now names instead is the
// winner. A looked-up row that is missing was deleted (the sweep of its
// table reports it). A loser whose rows name several different accounts
// is an error: a merge has one winner.
func Merges(ctx context.Context, src Source, team string, gone []string, refs References) (MergeResult, error) {
	var res MergeResult
	if len(gone) == 0 {
		return res, nil
	}
	winner := map[string]string{}
	var at time.Time
	for _, ref := range AccountRefs {
		held, err := refs.Referencing(ref.Table, ref.Column, gone)
		if err != nil {
			return res, fmt.Errorf("merges %s: the clone's %s.%s naming %d gone accounts: %w", team, ref.Table.Name, ref.Column, len(gone), err)
		}
		if len(held) == 0 {
			continue
		}
		keys := make([]string, 0, len(held))
		for k := range held {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for start := 0; start < len(keys); start += 10000 {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("merges %s: %w", team, err)
			}
			chunk := keys[start:min(start+10000, len(keys))]
			lr, err := src.Lookup(ctx, team, ref.Table.Name, chunk)
			if err != nil {
				return res, fmt.Errorf("merges %s: lookup %d %s keys: %w", team, len(chunk), ref.Table.Name, err)
			}
			res.Lookups++
			at = lr.AsOf.UTC()
			lay, err := newLayout(ref.Table, lr.Columns, "lookup")
			if err != nil {
				return res, err
			}
			col := ref.Table.ColumnIndex(ref.Column)
			var sb strings.Builder
			for _, row := range lr.Rows {
				if len(row) != len(ref.Table.Columns) {
					return res, fmt.Errorf("merges %s: lookup %s: a row of %d values, want %d", team, ref.Table.Name, len(row), len(ref.Table.Columns))
				}
				key := lay.key(row, &sb)
				loser, ok := held[key]
				if !ok || row[col] == loser || row[col] == "" {
					continue
				}
				if w, seen := winner[loser]; seen && w != row[col] {
					return res, fmt.Errorf("merges %s: account %s's references moved to both %s and %s (%s %s.%s): a merge has one winner; check the source",
						team, loser, w, row[col], ref.Table.Name, key, ref.Column)
				}
				winner[loser] = row[col]
			}
		}
	}
	for _, a := range gone {
		if w, ok := winner[a]; ok {
			res.Merges = append(res.Merges, Merge{Loser: a, Winner: w, DetectedAt: at})
		} else {
			res.Unresolved = append(res.Unresolved, a)
		}
	}
	return res, nil
}
