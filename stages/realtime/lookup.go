package realtime

import (
	"context"
	"database/sql"
	"fmt"

	"archtics/pipeline"
	"archtics/schemas"
)

// lookups are what a tick reads from the team's clone to enrich its scans:
// each event's Ticketmaster name, the account merges, and each account's
// primary name. Read once per tick that keeps a scan.
type lookups struct {
	tmNames map[int32]string
	merges  map[int32]int32 // loser → winner
	names   map[int32]primaryName
}

type primaryName struct{ first, last, email string }

func (l *lookups) tmEventName(id int32) string {
	if l == nil {
		return ""
	}
	return l.tmNames[id]
}

// winner follows acct's merges to the account that holds its references
// now (a chain a→b→c ends at c; a cycle, which merges cannot make, stops).
func (l *lookups) winner(acct int32) int32 {
	if l == nil {
		return acct
	}
	for i := 0; i < 64; i++ {
		next, ok := l.merges[acct]
		if !ok || next == acct {
			return acct
		}
		acct = next
	}
	return acct
}

func (l *lookups) name(acct int32) primaryName {
	if l == nil {
		return primaryName{}
	}
	return l.names[acct]
}

// loadLookups reads team's clone: archtics.event, archtics.acct_merge and
// the primary names of archtics.cust (current state).
func loadLookups(ctx context.Context, w *pipeline.Warehouse, team, cacheDir string) (*lookups, error) {
	db, err := w.OpenViews(ctx, "", cacheDir, schemas.Current(schemas.Event), schemas.Current(schemas.Cust), schemas.AcctMerge)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	l := &lookups{tmNames: map[int32]string{}, merges: map[int32]int32{}, names: map[int32]primaryName{}}
	err = scanRows(ctx, db.DB, `SELECT event_id, coalesce(tm_event_name, '') FROM archtics.event WHERE team = ?`, []any{team}, func(r *sql.Rows) error {
		var id int32
		var name string
		if err := r.Scan(&id, &name); err != nil {
			return err
		}
		l.tmNames[id] = name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("archtics.event: %w", err)
	}
	err = scanRows(ctx, db.DB, `SELECT loser_acct_id, winner_acct_id FROM archtics.acct_merge WHERE team = ?`, []any{team}, func(r *sql.Rows) error {
		var loser, winner int32
		if err := r.Scan(&loser, &winner); err != nil {
			return err
		}
		l.merges[loser] = winner
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("archtics.acct_merge: %w", err)
	}
	// One primary name per account; should the clone hold two, the
	// lowest cust_name_id is the one shown, the same every tick.
	err = scanRows(ctx, db.DB, `SELECT acct_id, coalesce(name_first, ''), coalesce(name_last, ''), coalesce(email_addr, '')
FROM archtics.cust WHERE team = ? AND primary_code = 'Primary'
QUALIFY row_number() OVER (PARTITION BY acct_id ORDER BY cust_name_id) = 1`, []any{team}, func(r *sql.Rows) error {
		var acct int32
		var n primaryName
		if err := r.Scan(&acct, &n.first, &n.last, &n.email); err != nil {
			return err
		}
		l.names[acct] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("archtics.cust: %w", err)
	}
	return l, nil
}

func scanRows(ctx context.Context, db *sql.DB, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
