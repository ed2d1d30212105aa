package clone

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"archtics/internal/rowbuild"
	"archtics/internal/wallclock"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/changes"
)

// IncrementalOptions tunes Incremental.
type IncrementalOptions struct {
	// Pull tunes the change pulls; Pull.Location (the client's zone,
	// CloneLocation) is required.
	Pull changes.Options
	// Until bounds the run, as a scheduler's data interval end: versions
	// updated after it wait for the next run and the watermark stops
	// there, so a rerun of the same interval adds nothing. Zero: up to
	// the source's snapshot.
	Until time.Time
	// SweepEvery is how often, in source time, the key sweeps and merge
	// detection run: a run sweeps when its watermark is at least
	// SweepEvery past the last sweep (the dump counts as one at its
	// cutoff). 0 sweeps on every run that moves the watermark; negative
	// never sweeps.
	SweepEvery time.Duration
	// KeysPageSize is the sweep's keys page (0: changes.DefaultKeysPageSize).
	KeysPageSize int
	// CacheDir is where the clone's committed files are materialized for
	// DuckDB; "" uses a temporary folder removed afterwards (every run
	// then copies the clone: give a lasting folder outside tests).
	CacheDir string
	Logger   *slog.Logger
	// Progress, if set, hears how far the run has come, once per page.
	Progress func(IncrementalProgress)
}

// IncrementalProgress is where a run is.
type IncrementalProgress struct {
	Phase    string // "pull", "commit", "sweep", "merges"
	Table    string
	Pages    int       // pages of this phase and table so far
	Versions int64     // versions (pull) or keys (sweep) so far in the run
	Reached  time.Time // the update instant of the last version pulled
}

// IncrementalReport says what one run did.
type IncrementalReport struct {
	Team     string
	From, To time.Time // the watermark the run started from, the one it committed
	// Commit is the pull's commit (versions and watermark); SweepCommit
	// the sweep's (tombstones, merges, moved rows). Either may be nil.
	Commit      *txlog.Commit
	SweepCommit *txlog.Commit
	Pages       int
	Versions    int64 // versions served, re-served ones included
	Upserts     int64 // versions written
	Reserved    int64 // versions the overlap served again that the clone holds: not written twice
	Deferred    int64 // versions updated after Until: left for the next run
	Rejected    int64 // versions that did not convert: in archtics_meta.rejects
	Repaired    int64 // fields of versions kept but stored other than received: in archtics_meta.repairs
	Deletions   int64
	Moved       int64 // committed rows rewritten because a merge moved their account reference
	Merges      []changes.Merge
	Swept       bool
	Unchanged   bool // the pull had nothing after the watermark: no pull commit
	Unresolved  []string
}

// ErrNoClone is returned when a team has no clone to bring up to date.
var ErrNoClone = errors.New("the team has no clone: load its dump first (load-dump)")

// sweepCursor is the clone stream's cursor holding the as_of of the last
// key sweep, so SweepEvery can tell when the next is due.
const sweepCursor = "sweep.as_of"

// incrementalBatchID derives the batch from the watermark the run starts
// from: a run that crashed before its commit redoes the same batch, and a
// rerun after the commit starts from the new head, another batch.
func incrementalBatchID(from time.Time) string {
	return "incr-" + from.UTC().Format("20060102T150405Z")
}

// sweepBatchID derives the sweep's batch from the watermark it sweeps at.
func sweepBatchID(at time.Time) string {
	return "sweep-" + at.UTC().Format("20060102T150405Z")
}

