package stages

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/pipeline"
	"archtics/schemas"
	"archtics/stages/changes"
)

// IncrementalOptions tunes Incremental.
type IncrementalOptions struct {
	// Pull tunes the change pulls; Pull.Location (the client's zone) is
	// required.
	Pull changes.Options
	// SweepEvery runs the key sweeps and merge detection on every n-th
	// incremental of the stream (counted by the incrementalRuns cursor);
	// 0 or 1 sweeps on every run.
	SweepEvery int
	// KeysPageSize is the sweep's keys page (0: changes.DefaultKeysPageSize).
	KeysPageSize int
	// CacheDir is where the clone's committed files are materialized for
	// DuckDB; "" uses a temporary folder removed afterwards.
	CacheDir string
	Logger   *slog.Logger
}

// IncrementalReport says what one run did.
type IncrementalReport struct {
	Team       string
	From, To   time.Time // the watermark the run started from, the one it committed
	Commit     *pipeline.Commit
	Versions   int64 // versions pulled (re-served ones included)
	Upserts    int64 // change rows written
	Deletions  int64
	Merges     []changes.Merge
	Swept      bool
	Unchanged  bool // nothing to commit: the source's clock has not passed the watermark
	Unresolved []string
}

// incrementalRuns is the clone stream's cursor counting incrementals, so
// SweepEvery can tell which run sweeps.
const incrementalRuns = "incremental.runs"

// incrementalBatchID derives the batch from the watermark the run starts
// from: a run that crashed before its commit redoes the same batch, and a
// rerun after the commit starts from the new head, another batch.
func incrementalBatchID(from time.Time) string {
	return "incr-" + from.UTC().Format("20060102T150405Z")
}

// held is one version of a key this run holds in memory.
type held struct {
	v       changes.Version
	seen    time.Time
	deleted bool
}

