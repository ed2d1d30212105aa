package clone

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/changes"
)

// sweepIfDue is phase 2 of Incremental: when due, sweep every table's
// keys over the committed clone (but a table the source never deletes
// from, schemas.Table.NoDeletes), find the merges behind the accounts gone,
// and commit the tombstones, the rows the merges moved and the pairs,
// with the sweep's as_of as the sweep cursor. It does not move the
// watermark: deletions and merges carry no update time in the source, so
// they are dated by their detection.
func sweepIfDue(ctx context.Context, w *pipeline.Warehouse, src changes.Source, team string, opts IncrementalOptions, rep *IncrementalReport) error {
	if opts.SweepEvery < 0 {
		return nil
	}
	head, err := w.Stream(ctx, CloneStream(team))
	if err != nil {
		return err
	}
	wm, err := time.Parse(time.RFC3339, head.Watermark)
	if err != nil {
		return fmt.Errorf("watermark %q: %w", head.Watermark, err)
	}
	if last := head.Cursors[sweepCursor]; last != "" {
		at, err := time.Parse(time.RFC3339Nano, last)
		if err != nil {
			return fmt.Errorf("the clone's %s cursor %q: %w", sweepCursor, last, err)
		}
		if !wm.After(at) || wm.Sub(at) < opts.SweepEvery {
			return nil // swept at or after this watermark, or not long enough ago
		}
	}
	rep.Swept = true
	var readViews []*schemas.Table
	for _, t := range schemas.SourceTables {
		readViews = append(readViews, schemas.Current(t))
	}
	readViews = append(readViews, schemas.AcctMerge)
	db, err := views.OpenDuckDB(ctx, "", w.Log, opts.CacheDir, readViews...)
	if err != nil {
		return fmt.Errorf("open the clone: %w", err)
	}
	defer db.Close()

	batch := sweepBatchID(wm)
	out := newBatchWriters(ctx, w, batch)
	defer out.Abort()
	instant := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	var (
		gone    []string
		sweptAt time.Time
		keys    int64
	)
	for _, t := range schemas.SourceTables {
		if t.NoDeletes {
			// Never deleted at the source (attendance): paging its keys,
			// the largest table's, would find nothing. Merges still move
			// its account references below.
			continue
		}
		ch := schemas.Changes(t)
		pages := 0
		held := committedKeys(ctx, db, team, t, func() {
			keys++
			if keys%100000 == 0 {
				pages++
				opts.Progress(IncrementalProgress{Phase: "sweep", Table: t.Name, Pages: pages, Versions: keys})
			}
		})
		sr, err := changes.Sweep(ctx, src, team, t, held, opts.KeysPageSize, func(ds []changes.Deletion) error {
			for _, d := range ds {
				row := make([]string, len(ch.Columns))
				for i, part := range strings.SplitN(d.Key, "|", len(t.Key)) {
					row[t.ColumnIndex(t.Key[i])] = part
				}
				n := len(t.Columns)
				row[n], row[n+1], row[n+2], row[n+3] = schemas.OpDelete, instant(d.DetectedAt), instant(d.DetectedAt), batch
				if err := out.Append(ch, row); err != nil {
					return fmt.Errorf("tombstone %s %s: %w", t.Name, d.Key, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		rep.Deletions += sr.Deleted
		if t == schemas.Cust {
			gone = sr.GoneAccounts
		}
		if sweptAt.IsZero() || sr.AsOf.Before(sweptAt) {
			sweptAt = sr.AsOf
		}
	}

	opts.Progress(IncrementalProgress{Phase: "merges", Versions: int64(len(gone))})
	refs := &committedRefs{ctx: ctx, db: db, team: team, loc: opts.Pull.Location}
	mr, err := changes.Merges(ctx, src, team, gone, refs)
	if err != nil {
		return err
	}
	rep.Merges, rep.Unresolved = mr.Merges, mr.Unresolved
	winners, err := committedWinners(ctx, db, team, mr.Merges)
	if err != nil {
		return err
	}
	if len(mr.Merges) > 0 {
		losers := make([]string, len(mr.Merges))
		for i, m := range mr.Merges {
			losers[i] = m.Loser
		}
		at := mr.Merges[0].DetectedAt
		// Every committed current row naming a loser: the same version,
		// its references moved to the final winner, seen at the merge.
		for _, t := range schemas.SourceTables {
			seen := map[string]bool{}
			for _, ref := range changes.AccountRefs {
				if ref.Table != t {
					continue
				}
				rows, err := refs.committedRows(t, ref.Column, losers)
				if err != nil {
					return err
				}
				for _, r := range rows {
					if seen[r.key] {
						continue
					}
					seen[r.key] = true
					fields := append(remap(t, r.row, winners), schemas.OpUpsert, instant(r.updated), instant(at), batch)
					if err := out.Append(schemas.Changes(t), fields); err != nil {
						return fmt.Errorf("move %s %s to a merge's winner: %w", t.Name, r.key, err)
					}
					rep.Moved++
				}
			}
		}
		for _, m := range mr.Merges {
			if err := out.Append(schemas.AcctMerge, []string{team, m.Loser, m.Winner, instant(m.DetectedAt)}); err != nil {
				return fmt.Errorf("merge %s -> %s: %w", m.Loser, m.Winner, err)
			}
		}
	}
	opts.Progress(IncrementalProgress{Phase: "commit", Versions: keys})
	files, err := out.Close()
	if err != nil {
		return err
	}
	c, err := w.Commit(ctx, txlog.CommitRequest{
		Stream:    CloneStream(team),
		Stage:     "sweep",
		BatchID:   batch,
		Adds:      files,
		Cursors:   map[string]string{sweepCursor: sweptAt.UTC().Format(time.RFC3339Nano)},
		ExpectSeq: head.Seq + 1,
		Summary: map[string]int64{"keys": keys, "deletions": rep.Deletions, "merges": int64(len(mr.Merges)),
			"moved": rep.Moved, "unresolved": int64(len(mr.Unresolved))},
	})
	if err != nil {
		return fmt.Errorf("batch %s: %w", batch, err)
	}
	rep.SweepCommit = c
	opts.Logger.Info("incremental: swept", "team", team, "seq", c.Seq, "as_of", sweptAt.UTC().Format(time.RFC3339),
		"keys", keys, "deletions", rep.Deletions, "merges", len(mr.Merges), "moved", rep.Moved, "unresolved", len(mr.Unresolved))
	return nil
}

// committedKeys yields the keys of team's current t, ascending in byte
// order (as Sweep wants them), straight from DuckDB, which sorts them
// spilling to disk if it must: memory does not grow with the table.
func committedKeys(ctx context.Context, db *sql.DB, team string, t *schemas.Table, each func()) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		q := fmt.Sprintf("SELECT k FROM (SELECT %s AS k FROM %s WHERE team = ?) ORDER BY k", keyExpr(t), schemas.Current(t).SQLName())
		rows, err := db.QueryContext(ctx, q, team)
		if err != nil {
			yield("", fmt.Errorf("the clone's keys of %s: %w", t.Name, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				yield("", fmt.Errorf("the clone's keys of %s: %w", t.Name, err))
				return
			}
			each()
			if !yield(k, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield("", fmt.Errorf("the clone's keys of %s: %w", t.Name, err))
		}
	}
}

// committedRefs answers merge detection over the committed clone.
type committedRefs struct {
	ctx  context.Context
	db   *sql.DB
	team string
	loc  *time.Location
}

// currentRow is a committed current row with its update instant.
type currentRow struct {
	key     string
	row     []string
	updated time.Time
}

// committedRows returns the committed current rows of t whose column
// names one of accts, as text in the API's spelling.
func (c *committedRefs) committedRows(t *schemas.Table, column string, accts []string) ([]currentRow, error) {
	if len(accts) == 0 {
		return nil, nil
	}
	var cols []string
	for _, col := range t.Columns {
		e := fmt.Sprintf("CAST(%s AS VARCHAR)", schemas.QuoteIdent(col.Name))
		if col.Type == schemas.Timestamp {
			e = fmt.Sprintf("strftime(%s, '%%Y-%%m-%%d %%H:%%M:%%S')", schemas.QuoteIdent(col.Name))
		}
		cols = append(cols, "coalesce("+e+", '')")
	}
	in := make([]string, len(accts))
	args := []any{c.team}
	for i, a := range accts {
		in[i] = "?"
		args = append(args, a)
	}
	q := fmt.Sprintf("SELECT %s, %s, _rank, coalesce(strftime(_updated_at AT TIME ZONE 'UTC', '%%Y-%%m-%%dT%%H:%%M:%%S.%%fZ'), '') FROM (%s) WHERE team = ? AND CAST(%s AS VARCHAR) IN (%s)",
		keyExpr(t), strings.Join(cols, ", "), schemas.CurrentSQL(t), schemas.QuoteIdent(column), strings.Join(in, ", "))
	rows, err := c.db.QueryContext(c.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("the clone's %s rows naming %d accounts: %w", t.Name, len(accts), err)
	}
	defer rows.Close()
	var out []currentRow
	for rows.Next() {
		vals := make([]string, len(t.Columns))
		var key, upd string
		var rank int
		dest := []any{&key}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		dest = append(dest, &rank, &upd)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("the clone's %s rows: %w", t.Name, err)
		}
		cr := currentRow{key: key, row: vals}
		if rank == 0 || upd == "" {
			// A dump row: its update time is the client's wall clock.
			wall := vals[t.ColumnIndex(t.UpdatedAt)]
			if cr.updated, err = time.ParseInLocation(changes.TimeLayout, wall, c.loc); err != nil {
				return nil, fmt.Errorf("the clone's %s row %s: update time %q: %w", t.Name, key, wall, err)
			}
		} else if cr.updated, err = time.Parse(time.RFC3339Nano, upd); err != nil {
			return nil, fmt.Errorf("the clone's %s row %s: _updated_at %q: %w", t.Name, key, upd, err)
		}
		out = append(out, cr)
	}
	return out, rows.Err()
}

// Referencing implements changes.References over the committed clone.
func (c *committedRefs) Referencing(t *schemas.Table, column string, accts []string) (map[string]string, error) {
	rows, err := c.committedRows(t, column, accts)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	ci := t.ColumnIndex(column)
	for _, r := range rows {
		out[r.key] = r.row[ci]
	}
	return out, nil
}