// Incremental brings team's clone up to the source in two commits on
// <team>/clone, each atomic:
//
//  1. the pull: every source table's versions updated since the
//     watermark − overlap (changes.Pull), streamed page by page into
//     archtics_changes.<t>, minus the versions the clone already holds
//     (the overlap serves them again), with account references moved to
//     the winners of the merges the clone knows; the watermark advances
//     to the least as_of of the pulls (or Until) in the same commit;
//  2. when a sweep is due (SweepEvery), the key sweeps over the clone as
//     committed by 1 (changes.Sweep): tombstones for the keys the source
//     no longer has, then merge detection for the accounts gone
//     (changes.Merges), the committed rows naming a loser rewritten to
//     the winner, and the pairs in archtics.acct_merge.
//
// Memory is bounded by the page and record-batch sizes, not by the number
// of changes: versions go to the Parquet writers as they arrive, the
// clone's keys come sorted from DuckDB as the sweep walks them, and what
// is held is the overlap window's version identities, the known merges
// and the accounts a sweep found gone.
//
// A crash before a commit leaves only invisible files (vacuum removes
// them) and a rerun redoes the phase: the pull from the same watermark
// (the same batch), the sweep because its cursor did not move.
func Incremental(ctx context.Context, w *pipeline.Warehouse, src changes.Source, team string, opts IncrementalOptions) (*IncrementalReport, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Progress == nil {
		opts.Progress = func(IncrementalProgress) {}
	}
	if opts.Pull.Location == nil {
		return nil, fmt.Errorf("incremental %s: no time zone: pass the client's zone (stages.CloneLocation)", team)
	}
	head, err := w.Stream(ctx, CloneStream(team))
	if err != nil {
		return nil, fmt.Errorf("incremental %s: %w", team, err)
	}
	if head.Watermark == "" {
		return nil, fmt.Errorf("incremental %s: the clone stream %s has no watermark: %w", team, CloneStream(team), ErrNoClone)
	}
	from, err := time.Parse(time.RFC3339, head.Watermark)
	if err != nil {
		return nil, fmt.Errorf("incremental %s: watermark %q of %s: %w", team, head.Watermark, CloneStream(team), err)
	}
	if opts.CacheDir == "" {
		if opts.CacheDir, err = os.MkdirTemp("", "archtics-incremental-"); err != nil {
			return nil, fmt.Errorf("incremental %s: cache folder: %w", team, err)
		}
		defer os.RemoveAll(opts.CacheDir)
	}
	rep := &IncrementalReport{Team: team, From: from, To: from}
	if !opts.Until.IsZero() && !opts.Until.After(from) {
		// Nothing to pull, but the sweep may still be owed: a run stopped
		// between its pull's commit and its sweep's leaves the watermark
		// at the interval's end and the sweep cursor behind, and its rerun
		// is this one.
		rep.Unchanged = true
		opts.Logger.Info("incremental: the interval ends at or before the watermark: nothing to pull", "team", team,
			"watermark", head.Watermark, "until", opts.Until.UTC().Format(time.RFC3339))
	} else if err := pullChanges(ctx, w, src, team, head, from, opts, rep); err != nil {
		return nil, fmt.Errorf("incremental %s: %w", team, err)
	}
	if err := sweepIfDue(ctx, w, src, team, opts, rep); err != nil {
		return nil, fmt.Errorf("incremental %s: %w", team, err)
	}
	return rep, nil
}