// Incremental brings team's clone up to the source: it pulls every
// source table's versions since the clone stream's watermark
// (changes.Pull), sweeps the keys for deletions and finds account merges
// (changes.Sweep, changes.Merges), and writes the versions, tombstones,
// rows a merge moved and the acct_merge pairs to the change tables in ONE
// commit on <team>/clone whose watermark is the least as_of of the pulls.
//
// A run whose pulls' snapshot is not after the watermark (the source's
// clock has not moved) commits nothing (Unchanged): there is nothing
// committed after the watermark to find.
//
// Memory: the run keeps, per source table, the newest version of each key
// it pulled (that is what the sweeps and merge detection must see besides
// the committed clone, and it deduplicates the overlap within the run),
// plus the committed keys of the table being swept. It is bounded by the
// number of keys changed in one run, not by the page size: the first
// large incremental needs the streaming version (issue 8, item 7).
func Incremental(ctx context.Context, w *pipeline.Warehouse, src changes.Source, team string, opts IncrementalOptions) (*IncrementalReport, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	stream := CloneStream(team)
	head, err := w.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("incremental %s: %w", team, err)
	}
	if head.Watermark == "" {
		return nil, fmt.Errorf("incremental %s: the clone stream %s has no watermark: load the team's dump first (load-dump)", team, stream)
	}
	from, err := time.Parse(time.RFC3339, head.Watermark)
	if err != nil {
		return nil, fmt.Errorf("incremental %s: watermark %q of %s: %w", team, head.Watermark, stream, err)
	}
	rep := &IncrementalReport{Team: team, From: from}
	batch := incrementalBatchID(from)

	// Pull every table into memory, newest version per key.
	overlay := map[*schemas.Table]map[string]*held{}
	var to time.Time
	for _, t := range schemas.SourceTables {
		m := map[string]*held{}
		overlay[t] = m
		pr, err := changes.Pull(ctx, src, team, t, from, opts.Pull, func(vs []changes.Version) error {
			for _, v := range vs {
				if h, ok := m[v.Key]; !ok || v.Newer(h.v.Updated) {
					m[v.Key] = &held{v: v}
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("incremental %s: %w", team, err)
		}
		for _, h := range m {
			if h.seen.IsZero() {
				h.seen = pr.AsOf
			}
		}
		rep.Versions += pr.Versions
		if to.IsZero() || pr.AsOf.Before(to) {
			to = pr.AsOf
		}
	}
	rep.To = to.UTC()
	if !to.After(from) {
		rep.Unchanged = true
		logger.Info("incremental: the source has nothing after the watermark", "team", team, "watermark", head.Watermark)
		return rep, nil
	}

	runs := int64(0)
	fmt.Sscan(head.Cursors[incrementalRuns], &runs)
	runs++
	every := int64(max(opts.SweepEvery, 1))
	rep.Swept = runs%every == 0

	cacheDir := opts.CacheDir
	if cacheDir == "" {
		if cacheDir, err = os.MkdirTemp("", "archtics-incremental-"); err != nil {
			return nil, fmt.Errorf("incremental %s: cache folder: %w", team, err)
		}
		defer os.RemoveAll(cacheDir)
	}
	var views []*schemas.Table
	for _, t := range schemas.SourceTables {
		views = append(views, schemas.Current(t))
	}
	views = append(views, schemas.AcctMerge)
	db, err := pipeline.OpenDuckDB(ctx, "", w, cacheDir, views...)
	if err != nil {
		return nil, fmt.Errorf("incremental %s: open the clone: %w", team, err)
	}
	defer db.Close()
	cl := &committedClone{ctx: ctx, db: db, team: team, overlay: overlay, loc: opts.Pull.Location}

	var tombstones = map[*schemas.Table][]changes.Deletion{}
	var merges []changes.Merge
	if rep.Swept {
		var gone []string
		for _, t := range schemas.SourceTables {
			keys, err := cl.keys(t)
			if err != nil {
				return nil, fmt.Errorf("incremental %s: %w", team, err)
			}
			sr, err := changes.Sweep(ctx, src, team, t, func(yield func(string, error) bool) {
				for _, k := range keys {
					if !yield(k, nil) {
						return
					}
				}
			}, opts.KeysPageSize, func(ds []changes.Deletion) error {
				tombstones[t] = append(tombstones[t], ds...)
				for _, d := range ds {
					if h, ok := overlay[t][d.Key]; ok {
						h.deleted = true
					} else {
						overlay[t][d.Key] = &held{deleted: true}
					}
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("incremental %s: %w", team, err)
			}
			rep.Deletions += sr.Deleted
			if t == schemas.Cust {
				gone = sr.GoneAccounts
			}
		}
		mr, err := changes.Merges(ctx, src, team, gone, cl)
		if err != nil {
			return nil, fmt.Errorf("incremental %s: %w", team, err)
		}
		merges, rep.Unresolved = mr.Merges, mr.Unresolved
		rep.Merges = merges
	}
	winners, err := cl.winners(merges)
	if err != nil {
		return nil, fmt.Errorf("incremental %s: %w", team, err)
	}
	moved, err := cl.moved(merges, winners)
	if err != nil {
		return nil, fmt.Errorf("incremental %s: %w", team, err)
	}

	// Write and commit.
	mem := memory.DefaultAllocator
	var writers []*pipeline.TableWriter
	abort := func() {
		for _, tw := range writers {
			tw.Abort()
		}
	}
	write := func(t *schemas.Table, rows [][]string) error {
		if len(rows) == 0 {
			return nil
		}
		tw, err := pipeline.NewTableWriter(w, t, batch)
		if err != nil {
			return err
		}
		writers = append(writers, tw)
		rb := NewRowBuilder(mem, t)
		defer rb.Release()
		flush := func() error {
			rec := rb.NewRecord()
			defer rec.Release()
			return tw.Write(rec)
		}
		for _, r := range rows {
			if err := rb.Append(r); err != nil {
				return fmt.Errorf("%s row %v: %w", t.SQLName(), r, err)
			}
			if rb.Len() >= recordRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	}
	instant := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	for _, t := range schemas.SourceTables {
		ch := schemas.Changes(t)
		var rows [][]string
		keys := make([]string, 0, len(overlay[t]))
		for k := range overlay[t] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			h := overlay[t][k]
			if h.v.Row == nil {
				continue // a committed key deleted this run: its tombstone follows
			}
			rows = append(rows, append(remap(t, h.v.Row, winners), schemas.OpUpsert, instant(h.v.Updated), instant(h.seen), batch))
		}
		for _, mv := range moved[t] {
			rows = append(rows, append(mv.row, schemas.OpUpsert, instant(mv.updated), instant(mv.seen), batch))
		}
		for _, d := range tombstones[t] {
			row := make([]string, len(t.Columns))
			for i, part := range strings.Split(d.Key, "|") {
				row[t.ColumnIndex(t.Key[i])] = part
			}
			rows = append(rows, append(row, schemas.OpDelete, instant(d.DetectedAt), instant(d.DetectedAt), batch))
		}
		rep.Upserts += int64(len(rows) - len(tombstones[t]))
		if err := write(ch, rows); err != nil {
			abort()
			return nil, fmt.Errorf("incremental %s: %w", team, err)
		}
	}
	var mrows [][]string
	for _, m := range merges {
		mrows = append(mrows, []string{team, m.Loser, m.Winner, instant(m.DetectedAt)})
	}
	if err := write(schemas.AcctMerge, mrows); err != nil {
		abort()
		return nil, fmt.Errorf("incremental %s: %w", team, err)
	}
	req := pipeline.CommitRequest{
		Stream:    stream,
		Stage:     "incremental",
		BatchID:   batch,
		Watermark: pipeline.Watermark{From: head.Watermark, To: rep.To.Format(time.RFC3339)},
		Cursors:   map[string]string{incrementalRuns: fmt.Sprint(runs)},
		ExpectSeq: head.Seq + 1,
		Summary: map[string]int64{"versions": rep.Versions, "upserts": rep.Upserts,
			"deletions": rep.Deletions, "merges": int64(len(merges))},
	}
	for i, tw := range writers {
		files, err := tw.Close(ctx)
		if err != nil {
			for _, rest := range writers[i+1:] {
				rest.Abort()
			}
			return nil, fmt.Errorf("incremental %s batch %s: %w", team, batch, err)
		}
		req.Adds = append(req.Adds, files...)
	}
	c, err := w.Commit(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("incremental %s batch %s: %w", team, batch, err)
	}
	rep.Commit = c
	logger.Info("incremental: committed", "team", team, "seq", c.Seq, "from", head.Watermark, "to", req.Watermark.To,
		"versions", rep.Versions, "upserts", rep.Upserts, "deletions", rep.Deletions, "merges", len(merges))
	return rep, nil
}

// remap moves a row's account references to their merges' winners.
func remap(t *schemas.Table, row []string, winners map[string]string) []string {
	out := row
	for _, ref := range changes.AccountRefs {
		if ref.Table != t {
			continue
		}
		ci := t.ColumnIndex(ref.Column)
		if w, ok := winners[row[ci]]; ok {
			if &out[0] == &row[0] {
				out = append([]string(nil), row...)
			}
			out[ci] = w
		}
	}
	return out
}

// committedClone answers, over the committed clone (DuckDB views) and
// this run's pulls, what the sweeps and merge detection ask.
type committedClone struct {
	ctx     context.Context
	db      *sql.DB
	team    string
	overlay map[*schemas.Table]map[string]*held
	loc     *time.Location
}

// keyExpr is t's key as the change API spells it: the key columns as
// text, joined by "|".
func keyExpr(t *schemas.Table) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		parts[i] = fmt.Sprintf("CAST(%s AS VARCHAR)", schemas.QuoteIdent(k))
	}
	return "concat_ws('|', " + strings.Join(parts, ", ") + ")"
}

// keys returns the keys the clone holds after this run's pulls, in byte
// order (as Sweep wants them).
func (c *committedClone) keys(t *schemas.Table) ([]string, error) {
	q := fmt.Sprintf("SELECT %s FROM %s WHERE team = ?", keyExpr(t), schemas.Current(t).SQLName())
	rows, err := c.db.QueryContext(c.ctx, q, c.team)
	if err != nil {
		return nil, fmt.Errorf("the clone's keys of %s: %w", t.Name, err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("the clone's keys of %s: %w", t.Name, err)
		}
		set[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("the clone's keys of %s: %w", t.Name, err)
	}
	for k, h := range c.overlay[t] {
		if !h.deleted {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// currentRow is a committed current row with its update instant.
type currentRow struct {
	key     string
	row     []string
	updated time.Time
	seen    time.Time
}

// committedRows returns the committed current rows of t whose column
// names one of accts, as text in the API's spelling.
func (c *committedClone) committedRows(t *schemas.Table, column string, accts []string) ([]currentRow, error) {
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
			if cr.updated, err = time.ParseInLocation("2006-01-02 15:04:05", wall, c.loc); err != nil {
				return nil, fmt.Errorf("the clone's %s row %s: update time %q: %w", t.Name, key, wall, err)
			}
		} else if cr.updated, err = time.Parse(time.RFC3339Nano, upd); err != nil {
			return nil, fmt.Errorf("the clone's %s row %s: _updated_at %q: %w", t.Name, key, upd, err)
		}
		out = append(out, cr)
	}
	return out, rows.Err()
}

// Referencing implements changes.References over the committed clone and
// this run's pulls (which supersede it).
func (c *committedClone) Referencing(t *schemas.Table, column string, accts []string) (map[string]string, error) {
	want := map[string]bool{}
	for _, a := range accts {
		want[a] = true
	}
	out := map[string]string{}
	rows, err := c.committedRows(t, column, accts)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if _, ok := c.overlay[t][r.key]; !ok {
			out[r.key] = r.row[t.ColumnIndex(column)]
		}
	}
	ci := t.ColumnIndex(column)
	for k, h := range c.overlay[t] {
		if !h.deleted && h.v.Row != nil && want[h.v.Row[ci]] {
			out[k] = h.v.Row[ci]
		}
	}
	return out, nil
}

// winners maps every loser the clone knows (committed acct_merge and this
// run's merges) to its final winner.
func (c *committedClone) winners(merges []changes.Merge) (map[string]string, error) {
	direct := map[string]string{}
	rows, err := c.db.QueryContext(c.ctx, "SELECT CAST(loser_acct_id AS VARCHAR), CAST(winner_acct_id AS VARCHAR) FROM "+schemas.AcctMerge.SQLName()+" WHERE team = ?", c.team)
	if err != nil {
		return nil, fmt.Errorf("the clone's merges: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l, w string
		if err := rows.Scan(&l, &w); err != nil {
			return nil, fmt.Errorf("the clone's merges: %w", err)
		}
		direct[l] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("the clone's merges: %w", err)
	}
	for _, m := range merges {
		direct[m.Loser] = m.Winner
	}
	out := map[string]string{}
	for l := range direct {
		w := l
		for i := 0; ; i++ {
			next, ok := direct[w]
			if !ok {
				break
			}
			if i > len(direct) {
				return nil, errors.New("the account merges form a cycle (" + l + "): check archtics.acct_merge")
			}
			w = next
		}
		out[l] = w
	}
	return out, nil
}

// movedRow is a committed row whose account reference a merge moved.
type movedRow struct {
	row           []string
	updated, seen time.Time
}

// moved rewrites the committed current rows (not superseded by this run)
// that name a loser of merges: the same version, its references moved
// to the winner, seen at the merge's detection.
func (c *committedClone) moved(merges []changes.Merge, winners map[string]string) (map[*schemas.Table][]movedRow, error) {
	out := map[*schemas.Table][]movedRow{}
	if len(merges) == 0 {
		return out, nil
	}
	losers := make([]string, 0, len(merges))
	at := merges[0].DetectedAt
	for _, m := range merges {
		losers = append(losers, m.Loser)
	}
	done := map[*schemas.Table]map[string]bool{}
	for _, ref := range changes.AccountRefs {
		rows, err := c.committedRows(ref.Table, ref.Column, losers)
		if err != nil {
			return nil, err
		}
		if done[ref.Table] == nil {
			done[ref.Table] = map[string]bool{}
		}
		for _, r := range rows {
			if _, ok := c.overlay[ref.Table][r.key]; ok || done[ref.Table][r.key] {
				continue
			}
			done[ref.Table][r.key] = true
			out[ref.Table] = append(out[ref.Table], movedRow{row: remap(ref.Table, r.row, winners), updated: r.updated, seen: at})
		}
	}
	return out, nil
}