// pullChanges is phase 1: pull, write, commit with the watermark.
func pullChanges(ctx context.Context, w *pipeline.Warehouse, src changes.Source, team string, head *txlog.StreamState,
	from time.Time, opts IncrementalOptions, rep *IncrementalReport) error {
	readViews := []*schemas.Table{schemas.AcctMerge}
	for _, t := range schemas.SourceTables {
		readViews = append(readViews, t, schemas.Changes(t))
	}
	db, err := views.OpenDuckDB(ctx, "", w.Log, opts.CacheDir, readViews...)
	if err != nil {
		return fmt.Errorf("open the clone: %w", err)
	}
	defer db.Close()
	winners, err := committedWinners(ctx, db, team, nil)
	if err != nil {
		return err
	}
	batch := incrementalBatchID(from)
	out := newBatchWriters(ctx, w, batch)
	defer out.Abort()
	rejects := newRejectSink(rejectWriter{out, schemas.Rejects}, batch, team, "clone")
	defer rejects.release()
	repairs := newRepairSink(rejectWriter{out, schemas.Repairs}, batch, team, "clone")
	defer repairs.release()

	instant := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	since := from.Add(-opts.Pull.Overlap)
	if opts.Pull.Overlap == 0 {
		since = from.Add(-changes.DefaultOverlap)
	}
	var to time.Time
	for _, t := range schemas.SourceTables {
		held, err := heldVersions(ctx, db, team, t, since, opts.Pull.Location)
		if err != nil {
			return err
		}
		ch := schemas.Changes(t)
		var line int64
		var reached time.Time
		pages := 0
		pr, err := changes.Pull(ctx, src, team, t, from, opts.Pull, func(vs []changes.Version) error {
			pages++
			for _, v := range vs {
				line++
				if !opts.Until.IsZero() && v.Updated.After(opts.Until) {
					rep.Deferred++
					continue
				}
				if held[versionID(t, v.Key, v.Updated, v.Row)] {
					rep.Reserved++
					continue
				}
				row := remap(t, v.Row, winners)
				fields := append(row[:len(row):len(row)], schemas.OpUpsert, instant(v.Updated), instant(v.AsOf), batch)
				source := func() DumpFile {
					return DumpFile{Table: t, Name: fmt.Sprintf("change API %s.%s since %s as_of %s", team, t.Name, since.UTC().Format(time.RFC3339), v.AsOf.Format(time.RFC3339))}
				}
				fixed, err := out.AppendLossless(ch, t, fields)
				if err != nil {
					var fe *rowbuild.FieldError
					if !errors.As(err, &fe) {
						return err
					}
					if err := rejects.add(source(), line, fe.Column, fe.Error(), strings.Join(v.Row, "|")); err != nil {
						return err
					}
					rep.Rejected++
					continue
				}
				for _, r := range fixed {
					if err := repairs.add(source(), line, r); err != nil {
						return err
					}
					rep.Repaired++
				}
				rep.Upserts++
				reached = v.Updated
			}
			opts.Progress(IncrementalProgress{Phase: "pull", Table: t.Name, Pages: pages, Versions: rep.Versions + line, Reached: reached})
			return nil
		})
		if err != nil {
			return err
		}
		rep.Versions += pr.Versions
		rep.Pages += pr.Pages
		if to.IsZero() || pr.AsOf.Before(to) {
			to = pr.AsOf
		}
	}
	if !opts.Until.IsZero() && opts.Until.Before(to) {
		to = opts.Until
	}
	to = to.UTC().Truncate(time.Second) // RFC 3339 watermarks carry seconds: never claim a fraction not pulled
	if !to.After(from) {
		rep.Unchanged = true
		opts.Logger.Info("incremental: the source has nothing after the watermark", "team", team, "watermark", head.Watermark)
		return nil
	}
	if err := rejects.flush(); err != nil {
		return err
	}
	if err := repairs.flush(); err != nil {
		return err
	}
	opts.Progress(IncrementalProgress{Phase: "commit", Versions: rep.Versions})
	files, err := out.Close()
	if err != nil {
		return err
	}
	req := txlog.CommitRequest{
		Stream:    CloneStream(team),
		Stage:     "incremental",
		BatchID:   batch,
		Adds:      files,
		Watermark: txlog.Watermark{From: head.Watermark, To: to.Format(time.RFC3339)},
		ExpectSeq: head.Seq + 1,
		Summary: map[string]int64{"versions": rep.Versions, "upserts": rep.Upserts, "reserved": rep.Reserved,
			"deferred": rep.Deferred, "rejected": rep.Rejected, "repaired": rep.Repaired, "pages": int64(rep.Pages)},
	}
	c, err := w.Commit(ctx, req)
	if err != nil {
		return fmt.Errorf("batch %s: %w", batch, err)
	}
	rep.Commit, rep.To = c, to
	opts.Logger.Info("incremental: pulled", "team", team, "seq", c.Seq, "from", head.Watermark, "to", req.Watermark.To,
		"versions", rep.Versions, "upserts", rep.Upserts, "reserved", rep.Reserved, "deferred", rep.Deferred, "rejected", rep.Rejected, "repaired", rep.Repaired)
	return nil
}

// rejectWriter sends a reject or repair sink's records through the
// batch's writers, so they land in the same commit as the rows.
type rejectWriter struct {
	out   *batchWriters
	table *schemas.Table
}

func (r rejectWriter) Write(rec arrow.RecordBatch) error {
	return r.out.WriteRecord(r.table, rec)
}

// versionID is a version's identity: key and update instant (Archtics
// update times strictly increase per key), and the account references,
// which a merge moves without a new update time, so a version re-served
// with moved references is written again (the current state takes the
// later seen copy).
func versionID(t *schemas.Table, key string, updated time.Time, row []string) string {
	var sb strings.Builder
	sb.WriteString(key)
	sb.WriteByte(0)
	sb.WriteString(strconv.FormatInt(updated.UnixMicro(), 10))
	for _, ref := range changes.AccountRefs {
		if ref.Table == t {
			sb.WriteByte(0)
			sb.WriteString(row[t.ColumnIndex(ref.Column)])
		}
	}
	return sb.String()
}

// heldVersions returns the identities of the versions of t the clone holds
// with an update instant at or after since: the ones the overlap can serve
// again. Dump rows carry their update time as the client's wall clock; a
// wall clock a fall-back repeats counts under both instants.
func heldVersions(ctx context.Context, db *sql.DB, team string, t *schemas.Table, since time.Time, loc *time.Location) (map[string]bool, error) {
	held := map[string]bool{}
	var refs []string
	for _, ref := range changes.AccountRefs {
		if ref.Table == t {
			refs = append(refs, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", schemas.QuoteIdent(ref.Column)))
		}
	}
	refCols := ""
	if len(refs) > 0 {
		refCols = ", " + strings.Join(refs, ", ")
	}
	upd := schemas.QuoteIdent(t.UpdatedAt)
	// The dump's wall clocks: from two hours before since's (no zone is
	// more than that off its standard offset), checked exactly below.
	wallFrom := since.In(loc).Add(-2 * time.Hour).Format(changes.TimeLayout)
	q := fmt.Sprintf(`SELECT %[1]s, strftime(%[2]s, '%%Y-%%m-%%d %%H:%%M:%%S'), CAST(NULL AS BIGINT)%[3]s FROM %[4]s WHERE team = ? AND %[2]s >= CAST(? AS TIMESTAMP)
UNION ALL
SELECT %[1]s, NULL, epoch_us(_updated_at)%[3]s FROM %[5]s WHERE team = ? AND _op = '%[6]s' AND _updated_at >= ?`,
		keyExpr(t), upd, refCols, t.SQLName(), schemas.Changes(t).SQLName(), schemas.OpUpsert)
	rows, err := db.QueryContext(ctx, q, team, wallFrom, team, since)
	if err != nil {
		return nil, fmt.Errorf("the versions of %s the overlap may serve again: %w", t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var wall sql.NullString
		var micros sql.NullInt64
		vals := make([]string, len(refs))
		dest := []any{&key, &wall, &micros}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("the versions of %s the overlap may serve again: %w", t.Name, err)
		}
		var instants []time.Time
		if micros.Valid {
			instants = []time.Time{time.UnixMicro(micros.Int64)}
		} else if wall.Valid {
			if instants, err = wallclock.ParseInstants(wall.String, loc); err != nil {
				continue // an impossible wall clock in the dump: no re-served version can match it
			}
		}
		for _, at := range instants {
			held[versionIDOf(key, at, vals)] = true
		}
	}
	return held, rows.Err()
}

// versionIDOf is versionID from a key, an instant and the reference values.
func versionIDOf(key string, at time.Time, refs []string) string {
	var sb strings.Builder
	sb.WriteString(key)
	sb.WriteByte(0)
	sb.WriteString(strconv.FormatInt(at.UnixMicro(), 10))
	for _, r := range refs {
		sb.WriteByte(0)
		sb.WriteString(r)
	}
	return sb.String()
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

// keyExpr is t's key as the change API spells it: the key columns as
// text, joined by "|".
func keyExpr(t *schemas.Table) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		parts[i] = fmt.Sprintf("CAST(%s AS VARCHAR)", schemas.QuoteIdent(k))
	}
	return "concat_ws('|', " + strings.Join(parts, ", ") + ")"
}

// committedWinners maps every loser the clone knows (committed acct_merge
// and the merges given) to its final winner, following chains.
func committedWinners(ctx context.Context, db *sql.DB, team string, merges []changes.Merge) (map[string]string, error) {
	direct := map[string]string{}
	rows, err := db.QueryContext(ctx, "SELECT CAST(loser_acct_id AS VARCHAR), CAST(winner_acct_id AS VARCHAR) FROM "+schemas.AcctMerge.SQLName()+" WHERE team = ?", team)
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
